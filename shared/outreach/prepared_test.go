package outreach_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/templatestate"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// A prepared job (a staff reply, an offer, a STOP acknowledgement) is re-checked at
// send time and sent once however often it is delivered.
func TestPreparedJobsAreRecheckedAndSentOnce(t *testing.T) {
	const to = "+15550100143"
	text, err := whatsapp.TextMessage(to, "We can see you at 10:00.")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		job        outbound.Job
		numberSTOP bool
		wantSends  int
	}{
		{"staff reply inside the window, delivered twice", outbound.Job{Type: outbound.KindStaffReply, Key: "staff:c1:1",
			Message: &text, WindowEndsAt: t0.Add(time.Hour)}, false, 1},
		{"staff reply after the window closed", outbound.Job{Type: outbound.KindStaffReply, Key: "staff:c1:2",
			Message: &text, WindowEndsAt: t0.Add(-time.Minute)}, false, 0},
		{"staff reply to a number that said STOP", outbound.Job{Type: outbound.KindStaffReply, Key: "staff:c1:3",
			Message: &text, WindowEndsAt: t0.Add(time.Hour)}, true, 0},
		{"STOP acknowledgement to that number", outbound.Job{Type: outbound.KindReply, Key: "reply:wamid.stop",
			Message: &text, WindowEndsAt: t0.Add(time.Hour), Force: true}, true, 1},
		{"offer past its hold", outbound.Job{Type: outbound.KindOffer, Key: "offer:slot-1",
			Message: &text, WindowEndsAt: t0.Add(time.Hour), ExpiresAt: t0}, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newSenderEnv(t, whatsapptest.Faults{})
			if c.numberSTOP {
				key, err := contact.KeyOf(to)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.store.RecordContactConsent(e.ctx, testClinic1, key, consent.Entry{ClinicID: testClinic1, PatientID: key,
					ID: "statement-1", State: consent.OptedOut, At: t0.Add(-time.Hour), Source: consent.SourceWhatsApp, Evidence: "msg_1"}); err != nil {
					t.Fatal(err)
				}
			}
			s := e.newSender()
			s.Pacer, s.Claims = e.store, e.store
			job := c.job
			job.Job = reminder.Job{ClinicID: testClinic1}
			body, _ := json.Marshal(job)
			for i := range 2 {
				resp, err := s.Handle(e.ctx, events.SQSEvent{Records: []events.SQSMessage{sqsRecord("m"+string(rune('a'+i)), string(body), 1)}})
				if err != nil || len(resp.BatchItemFailures) != 0 {
					t.Fatalf("delivery %d: %v, %d failed", i+1, err, len(resp.BatchItemFailures))
				}
			}
			if n := e.stub.Stats().Accepted; n != c.wantSends {
				t.Fatalf("%d messages accepted at the stand-in, want %d", n, c.wantSends)
			}
		})
	}
}

// A prepared template job (an offer) whose template Meta paused is held back before
// its claim, as reminders are: nothing reaches the Graph API while the template is
// paused, and the job goes out once when it is approved again. An offer whose hold
// ends before the next check is dropped instead.
func TestPreparedTemplateJobsWaitOnTheTemplateGate(t *testing.T) {
	const to, name, lang = "+15550100144", "slot_offer", "en_US"
	msg, err := whatsapp.TemplateMessage(to, name, lang, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	waba := testClinic(testClinic1).WABAID
	deliver := func(t *testing.T, e *senderEnv, s *outreach.Sender, job outbound.Job, id string) int {
		t.Helper()
		job.Job = reminder.Job{ClinicID: testClinic1}
		body, _ := json.Marshal(job)
		resp, err := s.Handle(e.ctx, events.SQSEvent{Records: []events.SQSMessage{sqsRecord(id, string(body), 1)}})
		if err != nil {
			t.Fatal(err)
		}
		return len(resp.BatchItemFailures)
	}
	t.Run("held while paused, sent once approved", func(t *testing.T) {
		e := newSenderEnv(t, whatsapptest.Faults{})
		s := e.newSender()
		s.Pacer, s.Claims, s.Templates, s.Requeue = e.store, e.store, e.store, nil
		if _, err := e.store.RecordTemplateStatus(e.ctx, waba, name, lang, templatestate.StatusPaused, "", t0.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		job := outbound.Job{Type: outbound.KindOffer, Key: "offer:slot-tg", Message: &msg, ExpiresAt: t0.Add(2 * time.Hour)}
		if failed := deliver(t, e, s, job, "m1"); failed != 1 {
			t.Fatalf("%d records handed back while the template is paused, want 1 (it waits on the queue)", failed)
		}
		if n := e.stub.Stats().Accepted; n != 0 {
			t.Fatalf("%d sends of a paused template reached the stand-in", n)
		}
		e.clock.Advance(outreach.TemplateRecheck)
		if _, err := e.store.RecordTemplateStatus(e.ctx, waba, name, lang, templatestate.StatusApproved, "", e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		for i, id := range []string{"m2", "m3"} {
			if failed := deliver(t, e, s, job, id); failed != 0 {
				t.Fatalf("delivery %d after approval: %d failed", i+2, failed)
			}
		}
		if n := e.stub.Stats().Accepted; n != 1 {
			t.Fatalf("%d sends after approval, want 1 (the hold took no claim)", n)
		}
	})
	t.Run("dropped when its hold ends before the next check", func(t *testing.T) {
		e := newSenderEnv(t, whatsapptest.Faults{})
		s := e.newSender()
		s.Pacer, s.Claims, s.Templates, s.Requeue = e.store, e.store, e.store, nil
		if _, err := e.store.RecordTemplateStatus(e.ctx, waba, name, lang, templatestate.StatusPaused, "", t0.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		job := outbound.Job{Type: outbound.KindOffer, Key: "offer:slot-tg2", Message: &msg, ExpiresAt: t0.Add(time.Minute)}
		if failed := deliver(t, e, s, job, "m1"); failed != 0 {
			t.Fatalf("%d records handed back, want the job dropped", failed)
		}
		if n := e.stub.Stats().Accepted; n != 0 {
			t.Fatalf("%d sends of a paused template reached the stand-in", n)
		}
	})
}
