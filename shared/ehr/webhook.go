package ehr

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/ehr/stdwebhooks"
)

// Standard Webhooks header names (standardwebhooks.com).
const (
	HeaderWebhookID        = stdwebhooks.HeaderWebhookID
	HeaderWebhookTimestamp = stdwebhooks.HeaderWebhookTimestamp
	HeaderWebhookSignature = stdwebhooks.HeaderWebhookSignature
)

// DefaultTolerance is how far a webhook-timestamp may be from now, either way.
const DefaultTolerance = stdwebhooks.DefaultTolerance

// Verification errors; every one of them answers 401.
var (
	ErrMissingHeaders = stdwebhooks.ErrMissingHeaders
	ErrBadSignature   = stdwebhooks.ErrBadSignature
	ErrTimestamp      = stdwebhooks.ErrTimestamp
)

// Verifier checks Standard Webhooks signatures on requests from an EHR.
type Verifier = stdwebhooks.Verifier

// SignHeaders returns the Standard Webhooks headers for a callback Frontdesk posts
// to a clinic (see stdwebhooks.SignHeaders).
func SignHeaders(secret, msgID string, ts time.Time, body []byte) (http.Header, error) {
	return stdwebhooks.SignHeaders(secret, msgID, ts, body)
}

// NewSecret returns a fresh Standard Webhooks secret (see stdwebhooks.NewSecret).
func NewSecret() string { return stdwebhooks.NewSecret() }

// HashToken is how a clinic's API token is stored: hex SHA-256. The token is 32+
// random bytes, so a plain hash (no salt, no KDF) is enough to make a leaked table
// useless.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenMatches reports whether presented hashes to hash, in constant time. An empty
// hash or token never matches, so a clinic without a token cannot be read with an
// empty Authorization header.
func TokenMatches(hash, presented string) bool {
	if hash == "" || presented == "" {
		return false
	}
	got := HashToken(presented)
	return subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(strings.TrimSpace(hash)))) == 1
}

// BearerToken extracts the token of an "Authorization: Bearer <token>" header (the
// scheme is case-insensitive, RFC 9110 section 11.1).
func BearerToken(h http.Header) (string, bool) {
	v := strings.TrimSpace(h.Get("Authorization"))
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
