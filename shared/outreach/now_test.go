package outreach_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// A reply sent in the inbound service's process goes through the prepared-send
// path: re-checked, claimed once on its key, logged after the caller's hook, and,
// when it must wait, either handed back to the caller (claim released) or put on
// the outbound queue as a reply job.
func TestSendNowSendsAReplyJobOnce(t *testing.T) {
	const to, patient = "+15550100151", "pat-now-1"
	text, err := whatsapp.TextMessage(to, "Thanks, see you on Tuesday.")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := whatsapp.TemplateMessage(to, "reopen_conversation", "en_US", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		faults     whatsapptest.Faults
		msg        *whatsapp.Message
		window     time.Duration // window end, from now
		force      bool
		numberSTOP bool
		pairBusy   bool // a message went to the patient a moment ago
		queue      bool // the outbound queue takes deferred jobs
		wantSent   bool
		wantErr    bool
		wantQueued int
		// wantLater: a second SendNow of the same job (the caller's retry) sends it.
		wantLater bool
	}{
		{name: "inside the window", msg: &text, window: time.Hour, wantSent: true},
		{name: "right after another message to the patient", msg: &text, window: time.Hour, pairBusy: true, wantSent: true},
		{name: "after the window closed", msg: &text, window: -time.Minute},
		{name: "template after the window closed", msg: &tmpl, window: -time.Minute, wantSent: true},
		{name: "to a number that said STOP", msg: &text, window: time.Hour, numberSTOP: true},
		{name: "STOP acknowledgement to that number", msg: &text, window: time.Hour, numberSTOP: true, force: true, wantSent: true},
		{name: "Graph outage, no queue: the caller retries", faults: whatsapptest.Faults{ServerErrorNext: 1}, msg: &text,
			window: time.Hour, wantErr: true, wantLater: true},
		{name: "Graph outage: queued as a reply job", faults: whatsapptest.Faults{ServerErrorNext: 1}, msg: &text,
			window: time.Hour, queue: true, wantQueued: 1, wantLater: true},
		{name: "token rejected: the caller retries", faults: whatsapptest.Faults{AuthFail: true}, msg: &text,
			window: time.Hour, wantErr: true, wantLater: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newSenderEnv(t, c.faults)
			seedPatient(t, e.ctx, e.store, testClinic1, patient, to, consent.OptedIn, t0.Add(-time.Hour))
			if c.numberSTOP {
				key, err := contact.KeyOf(to)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.store.RecordContactConsent(e.ctx, testClinic1, key, consent.Entry{ClinicID: testClinic1, PatientID: key,
					ID: "statement-now", State: consent.OptedOut, At: t0.Add(-time.Minute), Source: consent.SourceWhatsApp, Evidence: "msg_1"}); err != nil {
					t.Fatal(err)
				}
			}
			if c.pairBusy {
				if wait, err := e.store.ReservePairSlot(e.ctx, testClinic1, patient, t0, time.Minute); err != nil || wait != 0 {
					t.Fatalf("reserve pair slot: %v, %v", wait, err)
				}
			}
			s := e.newSender()
			s.Pacer, s.Claims, s.Requeue = e.store, e.store, nil
			q := &jobRequeue{}
			if c.queue {
				s.Requeue = q
			}
			job := outbound.Job{Type: outbound.KindReply, Job: reminder.Job{ClinicID: testClinic1, AppointmentID: "appt-now-1"},
				ContactKey: to, PatientID: patient, Key: "reply:wamid.NOW1", Message: c.msg,
				WindowEndsAt: t0.Add(c.window), Force: c.force}
			var hooked []string
			onSent := func(ctx context.Context, wamid string) {
				// The caller's record comes before the message log's.
				if _, err := e.store.GetMessage(ctx, wamid); !errors.Is(err, fault.ErrNotFound) {
					t.Errorf("the message log had %s before the caller's hook ran (%v)", wamid, err)
				}
				hooked = append(hooked, wamid)
			}
			wamid, err := s.SendNow(e.ctx, testClinic(testClinic1), job, onSent)
			if (err != nil) != c.wantErr {
				t.Fatalf("SendNow: %q, %v; want error %v", wamid, err, c.wantErr)
			}
			if (wamid != "") != c.wantSent || e.stub.Stats().Accepted != len(hooked) || len(hooked) != btoi(c.wantSent) {
				t.Fatalf("wamid %q, %d accepted at the stand-in, hook ran %d times; want sent %v",
					wamid, e.stub.Stats().Accepted, len(hooked), c.wantSent)
			}
			if c.wantSent {
				rec, err := e.store.GetMessage(e.ctx, wamid)
				if err != nil || rec.PatientID != patient || rec.AppointmentID != "appt-now-1" || rec.Type != c.msg.Type {
					t.Errorf("message log: %+v, %v", rec, err)
				}
			}
			if jobs, _ := q.take(); len(jobs) != c.wantQueued ||
				(c.wantQueued > 0 && (jobs[0].Key != job.Key || jobs[0].Type != outbound.KindReply || jobs[0].Attempts != 1)) {
				t.Fatalf("queued %+v, want %d reply job(s) with one attempt", jobs, c.wantQueued)
			}
			// The caller's retry (a redelivered inbound message) sends a reply that
			// was not sent, and never one that was (a queued copy then finds it sent).
			e.stub.SetFaults(whatsapptest.Faults{})
			again, err := s.SendNow(e.ctx, testClinic(testClinic1), job, onSent)
			if err != nil {
				t.Fatalf("second SendNow: %v", err)
			}
			wantTotal := btoi(c.wantSent) + btoi(c.wantLater)
			if (again != "") != c.wantLater || e.stub.Stats().Accepted != wantTotal {
				t.Fatalf("second SendNow: %q, %d accepted in all, want %d", again, e.stub.Stats().Accepted, wantTotal)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
