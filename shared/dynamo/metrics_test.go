package dynamo_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/metrics"
)

func TestCountFactCountsEachKeyOnce(t *testing.T) {
	s, clock := newStore(t)
	ctx := ctxT(t)
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
	// A marker whose TTL passed but that DynamoDB has not deleted yet no longer blocks.
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
}

func TestCountFactUnderConcurrencyAndRangeReads(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
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
}
