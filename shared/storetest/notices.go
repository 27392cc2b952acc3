package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/notice"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// NoticeStore is what notices and feedback questions need: a notice created once
// under its derived id, states that move only forward, a feedback score taken once.
type NoticeStore interface {
	CreateNotice(ctx context.Context, n notice.Notice) (notice.Notice, bool, error)
	GetNotice(ctx context.Context, clinicID, patientID, id string) (notice.Notice, error)
	SetNoticeState(ctx context.Context, n notice.Notice, state notice.State, reason string, from ...notice.State) error
	AnswerFeedback(ctx context.Context, n notice.Notice, score int) error
	PatientNotices(ctx context.Context, clinicID, patientID string) ([]notice.Notice, error)
	ConsentLedger(ctx context.Context, clinicID, patientID string) ([]consent.Entry, error)
}

// Notices asserts notices are created once, move forward only (a stale move is
// fault.ErrConflict), list per patient, and take one feedback score.
func Notices[S NoticeStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	t.Run("created once and moves forward", func(t *testing.T) { noticeCreatedOnceAndMovesForward(t, newStore) })
	t.Run("feedback answered once", func(t *testing.T) { feedbackAnsweredOnce(t, newStore) })
}

func noticeCreatedOnceAndMovesForward[S NoticeStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, clock := freshClocked(t, newStore)
	ctx := context.Background()
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
	clock.Advance(time.Minute)
	if err := s.SetNoticeState(ctx, n, notice.StateSent, "", notice.StateQueued); err != nil {
		t.Fatal(err)
	}
	// A stale transition (queued -> failed after it was sent) is refused.
	if err := s.SetNoticeState(ctx, n, notice.StateFailed, "opted_out", notice.StateQueued); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("stale transition: %v", err)
	}
	got, err = s.GetNotice(ctx, "clinic-a", "pat-1", n.ID)
	if err != nil || got.State != notice.StateSent || got.Reason != "" || !got.UpdatedAt.Equal(slotT0.Add(time.Minute)) ||
		!got.CreatedAt.Equal(slotT0) {
		t.Fatalf("after send: %+v %v", got, err)
	}
	// Without a from list the move is unconditional, with its reason.
	if err := s.SetNoticeState(ctx, n, notice.StateFailed, "undeliverable"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetNotice(ctx, "clinic-a", "pat-1", n.ID); got.State != notice.StateFailed || got.Reason != "undeliverable" {
		t.Fatalf("after failure: %+v", got)
	}
	// A notice that does not exist does not move.
	ghost := n
	ghost.ID = notice.RecallID("clinic-a", "appt-9")
	if err := s.SetNoticeState(ctx, ghost, notice.StateSent, ""); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("a missing notice moved: %v", err)
	}
	// Notices share the patient's partition with its consent ledger; the ledger must not see them.
	if ledger, err := s.ConsentLedger(ctx, "clinic-a", "pat-1"); err != nil || len(ledger) != 0 {
		t.Fatalf("ledger: %v %v", ledger, err)
	}
}

func feedbackAnsweredOnce[S NoticeStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, clock := freshClocked(t, newStore)
	ctx := context.Background()
	fb := notice.Notice{ClinicID: "clinic-a", ID: notice.FeedbackID("clinic-a", "appt-1"), PatientID: "pat-1",
		Kind: notice.KindFeedback, AppointmentID: "appt-1", Source: notice.SourceFeedback, State: notice.StateSent,
		CreatedAt: clock.Now(), UpdatedAt: clock.Now()}
	lab := fb
	lab.ID, lab.Kind = notice.ID("clinic-a", "w-1"), notice.KindLabReady
	other := fb
	other.PatientID = "pat-2"
	for _, n := range []notice.Notice{fb, lab, other} {
		if _, _, err := s.CreateNotice(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AnswerFeedback(ctx, fb, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.AnswerFeedback(ctx, fb, 5); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("second answer: %v", err)
	}
	if err := s.AnswerFeedback(ctx, lab, 5); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("a lab notice took a score: %v", err)
	}
	ghost := fb
	ghost.ID = notice.FeedbackID("clinic-a", "appt-9")
	if err := s.AnswerFeedback(ctx, ghost, 5); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("a missing question took a score: %v", err)
	}
	got, err := s.GetNotice(ctx, "clinic-a", "pat-1", fb.ID)
	if err != nil || got.State != notice.StateAnswered || got.Score != 2 {
		t.Fatalf("answered: %+v %v", got, err)
	}
	// A patient's notices list in id order; another patient's are their own.
	list, err := s.PatientNotices(ctx, "clinic-a", "pat-1")
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(list))
	for _, n := range list {
		ids = append(ids, n.ID)
	}
	want := []string{fb.ID, lab.ID}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("pat-1's notices %v, want %v", ids, want)
	}
	if list, err := s.PatientNotices(ctx, "clinic-a", "pat-2"); err != nil || len(list) != 1 || list[0].State != notice.StateSent {
		t.Fatalf("pat-2's notices %+v %v", list, err)
	}
	if list, err := s.PatientNotices(ctx, "clinic-a", "pat-3"); err != nil || len(list) != 0 {
		t.Fatalf("a patient without notices: %+v %v", list, err)
	}
}

// MetricStore counts each fact once and reads a clinic's days.
type MetricStore interface {
	CountFact(ctx context.Context, f metrics.Fact) (bool, error)
	MetricDays(ctx context.Context, clinicID, from, to string) ([]metrics.DayCounts, error)
}

// Metrics asserts a fact is counted once per key (while its marker lives, by the
// clock), under concurrency too, and that a range read returns only its days.
func Metrics[S MetricStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	t.Run("each key counted once", func(t *testing.T) { countFactCountsEachKeyOnce(t, newStore) })
	t.Run("concurrency and range reads", func(t *testing.T) { countFactUnderConcurrencyAndRangeReads(t, newStore) })
}

func countFactCountsEachKeyOnce[S MetricStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, clock := freshClocked(t, newStore)
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 23, 30, 0, 0, time.UTC) // 18:30 EST, the DST day in New York
	facts := metrics.ReminderStatus("clinic-a", "America/New_York", "wamid.HBgLMTU1NTAxMDAxNDM=", "appt-1", "accepted", "read", at)
	for round := 0; round < 3; round++ { // the status webhook delivered three times
		for _, f := range facts {
			counted, err := s.CountFact(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if counted != (round == 0) {
				t.Fatalf("round %d: counted %v", round, counted)
			}
		}
	}
	// A marker whose TTL passed but that is not deleted yet no longer blocks.
	clock.Advance(401 * 24 * time.Hour)
	if counted, err := s.CountFact(ctx, facts[0]); err != nil || !counted {
		t.Fatalf("after the marker expired: counted %v, %v", counted, err)
	}
	days, err := s.MetricDays(ctx, "clinic-a", "2026-11-01", "2026-11-01")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{metrics.RemindedAppointments: 2, metrics.RemindersSent: 1, metrics.RemindersDelivered: 1, metrics.RemindersRead: 1}
	if len(days) != 1 || days[0].Day != "2026-11-01" {
		t.Fatalf("days %+v", days)
	}
	for k, v := range want {
		if days[0].Counts[k] != v {
			t.Errorf("%s = %d, want %d (all %v)", k, days[0].Counts[k], v, days[0].Counts)
		}
	}
	if _, err := s.CountFact(ctx, metrics.Fact{ClinicID: "clinic-a", Day: "2026-11-01", Key: "k"}); err == nil {
		t.Error("a fact without amounts was counted")
	}
}

func countFactUnderConcurrencyAndRangeReads[S MetricStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
	const workers, perWorker = 8, 10
	day := time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker*2)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				id := fmt.Sprintf("appt-%d-%d", w, i)
				// Each fact twice, as a redelivery racing its first delivery would.
				for range 2 {
					for _, f := range metrics.Answer("clinic-b", "America/New_York", id, "confirmed", day) {
						if _, err := s.CountFact(ctx, f); err != nil {
							errs <- err
						}
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Days on both sides of the range, and another clinic, must not be read.
	for _, f := range [][]metrics.Fact{
		metrics.OptOut("clinic-b", "America/New_York", "w1", time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)),
		metrics.OptOut("clinic-b", "America/New_York", "w2", time.Date(2026, 11, 4, 12, 0, 0, 0, time.UTC)),
		metrics.OptOut("clinic-c", "America/New_York", "w3", day),
	} {
		if _, err := s.CountFact(ctx, f[0]); err != nil {
			t.Fatal(err)
		}
	}
	days, err := s.MetricDays(ctx, "clinic-b", "2026-11-02", "2026-11-03")
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || days[0].Day != "2026-11-02" || days[0].Counts[metrics.Confirmations] != workers*perWorker || days[0].Counts[metrics.OptOuts] != 0 {
		t.Fatalf("days %+v, want one day with %d confirmations", days, workers*perWorker)
	}
	days, err = s.MetricDays(ctx, "clinic-b", "2026-11-01", "2026-11-04")
	if err != nil || len(days) != 3 || days[0].Day != "2026-11-01" || days[1].Day != "2026-11-02" || days[2].Day != "2026-11-04" ||
		days[0].Counts[metrics.OptOuts] != 1 || days[2].Counts[metrics.OptOuts] != 1 {
		t.Fatalf("the whole range: %+v %v; want three days in date order", days, err)
	}
}
