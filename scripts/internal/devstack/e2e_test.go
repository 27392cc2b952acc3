package devstack_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// The reminder loop on the running stack: an appointment booked 47 h
// ahead gets its 48 h reminder at once, valid against Meta's Message schema, with
// button payloads that resolve back to the appointment; a signed webhook tapping
// Confirm makes GET show confirmed, and the clinic's callback receives
// appointment.confirmed, signed. The stand-in's status webhooks move the reminder
// to read on the way.
func TestBookedAppointmentIsRemindedAndConfirmedByTap(t *testing.T) {
	w := stackFor(t)
	w.dumpOnFailure(t, w.logs.Len())
	patient := patientSpec{id: "systest-e2e-patient", phone: "+15550100161", givenName: "Robin"}
	waID := strings.TrimPrefix(patient.phone, "+")
	apptID := "systest-e2e-appt"

	booked := time.Now()
	w.book(t, apptID, patient, 47*time.Hour)

	// The sweep (every 200 ms) queues the 48 h reminder, the sender sends it.
	var sent whatsapptest.Recorded
	eventually(t, waitTimeout, "the 48 h reminder at the Graph API stand-in", func() (bool, string) {
		recs := w.stack.Stub.Sent()
		for _, r := range recs {
			if to(r) == patient.phone || to(r) == waID {
				sent = r
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d sends recorded, none to the patient", len(recs))
	})
	t.Logf("48 h reminder reached the stand-in %s after booking", time.Since(booked).Round(time.Millisecond))

	if !sent.Accepted() || sent.WAMID == "" {
		t.Fatalf("the stand-in refused the reminder: HTTP %d code %d body %s", sent.HTTPStatus, sent.Code, sent.Body)
	}
	if sent.Type != "template" || sent.Template != "appointment_reminder_48h" {
		t.Errorf("send type %q template %q, want the appointment_reminder_48h template", sent.Type, sent.Template)
	}
	if err := whatsappspec.ValidateMessage(sent.Body); err != nil {
		t.Errorf("the reminder does not match Meta's Message schema: %v\n%s", err, sent.Body)
	}
	if n := countSendsTo(w.stack.Stub.Sent(), patient.phone); n != 1 {
		t.Errorf("%d sends to the patient so far, want exactly the one reminder", n)
	}

	payloads := quickReplyPayloads(t, sent.Body)
	byAction := map[reminder.Action]string{}
	for _, p := range payloads {
		bp, err := reminder.ParseButtonPayload(p)
		if err != nil {
			t.Fatalf("quick-reply payload %q does not parse: %v", p, err)
		}
		if bp.ClinicID != devstack.DemoClinicID || bp.AppointmentID != apptID {
			t.Errorf("payload %q resolves to %s/%s, want %s/%s", p, bp.ClinicID, bp.AppointmentID, devstack.DemoClinicID, apptID)
		}
		byAction[bp.Action] = p
	}
	for _, a := range []reminder.Action{reminder.ActionConfirm, reminder.ActionReschedule, reminder.ActionCancel} {
		if byAction[a] == "" {
			t.Errorf("no %s button among the payloads %q", a, payloads)
		}
	}
	if byAction[reminder.ActionConfirm] == "" {
		t.FailNow()
	}

	// The patient taps Confirm on that message.
	tap := w.inboundMessage(waID, map[string]any{
		"type":    "button",
		"button":  map[string]string{"payload": byAction[reminder.ActionConfirm], "text": "Confirm"},
		"context": map[string]string{"from": "15550100000", "id": sent.WAMID},
	})
	if code := w.postWebhook(t, tap); code != http.StatusOK {
		t.Fatalf("webhook with the tap answered %d, want 200", code)
	}

	eventually(t, waitTimeout, "GET to show the appointment confirmed", func() (bool, string) {
		st := w.appointment(t, apptID)
		if st.Response == nil {
			return false, "no response"
		}
		return st.Response.Value == "confirmed", "response " + string(st.Response.Value)
	})

	eventually(t, waitTimeout, "a signed appointment.confirmed at the clinic's callback", func() (bool, string) {
		events, rejected := w.callback.snapshot()
		if len(rejected) > 0 {
			t.Fatalf("the callback receiver rejected deliveries: %q", rejected)
		}
		var seen []string
		for _, e := range events {
			if e.Type == clinic.EventAppointmentConfirmed && e.Data["appointmentId"] == apptID {
				if e.ClinicID != devstack.DemoClinicID || e.WebhookID != e.ID {
					t.Fatalf("event %+v: want clinic %s and webhook-id = event id", e, devstack.DemoClinicID)
				}
				return true, ""
			}
			seen = append(seen, e.Type)
		}
		return false, fmt.Sprintf("events so far: %q", seen)
	})

	eventually(t, waitTimeout, "the status webhooks to move the 48 h reminder to read", func() (bool, string) {
		r, ok := reminderOf(w.appointment(t, apptID), string(reminder.KindDayBefore))
		return ok && r.State == reminder.StateRead, fmt.Sprintf("pre48h: found=%v state=%q", ok, r.State)
	})
}

// to returns the recipient of a recorded send.
func to(r whatsapptest.Recorded) string {
	var m struct {
		To string `json:"to"`
	}
	_ = json.Unmarshal(r.Body, &m)
	return m.To
}

func countSendsTo(recs []whatsapptest.Recorded, e164 string) int {
	n := 0
	for _, r := range recs {
		if got := to(r); got == e164 || got == strings.TrimPrefix(e164, "+") {
			n++
		}
	}
	return n
}

// quickReplyPayloads returns the payloads of a template send's quick-reply buttons.
func quickReplyPayloads(t *testing.T, body []byte) []string {
	t.Helper()
	var m struct {
		Template struct {
			Components []struct {
				Type       string `json:"type"`
				SubType    string `json:"sub_type"`
				Parameters []struct {
					Type    string `json:"type"`
					Payload string `json:"payload"`
				} `json:"parameters"`
			} `json:"components"`
		} `json:"template"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode the send: %v", err)
	}
	var out []string
	for _, c := range m.Template.Components {
		if c.Type != "button" || c.SubType != "quick_reply" {
			continue
		}
		for _, p := range c.Parameters {
			if p.Type == "payload" {
				out = append(out, p.Payload)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("the send has no quick-reply payloads: %s", body)
	}
	return out
}
