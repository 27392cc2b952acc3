package clinic

import (
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

func validClinic() Clinic {
	return Clinic{
		ID: "clinica-sol", Name: "Clinica Sol", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: "100200300400", WABAID: "500600700800", DefaultLanguage: "en_US",
		ReminderPolicy: reminder.DefaultPolicy(), EmergencyNumber: "911",
		WebhookSecretRef: "env:TEST_SECRET", APITokenHash: "00",
	}
}

func TestNoticeFieldsValidate(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*Clinic)
		wantErr string
	}{
		{"none set", func(c *Clinic) {}, ""},
		{"portal", func(c *Clinic) { c.PortalURL = "https://portal.example.org/patients" }, ""},
		{"phone", func(c *Clinic) { c.Phone = "+1 555 0100" }, ""},
		{"feedback 3h", func(c *Clinic) { c.FeedbackAfter = "3h" }, ""},
		{"recall plan", func(c *Clinic) {
			c.ReminderPolicy.RecallAfter = reminder.RecallAfter{"diabetes-review": "90d", "dental": "26w"}
		}, ""},
		{"portal http", func(c *Clinic) { c.PortalURL = "http://portal.example.org" }, "portalUrl"},
		{"portal with query", func(c *Clinic) { c.PortalURL = "https://portal.example.org/?patient=p-1" }, "portalUrl"},
		{"portal with fragment", func(c *Clinic) { c.PortalURL = "https://portal.example.org/#doc" }, "portalUrl"},
		{"portal with credentials", func(c *Clinic) { c.PortalURL = "https://u:p@portal.example.org" }, "portalUrl"},
		{"portal not a url", func(c *Clinic) { c.PortalURL = "portal" }, "portalUrl"},
		{"phone letters", func(c *Clinic) { c.Phone = "call us" }, "phone"},
		{"phone too short", func(c *Clinic) { c.Phone = "12" }, "phone"},
		{"feedback negative", func(c *Clinic) { c.FeedbackAfter = "-3h" }, "feedbackAfter"},
		{"feedback too late", func(c *Clinic) { c.FeedbackAfter = "200h" }, "feedbackAfter"},
		{"feedback garbage", func(c *Clinic) { c.FeedbackAfter = "soon" }, "feedbackAfter"},
		{"recall hours", func(c *Clinic) { c.ReminderPolicy.RecallAfter = reminder.RecallAfter{"x": "90h"} }, "recallAfter"},
		{"recall zero", func(c *Clinic) { c.ReminderPolicy.RecallAfter = reminder.RecallAfter{"x": "0d"} }, "recallAfter"},
		{"recall three years", func(c *Clinic) { c.ReminderPolicy.RecallAfter = reminder.RecallAfter{"x": "1100d"} }, "recallAfter"},
		{"recall bad visit type", func(c *Clinic) { c.ReminderPolicy.RecallAfter = reminder.RecallAfter{"a b": "90d"} }, "recallAfter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validClinic()
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.wantErr)
			}
		})
	}
}

func TestNoticeContactAndFeedbackDelay(t *testing.T) {
	c := validClinic()
	if got := c.NoticeContact(); got != "" {
		t.Errorf("no contact: %q", got)
	}
	c.Phone = "+1 555 0100"
	if got := c.NoticeContact(); got != "+1 555 0100" {
		t.Errorf("phone only: %q", got)
	}
	c.PortalURL = "https://portal.example.org"
	if got := c.NoticeContact(); got != "https://portal.example.org" {
		t.Errorf("portal wins: %q", got)
	}
	if _, ok := c.FeedbackDelay(); ok {
		t.Error("feedback on by default")
	}
	c.FeedbackAfter = "3h"
	if d, ok := c.FeedbackDelay(); !ok || d != 3*time.Hour {
		t.Errorf("FeedbackDelay = %v, %v", d, ok)
	}
}
