package outreach_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/memstore"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

func TestSweepEnqueuesExactlyTheDueRemindersOnce(t *testing.T) {
	ctx := ctxT(t)
	clock := platform.NewFakeClock(t0)
	st := newStore(t, clock)
	const clinicID = "clinic-a"
	// due: 12 visits whose 48 h reminder fell due over the last hour (one exactly now);
	// their 2 h reminders are in the future. Not due: 5 visits next month.
	want := map[string]bool{}
	for i := range 12 {
		start := t0.Add(47*time.Hour + time.Duration(i)*time.Minute)
		id := fmt.Sprintf("due-%02d", i)
		seedAppointment(t, ctx, st, seedSpec{clinicID: clinicID, id: id, start: start, due: map[reminder.Kind]time.Time{
			reminder.KindDayBefore: t0.Add(-time.Duration(i) * 5 * time.Minute),
			reminder.KindSameDay:   start.Add(-2 * time.Hour),
		}})
		want[jobKey(clinicID, id, reminder.KindDayBefore)] = true
	}
	for i := range 5 {
		start := t0.Add(30*24*time.Hour + time.Duration(i)*time.Hour)
		seedAppointment(t, ctx, st, seedSpec{clinicID: clinicID, id: fmt.Sprintf("later-%d", i), start: start,
			due: map[reminder.Kind]time.Time{reminder.KindDayBefore: start.Add(-48 * time.Hour)}})
	}

	outbox := &recordingOutbox{}
	sw := &outreach.Sweeper{Store: st, Outbox: outbox, Clock: clock}
	stats, err := sw.Sweep(ctx)
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	got := countJobs(outbox.snapshot())
	if len(got) != len(want) {
		t.Errorf("enqueued %d distinct reminders, want %d: %v", len(got), len(want), got)
	}
	for k, n := range got {
		if !want[k] || n != 1 {
			t.Errorf("reminder %s enqueued %d times (due: %v)", k, n, want[k])
		}
	}
	if stats.Enqueued != 12 || stats.Due != 12 || stats.Stopped {
		t.Errorf("stats = %+v, want 12 due and enqueued, not stopped", stats)
	}
	if r := reminderState(t, ctx, st, clinicID, "due-03", reminder.KindDayBefore); r.State != reminder.StateQueued {
		t.Errorf("enqueued reminder state = %s, want queued", r.State)
	}
	if r := reminderState(t, ctx, st, clinicID, "due-03", reminder.KindSameDay); r.State != reminder.StateScheduled {
		t.Errorf("future reminder state = %s, want scheduled", r.State)
	}
	for _, j := range outbox.snapshot() {
		if j.Generation == "" || j.DueAt.IsZero() {
			t.Errorf("job %+v lacks generation or due time", j)
		}
	}

	// A second sweep at the same instant finds nothing left: the index holds only
	// what is still scheduled.
	stats, err = sw.Sweep(ctx)
	if err != nil || stats.Due != 0 || len(outbox.snapshot()) != 12 {
		t.Errorf("second sweep: stats %+v, err %v, total jobs %d; want nothing new", stats, err, len(outbox.snapshot()))
	}
}

func TestConcurrentSweepsEnqueueEachReminderOnce(t *testing.T) {
	ctx := ctxT(t)
	clock := platform.NewFakeClock(t0)
	st := newStore(t, clock)
	const n = 120
	seedMany(t, ctx, st, n, func(i int) seedSpec {
		start := t0.Add(40 * time.Hour)
		return seedSpec{clinicID: "clinic-c", id: fmt.Sprintf("a%03d", i), start: start,
			due: map[reminder.Kind]time.Time{reminder.KindDayBefore: t0.Add(-time.Duration(i) * time.Second)}}
	})
	outbox := &recordingOutbox{} // shared: what matters is what reached "the queue"
	var wg sync.WaitGroup
	stats := make([]outreach.SweepStats, 3)
	for i := range stats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sw := &outreach.Sweeper{Store: st, Outbox: outbox, Clock: clock}
			var err error
			if stats[i], err = sw.Sweep(ctx); err != nil {
				t.Errorf("sweep %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	got := countJobs(outbox.snapshot())
	if len(got) != n {
		t.Errorf("%d distinct reminders enqueued, want %d", len(got), n)
	}
	for k, c := range got {
		if c != 1 {
			t.Errorf("reminder %s enqueued %d times", k, c)
		}
	}
	total := 0
	for _, s := range stats {
		total += s.Enqueued
	}
	if total != n {
		t.Errorf("sweeps report %d enqueued together, want %d (%+v)", total, n, stats)
	}
}

// clockAdvancingStore makes every index read take step of (fake) time, so a sweep
// meets its deadline deterministically, without sleeping.
type clockAdvancingStore struct {
	*memstore.Store
	clock *platform.FakeClock
	step  time.Duration
}

func (s clockAdvancingStore) DueReminders(ctx context.Context, shard int, now time.Time, limit int, after *reminder.Cursor) ([]reminder.Reminder, *reminder.Cursor, error) {
	defer s.clock.Advance(s.step)
	return s.Store.DueReminders(ctx, shard, now, limit, after)
}

func TestSweepStopsBeforeItsDeadlineAndTheNextContinues(t *testing.T) {
	start := t0
	ctx := ctxT(t)
	clock := platform.NewFakeClock(start)
	st := newStore(t, clock)
	const n = 60
	seedMany(t, ctx, st, n, func(i int) seedSpec {
		return seedSpec{clinicID: "clinic-d", id: fmt.Sprintf("d%03d", i), start: start.Add(30 * time.Hour),
			due: map[reminder.Kind]time.Time{reminder.KindDayBefore: start.Add(-time.Minute)}}
	})
	outbox := &recordingOutbox{}
	slow := clockAdvancingStore{Store: st, clock: clock, step: time.Minute}
	// Two index reads fit before deadline-margin; the sweep must stop there.
	// (The budget is taken from the wall-clock deadline once, then measured on the
	// fake clock.)
	deadlineCtx, cancel := context.WithTimeout(ctx, 2*time.Minute+30*time.Second)
	defer cancel()
	first, err := (&outreach.Sweeper{Store: slow, Outbox: outbox, Clock: clock, Margin: 30 * time.Second}).Sweep(deadlineCtx)
	if err != nil {
		t.Fatalf("first sweep: %v", err)
	}
	if !first.Stopped || first.Enqueued == 0 || first.Enqueued >= n {
		t.Fatalf("first sweep = %+v: want it stopped part-way", first)
	}
	second, err := (&outreach.Sweeper{Store: st, Outbox: outbox, Clock: clock}).Sweep(ctx)
	if err != nil {
		t.Fatalf("second sweep: %v", err)
	}
	if second.Stopped || first.Enqueued+second.Enqueued != n {
		t.Errorf("second sweep = %+v after first %+v: want the remaining %d", second, first, n-first.Enqueued)
	}
	for k, c := range countJobs(outbox.snapshot()) {
		if c != 1 {
			t.Errorf("reminder %s enqueued %d times", k, c)
		}
	}
	if got := len(countJobs(outbox.snapshot())); got != n {
		t.Errorf("%d reminders enqueued over both sweeps, want %d", got, n)
	}
}

func TestMissedSweepsCatchUp(t *testing.T) {
	ctx := ctxT(t)
	clock := platform.NewFakeClock(t0)
	st := newStore(t, clock)
	const clinicID = "clinic-m"
	// No sweep ran for six hours (an outage). Everything that fell due meanwhile is
	// still in the index; only what is no longer useful is skipped, not sent late.
	cases := []struct {
		id       string
		due      time.Time
		notAfter time.Time
		want     reminder.State
	}{
		{"six-hours-late", t0.Add(-6 * time.Hour), t0.Add(20 * time.Hour), reminder.StateQueued},
		{"one-hour-late", t0.Add(-time.Hour), t0.Add(30 * time.Hour), reminder.StateQueued},
		{"just-due", t0, t0.Add(47 * time.Hour), reminder.StateQueued},
		{"visit-passed", t0.Add(-5 * time.Hour), t0.Add(-time.Hour), reminder.StateSkipped},
		{"not-yet", t0.Add(time.Minute), t0.Add(48 * time.Hour), reminder.StateScheduled},
	}
	for _, c := range cases {
		seedAppointment(t, ctx, st, seedSpec{clinicID: clinicID, id: c.id, start: c.notAfter,
			due: map[reminder.Kind]time.Time{reminder.KindDayBefore: c.due}})
	}
	outbox := &recordingOutbox{failNext: 1000}
	sw := &outreach.Sweeper{Store: st, Outbox: outbox, Clock: clock}
	// The first sweep after the outage meets a queue outage too: nothing is lost,
	// the reminders go back into the index.
	stats, err := sw.Sweep(ctx)
	if err == nil || stats.Requeued != 3 || len(outbox.snapshot()) != 0 {
		t.Fatalf("sweep during queue outage: stats %+v, err %v; want 3 requeued and an error", stats, err)
	}
	if r := reminderState(t, ctx, st, clinicID, "one-hour-late", reminder.KindDayBefore); r.State != reminder.StateScheduled {
		t.Fatalf("after a failed enqueue the reminder is %s, want scheduled (back in the index)", r.State)
	}
	outbox.failNext = 0
	clock.Advance(time.Minute)
	// Through the Lambda entry point, with a real-shaped EventBridge scheduled event.
	var ev events.CloudWatchEvent
	readJSON(t, "testdata/scheduled-event.json", &ev)
	if err := sw.Handle(ctx, ev); err != nil {
		t.Fatalf("catch-up sweep: %v", err)
	}
	for _, c := range cases {
		r := reminderState(t, ctx, st, clinicID, c.id, reminder.KindDayBefore)
		want := c.want
		if c.id == "not-yet" {
			want = reminder.StateQueued // the clock moved a minute: due now
		}
		if r.State != want {
			t.Errorf("%s: state %s, want %s", c.id, r.State, want)
		}
		if want == reminder.StateSkipped && r.Reason != reminder.ReasonPastVisit {
			t.Errorf("%s: reason %q, want %q", c.id, r.Reason, reminder.ReasonPastVisit)
		}
	}
	if got := countJobs(outbox.snapshot()); len(got) != 4 {
		t.Errorf("catch-up enqueued %v, want the 4 useful reminders once each", got)
	}
}
