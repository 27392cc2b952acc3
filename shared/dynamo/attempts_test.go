package dynamo_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

func allStalled(t *testing.T, s *dynamo.Store, before time.Time) []reminder.Reminder {
	t.Helper()
	var out []reminder.Reminder
	for shard := range shards {
		var cur *reminder.Cursor
		for {
			rs, next, err := s.StalledReminders(ctxT(t), shard, before, 2, cur)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, rs...)
			if next == nil {
				break
			}
			cur = next
		}
	}
	return out
}

// The next-attempt index lists a reminder exactly while a sender owes it an attempt,
// keyed by when that attempt is expected.
func TestNextAttemptIndexFollowsTheReminder(t *testing.T) {
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
			return s.DeferSend(ctx, r, dynamo.Deferral{Reason: "quiet_hours", Until: t0.Add(10 * time.Hour)})
		}, t0.Add(10*time.Hour - time.Second), false},
		{"deferred: listed at its next attempt", func() error { return nil }, t0.Add(10 * time.Hour), true},
		{"sent: gone", func() error {
			if err := s.ClaimSend(ctx, r, t0.Add(time.Minute)); err != nil {
				return err
			}
			_, err := s.AdvanceReminder(ctx, a.ClinicID, a.ID, r.Kind, reminder.StateSent, dynamo.ReminderUpdate{WAMID: "wamid.X"})
			return err
		}, late, false},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := allStalled(t, s, st.before)
		if (len(got) == 1) != st.listed || len(got) > 1 {
			t.Fatalf("%s: listed %d reminders, want listed=%v", st.name, len(got), st.listed)
		}
	}
}

func TestDeferSendCountsOnlyFailures(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	a := appt("a1", t0.Add(30*time.Hour))
	r := rem(a, reminder.KindDayBefore, t0, reminder.StateScheduled)
	saveNew(t, s, a, r)
	if err := s.MarkQueued(ctx, r); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		d            dynamo.Deferral
		wantAttempts int
	}{
		{dynamo.Deferral{Reason: "graph_500", ErrorCode: 2, Failed: true, Until: t0.Add(10 * time.Second)}, 1},
		{dynamo.Deferral{Reason: "pair_pacing", Until: t0.Add(20 * time.Second)}, 1},
		{dynamo.Deferral{Reason: "timeout", Failed: true, Until: t0.Add(40 * time.Second)}, 2},
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
	if err := s.DeferSend(ctx, r, dynamo.Deferral{Until: t0}); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Errorf("defer of an unclaimed reminder: %v, want ErrConditionFailed", err)
	}
}

func TestMarkReapedOneReaperWins(t *testing.T) {
	s, clock := newStore(t)
	ctx := ctxT(t)
	a := appt("a1", t0.Add(30*time.Hour))
	r := rem(a, reminder.KindDayBefore, t0, reminder.StateScheduled)
	saveNew(t, s, a, r)
	if err := s.MarkQueued(ctx, r); err != nil {
		t.Fatal(err)
	}
	clock.Advance(6 * time.Minute)
	stalled := allStalled(t, s, clock.Now().Add(-5*time.Minute))
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
	if n := len(allStalled(t, s, clock.Now().Add(-5*time.Minute))); n != 0 {
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

// Reminders queued or sending before the index existed have no index attributes;
// the backfill adds them, once.
func TestBackfillAttemptIndex(t *testing.T) {
	client, names := localtest.Dynamo(t)
	clock := platform.NewFakeClock(t0)
	s := dynamo.NewStore(client, names, clock, shards)
	ctx := ctxT(t)
	states := map[string]reminder.State{
		"q": reminder.StateQueued, "s": reminder.StateSending, "d": reminder.StateScheduled, "x": reminder.StateSent,
	}
	for id, st := range states {
		a := appt(id, t0.Add(30*time.Hour))
		r := rem(a, reminder.KindDayBefore, t0, reminder.StateScheduled)
		saveNew(t, s, a, r)
		if st == reminder.StateScheduled {
			continue
		}
		if err := s.MarkQueued(ctx, r); err != nil {
			t.Fatal(err)
		}
		if st != reminder.StateQueued {
			if err := s.ClaimSend(ctx, r, t0.Add(2*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if st == reminder.StateSent {
			if _, err := s.AdvanceReminder(ctx, a.ClinicID, a.ID, r.Kind, st, dynamo.ReminderUpdate{WAMID: "wamid.Y"}); err != nil {
				t.Fatal(err)
			}
		}
		// What the code before the index left behind: no index attributes.
		if _, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(names.Appointments),
			Key: map[string]types.AttributeValue{
				dynamo.AttrPK: &types.AttributeValueMemberS{Value: "APPT#" + a.ClinicID + "#" + a.ID},
				dynamo.AttrSK: &types.AttributeValueMemberS{Value: "R#" + string(r.Kind)},
			},
			UpdateExpression:    aws.String("REMOVE attemptShard, nextAttemptAt"),
			ConditionExpression: aws.String("attribute_exists(pk)"),
		}); err != nil {
			t.Fatalf("strip index attributes of %s: %v", id, err)
		}
	}
	if n := len(allStalled(t, s, t0.Add(time.Hour))); n != 0 {
		t.Fatalf("%d listed before the backfill, want 0", n)
	}
	n, err := s.BackfillAttemptIndex(ctx)
	if err != nil || n != 2 {
		t.Fatalf("backfill: %d, %v; want the queued and the sending reminder", n, err)
	}
	stalled := allStalled(t, s, t0.Add(2*time.Minute))
	got := map[string]time.Time{}
	for _, r := range stalled {
		got[r.AppointmentID] = r.NextAttemptAt
	}
	if len(got) != 2 || !got["q"].Equal(t0) || !got["s"].Equal(t0.Add(2*time.Minute)) {
		t.Errorf("after backfill: %v; want q at once and s when its lease ends", got)
	}
	if n, err := s.BackfillAttemptIndex(ctx); err != nil || n != 0 {
		t.Errorf("second backfill: %d, %v; want none", n, err)
	}
}
