package platform

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// NewLogger returns the JSON logger every binary uses. Keys are stable so that
// CloudWatch Logs Insights queries and metric filters keep working.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	if w == nil {
		w = os.Stdout
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// LoggerOrDiscard is l, or a logger that writes nothing for a component built
// without one (a zero value in a test).
func LoggerOrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// MaskPhone keeps only the last two digits of a phone number, enough for ops to
// tell two numbers apart in one incident without the log holding contact data.
func MaskPhone(phone string) string {
	digits := make([]byte, 0, len(phone))
	for i := 0; i < len(phone); i++ {
		if phone[i] >= '0' && phone[i] <= '9' {
			digits = append(digits, phone[i])
		}
	}
	if len(digits) <= 2 {
		return "***"
	}
	return strings.Repeat("*", len(digits)-2) + string(digits[len(digits)-2:])
}

// Phone returns a log attribute that carries a masked number, never the number.
func Phone(key, phone string) slog.Attr { return slog.String(key, MaskPhone(phone)) }

// EnvLogDigestKey holds the per-deployment key of log digests (local and dev);
// deployments name a Secrets Manager secret in EnvLogDigestKey + "_SECRET_ARN".
const EnvLogDigestKey = "LOG_DIGEST_KEY"

// digestKey keys every log digest. Until SetDigestKey runs it is random for the
// process (made on first use, not at package init, which every cold start pays),
// so an unconfigured binary still never logs a reversible digest; it only loses
// correlation across processes.
var digestKey atomic.Pointer[[]byte]

var processKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic("platform: crypto/rand failed: " + err.Error())
	}
	return k
})

func currentDigestKey() []byte {
	if k := digestKey.Load(); k != nil {
		return *k
	}
	return processKey()
}

// SetDigestKey sets the deployment's log digest key. Every process of a deployment
// must use the same key so that one id has one digest in all its logs.
func SetDigestKey(key []byte) {
	k := append([]byte(nil), key...)
	digestKey.Store(&k)
}

// Digest is the keyed digest (HMAC-SHA256, 128 bits, hex) of an identifier that
// must not appear in logs: a patient id, a contact key, a wamid. Keyed because an
// unkeyed hash of a short id or a phone number is reversed by trying them all;
// whoever holds the key can compute an id's digest to find its lines
// (scripts/logdigest).
func Digest(key []byte, v string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(v))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// Hash returns the keyed digest of v under the deployment's key, for correlating
// an identifier across log lines without revealing it.
func Hash(v string) string { return Digest(currentDigestKey(), v) }

// WAMID returns a log attribute for a WhatsApp message id. Meta's wamids are
// base64 that embeds the recipient's phone number, so logs carry a digest only.
func WAMID(key, wamid string) slog.Attr { return slog.String(key, Hash(wamid)) }
