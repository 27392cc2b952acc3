package waitlist

import (
	"context"
	"errors"
	"fmt"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
)

// Sweep is the sweep's waitlist step: per clinic, lapsed holds first (they free
// slots the waves may then offer), then due waves.
type Sweep struct {
	// Clinics lists the clinics to sweep.
	Clinics func(ctx context.Context) ([]clinic.Clinic, error)
	Holds   *Service
	Waves   *Waves
}

// Run sweeps every clinic; one clinic's failure does not stop the others.
func (s *Sweep) Run(ctx context.Context) error {
	cs, err := s.Clinics(ctx)
	if err != nil {
		return fmt.Errorf("waitlist: clinics: %w", err)
	}
	var errs []error
	for _, c := range cs {
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
