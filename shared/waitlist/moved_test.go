package waitlist_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/outbound/outboundtest"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/slot"
	"github.com/frontdesk-health/frontdesk/shared/waitlist"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

// TestEHRMoveOfAHeldSlotIsConfirmedOnce: when the EHR moves a patient's visit to
// the slot they chose, the next sweep tells them its new time once (text inside
// their window, the appointment_moved template outside it, valid under Meta's
// spec); a visit the EHR has not moved yet is told nothing, and the used hold
// then lapses quietly (no expiry event).
func TestEHRMoveOfAHeldSlotIsConfirmedOnce(t *testing.T) {
	v := whatsappspec.RequireSpec(t)
	for _, tc := range []struct {
		name     string
		wroteAgo time.Duration
		moved    bool
		wantType string
	}{
		{"inside the window", time.Hour, true, "text"},
		{"outside the window", 30 * time.Hour, true, "template"},
		{"not moved yet", time.Hour, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, store, clock, ev, _ := newService(t)
			ctx := ctxT(t)
			c := clinic.Clinic{ID: "clinic-a", Name: "Demo Family Clinic", TimeZone: "America/New_York", DefaultLanguage: "en-US", PhoneNumberID: "1001"}
			if err := store.PutClinic(ctx, c); err != nil {
				t.Fatal(err)
			}
			if err := store.PutPatient(ctx, appointment.Patient{ClinicID: c.ID, ID: "pat-1", Phone: "+15550100174", Language: "pt-BR",
				LastInboundAt: t0.Add(-tc.wroteAgo)}); err != nil {
				t.Fatal(err)
			}
			if err := store.AppendConsent(ctx, consent.Entry{ClinicID: c.ID, PatientID: "pat-1", ID: "c-1", State: consent.OptedIn,
				At: t0.Add(-48 * time.Hour), Source: "test"}); err != nil {
				t.Fatal(err)
			}
			a := appointment.Appointment{ClinicID: c.ID, ID: "appt-1", PatientID: "pat-1", Status: appointment.StatusBooked,
				Start: t0.Add(6 * 24 * time.Hour), Duration: 30 * time.Minute, Location: appointment.Location{Name: "Main St", Address: "1 Main St"}, Version: 1}
			if err := store.SaveAppointment(ctx, a, nil); err != nil {
				t.Fatal(err)
			}
			sl := slot.Slot{ClinicID: c.ID, ID: "slot-1", Start: t0.Add(30 * time.Hour), Duration: 30 * time.Minute, Status: slot.Free, Version: 1}
			if err := store.SaveSlot(ctx, sl); err != nil {
				t.Fatal(err)
			}
			if _, r, err := svc.Choose(ctx, waitlist.Choice{ClinicID: c.ID, AppointmentID: a.ID, PatientID: a.PatientID, SlotID: sl.ID,
				Reason: slot.ReasonReschedule, MessageID: "wamid.PICK1"}); err != nil || r.Answer != waitlist.AnswerHeld {
				t.Fatalf("choose: %+v %v", r, err)
			}
			if tc.moved {
				a.Start, a.Version, a.Revision = sl.Start, 2, 1
				if err := store.SaveAppointment(ctx, a, nil); err != nil {
					t.Fatal(err)
				}
			}
			q := &outboundtest.Recorder{}
			svc.Confirmations, svc.Marks = &waitlist.JobSender{Store: store, Jobs: q, Now: clock.Now}, store
			svc.Appointments = func(ctx context.Context, clinicID, id string) (appointment.Appointment, error) {
				got, _, err := store.GetAppointment(ctx, clinicID, id)
				return got, err
			}
			for range 2 {
				clock.Advance(time.Minute)
				if _, err := svc.ConfirmMoves(ctx, c.ID); err != nil {
					t.Fatal(err)
				}
			}
			if tc.wantType == "" {
				if len(q.Jobs()) != 0 {
					t.Fatalf("told %d times of a move the EHR did not make", len(q.Jobs()))
				}
			} else {
				if len(q.Jobs()) != 1 {
					t.Fatalf("%d jobs queued over two sweeps, want 1", len(q.Jobs()))
				}
				j := q.Jobs()[0]
				if j.Type != outbound.KindReply || j.Message == nil || j.Message.Type != tc.wantType || !j.ExpiresAt.Equal(sl.Start) || j.WhyNot(clock.Now(), false) != "" {
					t.Fatalf("job %+v", j)
				}
				if tc.wantType == "template" && j.Message.Template.Name != reminder.TemplateVisitMoved {
					t.Errorf("template %s, want %s", j.Message.Template.Name, reminder.TemplateVisitMoved)
				}
				b, _ := json.Marshal(j.Message)
				if err := v.ValidateMessage(b); err != nil {
					t.Errorf("not valid under Meta's spec: %v\n%s", err, b)
				}
			}
			clock.Advance(20 * time.Minute) // past the hold
			if _, err := svc.ReleaseExpired(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			if got := len(ev.ofType(clinic.EventAppointmentRescheduleRequestExpired)); got != map[bool]int{true: 0, false: 1}[tc.moved] {
				t.Errorf("%d expiry events, want one only when the EHR did not move the visit", got)
			}
		})
	}
}
