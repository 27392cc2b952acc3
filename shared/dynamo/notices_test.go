package dynamo_test

import (
	"errors"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/notice"
)

// TestNoticeDueMarkers: a queued notice is created with its due marker in the due
// index's notice shards, listed from its NotBefore on (never by the reminder
// sweep's query), claimed by exactly one of two dispatchers, and gone once deleted;
// the backfill gives a queued notice without a marker one, once.
func TestNoticeDueMarkers(t *testing.T) {
	s, clock := newStore(t)
	ctx := ctxT(t)
	now := clock.Now()
	later := notice.Notice{ClinicID: "clinic-a", ID: notice.RecallID("clinic-a", "appt-9"), PatientID: "pat-1",
		Kind: notice.KindRecallDue, DueDate: "2026-06-01", AppointmentID: "appt-9", Source: notice.SourceRecall,
		State: notice.StateQueued, CreatedAt: now, UpdatedAt: now, NotBefore: now.Add(90 * 24 * time.Hour)}
	atOnce := notice.Notice{ClinicID: "clinic-a", ID: notice.ID("clinic-a", "api", "w-7"), PatientID: "pat-1",
		Kind: notice.KindLabReady, Source: notice.SourceAPI, State: notice.StateQueued, CreatedAt: now, UpdatedAt: now}
	settled := atOnce
	settled.ID, settled.State = notice.ID("clinic-a", "api", "w-8"), notice.StateFailed
	for _, n := range []notice.Notice{later, atOnce, settled} {
		if _, _, err := s.CreateNotice(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	due := func(at time.Time) map[string]notice.Due {
		t.Helper()
		out := map[string]notice.Due{}
		for shard := range s.Shards() {
			ds, err := s.DueNotices(ctx, shard, at, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				out[d.NoticeID] = d
			}
			rs, _, err := s.DueReminders(ctx, shard, at.Add(1000*24*time.Hour), 100, nil)
			if err != nil || len(rs) != 0 {
				t.Fatalf("the reminder sweep's query sees %d items (%v)", len(rs), err)
			}
		}
		return out
	}
	if got := due(now); len(got) != 0 {
		t.Fatalf("due at once: %v", got)
	}
	got := due(now.Add(dynamo.NoticeDueGrace))
	if len(got) != 1 || got[atOnce.ID].PatientID != "pat-1" {
		t.Fatalf("due after the grace: %v", got)
	}
	got = due(later.NotBefore)
	if len(got) != 2 || !got[later.ID].At.Equal(later.NotBefore) {
		t.Fatalf("due at the recall's NotBefore: %v", got)
	}
	d := got[later.ID]
	if err := s.MoveNoticeDue(ctx, d, later.NotBefore.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.MoveNoticeDue(ctx, d, later.NotBefore.Add(5*time.Minute)); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("second claim of the same marker: %v", err)
	}
	if _, ok := due(later.NotBefore)[later.ID]; ok {
		t.Fatal("a claimed marker is listed before its lease ends")
	}
	if err := s.DeleteNoticeDue(ctx, later.ClinicID, later.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteNoticeDue(ctx, atOnce.ClinicID, atOnce.ID); err != nil {
		t.Fatal(err)
	}
	if got := due(later.NotBefore.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("after delete: %v", got)
	}

	for run, want := range []int{2, 0} {
		n, err := s.BackfillNoticeDue(ctx)
		if err != nil || n != want {
			t.Fatalf("backfill run %d = %d, %v; want %d", run, n, err, want)
		}
	}
	got = due(now)
	if len(got) != 1 || !got[atOnce.ID].At.Equal(now) {
		t.Fatalf("backfilled, due now: %v", got)
	}
	if got := due(later.NotBefore); !got[later.ID].At.Equal(later.NotBefore) {
		t.Fatalf("backfilled recall: %v", got)
	}
}
