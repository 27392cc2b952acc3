package inbox

import (
	"context"
	"fmt"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// SlotDesk is the reschedule list and the handling of a patient's choice of a
// slot (waitlist.Desk).
type SlotDesk interface {
	// RescheduleList is the list of the clinic's free slots that suit a, to send
	// to `to`; false when there is none (the tap is then a plain request).
	RescheduleList(ctx context.Context, c clinic.Clinic, a appointment.Appointment, to, lang string) (whatsapp.Message, bool, error)
	// Choose holds slotID for a (fromOffer: an accepted waitlist offer) and
	// returns the answer's words; the clinic hears of a hold from it.
	Choose(ctx context.Context, c clinic.Clinic, a appointment.Appointment, slotID string, fromOffer bool, messageID, lang string) (string, error)
	// Kept is the answer to "Keep my time".
	Kept(c clinic.Clinic, lang string) (string, error)
	// Waitlist puts a on the waitlist (join) or takes it off at the patient's
	// word, and returns the answer's words.
	Waitlist(ctx context.Context, c clinic.Clinic, a appointment.Appointment, join bool, lang string) (string, error)
}

// replySlots names an answer built by the slot desk (in.prebuilt).
const replySlots replyKind = "slots"

// offerSlots answers a Reschedule with the clinic's free slots when it has some
// and the window is open; the request then reaches the clinic with the slot the
// patient picks (or as a plain request on "None of these"). listed=false leaves
// the tap to today's path.
func (s *Service) offerSlots(ctx context.Context, in *inbound, a appointment.Appointment) (bool, error) {
	if s.Slots == nil || in.slotsDeclined || !in.inWindow(s.now()) {
		return false, nil
	}
	msg, ok, err := s.Slots.RescheduleList(ctx, in.c, a, in.phone, in.lang(a.PatientID))
	if err != nil {
		return false, fmt.Errorf("reschedule list: %w", err)
	}
	if !ok {
		return false, nil
	}
	in.prebuilt, in.intent = &msg, "reschedule_list"
	return true, s.reply(ctx, in, a.PatientID, replySlots, &a, false)
}

// slotButton acts on a row of the reschedule list or a waitlist offer's button.
func (s *Service) slotButton(ctx context.Context, in *inbound, b button) error {
	if b.slotAction == reminder.ActionPickNone {
		in.slotsDeclined = true
		return s.answer(ctx, in, actionReschedule, b.appointmentID)
	}
	if s.Slots == nil {
		in.intent = "slot_button"
		return s.escalate(ctx, in, ReasonUnknownButton, UrgencyNormal, replyHandOff)
	}
	in.intent = string(b.slotAction)
	a, found, err := s.findAppointment(ctx, in, b.appointmentID)
	if err != nil || !found {
		return err
	}
	in.appointmentID, in.patientID = a.ID, a.PatientID
	lang := in.lang(a.PatientID)
	var text string
	switch b.slotAction {
	case reminder.ActionWaitlistJoin:
		text, err = s.Slots.Waitlist(ctx, in.c, a, true, lang)
	case reminder.ActionOfferKeep:
		text, err = s.Slots.Kept(in.c, lang)
	default:
		text, err = s.Slots.Choose(ctx, in.c, a, b.slotID, b.slotAction == reminder.ActionOfferAccept, in.m.ID, lang)
	}
	if err != nil {
		return fmt.Errorf("slot choice: %w", err)
	}
	msg, err := whatsapp.TextMessage(in.phone, text)
	if err != nil {
		s.log().Error("slot answer not built", "clinic_id", in.c.ID, platform.WAMID("wamid", in.m.ID), "error", err.Error())
		return nil
	}
	in.prebuilt, in.outcome = &msg, outcomeAnswered
	return s.reply(ctx, in, a.PatientID, replySlots, &a, false)
}

// waitlistKeyword acts on "earlier" (join) or "no earlier" (leave) for the
// patient's next visit. Without a slot desk the words go to staff, as any text
// the bot cannot act on.
func (s *Service) waitlistKeyword(ctx context.Context, in *inbound, join bool) error {
	if s.Slots == nil {
		return s.escalate(ctx, in, ReasonFreeText, UrgencyNormal, replyHandOff)
	}
	a, found, err := s.findAppointment(ctx, in, "")
	if err != nil || !found {
		return err
	}
	in.appointmentID, in.patientID = a.ID, a.PatientID
	text, err := s.Slots.Waitlist(ctx, in.c, a, join, in.lang(a.PatientID))
	if err != nil {
		return fmt.Errorf("waitlist keyword: %w", err)
	}
	msg, err := whatsapp.TextMessage(in.phone, text)
	if err != nil {
		s.log().Error("waitlist answer not built", "clinic_id", in.c.ID, platform.WAMID("wamid", in.m.ID), "error", err.Error())
		return nil
	}
	in.prebuilt, in.outcome = &msg, outcomeAnswered
	return s.reply(ctx, in, a.PatientID, replySlots, &a, false)
}
