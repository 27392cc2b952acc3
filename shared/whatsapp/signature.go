package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// SignatureHeader is the header Meta signs every webhook POST with.
const SignatureHeader = "X-Hub-Signature-256"

const signaturePrefix = "sha256="

// Signature errors; match with errors.Is. All of them mean "answer 401".
var (
	ErrSignatureMissing   = errors.New("whatsapp: signature header missing")
	ErrSignatureMalformed = errors.New("whatsapp: signature header malformed")
	ErrSignatureMismatch  = errors.New("whatsapp: signature mismatch")
	ErrNoAppSecret        = errors.New("whatsapp: app secret not configured")
)

// Sign returns the X-Hub-Signature-256 value for body: "sha256=" + hex HMAC-SHA256
// keyed with the app secret. Used by tests and the Graph API stand-in.
func Sign(appSecret, body []byte) string {
	mac := hmac.New(sha256.New, appSecret)
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks header against the exact bytes received; re-serialised JSON
// would not match, so callers must pass the raw body. The comparison is constant
// time so the signature cannot be guessed byte by byte.
func VerifySignature(appSecret, body []byte, header string) error {
	if len(appSecret) == 0 {
		// An empty key would make any attacker able to compute a valid signature.
		return ErrNoAppSecret
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrSignatureMissing
	}
	hexSig, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return fmt.Errorf("%w: want %q prefix", ErrSignatureMalformed, signaturePrefix)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: want %d hex-encoded bytes", ErrSignatureMalformed, sha256.Size)
	}
	mac := hmac.New(sha256.New, appSecret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrSignatureMismatch
	}
	return nil
}

// VerifyChallenge answers Meta's subscription handshake
// (GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C): ok is true and
// challenge is C, to be written as the raw 200 body, only when the mode is
// "subscribe" and T equals verifyToken (compared in constant time). Otherwise the
// caller answers 403.
func VerifyChallenge(query url.Values, verifyToken string) (challenge string, ok bool) {
	if verifyToken == "" || query.Get("hub.mode") != "subscribe" {
		return "", false
	}
	challenge = query.Get("hub.challenge")
	if challenge == "" {
		return "", false
	}
	if subtle.ConstantTimeCompare([]byte(query.Get("hub.verify_token")), []byte(verifyToken)) != 1 {
		return "", false
	}
	return challenge, true
}
