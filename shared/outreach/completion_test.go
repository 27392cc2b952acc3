package outreach_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/memstore"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// recordingCompletion keeps what the sender told a kind's origin.
type recordingCompletion struct {
	mu     sync.Mutex
	sent   []string // ref=wamid
	failed []string // ref=reason
}

func (r *recordingCompletion) Sent(_ context.Context, job outbound.Job, wamid string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, job.Ref+"="+wamid)
	return nil
}

func (r *recordingCompletion) Failed(_ context.Context, job outbound.Job, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, job.Ref+"="+reason)
	return nil
}

func (r *recordingCompletion) counts() (sent, failed []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.sent...), append([]string(nil), r.failed...)
}

// jobRequeue stands in for the outbound queue's requeue of prepared jobs.
type jobRequeue struct {
	mu   sync.Mutex
	jobs []outbound.Job
	last time.Duration
}

func (q *jobRequeue) Requeue(context.Context, reminder.Job, time.Duration) error {
	return errors.New("reminder jobs are not expected here")
}

func (q *jobRequeue) RequeueJob(_ context.Context, job outbound.Job, delay time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, job)
	q.last = delay
	return nil
}

func (q *jobRequeue) take() ([]outbound.Job, time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.jobs
	q.jobs = nil
	return out, q.last
}

// contactsDown fails the recipient's opt-out read, as a DynamoDB outage would.
type contactsDown struct{ *memstore.Store }

func (contactsDown) ContactOfPhone(context.Context, string, string) (contact.Contact, error) {
	return contact.Contact{}, errors.New("dynamo: contact of phone: simulated outage")
}

func handleJob(t *testing.T, e *senderEnv, s *outreach.Sender, job outbound.Job, id string, receives int) int {
	t.Helper()
	job.Job.ClinicID = testClinic1
	body, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Handle(e.ctx, events.SQSEvent{Records: []events.SQSMessage{sqsRecord(id, string(body), receives)}})
	if err != nil {
		t.Fatal(err)
	}
	return len(resp.BatchItemFailures)
}

// Each prepared kind's origin hears what became of its job exactly once: the wamid
// on acceptance, or why it will never go out (a decided refusal, a permanent Graph
// error, the DLQ), however often the job is delivered.
func TestPreparedJobsCompleteTheirOrigin(t *testing.T) {
	const to = "+15550100146"
	text, err := whatsapp.TextMessage(to, "We can see you at 10:00.")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := whatsapp.TemplateMessage(to, "notice_lab_ready", "en_US", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	broken, err := whatsapp.TemplateMessage(to, "notice_missing", "en_US", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		job        outbound.Job
		receives   int
		storeDown  bool
		wantSends  int
		wantSent   int
		wantFailed string
	}{
		{"staff reply sent, delivered twice", outbound.Job{Type: outbound.KindStaffReply, Key: "staff:c1:a", Ref: "r1",
			Message: &text, WindowEndsAt: t0.Add(time.Hour)}, 1, false, 1, 1, ""},
		{"staff reply after the window closed", outbound.Job{Type: outbound.KindStaffReply, Key: "staff:c1:b", Ref: "r2",
			Message: &text, WindowEndsAt: t0.Add(-time.Minute)}, 1, false, 0, 0, "r2=" + outbound.ReasonWindowClosed},
		{"notice past its usefulness", outbound.Job{Type: outbound.KindNotice, Key: "notice:c1:c", Ref: "r3",
			Message: &tmpl, ExpiresAt: t0}, 1, false, 0, 0, "r3=" + outbound.ReasonExpired},
		{"notice Meta refuses for good", outbound.Job{Type: outbound.KindNotice, Key: "notice:c1:d", Ref: "r4",
			Message: &broken, ExpiresAt: t0.Add(time.Hour)}, 1, false, 1, 0, "r4=template"},
		{"notice on its last receive", outbound.Job{Type: outbound.KindNotice, Key: "notice:c1:e", Ref: "r5",
			Message: &tmpl, ExpiresAt: t0.Add(time.Hour)}, outreach.DefaultMaxReceiveCount, true, 0, 0, "r5=" + outreach.ReasonRetriesExhausted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newSenderEnv(t, whatsapptest.Faults{TemplateErrors: map[string]int{"notice_missing": 132001}})
			done := &recordingCompletion{}
			s := e.newSender()
			s.Pacer, s.Claims, s.Requeue = e.store, e.store, &jobRequeue{}
			s.Completions = map[outbound.Kind]outreach.Completion{outbound.KindStaffReply: done, outbound.KindNotice: done}
			if c.storeDown {
				s.Store = contactsDown{e.store}
			}
			for i := range 2 {
				handleJob(t, e, s, c.job, fmt.Sprintf("m%d", i), c.receives)
			}
			sent, failed := done.counts()
			if n := e.stub.Stats().Requests; n != c.wantSends {
				t.Fatalf("%d sends reached the stand-in, want %d", n, c.wantSends)
			}
			if len(sent) != c.wantSent {
				t.Fatalf("origin told sent %d times (%v), want %d", len(sent), sent, c.wantSent)
			}
			switch {
			case c.wantFailed == "" && len(failed) != 0:
				t.Fatalf("origin told failed: %v", failed)
			case c.wantFailed != "" && c.storeDown && (len(failed) != 2 || failed[0] != c.wantFailed):
				// Both deliveries were the last receive here; the DLQ tells each one.
				t.Fatalf("origin told failed %v, want %q per dead-lettered delivery", failed, c.wantFailed)
			case c.wantFailed != "" && !c.storeDown && (len(failed) != 1 || failed[0] != c.wantFailed):
				t.Fatalf("origin told failed %v, want once %q", failed, c.wantFailed)
			}
		})
	}
}

// A notice that reaches the sender in the clinic's quiet hours waits for their end
// on the queue (no send, no claim) and goes out once then; one that would be past
// its usefulness by then fails "expired" instead.
func TestNoticesWaitOutQuietHours(t *testing.T) {
	const to = "+15550100147"
	msg, err := whatsapp.TemplateMessage(to, "notice_lab_ready", "en_US", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	quiet := testClinic(testClinic1)
	// t0 is 10:00 in New York: quiet until 11:00, an hour from now.
	quiet.QuietHours = reminder.QuietHours{Start: "09:00", End: "11:00"}
	setup := func(t *testing.T) (*senderEnv, *outreach.Sender, *recordingCompletion, *jobRequeue) {
		e := newSenderEnv(t, whatsapptest.Faults{})
		if err := e.store.PutClinic(e.ctx, quiet); err != nil {
			t.Fatal(err)
		}
		done, rq := &recordingCompletion{}, &jobRequeue{}
		s := e.newSender()
		s.Pacer, s.Claims, s.Requeue = e.store, e.store, rq
		s.Completions = map[outbound.Kind]outreach.Completion{outbound.KindNotice: done}
		return e, s, done, rq
	}
	t.Run("deferred, then sent once", func(t *testing.T) {
		e, s, done, rq := setup(t)
		job := outbound.Job{Type: outbound.KindNotice, Key: "notice:c1:q1", Ref: "ntc_q1", PatientID: "pat-q1",
			Message: &msg, ExpiresAt: t0.Add(72 * time.Hour)}
		if failed := handleJob(t, e, s, job, "m1", 1); failed != 0 {
			t.Fatalf("%d records failed, want the job requeued", failed)
		}
		back, _ := rq.take()
		if len(back) != 1 {
			t.Fatalf("requeued %d jobs, want 1", len(back))
		}
		// Longer than SQS's longest delay: it travels with the time it may run.
		if nb := back[0].NotBefore.Sub(t0); nb < time.Hour || nb > time.Hour+time.Minute {
			t.Fatalf("requeued to run %s from now, want after the hour of quiet left", nb)
		}
		if n := e.stub.Stats().Requests; n != 0 {
			t.Fatalf("%d sends in quiet hours", n)
		}
		e.clock.Set(back[0].NotBefore)
		for i := range 2 {
			if failed := handleJob(t, e, s, back[0], fmt.Sprintf("m%d", i+2), 1); failed != 0 {
				t.Fatalf("delivery %d after quiet hours: %d failed", i+2, failed)
			}
		}
		sent, failed := done.counts()
		if n := e.stub.Stats().Accepted; n != 1 || len(sent) != 1 || len(failed) != 0 {
			t.Fatalf("after quiet hours: %d sends, sent %v, failed %v; want one send told once", n, sent, failed)
		}
	})
	t.Run("expires before they end", func(t *testing.T) {
		e, s, done, rq := setup(t)
		job := outbound.Job{Type: outbound.KindNotice, Key: "notice:c1:q2", Ref: "ntc_q2", PatientID: "pat-q2",
			Message: &msg, ExpiresAt: t0.Add(30 * time.Minute)}
		if failed := handleJob(t, e, s, job, "m1", 1); failed != 0 {
			t.Fatalf("%d records failed", failed)
		}
		back, _ := rq.take()
		_, failed := done.counts()
		if len(back) != 0 || len(failed) != 1 || failed[0] != "ntc_q2="+outbound.ReasonExpired || e.stub.Stats().Accepted != 0 {
			t.Fatalf("requeued %d, failed %v, %d sends; want failed expired, nothing sent", len(back), failed, e.stub.Stats().Accepted)
		}
	})
}
