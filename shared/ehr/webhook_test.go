package ehr

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Known answer from the Standard Webhooks reference test suite.
func TestSignHeadersKnownAnswer(t *testing.T) {
	h, err := SignHeaders("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	want := http.Header{
		"Webhook-Id":        {"msg_p5jXN8AQM9LWM0D4loKWxJek"},
		"Webhook-Timestamp": {"1614265330"},
		"Webhook-Signature": {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
	}
	for k, v := range want {
		if h.Get(k) != v[0] {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v[0])
		}
	}
}

func TestVerify(t *testing.T) {
	secret := NewSecret()
	other := NewSecret()
	sentAt := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"status":"booked"}`)
	signed := func(t *testing.T) http.Header {
		h, err := SignHeaders(secret, "msg_1", sentAt, body)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	tests := []struct {
		name   string
		now    time.Time
		secret string
		body   []byte
		header func(t *testing.T) http.Header
		want   error
	}{
		{name: "valid", header: signed},
		{name: "5 minutes late is still fine", now: sentAt.Add(5 * time.Minute), header: signed},
		{name: "5 minutes early is still fine", now: sentAt.Add(-5 * time.Minute), header: signed},
		{name: "too old", now: sentAt.Add(5*time.Minute + time.Second), header: signed, want: ErrTimestamp},
		{name: "from the future", now: sentAt.Add(-5*time.Minute - time.Second), header: signed, want: ErrTimestamp},
		{name: "tampered body", body: []byte(`{"status":"cancelled"}`), header: signed, want: ErrBadSignature},
		{name: "wrong secret", secret: other, header: signed, want: ErrBadSignature},
		{name: "id swapped", header: func(t *testing.T) http.Header {
			h := signed(t)
			h.Set(HeaderWebhookID, "msg_2")
			return h
		}, want: ErrBadSignature},
		{name: "timestamp moved", header: func(t *testing.T) http.Header {
			h := signed(t)
			h.Set(HeaderWebhookTimestamp, strconv.FormatInt(sentAt.Unix()+1, 10))
			return h
		}, want: ErrBadSignature},
		{name: "timestamp not a number", header: func(t *testing.T) http.Header {
			h := signed(t)
			h.Set(HeaderWebhookTimestamp, "yesterday")
			return h
		}, want: ErrTimestamp},
		{name: "huge timestamp", header: func(t *testing.T) http.Header {
			h := signed(t)
			h.Set(HeaderWebhookTimestamp, "9223372036854775807")
			return h
		}, want: ErrBadSignature},
		{name: "unknown version only", header: func(t *testing.T) http.Header {
			h := signed(t)
			h.Set(HeaderWebhookSignature, strings.Replace(h.Get(HeaderWebhookSignature), "v1,", "v1a,", 1))
			return h
		}, want: ErrBadSignature},
		{name: "rotation: one of several signatures matches", header: func(t *testing.T) http.Header {
			h := signed(t)
			old, _ := SignHeaders(other, "msg_1", sentAt, body)
			h.Set(HeaderWebhookSignature, old.Get(HeaderWebhookSignature)+" "+h.Get(HeaderWebhookSignature))
			return h
		}},
		{name: "missing id", header: func(t *testing.T) http.Header { h := signed(t); h.Del(HeaderWebhookID); return h }, want: ErrMissingHeaders},
		{name: "missing timestamp", header: func(t *testing.T) http.Header { h := signed(t); h.Del(HeaderWebhookTimestamp); return h }, want: ErrMissingHeaders},
		{name: "missing signature", header: func(t *testing.T) http.Header { h := signed(t); h.Del(HeaderWebhookSignature); return h }, want: ErrMissingHeaders},
		{name: "no headers", header: func(*testing.T) http.Header { return http.Header{} }, want: ErrMissingHeaders},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = sentAt
			}
			s := secret
			if tc.secret != "" {
				s = tc.secret
			}
			b := body
			if tc.body != nil {
				b = tc.body
			}
			v := Verifier{Clock: platform.NewFakeClock(now), Tolerance: 5 * time.Minute}
			err := v.Verify(s, b, tc.header(t))
			if tc.want == nil && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyDefaultToleranceAndBadSecret(t *testing.T) {
	sentAt := time.Unix(1_741_600_000, 0)
	secret := NewSecret()
	h, err := SignHeaders(secret, "msg_1", sentAt, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	clock := platform.NewFakeClock(sentAt.Add(DefaultTolerance))
	if err := (Verifier{Clock: clock}).Verify(secret, []byte("{}"), h); err != nil {
		t.Errorf("zero Tolerance should mean %v: %v", DefaultTolerance, err)
	}
	clock.Advance(time.Second)
	if err := (Verifier{Clock: clock}).Verify(secret, []byte("{}"), h); !errors.Is(err, ErrTimestamp) {
		t.Errorf("Verify = %v, want ErrTimestamp", err)
	}
	// A misconfigured secret is a server problem and must not look like a 401.
	for _, bad := range []string{"", "whsec_", "whsec_not base64!", "whsec_" + base64.StdEncoding.EncodeToString([]byte("short"))} {
		err := (Verifier{Clock: clock}).Verify(bad, []byte("{}"), h)
		if err == nil || errors.Is(err, ErrBadSignature) || errors.Is(err, ErrTimestamp) || errors.Is(err, ErrMissingHeaders) {
			t.Errorf("secret %q: Verify = %v, want a configuration error", bad, err)
		}
		if _, err := SignHeaders(bad, "msg_1", sentAt, nil); err == nil {
			t.Errorf("secret %q: SignHeaders accepted it", bad)
		}
	}
	if _, err := SignHeaders(secret, "", sentAt, nil); err == nil {
		t.Error("SignHeaders accepted an empty message id")
	}
}

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	if !strings.HasPrefix(a, "whsec_") {
		t.Fatalf("secret %q lacks whsec_", a)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	if err != nil || len(key) != 32 {
		t.Fatalf("key = %d bytes, %v", len(key), err)
	}
}

func TestTokens(t *testing.T) {
	const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // SHA-256("abc")
	if got := HashToken("abc"); got != abc {
		t.Fatalf("HashToken = %s", got)
	}
	tests := []struct {
		hash, token string
		want        bool
	}{
		{abc, "abc", true},
		{strings.ToUpper(abc), "abc", true},
		{abc, "abd", false},
		{abc, "", false},
		{"", "", false},
		{HashToken(""), "", false},
		{abc[:10], "abc", false},
	}
	for _, tc := range tests {
		if got := TokenMatches(tc.hash, tc.token); got != tc.want {
			t.Errorf("TokenMatches(%q, %q) = %v", tc.hash, tc.token, got)
		}
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header string
		token  string
		ok     bool
	}{
		{"Bearer tok_123", "tok_123", true},
		{"bearer   tok_123 ", "tok_123", true},
		{"Basic dXNlcjpwYXNz", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Authorization", tc.header)
		}
		token, ok := BearerToken(h)
		if token != tc.token || ok != tc.ok {
			t.Errorf("BearerToken(%q) = %q, %v", tc.header, token, ok)
		}
	}
}
