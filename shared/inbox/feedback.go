package inbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/notice"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// FeedbackStore reads and answers feedback questions (the DynamoDB store).
type FeedbackStore interface {
	PatientNotices(ctx context.Context, clinicID, patientID string) ([]notice.Notice, error)
	AnswerFeedback(ctx context.Context, n notice.Notice, score int) error
}

// ReasonLowFeedback hands a score of 1 or 2 to staff.
const ReasonLowFeedback = "low_feedback"

// feedbackAnswer takes a score for one of the sender's patients' questions: the
// one a list reply names, or (noticeID "") the latest pending one, which is how a
// bare digit is read. handled is false when no question is waiting: the digit is
// then ordinary text.
func (s *Service) feedbackAnswer(ctx context.Context, in *inbound, noticeID string, score int) (handled bool, err error) {
	if s.Feedback == nil {
		return false, nil
	}
	var q notice.Notice
	found := false
	for _, p := range in.patients {
		ns, err := s.Feedback.PatientNotices(ctx, in.c.ID, p.ID)
		if err != nil {
			return false, fmt.Errorf("feedback questions: %w", err)
		}
		for _, n := range ns {
			match := n.ID == noticeID && n.Kind == notice.KindFeedback
			if noticeID == "" {
				match = n.Pending(s.now()) && (!found || n.UpdatedAt.After(q.UpdatedAt))
			}
			if match {
				q, found = n, true
			}
		}
	}
	if !found {
		return false, nil
	}
	in.intent, in.patientID, in.appointmentID = "feedback", q.PatientID, q.AppointmentID
	err = s.Feedback.AnswerFeedback(ctx, q, score)
	if errors.Is(err, fault.ErrConflict) {
		// Answered already (a list tap after a typed digit, or a redelivery after the
		// answer was stored but before the message was marked handled). The events
		// below carry ids derived from the question, so publishing them again is
		// harmless; a second score is not taken.
		err = nil
	}
	if err != nil {
		return true, fmt.Errorf("answer feedback: %w", err)
	}
	ev := clinic.NewFeedbackReceived(derivedID("event", clinic.EventFeedbackReceived, q.ID), in.c.ID, in.at.UTC(),
		clinic.FeedbackReceived{NoticeID: q.ID, PatientID: q.PatientID, Score: score, Low: notice.Low(score), AppointmentID: q.AppointmentID})
	if err := s.publish(ctx, ev); err != nil {
		return true, err
	}
	facts, err := metrics.Feedback(in.c.ID, in.c.TimeZone, q.ID, score, in.at)
	if err != nil {
		return true, err
	}
	if err := s.count(ctx, facts...); err != nil {
		return true, err
	}
	s.log().Info("inbound feedback", "clinic_id", in.c.ID, "notice_id", q.ID, "score", score,
		"patient", platform.Hash(q.PatientID))
	if notice.Low(score) {
		return true, s.escalate(ctx, in, ReasonLowFeedback, UrgencyNormal, replyHandOff)
	}
	in.outcome = outcomeRecorded
	return true, nil
}
