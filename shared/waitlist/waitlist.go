// Package waitlist is the application service behind a patient's choice of a free
// slot (a row of the reschedule list, or the accept button of a waitlist offer)
// and behind holds that lapse. It places the hold, tells the clinic and answers
// the patient; the transports (the inbound handler, the sweep, the outbound path)
// call it through the small interfaces below.
package waitlist

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// Store is the slot storage the service needs (dynamo.Store).
type Store interface {
	GetSlot(ctx context.Context, clinicID, id string) (slot.Slot, error)
	HoldSlot(ctx context.Context, h slot.Hold) (slot.Claim, slot.Hold, error)
	ExpiredHolds(ctx context.Context, clinicID string, now time.Time, limit int) ([]slot.Hold, error)
	ReleaseHold(ctx context.Context, h slot.Hold) (bool, error)
}

// HoldMarker records on a hold that its patient was told the visit moved (dynamo.Store).
type HoldMarker interface {
	MarkHoldConfirmed(ctx context.Context, h slot.Hold, at time.Time) (bool, error)
}

// Confirmer tells a patient that the EHR moved their visit to the slot they
// chose (JobSender.Moved).
type Confirmer interface {
	Moved(ctx context.Context, h slot.Hold, a appointment.Appointment) error
}

// Publisher posts an event to the clinic's callback (the ehr-outbox queue).
type Publisher interface {
	Publish(ctx context.Context, events ...clinic.Event) error
}

// Replier sends the patient an answer through the outbound path. Key is stable
// for one answer to one event, so a redelivered tap sends nothing twice. Choose
// also returns its answer, so a caller that answers the tap itself (the inbox,
// inside the window the tap opened) leaves Replies nil.
type Replier interface {
	Reply(ctx context.Context, r Reply) error
}

// Answer kinds the patient may get.
const (
	AnswerHeld    = "held"    // the slot is held; the clinic will confirm
	AnswerTaken   = "taken"   // someone else was faster (or the slot went); visit unchanged
	AnswerLapsed  = "lapsed"  // the offer's time ran out; visit unchanged
	AnswerExpired = "expired" // the clinic did not book the held slot in time; it will be in touch
	AnswerKept    = "kept"    // the patient declined an offer; visit unchanged, still on the waitlist
	AnswerJoined  = "joined"  // the patient asked for an earlier time: their next visit is on the waitlist
	AnswerLeft    = "left"    // the patient no longer wants an earlier time: off the waitlist
	AnswerMoved   = "moved"   // the EHR booked the slot the patient chose: the visit's new time
)

// Reply is one answer to a patient, ids and codes only: the outbound adapter
// renders the words (Text) in the patient's language and the clinic's wall clock.
type Reply struct {
	Key           string
	ClinicID      string
	AppointmentID string
	PatientID     string
	Answer        string
	SlotStart     time.Time
	ReplyTo       string // the patient's message being answered (empty for the sweep's)
}

// Choice is a patient picking a slot.
type Choice struct {
	ClinicID      string
	AppointmentID string
	PatientID     string
	SlotID        string
	Reason        slot.Reason
	// MessageID is the patient's message (the tap): the answer's key derives from it.
	MessageID string
	// OfferExpiresAt, for a waitlist offer, is when the offer lapsed or lapses.
	OfferExpiresAt time.Time
	// HoldTTL is how long the hold lasts: the clinic's policy (clinic.SlotPolicy).
	HoldTTL time.Duration
}

// Service places holds and lets lapsed ones go.
type Service struct {
	Store Store
	// Appointments reads an appointment: a lapsed hold whose appointment the EHR
	// already moved to the slot was used, not lost. Nil: every lapsed hold is announced.
	Appointments func(ctx context.Context, clinicID, id string) (appointment.Appointment, error)
	Events       Publisher
	Replies      Replier
	// Confirmations tells patients their visit moved and Marks remembers it;
	// either nil: the sweep tells nobody.
	Confirmations Confirmer
	Marks         HoldMarker
	Now           func() time.Time
	Log           *slog.Logger
}

func (s *Service) log() *slog.Logger { return platform.LoggerOrDiscard(s.Log) }

// ID derives a stable id from its parts, so a retried step publishes the same
// event and queues the same answer.
func ID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s|", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Choose places a hold for c. The first choice of a free slot wins it: the clinic
// gets appointment.reschedule_requested (with the slot and its start, and the
// reason) and the patient is told the clinic will confirm. A redelivered choice
// of the winner publishes the same event id and queues the same answer (both
// deduplicated downstream), so a crash between the hold and the event loses
// neither. Every other choice is told, kindly, that the time was taken.
func (s *Service) Choose(ctx context.Context, c Choice) (slot.Claim, Reply, error) {
	now := s.Now().UTC()
	holdTTL := c.HoldTTL
	if holdTTL <= 0 {
		holdTTL = slot.DefaultHoldTTL
	}
	reply := Reply{Key: ID("slot-choice", c.MessageID), ClinicID: c.ClinicID, AppointmentID: c.AppointmentID,
		PatientID: c.PatientID, ReplyTo: c.MessageID}
	if c.Reason == slot.ReasonWaitlist && !c.OfferExpiresAt.IsZero() && !now.Before(c.OfferExpiresAt) {
		reply.Answer = AnswerLapsed
		return slot.Gone, reply, s.reply(ctx, reply)
	}
	sl, err := s.Store.GetSlot(ctx, c.ClinicID, c.SlotID)
	if errors.Is(err, fault.ErrNotFound) {
		reply.Answer = AnswerTaken
		return slot.Gone, reply, s.reply(ctx, reply)
	}
	if err != nil {
		return "", Reply{}, fmt.Errorf("waitlist: choose slot: %w", err)
	}
	reply.SlotStart = sl.Start
	claim, cur, err := s.Store.HoldSlot(ctx, slot.Hold{ClinicID: c.ClinicID, SlotID: c.SlotID, SlotStart: sl.Start,
		AppointmentID: c.AppointmentID, PatientID: c.PatientID, Reason: c.Reason, HeldAt: now, ExpiresAt: now.Add(holdTTL)})
	if err != nil {
		return "", Reply{}, fmt.Errorf("waitlist: choose slot: %w", err)
	}
	switch claim {
	case slot.Won, slot.Mine:
		ev := clinic.NewAppointmentRescheduleRequested(ID("event", clinic.EventAppointmentRescheduleRequested, cur.ClinicID, cur.SlotID, cur.AppointmentID, cur.HeldAt.Format(time.RFC3339Nano)),
			cur.ClinicID, cur.HeldAt, clinic.AppointmentRescheduleRequested{AppointmentID: cur.AppointmentID, PatientID: cur.PatientID, SlotID: cur.SlotID,
				Start: clinic.Second{Time: cur.SlotStart}, Reason: string(cur.Reason), HoldExpiresAt: clinic.Second{Time: cur.ExpiresAt}})
		if err := s.Events.Publish(ctx, ev); err != nil {
			return "", Reply{}, fmt.Errorf("waitlist: publish reschedule request: %w", err)
		}
		reply.Answer = AnswerHeld
	default:
		reply.Answer = AnswerTaken
	}
	s.log().InfoContext(ctx, "slot_choice", "clinic_id", c.ClinicID, "appointment_id", c.AppointmentID, "slot_id", c.SlotID,
		"reason", string(c.Reason), "claim", string(claim))
	return claim, reply, s.reply(ctx, reply)
}

func (s *Service) reply(ctx context.Context, r Reply) error {
	if s.Replies == nil {
		return nil
	}
	if err := s.Replies.Reply(ctx, r); err != nil {
		return fmt.Errorf("waitlist: answer %s: %w", r.Answer, err)
	}
	return nil
}

// maxHoldSpan is longer than any hold lasts (clinic settings allow a day): every
// hold ends before now plus this.
const maxHoldSpan = 48 * time.Hour

// ConfirmMoves tells each patient whose held slot the EHR has booked (the
// appointment now starts at the slot's start) that their visit moved, once per
// hold: the hold is marked after the answer is queued, and a crash in between
// queues the same job again, which the sender sends once. It runs before
// ReleaseExpired, which lets used holds go quietly. It answers how many it told.
func (s *Service) ConfirmMoves(ctx context.Context, clinicID string) (int, error) {
	if s.Confirmations == nil || s.Marks == nil || s.Appointments == nil {
		return 0, nil
	}
	now := s.Now().UTC()
	holds, err := s.Store.ExpiredHolds(ctx, clinicID, now.Add(maxHoldSpan), maxExpiredPerSweep)
	if err != nil {
		return 0, fmt.Errorf("waitlist: holds: %w", err)
	}
	told := 0
	for _, h := range holds {
		if !h.ConfirmedAt.IsZero() {
			continue
		}
		a, err := s.Appointments(ctx, h.ClinicID, h.AppointmentID)
		if errors.Is(err, fault.ErrNotFound) {
			continue
		}
		if err != nil {
			return told, fmt.Errorf("waitlist: held slot's appointment: %w", err)
		}
		if !a.Start.Equal(h.SlotStart) || !a.Status.Remindable() || !now.Before(a.Start) {
			continue
		}
		if err := s.Confirmations.Moved(ctx, h, a); err != nil {
			return told, fmt.Errorf("waitlist: confirm move: %w", err)
		}
		if _, err := s.Marks.MarkHoldConfirmed(ctx, h, now); err != nil {
			return told, fmt.Errorf("waitlist: confirm move: %w", err)
		}
		told++
		s.log().InfoContext(ctx, "slot_move_confirmed", "clinic_id", h.ClinicID, "appointment_id", h.AppointmentID,
			"slot_id", h.SlotID, "reason", string(h.Reason))
	}
	return told, nil
}

// maxExpiredPerSweep bounds one sweep step per clinic; the rest wait a minute.
const maxExpiredPerSweep = 100

// ReleaseExpired lets a clinic's lapsed holds go. A hold whose appointment the EHR
// has already moved to the slot's start was used: it is removed quietly. Any
// other lapsed hold is announced first (appointment.reschedule_request_expired
// to the clinic, "the clinic will be in touch" to the patient; both keyed by the
// hold) and removed after, so a failure part-way is retried by the next sweep
// and announces nothing twice. It answers how many holds it let go.
func (s *Service) ReleaseExpired(ctx context.Context, clinicID string) (int, error) {
	now := s.Now().UTC()
	holds, err := s.Store.ExpiredHolds(ctx, clinicID, now, maxExpiredPerSweep)
	if err != nil {
		return 0, fmt.Errorf("waitlist: expired holds: %w", err)
	}
	released := 0
	for _, h := range holds {
		used := false
		if s.Appointments != nil {
			a, err := s.Appointments(ctx, h.ClinicID, h.AppointmentID)
			if err != nil && !errors.Is(err, fault.ErrNotFound) {
				return released, fmt.Errorf("waitlist: expired hold's appointment: %w", err)
			}
			used = err == nil && a.Start.Equal(h.SlotStart)
		}
		if !used {
			heldAt := h.HeldAt.Format(time.RFC3339Nano)
			ev := clinic.NewAppointmentRescheduleRequestExpired(ID("event", clinic.EventAppointmentRescheduleRequestExpired, h.ClinicID, h.SlotID, h.AppointmentID, heldAt),
				h.ClinicID, h.ExpiresAt, clinic.AppointmentRescheduleRequestExpired{AppointmentID: h.AppointmentID, PatientID: h.PatientID, SlotID: h.SlotID,
					Start: clinic.Second{Time: h.SlotStart}, Reason: string(h.Reason)})
			if err := s.Events.Publish(ctx, ev); err != nil {
				return released, fmt.Errorf("waitlist: publish hold expiry: %w", err)
			}
			if err := s.reply(ctx, Reply{Key: ID("hold-expired", h.ClinicID, h.SlotID, h.AppointmentID, heldAt), ClinicID: h.ClinicID,
				AppointmentID: h.AppointmentID, PatientID: h.PatientID, Answer: AnswerExpired, SlotStart: h.SlotStart}); err != nil {
				return released, err
			}
		}
		ok, err := s.Store.ReleaseHold(ctx, h)
		if err != nil {
			return released, fmt.Errorf("waitlist: release hold: %w", err)
		}
		if ok {
			released++
			s.log().InfoContext(ctx, "slot_hold_released", "clinic_id", h.ClinicID, "appointment_id", h.AppointmentID,
				"slot_id", h.SlotID, "used", used)
		}
	}
	return released, nil
}
