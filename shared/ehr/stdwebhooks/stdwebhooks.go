// Package stdwebhooks signs and verifies Standard Webhooks (standardwebhooks.com):
// the EHR's requests to Frontdesk and Frontdesk's callbacks to the clinic. It is
// apart from package ehr so that a function that only signs callbacks does not
// link the EHR formats (and libphonenumber's metadata, decoded at every cold start).
package stdwebhooks

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Standard Webhooks header names (standardwebhooks.com).
const (
	HeaderWebhookID        = standardwebhooks.HeaderWebhookID
	HeaderWebhookTimestamp = standardwebhooks.HeaderWebhookTimestamp
	HeaderWebhookSignature = standardwebhooks.HeaderWebhookSignature
)

// DefaultTolerance is how far a webhook-timestamp may be from now, either way.
const DefaultTolerance = 5 * time.Minute

// Verification errors; every one of them answers 401.
var (
	ErrMissingHeaders = errors.New("ehr: webhook-id, webhook-timestamp and webhook-signature are required")
	ErrBadSignature   = errors.New("ehr: no webhook-signature matches the body")
	ErrTimestamp      = errors.New("ehr: webhook-timestamp is malformed or too far from the current time")
)

// Verifier checks Standard Webhooks signatures on requests from an EHR.
type Verifier struct {
	// Clock is the time the timestamp is checked against; nil means the system clock.
	Clock platform.Clock
	// Tolerance bounds replay of a captured request; zero means DefaultTolerance.
	Tolerance time.Duration
}

// Verify checks the signature headers of a request against the clinic's "whsec_"
// secret. The library checks the HMAC (in constant time, over every "v1,"
// signature in the header, so a sender may rotate secrets); the timestamp is
// checked here against the injected clock because the library reads time.Now.
func (v Verifier) Verify(secret string, body []byte, h http.Header) error {
	id, ts, sig := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	if id == "" || ts == "" || sig == "" {
		return ErrMissingHeaders
	}
	sent, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
	if err != nil {
		return fmt.Errorf("ehr: verify webhook: timestamp not in Unix seconds: %w", ErrTimestamp)
	}
	wh, err := loadSecret(secret)
	if err != nil {
		// A broken secret is Frontdesk's configuration problem, not the caller's: it
		// must not look like a 401.
		return fmt.Errorf("ehr: verify webhook: load secret: %w", err)
	}
	if err := wh.VerifyIgnoringTimestamp(body, h); err != nil {
		if errors.Is(err, standardwebhooks.ErrRequiredHeaders) {
			return ErrMissingHeaders
		}
		if errors.Is(err, standardwebhooks.ErrInvalidHeaders) {
			return fmt.Errorf("ehr: verify webhook: %w", ErrTimestamp)
		}
		return fmt.Errorf("ehr: verify webhook: %w", ErrBadSignature)
	}
	tol := v.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	clock := v.Clock
	if clock == nil {
		clock = platform.SystemClock{}
	}
	now := clock.Now()
	// Compare in seconds: the header has second precision, and time.Unix of a
	// huge value would overflow a Duration.
	diff := now.Unix() - sent
	limit := int64(tol / time.Second)
	if diff > limit || diff < -limit {
		return fmt.Errorf("ehr: verify webhook: %d s off: %w", diff, ErrTimestamp)
	}
	return nil
}

// SignHeaders returns the Standard Webhooks headers for a callback Frontdesk posts
// to a clinic. msgID must stay the same across retries of one event so the clinic
// can deduplicate.
func SignHeaders(secret, msgID string, ts time.Time, body []byte) (http.Header, error) {
	if msgID == "" {
		return nil, errors.New("ehr: sign webhook: message id is required")
	}
	wh, err := loadSecret(secret)
	if err != nil {
		return nil, fmt.Errorf("ehr: sign webhook: load secret: %w", err)
	}
	sig, err := wh.Sign(msgID, ts, body)
	if err != nil {
		return nil, fmt.Errorf("ehr: sign webhook %s: %w", msgID, err)
	}
	h := http.Header{}
	h.Set(HeaderWebhookID, msgID)
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderWebhookSignature, sig)
	return h, nil
}

// minSecretBytes guards against an empty or truncated secret: the library would
// happily HMAC with an empty key, which anyone can reproduce.
const minSecretBytes = 16

func loadSecret(secret string) (*standardwebhooks.Webhook, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(secret), "whsec_"))
	if err != nil {
		return nil, errors.New("secret is not whsec_ followed by base64")
	}
	if len(key) < minSecretBytes {
		return nil, fmt.Errorf("secret is %d bytes, need at least %d", len(key), minSecretBytes)
	}
	return standardwebhooks.NewWebhookRaw(key)
}

// NewSecret returns a fresh Standard Webhooks secret: "whsec_" and 32 random bytes
// in base64 (the spec asks for 24 to 64 bytes).
func NewSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ehr: crypto/rand failed: " + err.Error())
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}
