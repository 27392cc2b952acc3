package metrics

import (
	"context"
	"fmt"
)

// Store counts facts (dynamo.Store). Counted reports false when the fact's key
// was already counted.
type Store interface {
	CountFact(ctx context.Context, f Fact) (counted bool, err error)
}

// Recorder counts facts in the store and passes each first count on to Emit
// (CloudWatch totals), so a redelivered event moves neither.
type Recorder struct {
	Store Store
	// Emit, when set, receives each counter a fact added to, with its amount.
	Emit func(ctx context.Context, counter string, n int64)
}

// Record counts each fact at most once. It stops at the first failure; the
// caller retries the whole event, and what was counted stays counted once.
func (r *Recorder) Record(ctx context.Context, facts ...Fact) error {
	if r == nil || r.Store == nil {
		return nil
	}
	for _, f := range facts {
		counted, err := r.Store.CountFact(ctx, f)
		if err != nil {
			return fmt.Errorf("metrics: count %v for %s on %s: %w", f.Counters(), f.ClinicID, f.Day, err)
		}
		if counted && r.Emit != nil {
			for _, name := range f.Counters() {
				r.Emit(ctx, name, f.Add[name])
			}
		}
	}
	return nil
}

// DashboardCounters are the counters worth a CloudWatch metric each (the
// dashboard's totals); histogram buckets and pricing categories stay in the
// per-clinic aggregate.
var DashboardCounters = []string{
	RemindersSent, RemindersDelivered, RemindersRead, RemindedAppointments, Bookings, Confirmations, CancelRequests,
	RescheduleRequests, CancellationsByEHR, NoShows, NoShowsConfirmed, OptOuts, FeedbackCount,
	SlotsFreed, SlotsOffered, SlotsFilled, ReleaseToFillMinutes,
}

// OnDashboard reports whether counter is one of DashboardCounters.
func OnDashboard(counter string) bool {
	for _, c := range DashboardCounters {
		if c == counter {
			return true
		}
	}
	return false
}
