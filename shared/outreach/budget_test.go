package outreach_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// fakeQueue is the outbound queue on the fake clock: a requeued job becomes
// visible after its delay truncated to whole seconds, as SQS's DelaySeconds is.
type fakeQueue struct {
	mu      sync.Mutex
	pending []queued
	seq     int
	now     func() time.Time
}

type queued struct {
	visible time.Time
	rec     events.SQSMessage
}

func (q *fakeQueue) add(body []byte, delay time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	q.pending = append(q.pending, queued{visible: q.now().Add(delay.Truncate(time.Second)),
		rec: sqsRecord(fmt.Sprintf("m%d", q.seq), string(body), 1)})
}

func (q *fakeQueue) RequeueJob(_ context.Context, job outbound.Job, delay time.Duration) error {
	body, err := json.Marshal(job)
	if err != nil {
		return err
	}
	q.add(body, delay)
	return nil
}

func (q *fakeQueue) Requeue(ctx context.Context, job reminder.Job, delay time.Duration) error {
	return q.RequeueJob(ctx, outbound.FromReminder(job), delay)
}

// receive takes up to n visible records, oldest first.
func (q *fakeQueue) receive(n int) []events.SQSMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []events.SQSMessage
	rest := q.pending[:0]
	for _, p := range q.pending {
		if len(out) < n && !p.visible.After(q.now()) {
			out = append(out, p.rec)
			continue
		}
		rest = append(rest, p)
	}
	q.pending = rest
	return out
}

func (q *fakeQueue) size() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// sendLog records, on the fake clock, when each message reached the stand-in.
type sendLog struct {
	m     outreach.Messenger
	now   func() time.Time
	mu    sync.Mutex
	sends []sent
}

type sent struct {
	at   time.Time
	to   string
	kind string
}

func (l *sendLog) Send(ctx context.Context, phoneNumberID string, msg whatsapp.Message) (string, error) {
	at := l.now()
	wamid, err := l.m.Send(ctx, phoneNumberID, msg)
	if err == nil {
		l.mu.Lock()
		l.sends = append(l.sends, sent{at: at, to: msg.To, kind: msg.Type})
		l.mu.Unlock()
	}
	return wamid, err
}

// A burst of patient messages on one number while a batch of reminders drains
// from it: replies and reminders share the number's budget (never more than 80 in
// any second, counted where the stand-in receives them; the stand-in, enforcing 80
// msg/s on the same fake clock, answers no 130429), and each reply goes out within
// a second, ahead of the reminders still queued when the patient wrote.
func TestRepliesAndRemindersShareTheNumbersBudget(t *testing.T) {
	const reminders, replies, perSecond = 240, 60, 80
	e := newSenderEnv(t, whatsapptest.Faults{})
	for i := range reminders {
		e.book(fmt.Sprintf("burst-%03d", i), consent.OptedIn)
	}
	q := &fakeQueue{now: e.clock.Now}
	for _, rec := range e.sweep() {
		q.add([]byte(rec.Body), 0)
	}
	log := &sendLog{m: e.client, now: e.clock.Now}
	s := e.newSender()
	s.Messenger, s.Requeue, s.Pacer, s.Claims, s.MessagesPerSecond = log, q, e.store, e.store, perSecond
	// The inbound service's replies: reply jobs sent in its process, through the
	// same prepared-send code and the same budget.
	replier := e.newSender()
	replier.Messenger, replier.Pacer, replier.Claims, replier.MessagesPerSecond = log, e.store, e.store, perSecond
	replier.Wait = func(_ context.Context, d time.Duration) error { e.clock.Advance(d); return nil }

	// The patients write half a second in, while nearly all reminders are queued.
	burstAt := t0.Add(500 * time.Millisecond)
	var wroteAt time.Time
	queuedWhenWritten := 0
	step := 25 * time.Millisecond
	for rounds := 0; q.size() > 0 || wroteAt.IsZero(); rounds++ {
		if rounds > 4000 {
			t.Fatalf("%d jobs still queued after %d rounds", q.size(), rounds)
		}
		if wroteAt.IsZero() && !e.clock.Now().Before(burstAt) {
			wroteAt, queuedWhenWritten = e.clock.Now(), reminders-countKind(log, whatsapp.TypeTemplate)
			for i := range replies {
				phone := fmt.Sprintf("+1555019%04d", i)
				msg, err := whatsapp.TextMessage(phone, "Thanks, we got your message.")
				if err != nil {
					t.Fatal(err)
				}
				job := outbound.Job{Type: outbound.KindReply, Job: reminder.Job{ClinicID: testClinic1}, ContactKey: phone,
					Key: fmt.Sprintf("reply:wamid.burst-%02d", i), Message: &msg, WindowEndsAt: e.clock.Now().Add(23 * time.Hour)}
				if wamid, err := replier.SendNow(e.ctx, testClinic(testClinic1), job, nil); err != nil || wamid == "" {
					t.Fatalf("reply %d: %q, %v", i, wamid, err)
				}
			}
		}
		if batch := q.receive(10); len(batch) > 0 {
			resp, err := s.Handle(e.ctx, events.SQSEvent{Records: batch})
			if err != nil || len(resp.BatchItemFailures) > 0 {
				t.Fatalf("handle: %v, %d failed records", err, len(resp.BatchItemFailures))
			}
			continue
		}
		e.clock.Advance(step)
	}

	if got := countKind(log, whatsapp.TypeTemplate); got != reminders {
		t.Fatalf("%d reminders sent, want %d", got, reminders)
	}
	if got := countKind(log, whatsapp.TypeText); got != replies {
		t.Fatalf("%d replies sent, want %d", got, replies)
	}
	if st := e.stub.Stats(); st.Throttled+st.InjectedThrottles != 0 {
		t.Fatalf("the stand-in answered 130429 %d times", st.Throttled+st.InjectedThrottles)
	}
	perSecondCount := map[int64]int{}
	var lastReply time.Time
	for _, snd := range log.sends {
		perSecondCount[snd.at.Unix()]++
		if snd.kind == whatsapp.TypeText && snd.at.After(lastReply) {
			lastReply = snd.at
		}
	}
	busiest := 0
	for sec, n := range perSecondCount {
		busiest = max(busiest, n)
		if n > perSecond {
			t.Errorf("%d messages in the second starting %s, budget %d", n, time.Unix(sec, 0).UTC().Format(time.TimeOnly), perSecond)
		}
	}
	if wait := lastReply.Sub(wroteAt); wait > time.Second {
		t.Errorf("the last reply went out %s after the patients wrote, want within a second", wait)
	}
	after := 0
	for _, snd := range log.sends {
		if snd.kind == whatsapp.TypeTemplate && snd.at.After(lastReply) {
			after++
		}
	}
	t.Logf("busiest second: %d sends; replies out %s after the burst; %d reminders queued then, %d sent after the last reply; sends from first to last %s",
		busiest, lastReply.Sub(wroteAt), queuedWhenWritten, after, log.sends[len(log.sends)-1].at.Sub(log.sends[0].at))
	// Of the reminders still queued when the burst came, those that did not fit in
	// the same second went after every reply.
	if queuedWhenWritten < reminders/2 || after < queuedWhenWritten-perSecond {
		t.Errorf("%d reminders were queued when the patients wrote and %d went after the last reply", queuedWhenWritten, after)
	}
}

func countKind(l *sendLog, kind string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.sends {
		if s.kind == kind {
			n++
		}
	}
	return n
}

// A job back at its place in the number's line that finds the number's budget spent
// for the windows it may wait for goes to the end of the line, like a job refused
// for the first time: it does not come back within a second or two. A long backlog
// whose line runs a little faster than the budget then keeps a bounded surplus on
// the queue instead of one that grows the whole time the backlog drains, every
// extra job received again every second or two.
func TestAJobBackAtItsPlaceThatFindsTheBudgetSpentGoesToTheEndOfTheLine(t *testing.T) {
	const perSecond = 80
	for _, tc := range []struct {
		name      string
		lineAhead time.Duration // how far the number's line reaches past now
		wantDelay time.Duration
	}{
		{name: "behind a long line", lineAhead: 40 * time.Second, wantDelay: 40 * time.Second},
		{name: "empty line", lineAhead: 0, wantDelay: time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSenderEnv(t, whatsapptest.Faults{})
			e.book("back-at-place", consent.OptedIn)
			recs := e.sweep()
			if len(recs) != 1 {
				t.Fatalf("sweep queued %d jobs, want 1", len(recs))
			}
			var job outbound.Job
			if err := json.Unmarshal([]byte(recs[0].Body), &job); err != nil {
				t.Fatal(err)
			}
			job.Paced = true
			body, _ := json.Marshal(job)

			s := e.newSender()
			s.Pacer, s.Claims, s.MessagesPerSecond = e.store, e.store, perSecond
			s.Wait = func(context.Context, time.Duration) error { t.Fatal("the job waited for a window"); return nil }
			pnid := testClinic(testClinic1).PhoneNumberID
			now := e.clock.Now()
			// Every window the job may book is full.
			ceiling := outbound.Ceiling(perSecond, outbound.KindReminder.Priority())
			for w := range s.SlotLookahead + 1 {
				window := outbound.WindowStart(now).Add(time.Duration(w) * outbound.Window)
				for {
					ok, err := e.store.TakeSendSlot(e.ctx, pnid, window, ceiling)
					if err != nil {
						t.Fatal(err)
					}
					if !ok {
						break
					}
				}
			}
			if tc.lineAhead > 0 {
				if _, err := e.store.TakeQueueSlots(e.ctx, pnid, now, tc.lineAhead, 1); err != nil {
					t.Fatal(err)
				}
			}

			resp, err := s.Handle(e.ctx, events.SQSEvent{Records: []events.SQSMessage{sqsRecord("m1", string(body), 1)}})
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("handle: %v, %d failed records", err, len(resp.BatchItemFailures))
			}
			if st := e.stub.Stats(); st.Requests != 0 {
				t.Fatalf("%d sends with the budget spent", st.Requests)
			}
			requeued := e.requeue.take()
			if len(requeued) != 1 {
				t.Fatalf("requeued %d jobs, want 1", len(requeued))
			}
			// Its new place is one line spacing (a tenth under the budget's interval)
			// past the end of the line.
			spacing := time.Second * 10 / (perSecond * 11)
			if d := requeued[0].delay; d < tc.wantDelay || d > tc.wantDelay+spacing {
				t.Errorf("requeued with delay %s, want its place at the end of the line, %s", d, tc.wantDelay+spacing)
			}
			// It holds that place: the next job refused lines up behind it.
			next, err := e.store.TakeQueueSlots(e.ctx, pnid, now, spacing, 1)
			if err != nil {
				t.Fatal(err)
			}
			if want := now.Add(tc.lineAhead + 2*spacing); tc.lineAhead > 0 && !next.Equal(want) {
				t.Errorf("the next place is at %s, want %s", next.Sub(now), want.Sub(now))
			}
		})
	}
}
