package notices

import (
	"context"
	"errors"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/notice"
)

// Fulfilled schedules what a fulfilled visit's plan asks for: the recall for its
// visit type (reminderPolicy.recallAfter) and the feedback question (feedbackAfter).
// Their ids derive from the appointment, so the EHR repeating the update (or
// sending it again after a change) schedules nothing more.
func (s *Service) Fulfilled(ctx context.Context, c clinic.Clinic, a appointment.Appointment) error {
	if a.Status != appointment.StatusFulfilled {
		return nil
	}
	loc, err := c.Location()
	if err != nil {
		return err
	}
	now := s.Clock.Now().UTC()
	var errs []error
	if days, ok := c.ReminderPolicy.RecallAfter.Interval(a.VisitType); ok && c.NoticeContact() != "" {
		due, notBefore := notice.RecallPlan(a.End(), days, loc)
		n := notice.Notice{ClinicID: c.ID, ID: notice.RecallID(c.ID, a.ID), PatientID: a.PatientID, Kind: notice.KindRecallDue,
			DueDate: due, AppointmentID: a.ID, Source: notice.SourceRecall, State: notice.StateQueued,
			CreatedAt: now, UpdatedAt: now, NotBefore: notBefore}
		_, err := s.Accept(ctx, c, n)
		errs = append(errs, err)
	}
	if delay, ok := c.FeedbackDelay(); ok {
		n := notice.Notice{ClinicID: c.ID, ID: notice.FeedbackID(c.ID, a.ID), PatientID: a.PatientID, Kind: notice.KindFeedback,
			AppointmentID: a.ID, Source: notice.SourceFeedback, State: notice.StateQueued,
			CreatedAt: now, UpdatedAt: now, NotBefore: a.End().Add(delay).UTC()}
		_, err := s.Accept(ctx, c, n)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
