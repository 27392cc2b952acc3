package intake

import (
	"context"
	"fmt"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
)

// Visits schedules what follows a fulfilled visit beyond its reminders: a recall
// for its visit type, a feedback question (notices.Service).
type Visits interface {
	Fulfilled(ctx context.Context, c clinic.Clinic, a appointment.Appointment) error
}

// afterVisit runs with count: after every write and for an exact retry, so what
// failed once is scheduled by the EHR's retry; Visits is idempotent per appointment.
func (s *Service) afterVisit(ctx context.Context, c clinic.Clinic, a appointment.Appointment) error {
	if s.Visits == nil || a.Status != appointment.StatusFulfilled {
		return nil
	}
	if err := s.Visits.Fulfilled(ctx, c, a); err != nil {
		return fmt.Errorf("intake: after visit %s: %w", a.ID, err)
	}
	return nil
}
