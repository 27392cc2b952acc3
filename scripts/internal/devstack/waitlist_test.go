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
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// On the running stack: the clinic publishes a free slot; the patient's
// Reschedule tap brings a list of it (valid under Meta's spec); picking the row
// holds the slot and the clinic receives a signed appointment.reschedule_requested
// naming the slot and its start.
func TestRescheduleTapListsPublishedSlotsAndAPickIsSignedToTheClinic(t *testing.T) {
	w := stackFor(t)
	w.dumpOnFailure(t, w.logs.Len())
	patient := patientSpec{id: "systest-wl-patient", phone: "+15550100187", givenName: "Kim"}
	waID := strings.TrimPrefix(patient.phone, "+")
	apptID := "systest-wl-appt"
	w.book(t, apptID, patient, 6*24*time.Hour)

	slotStart := time.Now().Add(30 * time.Hour).Truncate(time.Minute).UTC()
	var answer map[string]any
	body := []byte(fmt.Sprintf(`{"start":%q,"durationMinutes":30,"status":"free","version":1}`, slotStart.Format(time.RFC3339)))
	w.signedPUT(t, "/slots/systest-wl-slot", body, http.StatusCreated, &answer)

	gen := reminder.Generation(w.appointment(t, apptID).Start)
	tap := reminder.ButtonPayload{Action: reminder.ActionReschedule, ClinicID: devstack.DemoClinicID, AppointmentID: apptID, Generation: gen}.Encode()
	if code := w.postWebhook(t, w.inboundMessage(waID, map[string]any{"type": "button",
		"button": map[string]string{"payload": tap, "text": "Reschedule"}})); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	var list whatsapptest.Recorded
	eventually(t, waitTimeout, "the slot list at the stand-in", func() (bool, string) {
		for _, r := range w.stack.Stub.Sent() {
			if (to(r) == patient.phone || to(r) == waID) && r.Type == "interactive" {
				list = r
				return true, ""
			}
		}
		return false, "no interactive send to the patient"
	})
	if err := whatsappspec.ValidateMessage(list.Body); err != nil {
		t.Fatalf("the list does not match Meta's schema: %v\n%s", err, list.Body)
	}
	var m whatsapp.Message
	if err := json.Unmarshal(list.Body, &m); err != nil || m.Interactive == nil || len(m.Interactive.Action.Sections) == 0 {
		t.Fatalf("list body %s: %v", list.Body, err)
	}
	row := m.Interactive.Action.Sections[0].Rows[0]
	if code := w.postWebhook(t, w.inboundMessage(waID, map[string]any{"type": "interactive",
		"interactive": map[string]any{"type": "list_reply", "list_reply": map[string]string{"id": row.ID, "title": row.Title}}})); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	eventually(t, waitTimeout, "a signed appointment.reschedule_requested with the slot", func() (bool, string) {
		events, rejected := w.callback.snapshot()
		if len(rejected) > 0 {
			t.Fatalf("the callback receiver rejected deliveries: %q", rejected)
		}
		for _, e := range events {
			if e.Type == clinic.EventAppointmentRescheduleRequested && e.Data["appointmentId"] == apptID && e.Data["slotId"] != nil {
				if e.Data["slotId"] != "systest-wl-slot" || e.Data["start"] != slotStart.Format(time.RFC3339) || e.WebhookID != e.ID {
					t.Fatalf("event %+v", e)
				}
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events", len(events))
	})
}

// On the running stack: a published slot the EHR frees is offered to the
// waitlisted patients whose visit is later, in join order, three at a time, as
// the waitlist_offer template (valid under Meta's spec); an opted-out patient
// gets nothing.
func TestFreedSlotIsOfferedToTheWaitlistInWaves(t *testing.T) {
	w := stackFor(t)
	w.dumpOnFailure(t, w.logs.Len())
	now := time.Now().UTC()
	type wp struct{ id, phone, consent string }
	waiters := []wp{{"wl-a", "+15550100181", "opted_in"}, {"wl-out", "+15550100182", "opted_out"},
		{"wl-b", "+15550100183", "opted_in"}, {"wl-c", "+15550100184", "opted_in"}, {"wl-d", "+15550100185", "opted_in"}}
	for i, p := range waiters {
		body, _ := json.Marshal(map[string]any{"status": "booked", "start": now.Add(time.Duration(5*24+i) * time.Hour).Truncate(time.Minute).Format(time.RFC3339),
			"durationMinutes": 30, "waitlist": true,
			"patient":   map[string]string{"id": "pat-" + p.id, "phone": p.phone, "givenName": "Wait", "language": "en-US"},
			"consent":   map[string]string{"whatsapp": p.consent, "at": now.Add(-time.Hour).Format(time.RFC3339), "source": "systest", "evidence": "intake form"},
			"updatedAt": now.Format(time.RFC3339Nano)})
		var st map[string]any
		w.signedPUT(t, "/appointments/systest-"+p.id, body, http.StatusCreated, &st)
	}
	start := now.Add(28 * time.Hour).Truncate(time.Minute).Format(time.RFC3339)
	var st map[string]any
	w.signedPUT(t, "/slots/systest-freed", []byte(fmt.Sprintf(`{"start":%q,"durationMinutes":30,"status":"busy","version":1}`, start)), http.StatusCreated, &st)
	w.signedPUT(t, "/slots/systest-freed", []byte(fmt.Sprintf(`{"start":%q,"durationMinutes":30,"status":"free","version":2}`, start)), http.StatusOK, &st)

	offersTo := func() map[string]whatsapptest.Recorded {
		out := map[string]whatsapptest.Recorded{}
		for _, r := range w.stack.Stub.Sent() {
			// The demo clinic's own: other tests offer slots from clinics of their own.
			if r.Type == "template" && r.Template == reminder.TemplateWaitlistOffer && r.PhoneNumberID == w.cfg.PhoneNumberID {
				out[to(r)] = r
			}
		}
		return out
	}
	eventually(t, waitTimeout, "the first wave of offers", func() (bool, string) {
		got := offersTo()
		return len(got) >= 3, fmt.Sprintf("%d offers", len(got))
	})
	got := offersTo()
	if len(got) != 3 {
		t.Fatalf("%d offers in the first wave, want 3", len(got))
	}
	for _, p := range []wp{waiters[0], waiters[2], waiters[3]} {
		r, ok := got[strings.TrimPrefix(p.phone, "+")]
		if !ok {
			r, ok = got[p.phone]
		}
		if !ok {
			t.Fatalf("no offer to %s (join order, opted-out skipped); offers to %v", p.id, got)
		}
		if err := whatsappspec.ValidateMessage(r.Body); err != nil {
			t.Fatalf("offer does not match Meta's schema: %v\n%s", err, r.Body)
		}
	}
}
