package httpapi

import (
	"encoding/base64"
	"strings"
	"testing"
)

// A cursor opens only for the clinic and listing it was sealed for, and only as
// handed out: an edited key, a forged MAC or another scope is a 400.
func TestCursorsAreTamperChecked(t *testing.T) {
	sealed := sealCursor("clinic-a:list:open", cursorBody{Step: 0, Key: "eyJwayI6IkNPTlYjY2xpbmljLWEjeCJ9"})
	payload, mac, _ := strings.Cut(sealed, ".")
	edited := base64.RawURLEncoding.EncodeToString([]byte(`{"k":"eyJwayI6IkNPTlYjY2xpbmljLWIjeCJ9"}`)) + "." + mac
	cases := []struct {
		name, scope, cursor string
		ok                  bool
	}{
		{"as handed out", "clinic-a:list:open", sealed, true},
		{"empty", "clinic-a:list:open", "", true},
		{"another clinic", "clinic-b:list:open", sealed, false},
		{"another listing", "clinic-a:list:all", sealed, false},
		{"edited key", "clinic-a:list:open", edited, false},
		{"forged mac", "clinic-a:list:open", payload + "." + strings.Repeat("0", len(mac)), false},
		{"no mac", "clinic-a:list:open", payload, false},
		{"huge", "clinic-a:list:open", strings.Repeat("a", 4096) + "." + mac, false},
	}
	for _, tc := range cases {
		got, err := openCursor(tc.scope, tc.cursor)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok %v", tc.name, err, tc.ok)
		}
		if tc.ok && tc.cursor != "" && got.Key != "eyJwayI6IkNPTlYjY2xpbmljLWEjeCJ9" {
			t.Errorf("%s: key %q", tc.name, got.Key)
		}
	}
}
