package outreach_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/memstore"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// reap runs the reaper once and returns the jobs it enqueued as SQS records.
func (e *senderEnv) reap() []events.SQSMessage {
	e.t.Helper()
	out := &recordingOutbox{}
	if _, err := (&outreach.Reaper{Store: e.store, Outbox: out, Clock: e.clock}).Reap(e.ctx); err != nil {
		e.t.Fatalf("reap: %v", err)
	}
	var recs []events.SQSMessage
	for i, j := range out.snapshot() {
		body, _ := json.Marshal(j)
		recs = append(recs, sqsRecord(fmt.Sprintf("%s#reaped-%s-%d", j.ID(), e.clock.Now().Format("150405"), i), string(body), 1))
	}
	return recs
}

// acceptedTo counts the sends the stand-in accepted for an appointment's patient.
func (e *senderEnv) acceptedTo(id string) int {
	e.t.Helper()
	n := 0
	for _, s := range e.stub.Sent() {
		if s.Accepted() && sentMessage(e.t, s).To == phoneFor(id)[1:] {
			n++
		}
	}
	return n
}

// A sweep that dies after MarkQueued and before the enqueue leaves the reminder
// queued and on no queue: the reaper finds it after the grace, enqueues it once, and
// it is sent once.
func TestKillPointSweepBetweenClaimAndEnqueue(t *testing.T) {
	e := newSenderEnv(t, whatsapptest.Faults{})
	e.book("kp-sweep", consent.OptedIn)
	r := e.reminder("kp-sweep")
	if err := e.store.MarkQueued(e.ctx, r); err != nil { // the sweep's claim; then it dies
		t.Fatal(err)
	}
	if recs := e.sweep(); len(recs) != 0 {
		t.Fatalf("a later sweep enqueued %d jobs; the reminder left the due index", len(recs))
	}
	e.clock.Advance(outreach.DefaultReapGrace - time.Second)
	if recs := e.reap(); len(recs) != 0 {
		t.Fatalf("reaped %d inside the grace, want 0", len(recs))
	}
	e.clock.Advance(2 * time.Second)
	recs := e.reap()
	if len(recs) != 1 {
		t.Fatalf("reaped %d, want 1", len(recs))
	}
	if again := e.reap(); len(again) != 0 {
		t.Fatalf("a second reaper run enqueued %d more, want 0 (re-enqueued once)", len(again))
	}
	e.drive(e.sender, recs, 1)
	if n := e.acceptedTo("kp-sweep"); n != 1 {
		t.Errorf("sent %d times, want once", n)
	}
	if got := e.reminder("kp-sweep"); got.State != reminder.StateSent {
		t.Errorf("reminder %s, want sent", got.State)
	}
	e.clock.Advance(time.Hour)
	if recs := e.reap(); len(recs) != 0 {
		t.Errorf("reaped %d after the send, want 0", len(recs))
	}
}

// unrecordingStore fails the bookkeeping of a send that Graph accepted, as a
// sender that dies right after Meta's answer would leave it.
type unrecordingStore struct {
	*memstore.Store
}

var errKilled = errors.New("simulated: the process died")

func (s unrecordingStore) AdvanceReminder(ctx context.Context, clinicID, appointmentID string, kind reminder.Kind, to reminder.State, u reminder.Update) (bool, error) {
	if to == reminder.StateSent {
		return false, errKilled
	}
	return s.Store.AdvanceReminder(ctx, clinicID, appointmentID, kind, to, u)
}

func (s unrecordingStore) PutMessage(context.Context, messagelog.Record) (bool, error) {
	return false, errKilled
}

// A sender stopped after Meta accepted the message but before recording it: Meta
// has no idempotency key, so the reminder is sent a second time once its lease has
// run out (by the SQS redelivery, or by the reaper when the job was acknowledged),
// and never a third time. Counted here; documented in the README.
func TestKillPointSenderAfterAcceptBeforeRecord(t *testing.T) {
	cases := []struct {
		name string
		// redeliver reports whether SQS hands the same message back (the process
		// died before acknowledging) rather than the job being acknowledged.
		redeliver bool
	}{
		{name: "died before acknowledging: SQS redelivers", redeliver: true},
		{name: "recording failed and the job was acknowledged: the reaper re-enqueues"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newSenderEnv(t, whatsapptest.Faults{})
			e.book("kp-send", consent.OptedIn)
			recs := e.sweep()
			dying := e.newSender()
			dying.Store = unrecordingStore{e.store}
			resp, err := dying.Handle(e.ctx, events.SQSEvent{Records: recs})
			if err != nil {
				t.Fatal(err)
			}
			if n := e.acceptedTo("kp-send"); n != 1 {
				t.Fatalf("first attempt: %d accepted sends, want 1", n)
			}
			if got := e.reminder("kp-send"); got.State != reminder.StateSending {
				t.Fatalf("after the kill: %s, want sending", got.State)
			}
			var next []events.SQSMessage
			if c.redeliver {
				// The response never reached Lambda: the message comes back after the
				// queue's visibility timeout, past the 60 s lease.
				outbound, _ := queue.Lookup(queue.Outbound)
				e.clock.Advance(outbound.VisibilityTimeout)
				next = []events.SQSMessage{sqsRecord(recs[0].MessageId, recs[0].Body, 2)}
			} else {
				if len(resp.BatchItemFailures) != 0 {
					t.Fatalf("failures %v, want the job acknowledged (a retry must not send again while leased)", resp.BatchItemFailures)
				}
				e.clock.Advance(outreach.DefaultLease + outreach.DefaultReapGrace + time.Second)
				next = e.reap()
				if len(next) != 1 {
					t.Fatalf("reaped %d, want the sending reminder whose lease ran out", len(next))
				}
			}
			e.drive(e.sender, next, 1)
			if got := e.reminder("kp-send"); got.State != reminder.StateSent {
				t.Errorf("reminder %s, want sent", got.State)
			}
			e.clock.Advance(time.Hour)
			if more := e.reap(); len(more) != 0 {
				t.Errorf("reaped %d after the send was recorded, want 0", len(more))
			}
			if n := e.acceptedTo("kp-send"); n != 2 {
				t.Errorf("accepted %d times; want exactly 2 (the documented duplicate, never more)", n)
			}
		})
	}
}

// While the sender is halted (an expired token disabled its event source mapping),
// jobs outlive the queue's retention. The reaper keeps a fresh copy of each on the
// queue, spaced out so the queue does not fill with copies; after the operator
// resumes, each reminder is sent once.
func TestKillPointHaltedSenderPastQueueRetention(t *testing.T) {
	e := newSenderEnv(t, whatsapptest.Faults{AuthFail: true})
	const n = 3
	start := t0.Add(10 * 24 * time.Hour) // still ahead when the halt ends
	for i := range n {
		id := fmt.Sprintf("kp-halt-%d", i)
		seedAppointment(t, e.ctx, e.store, seedSpec{clinicID: testClinic1, id: id, start: start,
			due: map[reminder.Kind]time.Time{reminder.KindDayBefore: t0.Add(-time.Minute)}})
		seedPatient(t, e.ctx, e.store, testClinic1, "pat-"+id, phoneFor(id), consent.OptedIn, t0.Add(-24*time.Hour))
	}
	recs := e.sweep()
	if resp, _ := e.sender.Handle(e.ctx, events.SQSEvent{Records: recs}); len(resp.BatchItemFailures) != n || e.halts != 1 {
		t.Fatalf("halt: %d records kept, %d halts; want %d and 1", len(resp.BatchItemFailures), e.halts, n)
	}
	outbound, _ := queue.Lookup(queue.Outbound)
	type onQueue struct {
		rec events.SQSMessage
		at  time.Time
	}
	var queued []onQueue
	for _, r := range recs {
		queued = append(queued, onQueue{r, e.clock.Now()})
	}
	// The halt lasts longer than the queue keeps messages; the sweep (and with it
	// the reaper) keeps running. Checked every 30 simulated minutes.
	haltEnd := e.clock.Now().Add(outbound.Retention + 12*time.Hour)
	for e.clock.Now().Before(haltEnd) {
		e.clock.Advance(30 * time.Minute)
		for _, r := range e.reap() {
			queued = append(queued, onQueue{r, e.clock.Now()})
		}
	}
	live := map[string]int{}
	var resume []events.SQSMessage
	copies := 0
	for _, q := range queued {
		var j reminder.Job
		if err := json.Unmarshal([]byte(q.rec.Body), &j); err != nil {
			t.Fatal(err)
		}
		copies++
		if e.clock.Now().Sub(q.at) < outbound.Retention {
			live[j.AppointmentID]++
			resume = append(resume, q.rec)
		}
	}
	for i := range n {
		if id := fmt.Sprintf("kp-halt-%d", i); live[id] == 0 {
			t.Errorf("%s: no job left on the queue after %s of halt", id, outbound.Retention+12*time.Hour)
		}
	}
	if perReminder := copies / n; perReminder > 30 {
		t.Errorf("%d copies per reminder over the halt; the reaper must space them out", perReminder)
	}
	// The operator fixes the token and re-enables the mapping.
	e.stub.SetFaults(whatsapptest.Faults{})
	e.drive(e.sender, resume, 2)
	for i := range n {
		id := fmt.Sprintf("kp-halt-%d", i)
		if got := e.acceptedTo(id); got != 1 {
			t.Errorf("%s: sent %d times, want once", id, got)
		}
		if r := e.reminder(id); r.State != reminder.StateSent {
			t.Errorf("%s: %s, want sent", id, r.State)
		}
	}
	t.Logf("halt of %s: %d jobs enqueued in all (%d per reminder), %d still within retention at resume",
		outbound.Retention+12*time.Hour, copies, copies/n, len(resume))
}

// A reminder that must wait for the end of quiet hours waits with a future next
// attempt time: the reaper never touches it, the job travels as a chain of delayed
// messages (SQS delays at most 15 minutes) that read and send nothing, and it is sent
// once when quiet hours end.
func TestQuietHoursDeferralIsNeverReaped(t *testing.T) {
	e := newSenderEnv(t, whatsapptest.Faults{})
	c := testClinic(testClinic1)
	c.QuietHours = reminder.QuietHours{Start: "09:00", End: "12:00"} // t0 is 10:00 in New York
	if err := e.store.PutClinic(e.ctx, c); err != nil {
		t.Fatal(err)
	}
	quietEnd := time.Date(2031, 3, 10, 16, 0, 0, 0, time.UTC)
	e.book("quiet-1", consent.OptedIn)
	recs := e.sweep()
	for hop := 0; ; hop++ {
		if hop > 20 {
			t.Fatal("still deferred after 20 hops")
		}
		resp, err := e.sender.Handle(e.ctx, events.SQSEvent{Records: recs})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("hop %d: %v, failures %v; a deferral is acknowledged", hop, err, resp.BatchItemFailures)
		}
		if e.acceptedTo("quiet-1") == 1 {
			break
		}
		if n := e.stub.Stats().Requests; n != 0 {
			t.Fatalf("hop %d: %d Graph requests during quiet hours", hop, n)
		}
		r := e.reminder("quiet-1")
		if r.State != reminder.StateQueued || r.NextAttemptAt.Before(quietEnd) || r.Attempts != 0 {
			t.Fatalf("hop %d: %s next %v attempts %d; want queued, next attempt at the end of quiet hours, no failed attempt",
				hop, r.State, r.NextAttemptAt, r.Attempts)
		}
		requeued := e.requeue.take()
		if len(requeued) != 1 || requeued[0].delay > outreach.MaxRequeueDelay || requeued[0].job.NotBefore.Before(quietEnd) {
			t.Fatalf("hop %d: requeued %+v; want one job, delayed at most 15 min, not before %v", hop, requeued, quietEnd)
		}
		e.clock.Advance(requeued[0].delay)
		if reaped := e.reap(); len(reaped) != 0 {
			t.Fatalf("hop %d at %v: reaped %d; a reminder deferred on purpose is never reaped", hop, e.clock.Now(), len(reaped))
		}
		body, _ := json.Marshal(requeued[0].job)
		recs = []events.SQSMessage{sqsRecord(requeued[0].id, string(body), 1)}
	}
	if now := e.clock.Now(); now.Before(quietEnd) {
		t.Errorf("sent at %v, inside quiet hours (until %v)", now, quietEnd)
	}
	if r := e.reminder("quiet-1"); r.State != reminder.StateSent {
		t.Errorf("reminder %s, want sent", r.State)
	}
}

// After a quality block pauses a clinic, its other reminders wait with a future next
// attempt time (the pause's end): acknowledged and requeued, never reaped, sent once
// when the pause is over.
func TestClinicPauseDeferralIsNeverReaped(t *testing.T) {
	e := newSenderEnv(t, whatsapptest.Faults{TemplateErrors: map[string]int{reminder.TemplateReminder48h: whatsapp.CodeSpamRateLimit}})
	e.book("pause-1", consent.OptedIn)
	e.book("pause-2", consent.OptedIn)
	recs := e.sweep()
	if len(recs) != 2 {
		t.Fatalf("%d jobs", len(recs))
	}
	if resp, _ := e.sender.Handle(e.ctx, events.SQSEvent{Records: recs[:1]}); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("the blocked send: failures %v, want acknowledged (failed for good)", resp.BatchItemFailures)
	}
	e.stub.SetFaults(whatsapptest.Faults{})
	if resp, _ := e.sender.Handle(e.ctx, events.SQSEvent{Records: recs[1:]}); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("the paused clinic's next job: failures %v, want acknowledged and requeued", resp.BatchItemFailures)
	}
	other := recs[1]
	var job reminder.Job
	_ = json.Unmarshal([]byte(other.Body), &job)
	r := reminderState(t, e.ctx, e.store, testClinic1, job.AppointmentID, reminder.KindDayBefore)
	pauseEnd := t0.Add(outreach.DefaultPause)
	if r.State != reminder.StateQueued || r.NextAttemptAt.Before(pauseEnd) || r.Attempts != 0 {
		t.Fatalf("paused reminder: %s next %v attempts %d; want queued until the pause ends (%v), no failed attempt",
			r.State, r.NextAttemptAt, r.Attempts, pauseEnd)
	}
	requeued := e.requeue.take()
	if len(requeued) != 1 {
		t.Fatalf("%d jobs requeued, want 1", len(requeued))
	}
	e.clock.Advance(outreach.DefaultPause - time.Minute)
	if reaped := e.reap(); len(reaped) != 0 {
		t.Fatalf("reaped %d during the pause, want 0", len(reaped))
	}
	e.clock.Set(t0.Add(requeued[0].delay))
	body, _ := json.Marshal(requeued[0].job)
	e.drive(e.sender, []events.SQSMessage{sqsRecord(requeued[0].id, string(body), 1)}, 2)
	if n := e.acceptedTo(job.AppointmentID); n != 1 {
		t.Errorf("sent %d times after the pause, want once", n)
	}
}
