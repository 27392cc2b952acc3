package whatsapp_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

func TestVerifySignature(t *testing.T) {
	secret := []byte("app-secret")
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	good := whatsapp.Sign(secret, body)
	if !strings.HasPrefix(good, "sha256=") || len(good) != len("sha256=")+64 {
		t.Fatalf("Sign format: %q", good)
	}
	cases := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		is     error
	}{
		{"valid", secret, body, good, nil},
		{"valid with surrounding space", secret, body, " " + good + " ", nil},
		{"uppercase hex", secret, body, "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), nil},
		{"missing", secret, body, "", whatsapp.ErrSignatureMissing},
		{"no prefix", secret, body, strings.TrimPrefix(good, "sha256="), whatsapp.ErrSignatureMalformed},
		{"sha1 prefix", secret, body, "sha1=" + strings.TrimPrefix(good, "sha256="), whatsapp.ErrSignatureMalformed},
		{"not hex", secret, body, "sha256=zz" + good[9:], whatsapp.ErrSignatureMalformed},
		{"truncated", secret, body, good[:len(good)-2], whatsapp.ErrSignatureMalformed},
		{"wrong secret", []byte("other"), body, good, whatsapp.ErrSignatureMismatch},
		{"body re-serialised", secret, []byte(`{"entry":[],"object":"whatsapp_business_account"}`), good, whatsapp.ErrSignatureMismatch},
		{"one byte changed", secret, []byte(strings.Replace(string(body), "[]", "[ ]", 1)), good, whatsapp.ErrSignatureMismatch},
		{"empty secret", nil, body, whatsapp.Sign(nil, body), whatsapp.ErrNoAppSecret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := whatsapp.VerifySignature(tc.secret, tc.body, tc.header)
			if tc.is == nil {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.is) {
				t.Fatalf("got %v, want %v", err, tc.is)
			}
		})
	}
}

func TestSignMatchesKnownVector(t *testing.T) {
	// RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
	got := whatsapp.Sign([]byte("Jefe"), []byte("what do ya want for nothing?"))
	const want = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestVerifyChallenge(t *testing.T) {
	q := func(mode, token, challenge string) url.Values {
		v := url.Values{}
		if mode != "" {
			v.Set("hub.mode", mode)
		}
		if token != "" {
			v.Set("hub.verify_token", token)
		}
		if challenge != "" {
			v.Set("hub.challenge", challenge)
		}
		return v
	}
	cases := []struct {
		name   string
		query  url.Values
		token  string
		wantOK bool
	}{
		{"valid", q("subscribe", "tok", "1158201444"), "tok", true},
		{"wrong token", q("subscribe", "nope", "1158201444"), "tok", false},
		{"token prefix", q("subscribe", "to", "1158201444"), "tok", false},
		{"wrong mode", q("unsubscribe", "tok", "1158201444"), "tok", false},
		{"no challenge", q("subscribe", "tok", ""), "tok", false},
		{"no configured token", q("subscribe", "", "1158201444"), "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := whatsapp.VerifyChallenge(tc.query, tc.token)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v", ok)
			}
			if ok && got != "1158201444" {
				t.Fatalf("challenge %q", got)
			}
			if !ok && got != "" {
				t.Fatalf("challenge leaked on failure: %q", got)
			}
		})
	}
}
