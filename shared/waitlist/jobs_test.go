package waitlist_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/outbound/outboundtest"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/waitlist"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

// TestJobSenderQueuesOffersAndAnswers: an offer becomes an outbound job of kind
// offer expiring with the offer, an answer a reply job inside the window; nothing
// is queued for an opted-out patient, a lapsed offer, or an answer outside the window.
func TestJobSenderQueuesOffersAndAnswers(t *testing.T) {
	_, store, clock, _, _ := newService(t)
	ctx := ctxT(t)
	c := clinic.Clinic{ID: "clinic-a", Name: "Demo Family Clinic", TimeZone: "America/New_York", DefaultLanguage: "en-US", PhoneNumberID: "1001"}
	if err := store.PutClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	patients := []struct {
		id, phone, lang string
		state           consent.State
		wroteAgo        time.Duration
	}{
		{"pat-in", "+15550100171", "es-MX", consent.OptedIn, time.Hour},
		{"pat-closed", "+15550100172", "en-US", consent.OptedIn, 30 * time.Hour},
		{"pat-out", "+15550100173", "en-US", consent.OptedOut, time.Hour},
	}
	for _, p := range patients {
		if err := store.PutPatient(ctx, appointment.Patient{ClinicID: c.ID, ID: p.id, Phone: p.phone, Language: p.lang,
			LastInboundAt: t0.Add(-p.wroteAgo)}); err != nil {
			t.Fatal(err)
		}
		if err := store.AppendConsent(ctx, consent.Entry{ClinicID: c.ID, PatientID: p.id, ID: "c-" + p.id, State: p.state,
			At: t0.Add(-48 * time.Hour), Source: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	q := &outboundtest.Recorder{}
	s := &waitlist.JobSender{Store: store, Jobs: q, Now: clock.Now}
	slotStart := t0.Add(30 * time.Hour)
	offer := func(patientID string, exp time.Time) waitlist.Offer {
		return waitlist.Offer{Key: "k-" + patientID, ClinicID: c.ID, AppointmentID: "appt-" + patientID, PatientID: patientID,
			SlotID: "slot-1", SlotStart: slotStart, ExpiresAt: exp}
	}
	exp := t0.Add(2 * time.Hour)
	for _, o := range []waitlist.Offer{offer("pat-in", exp), offer("pat-out", exp), offer("pat-closed", t0)} {
		if err := s.Offer(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"pat-in", "pat-closed", "pat-out"} {
		if err := s.Reply(ctx, waitlist.Reply{Key: "r-" + id, ClinicID: c.ID, AppointmentID: "appt-" + id, PatientID: id,
			Answer: waitlist.AnswerExpired, SlotStart: slotStart}); err != nil {
			t.Fatal(err)
		}
	}
	queued := q.Jobs()
	if len(queued) != 2 {
		t.Fatalf("%d jobs queued, want 2 (pat-in's offer and answer): %+v", len(queued), queued)
	}
	o, r := queued[0], queued[1]
	if o.Type != outbound.KindOffer || !o.ExpiresAt.Equal(exp) || o.PatientID != "pat-in" || o.ContactKey != "+15550100171" ||
		o.ClinicID != c.ID || o.AppointmentID != "appt-pat-in" || o.Key == "" || o.Message == nil || o.Message.Template == nil {
		t.Fatalf("offer job %+v", o)
	}
	if o.Message.Template.Name != reminder.TemplateWaitlistOffer || o.Message.Template.Language.Code != "es" {
		t.Errorf("offer template %s/%s, want %s in es", o.Message.Template.Name, o.Message.Template.Language.Code, reminder.TemplateWaitlistOffer)
	}
	body, err := json.Marshal(o.Message)
	if err != nil {
		t.Fatal(err)
	}
	if err := whatsappspec.RequireSpec(t).ValidateMessage(body); err != nil {
		t.Errorf("offer does not match Meta's spec: %v\n%s", err, body)
	}
	if r.Type != outbound.KindReply || r.Message == nil || r.Message.Text == nil || !r.WindowEndsAt.Equal(t0.Add(23*time.Hour)) ||
		r.Key == o.Key || r.WhyNot(t0, false) != "" {
		t.Errorf("answer job %+v", r)
	}
	if why := o.WhyNot(exp, false); why != outbound.ReasonExpired {
		t.Errorf("offer at its expiry: %q, want expired", why)
	}
}
