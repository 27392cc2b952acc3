package outreach_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/clinic/clinictest"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/templatestate"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// A reminder template Meta re-categorised away from utility: no send of it reaches
// the Graph API, nothing is failed or reported as the patient's, the reminders wait
// in the due index (the SQS jobs are acknowledged), and they go out once Meta
// approves the template as utility again.
func TestRecategorisedTemplateHoldsSendsUntilApproved(t *testing.T) {
	e := newSenderEnv(t, whatsapptest.Faults{})
	e.sender.Templates = e.store
	ids := []string{"tg-1", "tg-2", "tg-3"}
	for _, id := range ids {
		e.book(id, consent.OptedIn)
	}
	waba := testClinic(testClinic1).WABAID
	if _, err := e.store.RecordTemplateCategory(e.ctx, waba, reminder.TemplateReminder48h, reminder.LangSpanish, "MARKETING", t0.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	for round := range 3 { // the first delivery, then twice more as the deferrals come due
		recs := e.sweep()
		if len(recs) != len(ids) {
			t.Fatalf("round %d: sweep found %d jobs, want %d (deferred reminders come due again)", round, len(recs), len(ids))
		}
		if rounds := e.drive(e.sender, recs, 1); rounds != 1 {
			t.Fatalf("round %d: records were failed back to SQS", round)
		}
		for _, id := range ids {
			if r := e.reminder(id); r.State != reminder.StateScheduled || r.Reason != templatestate.ReasonRecategorised {
				t.Fatalf("round %d: %s is %s (%q), want scheduled, waiting on the template", round, id, r.State, r.Reason)
			}
		}
		e.clock.Advance(outreach.TemplateRecheck)
	}
	if n := len(e.stub.Sent()); n != 0 {
		t.Fatalf("%d sends of a re-categorised template reached the Graph API", n)
	}
	if evs := e.events.Events(); len(evs) != 0 {
		t.Fatalf("events %+v; a held template fails nothing", evs)
	}
	at := e.clock.Now()
	if _, err := e.store.RecordTemplateCategory(e.ctx, waba, reminder.TemplateReminder48h, reminder.LangSpanish, "UTILITY", at); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.RecordTemplateStatus(e.ctx, waba, reminder.TemplateReminder48h, reminder.LangSpanish, "APPROVED", "", at); err != nil {
		t.Fatal(err)
	}
	e.drive(e.sender, e.sweep(), 1)
	if n := len(e.stub.Sent()); n != len(ids) {
		t.Fatalf("after approval %d sends, want %d", n, len(ids))
	}
	for _, id := range ids {
		if r := e.reminder(id); r.State != reminder.StateSent {
			t.Errorf("%s is %s after approval, want sent", id, r.State)
		}
	}
}

// A reminder that will no longer be useful when the template is next checked is
// skipped with the template's reason, not sent late.
func TestPausedTemplateSkipsAReminderThatWouldBeLate(t *testing.T) {
	e := newSenderEnv(t, whatsapptest.Faults{})
	e.sender.Templates = e.store
	start := t0.Add(10 * time.Minute)
	seedAppointment(t, e.ctx, e.store, seedSpec{clinicID: testClinic1, id: "late-1", start: start,
		due: map[reminder.Kind]time.Time{reminder.KindDayBefore: t0.Add(-time.Minute)}})
	seedPatient(t, e.ctx, e.store, testClinic1, "pat-late-1", phoneFor("late-1"), consent.OptedIn, t0.Add(-24*time.Hour))
	if _, err := e.store.RecordTemplateStatus(e.ctx, testClinic(testClinic1).WABAID, reminder.TemplateReminder48h, reminder.LangSpanish, "PAUSED", "low quality", t0.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	e.drive(e.sender, e.sweep(), 1)
	if r := e.reminder("late-1"); r.State != reminder.StateSkipped || r.Reason != templatestate.ReasonPaused {
		t.Fatalf("reminder %s (%q), want skipped for the paused template", r.State, r.Reason)
	}
	if len(e.stub.Sent()) != 0 {
		t.Fatal("a paused template was sent")
	}
}

// A patient whose phone the EHR removed, but whose BSUID Meta showed beside it, gets
// the reminder by `recipient`, valid under Meta's spec (patched for recipient); the
// BSUID of another business portfolio is never used.
func TestReminderByRecipientWhenOnlyTheBSUIDIsKnown(t *testing.T) {
	validator := whatsappspec.RequireSpec(t)
	cases := []struct {
		name      string
		portfolio string // the clinic's portfolio when the reminder goes out
		wantSent  bool
	}{
		{"same portfolio", "300000000000001", true},
		{"the clinic moved to another portfolio", "300000000000002", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			clock := platform.NewFakeClock(t0)
			store := newStore(t, clock)
			stub := whatsapptest.NewServer(t, whatsapptest.Config{AccessToken: testToken, AppSecret: testAppSecret, Clock: clock, Validator: validator})
			c := testClinic(testClinic1)
			c.BusinessPortfolioID = "300000000000001"
			if err := store.PutClinic(ctx, c); err != nil {
				t.Fatal(err)
			}
			start := t0.Add(30 * time.Hour)
			seedAppointment(t, ctx, store, seedSpec{clinicID: testClinic1, id: "bs-1", start: start,
				due: map[reminder.Kind]time.Time{reminder.KindDayBefore: t0.Add(-time.Minute)}})
			seedPatient(t, ctx, store, testClinic1, "pat-bs-1", "+15550100143", consent.OptedIn, t0.Add(-24*time.Hour))
			const bsuid = "US.13491208655302741918"
			if err := store.LinkBSUID(ctx, testClinic1, c.PortfolioScope(), bsuid, "", "+15550100143", t0.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			seedPatient(t, ctx, store, testClinic1, "pat-bs-1", "", "", t0) // the EHR drops the phone
			c.BusinessPortfolioID = tc.portfolio
			if err := store.PutClinic(ctx, c); err != nil {
				t.Fatal(err)
			}
			sender := outreach.NewSender(&outreach.Sender{Store: store, Events: &clinictest.Recorder{}, Clock: clock, MessagesPerSecond: 1e5,
				Messenger: &whatsapp.Client{BaseURL: stub.URL, HTTP: stub.Client(), Token: func(context.Context) (string, error) { return testToken, nil }},
				Identity:  store, Templates: store})
			out := &recordingOutbox{}
			if _, err := (&outreach.Sweeper{Store: store, Outbox: out, Clock: clock}).Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			var recs []events.SQSMessage
			for _, j := range out.snapshot() {
				body, _ := json.Marshal(j)
				recs = append(recs, sqsRecord(j.ID(), string(body), 1))
			}
			if _, err := sender.Handle(ctx, events.SQSEvent{Records: recs}); err != nil {
				t.Fatal(err)
			}
			sent := stub.Sent()
			r := reminderState(t, ctx, store, testClinic1, "bs-1", reminder.KindDayBefore)
			if !tc.wantSent {
				if len(sent) != 0 || r.State != reminder.StateSkipped || r.Reason != outreach.ReasonNoPhone {
					t.Fatalf("sent %d, reminder %s (%q); want no send, skipped no_phone", len(sent), r.State, r.Reason)
				}
				return
			}
			if len(sent) != 1 || !sent[0].Accepted() {
				t.Fatalf("stand-in saw %+v; want one accepted, spec-valid send", sent)
			}
			msg := sentMessage(t, sent[0])
			if msg.Recipient != bsuid || msg.To != "" {
				t.Errorf("sent to=%q recipient=%q; want the BSUID by recipient", msg.To, msg.Recipient)
			}
			if r.State != reminder.StateSent {
				t.Errorf("reminder %s, want sent", r.State)
			}
		})
	}
}
