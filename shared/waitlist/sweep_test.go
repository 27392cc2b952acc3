package waitlist_test

import (
	"context"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/waitlist"
)

// TestSweepStopsShortOfItsDeadline: a run whose invocation is about to end
// visits no more clinics (the next run starts with them) and is not a failure; a
// clinic it does visit reports its error without stopping the others.
func TestSweepStopsShortOfItsDeadline(t *testing.T) {
	svc, store, clock, _, _ := newService(t)
	broken := clinic.Clinic{ID: "clinic-broken", TimeZone: "Not/AZone"}
	for _, tc := range []struct {
		name    string
		left    time.Duration // 0: no deadline
		wantErr bool
	}{
		{"no deadline: visited", 0, true},
		{"plenty of time: visited", time.Minute, true},
		{"inside the stop margin: not visited", waitlist.StopMargin - time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			if tc.left > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.left)
				defer cancel()
			}
			visited := 0
			sw := &waitlist.Sweep{Holds: svc, Waves: &waitlist.Waves{Store: store, Now: clock.Now}, Now: clock.Now,
				Clinics: func(context.Context) ([]clinic.Clinic, error) { visited++; return []clinic.Clinic{broken}, nil }}
			err := sw.Run(ctx)
			if (err != nil) != tc.wantErr || visited != 1 {
				t.Errorf("Run: %v (clinic list read %d times), want an error: %v", err, visited, tc.wantErr)
			}
		})
	}
}
