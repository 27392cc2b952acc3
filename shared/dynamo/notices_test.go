package dynamo_test

import (
	"errors"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/notice"
)

func TestNoticeCreatedOnceAndMovesForward(t *testing.T) {
	s, clock := newStore(t)
	ctx := ctxT(t)
	n := notice.Notice{ClinicID: "clinic-a", ID: notice.RecallID("clinic-a", "appt-1"), PatientID: "pat-1",
		Kind: notice.KindRecallDue, DueDate: "2026-06-01", AppointmentID: "appt-1", Source: notice.SourceRecall,
		State: notice.StateQueued, CreatedAt: clock.Now(), UpdatedAt: clock.Now()}
	if _, created, err := s.CreateNotice(ctx, n); err != nil || !created {
		t.Fatalf("first create: %v %v", created, err)
	}
	again := n
	again.DueDate = "2026-07-01" // a repeated plan must not move the stored notice
	got, created, err := s.CreateNotice(ctx, again)
	if err != nil || created || got.DueDate != "2026-06-01" || got.State != notice.StateQueued {
		t.Fatalf("second create: %+v %v %v", got, created, err)
	}
	if _, err := s.GetNotice(ctx, "clinic-a", "pat-2", n.ID); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("another patient's notice: %v", err)
	}
	if err := s.SetNoticeState(ctx, n, notice.StateSent, "", notice.StateQueued); err != nil {
		t.Fatal(err)
	}
	// A stale transition (queued -> failed after it was sent) is refused.
	if err := s.SetNoticeState(ctx, n, notice.StateFailed, "opted_out", notice.StateQueued); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("stale transition: %v", err)
	}
	got, err = s.GetNotice(ctx, "clinic-a", "pat-1", n.ID)
	if err != nil || got.State != notice.StateSent || got.Reason != "" {
		t.Fatalf("after send: %+v %v", got, err)
	}
	// Notices share the patient's partition with its consent ledger; the ledger must not see them.
	if ledger, err := s.ConsentLedger(ctx, "clinic-a", "pat-1"); err != nil || len(ledger) != 0 {
		t.Fatalf("ledger: %v %v", ledger, err)
	}
}

func TestFeedbackAnsweredOnce(t *testing.T) {
	s, clock := newStore(t)
	ctx := ctxT(t)
	fb := notice.Notice{ClinicID: "clinic-a", ID: notice.FeedbackID("clinic-a", "appt-1"), PatientID: "pat-1",
		Kind: notice.KindFeedback, AppointmentID: "appt-1", Source: notice.SourceFeedback, State: notice.StateSent,
		CreatedAt: clock.Now(), UpdatedAt: clock.Now()}
	lab := fb
	lab.ID, lab.Kind = notice.ID("clinic-a", "w-1"), notice.KindLabReady
	for _, n := range []notice.Notice{fb, lab} {
		if _, _, err := s.CreateNotice(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AnswerFeedback(ctx, fb, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.AnswerFeedback(ctx, fb, 5); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("second answer: %v", err)
	}
	if err := s.AnswerFeedback(ctx, lab, 5); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("a lab notice took a score: %v", err)
	}
	got, err := s.GetNotice(ctx, "clinic-a", "pat-1", fb.ID)
	if err != nil || got.State != notice.StateAnswered || got.Score != 2 {
		t.Fatalf("answered: %+v %v", got, err)
	}
}
