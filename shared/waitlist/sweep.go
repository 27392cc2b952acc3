package waitlist

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
)

// Sweep is the sweep's waitlist step: per clinic, holds the EHR acted on (the
// patient is told the visit moved), then lapsed holds (they free slots the waves
// may then offer), then due waves.
type Sweep struct {
	// Clinics lists the clinics to sweep.
	Clinics func(ctx context.Context) ([]clinic.Clinic, error)
	Holds   *Service
	Waves   *Waves
	// Now picks the clinic a run starts with (it turns every minute), so that
	// when a run ends early the same clinics are not always the ones left out.
	Now func() time.Time
}

// StopMargin is how long before its context's deadline a run stops visiting clinics.
const StopMargin = 3 * time.Second

// Run sweeps every clinic until done or the context ends; one clinic's failure
// does not stop the others.
func (s *Sweep) Run(ctx context.Context) error {
	cs, err := s.Clinics(ctx)
	if err != nil {
		return fmt.Errorf("waitlist: clinics: %w", err)
	}
	first := 0
	if s.Now != nil && len(cs) > 0 {
		first = int(s.Now().Unix()/60) % len(cs)
	}
	// Stop short of the invocation's deadline: the clinics left over are first in
	// line next minute (the start turns), and a step cut off mid-way is retried.
	deadline, hasDeadline := ctx.Deadline()
	var errs []error
	for k := range cs {
		if ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("waitlist: sweep stopped after %d of %d clinics: %w", k, len(cs), ctx.Err()))
			break
		}
		if hasDeadline && time.Until(deadline) < StopMargin {
			break
		}
		c := cs[(first+k)%len(cs)]
		if _, err := s.Holds.ConfirmMoves(ctx, c.ID); err != nil {
			errs = append(errs, fmt.Errorf("clinic %s: %w", c.ID, err))
			continue
		}
		if _, err := s.Holds.ReleaseExpired(ctx, c.ID); err != nil {
			errs = append(errs, fmt.Errorf("clinic %s: %w", c.ID, err))
			continue
		}
		if _, err := s.Waves.Run(ctx, c); err != nil {
			errs = append(errs, fmt.Errorf("clinic %s: %w", c.ID, err))
		}
	}
	return errors.Join(errs...)
}
