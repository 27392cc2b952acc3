// Package clinicfile reads and validates the clinic files ops onboard clinics with.
package clinicfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// Load reads and validates a clinic file, reporting every problem at once.
// Unknown fields are errors: a misspelt "quietHour" must not silently disable quiet hours.
// tokenEnv and writeTokenEnv, when set, name variables holding the clinic's read
// and write tokens; only their SHA-256 is kept.
func Load(path, tokenEnv, writeTokenEnv string, lookup func(string) (string, bool)) (clinic.Clinic, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return clinic.Clinic{}, fmt.Errorf("read %s: %w", path, err)
	}
	var c clinic.Clinic
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return clinic.Clinic{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(c.ReminderPolicy.Steps) == 0 {
		c.ReminderPolicy = reminder.DefaultPolicy()
	}
	if tokenEnv != "" {
		token, ok := lookup(tokenEnv)
		if !ok || token == "" {
			return clinic.Clinic{}, fmt.Errorf("%s is not set", tokenEnv)
		}
		c.APITokenHash = ehr.HashToken(token)
		c.APITokenSecretRef = ""
	}
	if writeTokenEnv != "" {
		token, ok := lookup(writeTokenEnv)
		if !ok || token == "" {
			return clinic.Clinic{}, fmt.Errorf("%s is not set", writeTokenEnv)
		}
		c.WriteTokenHash = ehr.HashToken(token)
		c.WriteTokenSecretRef = ""
	}
	if err := c.Validate(); err != nil {
		return clinic.Clinic{}, fmt.Errorf("%s is not a valid clinic file:\n%w", path, err)
	}
	return c, nil
}
