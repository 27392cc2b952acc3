package inbox

import (
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/idempotency"
	"github.com/frontdesk-health/frontdesk/shared/platform"

	"context"
	"errors"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

var statusMap = map[string]struct {
	log      messagelog.Status
	reminder reminder.State
}{
	whatsapp.StatusSent:      {messagelog.StatusSent, reminder.StateSent},
	whatsapp.StatusDelivered: {messagelog.StatusDelivered, reminder.StateDelivered},
	whatsapp.StatusRead:      {messagelog.StatusRead, reminder.StateRead},
	whatsapp.StatusFailed:    {messagelog.StatusFailed, reminder.StateFailed},
}

func (s *Service) handleStatus(ctx context.Context, c clinic.Clinic, st whatsapp.Status) error {
	to, ok := statusMap[st.Status]
	if !ok || st.ID == "" {
		// "deleted", "warning" and statuses Meta may add: nothing in the log to move.
		s.log().Info("inbound status ignored", "clinic_id", c.ID, platform.WAMID("wamid", st.ID), "status", st.Status)
		return nil
	}
	key := "status:" + st.ID + ":" + st.Status
	done, err := s.Store.ClaimIdempotency(ctx, key, LeaseTTL)
	if err != nil {
		// ErrInProgress: another delivery of the same webhook is applying it right
		// now; failing this item lets the redelivery find it done.
		return fmt.Errorf("claim: %w", err)
	}
	if done != nil {
		s.log().Info("inbound status duplicate", "clinic_id", c.ID, platform.WAMID("wamid", st.ID), "status", st.Status)
		return nil
	}
	if err := s.applyStatus(ctx, c, st, to.log, to.reminder); err != nil {
		// Let the retry apply it: the claim would otherwise turn this failure into a
		// silently lost status.
		if rerr := s.Store.ReleaseIdempotency(ctx, key); rerr != nil {
			err = errors.Join(err, fmt.Errorf("release claim: %w", rerr))
		}
		return err
	}
	if err := s.Store.CompleteIdempotency(ctx, key, idempotency.Response{Status: 200}, DoneTTL); err != nil {
		// Applied; a redelivery would apply it again, harmlessly (forward-only moves,
		// same event id), once the lease expires.
		s.log().Warn("inbound status claim not completed", "clinic_id", c.ID, platform.WAMID("wamid", st.ID), "status", st.Status, "error", err.Error())
	}
	return nil
}

// StatusRaceWindow is how long a status for an unknown wamid is retried before it
// is taken to be about a message Frontdesk did not send.
const StatusRaceWindow = 5 * time.Minute

var errRetryLater = errors.New("retry later")

func (s *Service) applyStatus(ctx context.Context, c clinic.Clinic, st whatsapp.Status, to messagelog.Status, rto reminder.State) error {
	at, err := st.Timestamp.Time()
	if err != nil {
		at = s.now()
	}
	rec, err := s.Store.GetMessage(ctx, st.ID)
	if errors.Is(err, fault.ErrNotFound) {
		// A status can overtake the sender's own record of the send (Meta answers the
		// call and posts "sent" within milliseconds): a recent one is retried so it is
		// not lost. An old one was sent from outside Frontdesk (the WhatsApp Business
		// app), or its send record was never written: nothing to advance.
		if s.now().Sub(at) < StatusRaceWindow {
			return fmt.Errorf("status for a message not recorded yet: %w", errRetryLater)
		}
		s.log().Info("inbound status for unknown message", "clinic_id", c.ID, platform.WAMID("wamid", st.ID), "status", st.Status)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get message: %w", err)
	}
	if rec.ClinicID != c.ID {
		s.log().Warn("inbound status for another clinic's message", "clinic_id", c.ID, platform.WAMID("wamid", st.ID), "message_clinic_id", rec.ClinicID)
		return nil
	}
	// Counted before the message moves, from its status before this webhook, so a
	// retry after a failed count sees the same status and counts the same facts.
	if rec.Direction == messagelog.Outbound && rec.AppointmentID != "" && rec.ReminderKind != "" {
		if err := s.count(ctx, metrics.ReminderStatus(c.ID, c.TimeZone, st.ID, rec.AppointmentID, string(rec.Status), st.Status, at)...); err != nil {
			return err
		}
	}
	if rec.Direction == messagelog.Outbound && st.Pricing != nil && (rec.Status == messagelog.StatusAccepted || st.Status == whatsapp.StatusSent) {
		if err := s.count(ctx, metrics.Priced(c.ID, c.TimeZone, st.ID, st.Pricing.Category, st.Pricing.Billable, at)...); err != nil {
			return err
		}
	}
	var code int
	var class whatsapp.Class
	if to == messagelog.StatusFailed && len(st.Errors) > 0 {
		code = st.Errors[0].Code
		class = whatsapp.ClassifyCode(code)
	}
	moved, err := s.Store.AdvanceMessage(ctx, st.ID, to, at, code)
	if err != nil {
		return fmt.Errorf("advance message to %s: %w", to, err)
	}
	if s.Conversations != nil && rec.Direction == messagelog.Outbound {
		if err := s.Conversations.Delivery(ctx, c.ID, st.ID, string(to)); err != nil {
			return fmt.Errorf("conversation: %w", err)
		}
	}
	if s.Notices != nil && rec.Direction == messagelog.Outbound && rec.NoticeID != "" {
		if err := s.Notices.NoticeDelivery(ctx, c.ID, rec.PatientID, rec.NoticeID, st.Status, class.String()); err != nil {
			return fmt.Errorf("notice: %w", err)
		}
	}
	attrs := []any{"clinic_id", c.ID, platform.WAMID("wamid", st.ID), "status", st.Status, "moved", moved}
	if moved && rec.Direction == messagelog.Outbound {
		platform.Count(ctx, s.log(), s.Clock, platform.MetricSendsByStatus, platform.DimStatus, string(to))
	}
	if rec.AppointmentID != "" && rec.ReminderKind != "" {
		u := reminder.Update{WAMID: st.ID, Generation: rec.Generation}
		if rto == reminder.StateFailed {
			u.ErrorCode, u.Reason = code, class.String()
		}
		rmoved, err := s.Store.AdvanceReminder(ctx, c.ID, rec.AppointmentID, reminder.Kind(rec.ReminderKind), rto, u)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return fmt.Errorf("advance reminder %s/%s to %s: %w", rec.AppointmentID, rec.ReminderKind, rto, err)
		}
		attrs = append(attrs, "appointment_id", rec.AppointmentID, "reminder_kind", rec.ReminderKind, "reminder_moved", rmoved)
	}
	if to == messagelog.StatusFailed {
		attrs = append(attrs, "error_code", code, "error_class", class.String())
	}
	s.log().Info("inbound status applied", attrs...)
	if err := s.rememberRecipientBSUID(ctx, c, st, at); err != nil {
		return err
	}
	// A failed status that lost to an earlier "read" is not a failure the clinic
	// needs to hear about; one that moved the record (or a retry after it did) is.
	if to != messagelog.StatusFailed || !(moved || rec.Status == messagelog.StatusFailed) {
		return nil
	}
	return s.publish(ctx, clinic.NewMessageFailed(wamidEventID(clinic.EventMessageFailed, st.ID), c.ID, at.UTC(), clinic.MessageFailed{
		MessageID: messagelog.ID(st.ID), PatientID: rec.PatientID, MessageType: rec.Type,
		ErrorCode: new(code), ErrorClass: class.String(), AppointmentID: rec.AppointmentID, ReminderKind: rec.ReminderKind, NoticeID: rec.NoticeID,
	}))
}

func (s *Service) publish(ctx context.Context, e clinic.Event) error {
	if err := s.Events.Publish(ctx, e); err != nil {
		return fmt.Errorf("publish %s: %w", e.Type, err)
	}
	s.log().Info("inbound event published", "clinic_id", e.ClinicID, "event_id", e.ID, "event_type", e.Type)
	return nil
}

// wamidEventID is the id of a clinic event that depends only on its type and the
// wamid that caused it, so a retry publishes the same event (the clinic dedupes on
// the webhook-id header, which is the event ID).
func wamidEventID(typ, wamid string) string {
	return derivedID("event", typ, wamid)
}
