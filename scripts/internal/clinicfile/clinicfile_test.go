package clinicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDemoClinicFileIsValid(t *testing.T) {
	c, err := Load("../../clinics/demo-clinic.json", "", "", os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "demo-clinic" || len(c.ReminderPolicy.Steps) != 3 || c.ReminderPolicy.Steps[0].Offset != -48*time.Hour {
		t.Fatalf("unexpected clinic: %+v", c)
	}
}

func TestClinicFileProblems(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string
	}{
		{"unknown field", `{"id":"x1","quietHour":{}}`, []string{"unknown field"}},
		{"everything wrong", `{"id":"X","name":"","timeZone":"Mars/Olympus","country":"usa","phoneNumberId":"abc","wabaId":"","defaultLanguage":"","emergencyNumber":"","webhookSecretRef":"plain","quietHours":{"start":"25:00","end":"08:00"}}`,
			[]string{"id", "name", "timeZone", "country", "phoneNumberId", "wabaId", "defaultLanguage", "quietHours", "emergencyNumber", "webhookSecretRef", "apiToken"}},
		{"bad offset", `{"id":"c1","reminderPolicy":{"steps":[{"kind":"pre48h","offset":"soon"}]}}`, []string{"offset"}},
		{"http callback", `{"id":"c1","name":"n","timeZone":"UTC","country":"US","phoneNumberId":"12345","wabaId":"12345","defaultLanguage":"en","emergencyNumber":"911","webhookSecretRef":"env:X","apiTokenHash":"ab","callbackUrl":"http://clinic.example/cb"}`, []string{"callbackUrl"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.json")
			if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path, "", "", os.LookupEnv)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestTokensAreStoredHashed(t *testing.T) {
	tokens := map[string]string{"TOKEN": "s3cret-token", "WRITE_TOKEN": "s3cret-write-token"}
	lookup := func(k string) (string, bool) { v, ok := tokens[k]; return v, ok }
	c, err := Load("../../clinics/demo-clinic.json", "TOKEN", "WRITE_TOKEN", lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.APITokenHash == "" || strings.Contains(c.APITokenHash, "s3cret") || c.APITokenSecretRef != "" {
		t.Fatalf("read token not hashed: %+v", c)
	}
	if c.WriteTokenHash == "" || strings.Contains(c.WriteTokenHash, "s3cret") || c.WriteTokenSecretRef != "" || c.WriteTokenHash == c.APITokenHash {
		t.Fatalf("write token not hashed on its own: %+v", c)
	}
	// One token for both scopes would be no scope at all.
	tokens["WRITE_TOKEN"] = tokens["TOKEN"]
	if _, err := Load("../../clinics/demo-clinic.json", "TOKEN", "WRITE_TOKEN", lookup); err == nil || !strings.Contains(err.Error(), "writeTokenHash must differ") {
		t.Fatalf("the same token for reads and writes: %v, want refused", err)
	}
	if _, err := Load("../../clinics/demo-clinic.json", "", "UNSET_WRITE_TOKEN", lookup); err == nil {
		t.Fatal("an unset write token variable must be an error")
	}
}
