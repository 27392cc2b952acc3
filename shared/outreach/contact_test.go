package outreach_test

import (
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// A STOP the number sent holds at send time for a patient whose own ledger says
// opted in (a patient added after it, or an embedded opt-in); only a newer
// statement for the patient (START, or consent with evidence) lets the reminder go.
func TestSenderChecksTheNumbersOptOut(t *testing.T) {
	stop := t0.Add(-time.Hour)
	cases := []struct {
		name       string
		booked     consent.State  // the patient's own consent a day before
		numberSays consent.State  // the number's latest statement, an hour before
		later      *consent.State // a statement for the patient after it
		wantState  reminder.State
		wantReason string
	}{
		{"the number said STOP", consent.OptedIn, consent.OptedOut, nil, reminder.StateSkipped, outreach.ReasonOptedOut},
		{"the patient opted in after it", consent.OptedIn, consent.OptedOut, optedInAfterStop(), reminder.StateSent, ""},
		// A START is no patient's consent: a patient without one is not opted in by it.
		{"the number said START, the patient never opted in", "", consent.OptedIn, nil, reminder.StateSkipped, outreach.ReasonNoConsent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newSenderEnv(t, whatsapptest.Faults{})
			e.book("appt-x", c.booked)
			key, err := contact.KeyOf(phoneFor("appt-x"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.RecordContactConsent(e.ctx, testClinic1, key, consent.Entry{ClinicID: testClinic1, PatientID: key,
				ID: "statement-1", State: c.numberSays, At: stop, Source: consent.SourceWhatsApp, Evidence: "msg_1"}); err != nil {
				t.Fatal(err)
			}
			if c.later != nil {
				recordConsent(t, e.ctx, e.store, testClinic1, "pat-appt-x", *c.later, stop.Add(time.Minute))
			}
			recs := e.sweep()
			if len(recs) != 1 {
				t.Fatalf("sweep produced %d jobs", len(recs))
			}
			e.drive(e.sender, recs, 1)
			r := e.reminder("appt-x")
			if r.State != c.wantState || r.Reason != c.wantReason {
				t.Errorf("reminder %s (%q), want %s (%q)", r.State, r.Reason, c.wantState, c.wantReason)
			}
			wantSends := 0
			if c.wantState == reminder.StateSent {
				wantSends = 1
			}
			if n := e.stub.Stats().Requests; n != wantSends {
				t.Errorf("the stand-in received %d sends, want %d", n, wantSends)
			}
		})
	}
}

func optedInAfterStop() *consent.State { s := consent.OptedIn; return &s }
