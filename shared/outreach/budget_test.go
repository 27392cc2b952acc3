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

// A job back for its place in the number's line that finds the current window
// spent waits for a later window only if its place has not come up yet, and only
// up to its place's window. A job at or past its place goes to the end of the line
// (like a job refused for the first time) and comes back within half a second of
// its new place, not within a second or two: while a backlog drains, every window the
// lookahead reaches is booked, so waiting for the last one would hold a sender
// instance for most of a second per job, and a line a tenth faster than the budget
// would keep a surplus on the queue that grows as long as the backlog lasts. Only
// when the line ends within reach does it book a window up to its new place.
func TestAJobBackForItsPlaceWaitsOnlyUntilItsPlace(t *testing.T) {
	const perSecond = 80
	spacing := time.Second * 10 / (perSecond * 11) // the line's spacing: a tenth under the budget's interval
	for _, tc := range []struct {
		name      string
		place     time.Duration // the job's place, from now
		full      int           // windows full from the current one on
		lineAhead time.Duration // how far the number's line reaches past now
		wantWait  bool          // it books a later window and waits for it
		wantBack  time.Duration // else: its new place, from now
	}{
		{name: "place in the next window", place: outbound.Window + time.Millisecond, full: 1, wantWait: true},
		{name: "place in the next window, full too", place: outbound.Window + time.Millisecond, full: 2, wantBack: spacing},
		{name: "at its place", place: 0, full: 1, lineAhead: 40 * time.Second, wantBack: 40*time.Second + spacing},
		{name: "past its place, empty line", place: -3 * time.Second, full: 1, wantBack: spacing},
		// The last jobs of a backlog: its new place would be in the next window, so it
		// books that window rather than come back a whole second later.
		{name: "past its place, the line ends in the next window", place: -time.Second, full: 1, lineAhead: 300 * time.Millisecond, wantWait: true},
		{name: "past its place, the line ends in the next window, full too", place: -time.Second, full: 2, lineAhead: 300 * time.Millisecond, wantBack: 300*time.Millisecond + spacing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSenderEnv(t, whatsapptest.Faults{})
			e.book("back-at-place", consent.OptedIn)
			var job outbound.Job
			if err := json.Unmarshal([]byte(e.sweepOne().Body), &job); err != nil {
				t.Fatal(err)
			}
			now := e.clock.Now()
			job.Paced, job.Place = true, now.Add(tc.place)
			body, _ := json.Marshal(job)

			q := &fakeQueue{now: e.clock.Now}
			s := e.newSender()
			s.Pacer, s.Claims, s.Requeue, s.MessagesPerSecond, s.SlotLookahead = e.store, e.store, q, perSecond, 3
			var waited time.Duration
			s.Wait = func(_ context.Context, d time.Duration) error { waited = d; return nil }
			pnid := testClinic(testClinic1).PhoneNumberID
			ceiling := outbound.Ceiling(perSecond, outbound.KindReminder.Priority())
			for w := range tc.full {
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
			sends := e.stub.Stats().Requests
			if tc.wantWait {
				if sends != 1 || waited <= 0 || waited > outbound.Window {
					t.Fatalf("%d sends after waiting %s (%d requeued), want one send after waiting for the next window", sends, waited, q.size())
				}
				return
			}
			if sends != 0 || waited != 0 {
				t.Fatalf("%d sends after waiting %s with the budget spent, want none and no wait", sends, waited)
			}
			if q.size() != 1 {
				t.Fatalf("%d jobs back on the queue, want 1", q.size())
			}
			back := q.pending[0]
			var requeued outbound.Job
			if err := json.Unmarshal([]byte(back.rec.Body), &requeued); err != nil {
				t.Fatal(err)
			}
			wantPlace := now.Add(tc.wantBack)
			if !requeued.Paced || !requeued.Place.Equal(wantPlace) {
				t.Errorf("requeued with paced %v, place %s from now; want its new place %s from now",
					requeued.Paced, requeued.Place.Sub(now), tc.wantBack)
			}
			// SQS delays are whole seconds: the job becomes visible within half a second
			// of its new place, but not sooner than a second after it was sent back.
			if want := now.Add(max(tc.wantBack.Round(time.Second), time.Second)); !back.visible.Equal(want) {
				t.Errorf("visible %s from now, want %s (its place %s from now)", back.visible.Sub(now), want.Sub(now), tc.wantBack)
			}
			// It holds that place: the next job refused lines up behind it.
			if tc.lineAhead > 0 {
				next, err := e.store.TakeQueueSlots(e.ctx, pnid, now, spacing, 1)
				if err != nil {
					t.Fatal(err)
				}
				if want := wantPlace.Add(spacing); !next.Equal(want) {
					t.Errorf("the next place is %s from now, want %s", next.Sub(now), want.Sub(now))
				}
			}
		})
	}
}
