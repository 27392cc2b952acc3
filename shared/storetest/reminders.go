package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// Reminders asserts the reminder state machine the sweep, sender and reaper rely
// on: due listings by shard with cursors, one winner of each conditional move
// (queue, claim, reap), leases, deferrals counting failures, generations, and the
// next-attempt index following the reminder.
func Reminders[S AppointmentStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	open := func(t *testing.T) (AppointmentStore, *platform.FakeClock) {
		clock := platform.NewFakeClock(t0)
		return newStore(t, clock), clock
	}
	t.Run("dueReminders", func(t *testing.T) { dueReminders(t, open) })
	t.Run("markQueuedOneSweeperWins", func(t *testing.T) { markQueuedOneSweeperWins(t, open) })
	t.Run("claimSend", func(t *testing.T) { claimSend(t, open) })
	t.Run("advanceReminderForwardOnly", func(t *testing.T) { advanceReminderForwardOnly(t, open) })
	t.Run("advanceReminderChecksGeneration", func(t *testing.T) { advanceReminderChecksGeneration(t, open) })
	t.Run("nextAttemptIndexFollowsTheReminder", func(t *testing.T) { nextAttemptIndexFollowsTheReminder(t, open) })
	t.Run("deferSendCountsOnlyFailures", func(t *testing.T) { deferSendCountsOnlyFailures(t, open) })
	t.Run("markReapedOneReaperWins", func(t *testing.T) { markReapedOneReaperWins(t, open) })
	t.Run("deferReminderSchedulesItAgain", func(t *testing.T) { deferReminderSchedulesItAgain(t, open) })
}

func dueReminders(t *testing.T, newStore func(*testing.T) (AppointmentStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	var dueIDs []string
	for i := range 12 {
		a := appt(fmt.Sprintf("a%02d", i), t0.Add(time.Duration(i+1)*time.Hour))
		state := reminder.StateScheduled
		if i%4 == 3 {
			state = reminder.StateSent // not in the index at all
		}
		r := rem(a, reminder.KindSameDay, t0.Add(time.Duration(i-6)*time.Minute), state)
		saveNew(t, s, a, r)
		if state == reminder.StateScheduled && i <= 6 {
			dueIDs = append(dueIDs, a.ID)
		}
	}
	due := AllDue(t, s, t0)
	var got []string
	for _, r := range due {
		if r.State != reminder.StateScheduled || r.DueAt.After(t0) {
			t.Errorf("listed %+v", r)
		}
		got = append(got, r.AppointmentID)
	}
	slices.Sort(got)
	if !slices.Equal(got, dueIDs) {
		t.Fatalf("due = %v, want %v", got, dueIDs)
	}

	// Within one shard the order is by due time.
	for shard := range s.Shards() {
		rs, _, err := s.DueReminders(ctx, shard, t0, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSortedFunc(rs, func(a, b reminder.Reminder) int { return a.DueAt.Compare(b.DueAt) }) {
			t.Errorf("shard %d not in due order", shard)
		}
	}

	for _, r := range due {
		if err := s.MarkQueued(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if left := AllDue(t, s, t0); len(left) != 0 {
		t.Fatalf("after MarkQueued %d reminders still due", len(left))
	}
	if err := s.UnmarkQueued(ctx, due[0]); err != nil {
		t.Fatal(err)
	}
	back := AllDue(t, s, t0)
	if len(back) != 1 || back[0].AppointmentID != due[0].AppointmentID || back[0].State != reminder.StateScheduled {
		t.Fatalf("after UnmarkQueued: %+v", back)
	}
	if err := s.UnmarkQueued(ctx, due[0]); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("UnmarkQueued of a scheduled reminder: %v, want ErrConditionFailed", err)
	}
	if _, _, err := s.DueReminders(ctx, s.Shards(), t0, 1, nil); err == nil {
		t.Fatal("shard out of range must fail")
	}
}

func markQueuedOneSweeperWins(t *testing.T, newStore func(*testing.T) (AppointmentStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	a := appt("a1", t0.Add(time.Hour))
	r := rem(a, reminder.KindSameDay, t0, reminder.StateScheduled)
	saveNew(t, s, a, r)

	moved := r
	moved.Generation = "g0"
	if err := s.MarkQueued(ctxT(t), moved); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("other generation: %v, want ErrConditionFailed", err)
	}
	if wins := race(t, 6, func() error { return s.MarkQueued(ctxT(t), r) }); wins != 1 {
		t.Fatalf("%d sweepers queued the reminder, want 1", wins)
	}
	missing := r
	missing.AppointmentID = "nope"
	if err := s.MarkQueued(ctxT(t), missing); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("missing reminder: %v, want ErrConditionFailed", err)
	}
}

func claimSend(t *testing.T, newStore func(*testing.T) (AppointmentStore, *platform.FakeClock)) {
	s, clock := newStore(t)
	ctx := ctxT(t)
	a := appt("a1", t0.Add(time.Hour))
	r := rem(a, reminder.KindSameDay, t0, reminder.StateScheduled)
	saveNew(t, s, a, r)

	if err := s.ClaimSend(ctx, r, t0.Add(time.Minute)); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("claim of a scheduled reminder: %v, want ErrConditionFailed", err)
	}
	if err := s.MarkQueued(ctx, r); err != nil {
		t.Fatal(err)
	}
	lease := t0.Add(30 * time.Second)
	if wins := race(t, 6, func() error { return s.ClaimSend(ctxT(t), r, lease) }); wins != 1 {
		t.Fatalf("%d senders claimed, want 1", wins)
	}
	clock.Advance(29 * time.Second)
	if err := s.ClaimSend(ctx, r, clock.Now().Add(30*time.Second)); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("claim under a live lease: %v, want ErrConditionFailed", err)
	}
	clock.Advance(2 * time.Second) // the first sender crashed; its lease ran out
	if err := s.ClaimSend(ctx, r, clock.Now().Add(30*time.Second)); err != nil {
		t.Fatalf("re-claim after lease expiry: %v", err)
	}

	if err := s.ReleaseSend(ctx, r, "graph 500", 131000); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetReminder(ctx, a.ClinicID, a.ID, r.Kind)
	if err != nil || got.State != reminder.StateQueued || got.Reason != "graph 500" || got.ErrorCode != 131000 {
		t.Fatalf("after release: %+v, %v", got, err)
	}
	if err := s.ReleaseSend(ctx, r, "again", 1); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("release of a queued reminder: %v, want ErrConditionFailed", err)
	}
	// Released, it can be claimed at once: the old lease is gone.
	if err := s.ClaimSend(ctx, r, clock.Now().Add(30*time.Second)); err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	other := r
	other.Generation = "g2"
	clock.Advance(time.Hour)
	if err := s.ClaimSend(ctx, other, clock.Now().Add(time.Minute)); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("claim of another generation: %v, want ErrConditionFailed", err)
	}
	if _, err := s.GetReminder(ctx, a.ClinicID, a.ID, reminder.KindFollowUp); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("missing reminder: %v", err)
	}
}

func advanceReminderForwardOnly(t *testing.T, newStore func(*testing.T) (AppointmentStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	a := appt("a1", t0.Add(time.Hour))
	r := rem(a, reminder.KindSameDay, t0, reminder.StateScheduled)
	saveNew(t, s, a, r)
	if err := s.MarkQueued(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimSend(ctx, r, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		to        reminder.State
		u         reminder.Update
		want      bool
		wantState reminder.State
	}{
		{reminder.StateSent, reminder.Update{WAMID: "wamid.A1"}, true, reminder.StateSent},
		{reminder.StateSent, reminder.Update{}, false, reminder.StateSent}, // duplicate
		{reminder.StateQueued, reminder.Update{}, false, reminder.StateSent},
		{reminder.StateRead, reminder.Update{}, true, reminder.StateRead},
		{reminder.StateDelivered, reminder.Update{}, false, reminder.StateRead}, // late delivered
		{reminder.StateFailed, reminder.Update{ErrorCode: 131026}, false, reminder.StateRead},
		{reminder.StateScheduled, reminder.Update{}, false, reminder.StateRead},
	}
	for _, st := range steps {
		ok, err := s.AdvanceReminder(ctx, a.ClinicID, a.ID, r.Kind, st.to, st.u)
		if err != nil || ok != st.want {
			t.Fatalf("advance to %s = %v, %v; want %v", st.to, ok, err, st.want)
		}
		got, err := s.GetReminder(ctx, a.ClinicID, a.ID, r.Kind)
		if err != nil || got.State != st.wantState || got.WAMID != "wamid.A1" || got.ErrorCode != 0 {
			t.Fatalf("after advance to %s: %+v, %v", st.to, got, err)
		}
	}
	if _, err := s.AdvanceReminder(ctx, a.ClinicID, "nope", r.Kind, reminder.StateSent, reminder.Update{}); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("missing reminder: %v, want ErrNotFound", err)
	}

	// A scheduled reminder that is skipped leaves the due index.
	b := appt("a2", t0.Add(time.Hour))
	rb := rem(b, reminder.KindSameDay, t0, reminder.StateScheduled)
	saveNew(t, s, b, rb)
	ok, err := s.AdvanceReminder(ctx, b.ClinicID, b.ID, rb.Kind, reminder.StateSkipped, reminder.Update{Reason: "opted out"})
	if err != nil || !ok {
		t.Fatalf("skip: %v, %v", ok, err)
	}
	if due := AllDue(t, s, t0); len(due) != 0 {
		t.Fatalf("skipped reminder still due: %+v", due)
	}
	got, _ := s.GetReminder(ctx, b.ClinicID, b.ID, rb.Kind)
	if got.Reason != "opted out" {
		t.Fatalf("reason = %q", got.Reason)
	}
}

// News about an old send must not move a reminder re-planned for a new start.
func advanceReminderChecksGeneration(t *testing.T, newStore func(*testing.T) (AppointmentStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	a := appt("gen-1", t0.Add(72*time.Hour))
	r := rem(a, reminder.KindDayBefore, t0.Add(24*time.Hour), reminder.StateSent)
	saveNew(t, s, a, r)
	ok, err := s.AdvanceReminder(ctx, a.ClinicID, a.ID, r.Kind, reminder.StateRead, reminder.Update{Generation: "an-older-plan"})
	if err != nil || ok {
		t.Fatalf("a status for another generation moved the reminder: %v, %v", ok, err)
	}
	ok, err = s.AdvanceReminder(ctx, a.ClinicID, a.ID, r.Kind, reminder.StateRead, reminder.Update{Generation: r.Generation})
	if err != nil || !ok {
		t.Fatalf("the matching generation must move it: %v, %v", ok, err)
	}
}

// The next-attempt index lists a reminder exactly while a sender owes it an attempt,
// keyed by when that attempt is expected.
func nextAttemptIndexFollowsTheReminder(t *testing.T, newStore func(*testing.T) (AppointmentStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	a := appt("a1", t0.Add(30*time.Hour))
	r := rem(a, reminder.KindDayBefore, t0, reminder.StateScheduled)
	saveNew(t, s, a, r)
	late := t0.Add(24 * time.Hour)

	steps := []struct {
		name   string
		do     func() error
		before time.Time // listed when asked for stalled at or before this
		listed bool
	}{
		{"scheduled: not owed an attempt", func() error { return nil }, late, false},
		{"queued: expected at once", func() error { return s.MarkQueued(ctx, r) }, t0, true},
		{"claimed: not before the lease ends", func() error { return s.ClaimSend(ctx, r, t0.Add(time.Minute)) }, t0.Add(59 * time.Second), false},
		{"claimed: listed once the lease ended", func() error { return nil }, t0.Add(time.Minute), true},
		{"deferred: not before its next attempt", func() error {
			return s.DeferSend(ctx, r, reminder.Deferral{Reason: "quiet_hours", Until: t0.Add(10 * time.Hour)})
		}, t0.Add(10*time.Hour - time.Second), false},
		{"deferred: listed at its next attempt", func() error { return nil }, t0.Add(10 * time.Hour), true},
		{"sent: gone", func() error {
			if err := s.ClaimSend(ctx, r, t0.Add(time.Minute)); err != nil {
				return err
			}
			_, err := s.AdvanceReminder(ctx, a.ClinicID, a.ID, r.Kind, reminder.StateSent, reminder.Update{WAMID: "wamid.X"})
			return err
		}, late, false},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := AllStalled(t, s, st.before)
		if (len(got) == 1) != st.listed || len(got) > 1 {
			t.Fatalf("%s: listed %d reminders, want listed=%v", st.name, len(got), st.listed)
		}
	}
}

func deferSendCountsOnlyFailures(t *testing.T, newStore func(*testing.T) (AppointmentStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	a := appt("a1", t0.Add(30*time.Hour))
	r := rem(a, reminder.KindDayBefore, t0, reminder.StateScheduled)
	saveNew(t, s, a, r)
	if err := s.MarkQueued(ctx, r); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		d            reminder.Deferral
		wantAttempts int
	}{
		{reminder.Deferral{Reason: "graph_500", ErrorCode: 2, Failed: true, Until: t0.Add(10 * time.Second)}, 1},
		{reminder.Deferral{Reason: "pair_pacing", Until: t0.Add(20 * time.Second)}, 1},
		{reminder.Deferral{Reason: "timeout", Failed: true, Until: t0.Add(40 * time.Second)}, 2},
	}
	for _, c := range cases {
		if err := s.ClaimSend(ctx, r, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.DeferSend(ctx, r, c.d); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetReminder(ctx, a.ClinicID, a.ID, r.Kind)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != reminder.StateQueued || got.Attempts != c.wantAttempts || !got.NextAttemptAt.Equal(c.d.Until) || got.Reason != c.d.Reason {
			t.Errorf("after %+v: %s attempts %d next %v reason %q; want queued, %d, %v", c.d, got.State, got.Attempts,
				got.NextAttemptAt, got.Reason, c.wantAttempts, c.d.Until)
		}
	}
	// Deferring what this caller does not hold is refused.
	if err := s.DeferSend(ctx, r, reminder.Deferral{Until: t0}); !errors.Is(err, fault.ErrConflict) {
		t.Errorf("defer of an unclaimed reminder: %v, want ErrConditionFailed", err)
	}
}

func markReapedOneReaperWins(t *testing.T, newStore func(*testing.T) (AppointmentStore, *platform.FakeClock)) {
	s, clock := newStore(t)
	ctx := ctxT(t)
	a := appt("a1", t0.Add(30*time.Hour))
	r := rem(a, reminder.KindDayBefore, t0, reminder.StateScheduled)
	saveNew(t, s, a, r)
	if err := s.MarkQueued(ctx, r); err != nil {
		t.Fatal(err)
	}
	clock.Advance(6 * time.Minute)
	stalled := AllStalled(t, s, clock.Now().Add(-5*time.Minute))
	if len(stalled) != 1 {
		t.Fatalf("%d stalled, want 1", len(stalled))
	}
	if wins := race(t, 6, func() error { return s.MarkReaped(ctxT(t), stalled[0], clock.Now()) }); wins != 1 {
		t.Fatalf("%d reapers won, want 1", wins)
	}
	got, err := s.GetReminder(ctx, a.ClinicID, a.ID, r.Kind)
	if err != nil || got.Reaps != 1 || !got.NextAttemptAt.Equal(clock.Now()) || got.State != reminder.StateQueued {
		t.Fatalf("after reaping: %+v, %v", got, err)
	}
	if n := len(AllStalled(t, s, clock.Now().Add(-5*time.Minute))); n != 0 {
		t.Errorf("%d still stalled right after reaping, want 0", n)
	}
	// A claim resets the reap count: the job arrived.
	if err := s.ClaimSend(ctx, r, clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetReminder(ctx, a.ClinicID, a.ID, r.Kind); got.Reaps != 0 {
		t.Errorf("reaps after claim = %d, want 0", got.Reaps)
	}
}

// A claimed reminder whose template cannot be used yet goes back to scheduled, due
// again at the given time and not before; only its claimer can do that.
func deferReminderSchedulesItAgain(t *testing.T, newStore func(*testing.T) (AppointmentStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	a := appt("a1", t0.Add(30*time.Hour))
	r := rem(a, reminder.KindDayBefore, t0, reminder.StateScheduled)
	saveNew(t, s, a, r)
	until := t0.Add(2 * time.Hour)
	if err := s.DeferReminder(ctx, r, until, "template_paused"); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("defer of an unclaimed reminder: %v, want ErrConflict", err)
	}
	if err := s.MarkQueued(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimSend(ctx, r, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	other := r
	other.Generation = "g0"
	if err := s.DeferReminder(ctx, other, until, "template_paused"); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("defer of another generation: %v, want ErrConflict", err)
	}
	if err := s.DeferReminder(ctx, r, until, "template_paused"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetReminder(ctx, a.ClinicID, a.ID, r.Kind)
	if err != nil || got.State != reminder.StateScheduled || got.Reason != "template_paused" || !got.DueAt.Equal(r.DueAt) {
		t.Fatalf("after defer: %+v, %v; want scheduled, reason kept, due time unchanged", got, err)
	}
	if due := AllDue(t, s, until.Add(-time.Second)); len(due) != 0 {
		t.Fatalf("listed due before the deferral ends: %+v", due)
	}
	if due := AllDue(t, s, until); len(due) != 1 || due[0].AppointmentID != a.ID {
		t.Fatalf("due at the deferral's end: %+v, want the reminder", due)
	}
	if err := s.ClaimSend(ctx, r, until.Add(time.Minute)); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("claim of a rescheduled reminder: %v, want ErrConflict (it must be queued again first)", err)
	}
	if err := s.MarkQueued(ctx, r); err != nil {
		t.Fatalf("queue again after the deferral: %v", err)
	}
}
