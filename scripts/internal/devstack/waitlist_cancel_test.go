package devstack_test

import (
	"bytes"
	"context"
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

// putFor sends a signed PUT to another clinic's route (the clinics cloned here
// keep the demo clinic's webhook secret).
func (w *world) putFor(t *testing.T, clinicID, path string, body []byte) {
	t.Helper()
	code, b := w.signedEHR(t, http.MethodPut, "/v1/clinics/"+clinicID+path, time.Now(), body)
	if code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("PUT %s%s: HTTP %d: %s", clinicID, path, code, b)
	}
}

// On the running stack, through the deployed builders: the EHR cancelling an
// appointment frees the busy slot it occupied (found by its start), and the next
// sweep offers it to the first wave of three waitlisted patients in join order,
// skipping the opted-out one, as waitlist_offer templates sent by the sender
// (valid under Meta's spec). A clinic in its quiet hours offers nothing: its wave
// waits for the quiet hours to end.
func TestEHRCancellationOffersTheSlotInWavesOutsideQuietHours(t *testing.T) {
	w := stackFor(t)
	w.dumpOnFailure(t, w.logs.Len())
	ctx := context.Background()
	demo, err := w.stack.Store.GetClinic(ctx, devstack.DemoClinicID)
	if err != nil {
		t.Fatal(err)
	}
	// Clinics of this test's own, so no other test's waitlist is offered the slot.
	open, quiet := demo, demo
	open.ID, open.PhoneNumberID = "systest-wl-open", "100000000000951"
	quiet.ID, quiet.PhoneNumberID = "systest-wl-quiet", "100000000000952"
	open.QuietHours = reminder.QuietHours{}
	loc, err := quiet.Location()
	if err != nil {
		t.Fatal(err)
	}
	local := time.Now().In(loc)
	quiet.QuietHours = reminder.QuietHours{Start: local.Add(-time.Hour).Format("15:04"), End: local.Add(3 * time.Hour).Format("15:04")}
	for _, cl := range []clinic.Clinic{open, quiet} {
		if err := cl.Validate(); err != nil {
			t.Fatal(err)
		}
		if err := w.stack.Store.PutClinic(ctx, cl); err != nil {
			t.Fatal(err)
		}
	}

	now := time.Now().UTC()
	slotStart := now.Add(28 * time.Hour).Truncate(time.Minute)
	appt := func(clinicID, id, phone, consentState, status string, start time.Time, waitlist bool, version int) {
		body, _ := json.Marshal(map[string]any{"status": status, "start": start.Format(time.RFC3339), "durationMinutes": 30,
			"location": map[string]string{"name": "Demo Family Clinic"}, "waitlist": waitlist,
			"patient": map[string]string{"id": "pat-" + id, "phone": phone, "givenName": "Wait", "language": "en-US"},
			"consent": map[string]string{"whatsapp": consentState, "at": now.Add(-time.Hour).Format(time.RFC3339), "source": "systest", "evidence": "intake form"},
			"version": version})
		w.putFor(t, clinicID, "/appointments/"+id, body)
	}
	type waiter struct{ id, phone, consent string }
	waiters := []waiter{{"cx-a", "+15550100151", "opted_in"}, {"cx-out", "+15550100152", "opted_out"},
		{"cx-b", "+15550100153", "opted_in"}, {"cx-c", "+15550100154", "opted_in"}, {"cx-d", "+15550100155", "opted_in"}}
	for i, p := range waiters {
		appt(open.ID, p.id, p.phone, p.consent, "booked", now.Add(time.Duration(5*24+i)*time.Hour).Truncate(time.Minute), true, 1)
	}
	appt(quiet.ID, "cx-q", "+15550100156", "opted_in", "booked", now.Add(5*24*time.Hour).Truncate(time.Minute), true, 1)
	for _, c := range []string{open.ID, quiet.ID} {
		w.putFor(t, c, "/slots/systest-cx-slot", []byte(fmt.Sprintf(`{"start":%q,"durationMinutes":30,"status":"busy","version":1}`,
			slotStart.Format(time.RFC3339))))
		phone := map[string]string{open.ID: "+15550100157", quiet.ID: "+15550100158"}[c]
		appt(c, "cx-gone", phone, "opted_in", "booked", slotStart, false, 1)
		appt(c, "cx-gone", phone, "opted_in", "cancelled", slotStart, false, 2)
	}

	offersTo := func() map[string]whatsapptest.Recorded {
		out := map[string]whatsapptest.Recorded{}
		for _, r := range w.stack.Stub.Sent() {
			if r.Type == "template" && r.Template == reminder.TemplateWaitlistOffer && (r.PhoneNumberID == open.PhoneNumberID || r.PhoneNumberID == quiet.PhoneNumberID) {
				out[strings.TrimPrefix(to(r), "+")] = r
			}
		}
		return out
	}
	eventually(t, waitTimeout, "the first wave of offers", func() (bool, string) {
		got := offersTo()
		return len(got) >= 3, fmt.Sprintf("%d offers", len(got))
	})
	// The quiet clinic's release was looked at by then or is about to be: wait
	// until its wave is deferred (no longer due), then nothing may have gone out.
	eventually(t, waitTimeout, "the quiet clinic's wave deferred", func() (bool, string) {
		due, err := w.stack.Store.DueReleases(ctx, quiet.ID, time.Now(), 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(due) == 0, fmt.Sprintf("%d releases due", len(due))
	})
	got := offersTo()
	want := []string{"15550100151", "15550100153", "15550100154"}
	if len(got) != len(want) {
		t.Fatalf("offers to %v, want exactly %v (join order, opted-out skipped, one wave, none in quiet hours)", keys(got), want)
	}
	for _, num := range want {
		r, ok := got[num]
		if !ok {
			t.Fatalf("no offer to %s; offers to %v", num, keys(got))
		}
		if r.PhoneNumberID != open.PhoneNumberID {
			t.Errorf("offer to %s from number %s, want the open clinic's", num, r.PhoneNumberID)
		}
		if err := whatsappspec.ValidateMessage(r.Body); err != nil {
			t.Errorf("offer does not match Meta's spec: %v\n%s", err, r.Body)
		}
	}

	// Two of them tap [Move it]: the first holds the slot and the clinic is asked
	// to book it (reason waitlist); the second is told the time was just taken.
	tapMoveIt := func(num string) {
		t.Helper()
		var m struct {
			Template struct {
				Components []struct {
					Type       string `json:"type"`
					Index      string `json:"index"`
					Parameters []struct {
						Payload string `json:"payload"`
					} `json:"parameters"`
				} `json:"components"`
			} `json:"template"`
		}
		if err := json.Unmarshal(got[num].Body, &m); err != nil {
			t.Fatal(err)
		}
		payload := ""
		for _, c := range m.Template.Components {
			if c.Type == "button" && c.Index == "0" && len(c.Parameters) == 1 {
				payload = c.Parameters[0].Payload
			}
		}
		body := w.inboundMessage(num, map[string]any{"type": "button", "button": map[string]string{"payload": payload, "text": "Move it"}})
		body = bytes.ReplaceAll(body, []byte(w.cfg.PhoneNumberID), []byte(open.PhoneNumberID))
		if code := w.postWebhook(t, body); code != http.StatusOK {
			t.Fatalf("webhook answered %d", code)
		}
	}
	tapMoveIt("15550100151")
	eventually(t, waitTimeout, "appointment.reschedule_requested for the accepted offer", func() (bool, string) {
		events, _ := w.callback.snapshot()
		for _, e := range events {
			if e.ClinicID == open.ID && e.Type == clinic.EventAppointmentRescheduleRequested && e.Data["appointmentId"] == "cx-a" {
				if e.Data["slotId"] != "systest-cx-slot" || e.Data["reason"] != "waitlist" || e.Data["start"] != slotStart.Format(time.RFC3339) {
					t.Fatalf("event %+v", e)
				}
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events", len(events))
	})
	tapMoveIt("15550100153")
	textTo := func(num, words string) func() (bool, string) {
		return func() (bool, string) {
			for _, r := range w.stack.Stub.Sent() {
				if r.Type == "text" && r.PhoneNumberID == open.PhoneNumberID && strings.TrimPrefix(to(r), "+") == num && strings.Contains(string(r.Body), words) {
					return true, ""
				}
			}
			return false, "no such text"
		}
	}
	eventually(t, waitTimeout, "the second acceptance told the time was taken", textTo("15550100153", "just taken"))

	// The EHR books it: the patient is told the visit's new time (inside the
	// window their tap opened: free-form).
	appt(open.ID, "cx-a", "+15550100151", "opted_in", "booked", slotStart, true, 2)
	eventually(t, waitTimeout, "the visit-moved confirmation", textTo("15550100151", "moved your visit"))
}

func keys(m map[string]whatsapptest.Recorded) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
