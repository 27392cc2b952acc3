package outreach_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// delayedQueue records, on the fake clock, what reaches the queue and when it
// becomes visible: SQS truncates a delay to whole seconds.
type delayedQueue struct {
	clock *platform.FakeClock
	mu    sync.Mutex
	got   []handedOver
	// fail refuses hand-overs whose delay is at least this long (0: none).
	fail time.Duration
}

type handedOver struct {
	job     outbound.Job
	visible time.Time
}

func (q *delayedQueue) EnqueueAfter(_ context.Context, jobs []outbound.Job, delays []time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(jobs) > 10 {
		return fmt.Errorf("batch of %d jobs exceeds SQS's 10", len(jobs))
	}
	for i, j := range jobs {
		if q.fail > 0 && delays[i] >= q.fail {
			return errors.New("queue: publish: simulated outage")
		}
		q.got = append(q.got, handedOver{job: j, visible: q.clock.Now().Add(delays[i].Truncate(time.Second))})
	}
	return nil
}

// timers holds the hand-overs a PacedOutbox timed for later, to run on the fake
// clock in their order.
type timers struct {
	clock *platform.FakeClock
	mu    sync.Mutex
	due   []timer
}

type timer struct {
	at time.Time
	f  func()
}

func (ts *timers) after(d time.Duration, f func()) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.due = append(ts.due, timer{at: ts.clock.Now().Add(d), f: f})
}

// run advances the clock to each timer in turn and runs it.
func (ts *timers) run() {
	ts.mu.Lock()
	due := ts.due
	ts.due = nil
	ts.mu.Unlock()
	sort.SliceStable(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, tm := range due {
		if d := tm.at.Sub(ts.clock.Now()); d > 0 {
			ts.clock.Advance(d)
		}
		tm.f()
	}
}

func pacedJobs(clinicID string, n int) []reminder.Job {
	jobs := make([]reminder.Job, n)
	for i := range jobs {
		jobs[i] = reminder.Job{ClinicID: clinicID, AppointmentID: fmt.Sprintf("appt-%04d", i), Kind: reminder.KindDayBefore,
			Generation: "g1", DueAt: t0}
	}
	return jobs
}

// A backlog queued as the sweep queues it (ten jobs a call, a few milliseconds
// apart) becomes visible spread over every budget window at its number's rate:
// each job whose place is a second or more ahead is handed over so that it becomes
// visible as its place's window opens, never a second's jobs in one instant; the
// jobs due within the second go at once. Nothing is lost or handed over twice.
func TestPacedOutboxMakesEachJobVisibleAsItsPlacesWindowOpens(t *testing.T) {
	ctx := ctxT(t)
	start := t0.Add(37 * time.Millisecond) // any phase of the second
	clock := platform.NewFakeClock(start)
	st := newStore(t, clock)
	c := testClinic("clinic-paced")
	c.MessagesPerSecond = 80
	if err := st.PutClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	q := &delayedQueue{clock: clock}
	ts := &timers{clock: clock}
	out := &outreach.PacedOutbox{Outbox: q, Pacer: st, Clinics: st, Clock: clock, After: ts.after}

	const n = 400 // five seconds of the line at 88 a second
	jobs := pacedJobs(c.ID, n)
	for i := 0; i < n; i += 10 {
		if err := out.Enqueue(ctx, jobs[i:i+10]); err != nil {
			t.Fatal(err)
		}
		clock.Advance(3 * time.Millisecond)
	}
	enqueuedBy := clock.Now()
	settled := make(chan struct{})
	go func() {
		defer close(settled)
		if failed, err := out.Settle(ctx); err != nil || len(failed) != 0 {
			t.Errorf("settle: %d failed, %v", len(failed), err)
		}
	}()
	ts.run()
	<-settled

	if len(q.got) != n {
		t.Fatalf("%d jobs reached the queue, want %d", len(q.got), n)
	}
	seen := map[string]bool{}
	perWindow := map[time.Time]int{}
	immediate := 0
	for _, h := range q.got {
		if seen[h.job.AppointmentID] {
			t.Fatalf("%s handed over twice", h.job.AppointmentID)
		}
		seen[h.job.AppointmentID] = true
		if !h.job.Paced {
			t.Errorf("%s not marked paced", h.job.AppointmentID)
		}
		if h.job.Place.IsZero() {
			// Due within the second of its call: queued at once, visible then.
			immediate++
			if h.visible.After(enqueuedBy) {
				t.Errorf("%s without a place became visible %s after the last call", h.job.AppointmentID, h.visible.Sub(enqueuedBy))
			}
			continue
		}
		if w := outbound.WindowStart(h.job.Place); !h.visible.Equal(w) {
			t.Errorf("%s visible %s from its place's window, want as it opens", h.job.AppointmentID, h.visible.Sub(w))
		}
		perWindow[h.visible]++
	}
	if immediate == 0 || immediate > 90 {
		t.Errorf("%d jobs went at once, want the first second's (about 88)", immediate)
	}
	// 88 places a second at 80 a second's budget: 22 a quarter-second window.
	for w, k := range perWindow {
		if k > 23 {
			t.Errorf("%d jobs became visible as the window at %s opened, want at most 23", k, w.Sub(start))
		}
	}
	// Every window between the first and the last (where the line starts and ends
	// part way through) gets its share.
	var first, last time.Time
	for w := range perWindow {
		if first.IsZero() || w.Before(first) {
			first = w
		}
		if w.After(last) {
			last = w
		}
	}
	for w := first.Add(outbound.Window); w.Before(last); w = w.Add(outbound.Window) {
		if k := perWindow[w]; k < 21 {
			t.Errorf("%d jobs became visible as the window at %s opened, want 21-23", k, w.Sub(start))
		}
	}
}

// A timed hand-over that fails is reported by Settle, and the sweep puts those
// reminders back in the index, as it does after a failed Enqueue: the next sweep
// queues them.
func TestSweepPutsBackRemindersATimedHandOverCouldNotQueue(t *testing.T) {
	ctx := ctxT(t)
	clock := platform.NewFakeClock(t0)
	st := newStore(t, clock)
	c := testClinic("clinic-slow")
	c.MessagesPerSecond = 1 // places 0.9 s apart: all but the first are a second or more ahead
	if err := st.PutClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		seedAppointment(t, ctx, st, seedSpec{clinicID: c.ID, id: fmt.Sprintf("slow-%d", i), start: t0.Add(30 * time.Hour),
			due: map[reminder.Kind]time.Time{reminder.KindDayBefore: t0.Add(-time.Minute)}})
	}
	q := &delayedQueue{clock: clock, fail: time.Second}
	// The hand-overs run as soon as they are timed: the fake clock does not move.
	out := &outreach.PacedOutbox{Outbox: q, Pacer: st, Clinics: st, Clock: clock, After: func(_ time.Duration, f func()) { f() }}
	sw := &outreach.Sweeper{Store: st, Outbox: out, Clock: clock}
	stats, err := sw.Sweep(ctx)
	if err == nil {
		t.Fatal("sweep reported no error for the failed hand-overs")
	}
	if len(q.got) != 1 || stats.Enqueued != 1 || stats.Requeued != 5 {
		t.Fatalf("queued %d, stats %+v; want 1 queued and enqueued, 5 put back", len(q.got), stats)
	}
	back := 0
	for i := range 6 {
		if reminderState(t, ctx, st, c.ID, fmt.Sprintf("slow-%d", i), reminder.KindDayBefore).State == reminder.StateScheduled {
			back++
		}
	}
	if back != 5 {
		t.Fatalf("%d reminders back in the index, want 5", back)
	}

	q.fail = 0
	clock.Advance(time.Minute)
	stats, err = sw.Sweep(ctx)
	if err != nil || stats.Enqueued != 5 || len(q.got) != 6 {
		t.Fatalf("next sweep: stats %+v, err %v, %d queued in all; want the 5 queued", stats, err, len(q.got))
	}
}
