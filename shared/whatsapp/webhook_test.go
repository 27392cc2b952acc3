package whatsapp_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// One real-shaped payload per scenario under testdata/, in the style of
// nyaruka/courier's WhatsApp handler tests. Numbers are invented (+1 555 01xx).
func TestParseNotificationFixtures(t *testing.T) {
	cases := []struct {
		file  string
		check func(t *testing.T, v whatsapp.Value)
	}{
		{"text.json", func(t *testing.T, v whatsapp.Value) {
			m := one(t, v.Messages)
			want(t, m.Type, whatsapp.TypeText)
			want(t, m.Text.Body, "Can I come earlier?")
			want(t, m.From, "15550142")
			want(t, v.Contacts[0].WaID, "15550142")
			want(t, v.Contacts[0].Profile.Name, "Ana Invented")
			at, err := m.Timestamp.Time()
			if err != nil || !at.Equal(time.Unix(1749416383, 0)) {
				t.Errorf("timestamp %v %v", at, err)
			}
		}},
		{"button_template_quick_reply.json", func(t *testing.T, v whatsapp.Value) {
			m := one(t, v.Messages)
			want(t, m.Type, whatsapp.TypeButton)
			want(t, m.Button.Payload, "c:appt-1:confirm")
			want(t, m.Context.ID, "wamid.REMINDER01")
		}},
		{"interactive_button_reply.json", func(t *testing.T, v whatsapp.Value) {
			m := one(t, v.Messages)
			want(t, m.Interactive.Type, whatsapp.InteractiveButtonReply)
			want(t, m.Interactive.ButtonReply.ID, "cancel:appt-1")
			want(t, m.Context.ID, "wamid.ASK01")
		}},
		{"interactive_list_reply.json", func(t *testing.T, v whatsapp.Value) {
			m := one(t, v.Messages)
			want(t, m.Interactive.Type, whatsapp.InteractiveListReply)
			want(t, m.Interactive.ListReply.ID, "slot-2")
			want(t, m.Interactive.ListReply.Description, "Dr. Invented")
		}},
		{"image.json", func(t *testing.T, v whatsapp.Value) {
			m := one(t, v.Messages)
			want(t, m.Type, "image")
			if !json.Valid(m.Image) || len(m.Image) == 0 {
				t.Errorf("image kept raw: %s", m.Image)
			}
		}},
		{"location.json", func(t *testing.T, v whatsapp.Value) { rawKept(t, one(t, v.Messages).Location) }},
		{"reaction.json", func(t *testing.T, v whatsapp.Value) { rawKept(t, one(t, v.Messages).Reaction) }},
		{"unsupported.json", func(t *testing.T, v whatsapp.Value) {
			m := one(t, v.Messages)
			want(t, m.Type, whatsapp.TypeUnsupported)
			if len(m.Errors) != 1 || m.Errors[0].Code != 131051 || m.Errors[0].ErrorData.Details == "" {
				t.Errorf("errors %+v", m.Errors)
			}
		}},
		{"system.json", func(t *testing.T, v whatsapp.Value) {
			m := one(t, v.Messages)
			want(t, m.Type, whatsapp.TypeSystem)
			rawKept(t, m.System)
			if len(v.Contacts) != 0 {
				t.Error("system messages carry no contacts")
			}
		}},
		{"future_type.json", func(t *testing.T, v whatsapp.Value) {
			// A type this code has never seen is still fully available through Raw.
			m := one(t, v.Messages)
			want(t, m.Type, "hologram")
			var raw map[string]any
			if err := json.Unmarshal(m.Raw, &raw); err != nil || raw["hologram"] == nil {
				t.Errorf("raw %s", m.Raw)
			}
		}},
		{"status_sent.json", func(t *testing.T, v whatsapp.Value) {
			s := one(t, v.Statuses)
			want(t, s.Status, whatsapp.StatusSent)
			want(t, s.ID, "wamid.REMINDER01")
			want(t, s.RecipientID, "15550142")
			want(t, s.Conversation.Origin.Type, "utility")
			want(t, string(s.Conversation.ExpirationTimestamp), "1750350173")
			if !s.Pricing.Billable || s.Pricing.PricingModel != "PMP" || s.Pricing.Category != "utility" {
				t.Errorf("pricing %+v", s.Pricing)
			}
		}},
		{"status_read.json", func(t *testing.T, v whatsapp.Value) {
			s := one(t, v.Statuses)
			want(t, s.Status, whatsapp.StatusRead)
			if s.Pricing != nil || s.Conversation != nil {
				t.Error("read carries no pricing")
			}
		}},
		{"status_failed.json", func(t *testing.T, v whatsapp.Value) {
			s := one(t, v.Statuses)
			want(t, s.Status, whatsapp.StatusFailed)
			if len(s.Errors) != 1 || whatsapp.ClassifyCode(s.Errors[0].Code) != whatsapp.ClassUndeliverable {
				t.Errorf("errors %+v", s.Errors)
			}
		}},
		{"value_errors.json", func(t *testing.T, v whatsapp.Value) {
			if len(v.Errors) != 1 || v.Errors[0].Code != whatsapp.CodeThroughput {
				t.Errorf("errors %+v", v.Errors)
			}
		}},
		{"group_numeric_timestamp.json", func(t *testing.T, v whatsapp.Value) { rawKept(t, one(t, v.Groups)) }},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			n, err := whatsapp.ParseNotification(body)
			if err != nil {
				t.Fatal(err)
			}
			if n.Object != whatsapp.ObjectWhatsAppBusinessAccount || len(n.Entry) != 1 || len(n.Entry[0].Changes) != 1 {
				t.Fatalf("envelope %+v", n)
			}
			v := n.Entry[0].Changes[0].Value
			want(t, v.Metadata.PhoneNumberID, "106540352242922")
			for _, m := range v.Messages {
				sameJSON(t, m.Raw, originalMessage(t, body))
			}
			tc.check(t, v)
		})
	}
}

func TestParseNotificationRejects(t *testing.T) {
	cases := map[string]struct {
		body string
		is   error
	}{
		"not json":           {`{"object":`, nil},
		"wrong object":       {`{"object":"page","entry":[]}`, whatsapp.ErrNotWhatsApp},
		"no object":          {`{"entry":[]}`, whatsapp.ErrNotWhatsApp},
		"bad timestamp type": {`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":[{"id":"w","status":"sent","timestamp":{"x":1}}]}}]}]}`, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := whatsapp.ParseNotification([]byte(tc.body))
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("got %v, want %v", err, tc.is)
			}
		})
	}
}

func TestTimestamp(t *testing.T) {
	for _, in := range []string{`"1750269342"`, `1750269342`} {
		var ts whatsapp.Timestamp
		if err := json.Unmarshal([]byte(in), &ts); err != nil {
			t.Fatal(err)
		}
		got, err := ts.Time()
		if err != nil || got.Unix() != 1750269342 || got.Location() != time.UTC {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	if _, err := whatsapp.Timestamp("soon").Time(); err == nil {
		t.Error("non-numeric timestamp accepted")
	}
}

func one[T any](t *testing.T, s []T) T {
	t.Helper()
	if len(s) != 1 {
		t.Fatalf("want exactly one, got %d", len(s))
	}
	return s[0]
}

func want[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func rawKept(t *testing.T, raw json.RawMessage) {
	t.Helper()
	if len(raw) == 0 || !json.Valid(raw) {
		t.Errorf("raw part lost: %q", raw)
	}
}

func originalMessage(t *testing.T, body []byte) json.RawMessage {
	t.Helper()
	var n struct {
		Entry []struct {
			Changes []struct {
				Value struct {
					Messages []json.RawMessage `json:"messages"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &n); err != nil {
		t.Fatal(err)
	}
	return n.Entry[0].Changes[0].Value.Messages[0]
}

func sameJSON(t *testing.T, a, b []byte) {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(x, y) {
		t.Errorf("raw message differs from the original:\n%s\n%s", a, b)
	}
}

// Identity fields (business-scoped user ids, usernames, number and BSUID changes) and
// template lifecycle changes, in the shapes Meta documents.
func TestParseIdentityAndTemplateFixtures(t *testing.T) {
	const bsuid, parent = "US.13491208655302741918", "US.ENT.11815799212886844830"
	parse := func(t *testing.T, file string) whatsapp.Change {
		t.Helper()
		body, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		n, err := whatsapp.ParseNotification(body)
		if err != nil {
			t.Fatal(err)
		}
		return n.Entry[0].Changes[0]
	}
	cases := []struct {
		file  string
		check func(t *testing.T, c whatsapp.Change)
	}{
		{"identity_phone_and_bsuid.json", func(t *testing.T, c whatsapp.Change) {
			m := one(t, c.Value.Messages)
			want(t, m.From, "15550100101")
			want(t, m.FromUserID, bsuid)
			want(t, m.FromParentUserID, parent)
			ct, ok := c.Value.ContactOf(m)
			if !ok {
				t.Fatal("no contact for the sender")
			}
			want(t, ct.UserID, bsuid)
			want(t, ct.ParentUserID, parent)
			want(t, ct.Profile.Username, "@jane.invented")
		}},
		{"identity_bsuid_only_stop.json", func(t *testing.T, c whatsapp.Change) {
			m := one(t, c.Value.Messages)
			want(t, m.From, "")
			got, _ := c.Value.SenderUserID(m)
			want(t, got, bsuid)
			if ct, ok := c.Value.ContactOf(m); !ok || ct.WaID != "" {
				t.Errorf("contact %+v %v: want a username-only contact", ct, ok)
			}
		}},
		{"identity_status_recipient_user_id.json", func(t *testing.T, c whatsapp.Change) {
			s := one(t, c.Value.Statuses)
			want(t, s.RecipientID, "")
			want(t, s.RecipientUserID, bsuid)
			want(t, s.RecipientParentUserID, parent)
		}},
		{"identity_number_change.json", func(t *testing.T, c whatsapp.Change) {
			sys, ok := one(t, c.Value.Messages).SystemNotice()
			if !ok {
				t.Fatal("no system notice")
			}
			want(t, sys.Type, whatsapp.SystemUserChangedNumber)
			want(t, sys.WaID, "15550100143")
		}},
		{"identity_user_id_change.json", func(t *testing.T, c whatsapp.Change) {
			m := one(t, c.Value.Messages)
			sys, _ := m.SystemNotice()
			want(t, sys.Type, whatsapp.SystemUserChangedUserID)
			want(t, m.FromUserID, bsuid)
			want(t, sys.UserID, "US.13491208655302749999")
		}},
		{"template_category_update.json", func(t *testing.T, c whatsapp.Change) {
			want(t, c.Field, whatsapp.FieldTemplateCategory)
			if c.Template == nil {
				t.Fatal("no template change")
			}
			want(t, c.Template.Name, "appointment_reminder_48h")
			want(t, c.Template.Language, "en_US")
			want(t, c.Template.PreviousCategory, whatsapp.CategoryUtility)
			want(t, c.Template.NewCategory, whatsapp.CategoryMarketing)
			want(t, c.Template.TemplateID.String(), "1234567890123456")
		}},
		{"template_paused.json", func(t *testing.T, c whatsapp.Change) {
			want(t, c.Field, whatsapp.FieldTemplateStatus)
			want(t, c.Template.Event, whatsapp.TemplatePaused)
			want(t, c.Template.Category, whatsapp.CategoryUtility)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) { tc.check(t, parse(t, tc.file)) })
	}
}

func TestIsBSUID(t *testing.T) {
	for s, ok := range map[string]bool{
		"US.13491208655302741918": true, "BR.1502576394655843": true, "US.ENT.11815799212886844830": true,
		"+15550100143": false, "15550100143": false, "us.1234": false, "US.": false, "US.12 34": false,
	} {
		if whatsapp.IsBSUID(s) != ok {
			t.Errorf("IsBSUID(%q) = %v", s, !ok)
		}
	}
}

// A template send to a BSUID goes by `recipient` and carries no `to`.
func TestTemplateMessageToBSUID(t *testing.T) {
	m, err := whatsapp.TemplateMessage("US.13491208655302741918", "appointment_reminder_2h", "en_US", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	var got map[string]any
	_ = json.Unmarshal(b, &got)
	if got["recipient"] != "US.13491208655302741918" || got["to"] != nil {
		t.Fatalf("body %s", b)
	}
}
