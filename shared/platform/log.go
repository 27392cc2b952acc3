package platform

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"strings"
)

// NewLogger returns the JSON logger every binary uses. Keys are stable so that
// CloudWatch Logs Insights queries and metric filters keep working.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	if w == nil {
		w = os.Stdout
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
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

// Hash returns a short stable digest for correlating an identifier (a phone number,
// a patient id from the EHR) across log lines without revealing it.
func Hash(v string) string {
	sum := sha256.Sum256([]byte("frontdesk-log:" + v))
	return hex.EncodeToString(sum[:6])
}

// WAMID returns a log attribute for a WhatsApp message id. Meta's wamids are
// base64 that embeds the recipient's phone number, so logs carry a digest only.
func WAMID(key, wamid string) slog.Attr { return slog.String(key, Hash(wamid)) }
