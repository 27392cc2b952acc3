package waitlist

import (
	"context"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/slot"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// Desk is what the inbox asks when a patient taps Reschedule or picks a slot: the
// list to offer, and the words of the answer to a choice (the inbox sends both on
// its own reply path, inside the window the tap opened).
type Desk struct {
	Service *Service
	// Members keeps a patient's own join and leave (dynamo.Store).
	Members Membership
	// FreeSlots lists a clinic's free slots starting in [from, to), in start order.
	FreeSlots func(ctx context.Context, clinicID string, from, to time.Time) ([]slot.Slot, error)
	// OfferExpiry is when the offer of a slot to an appointment lapses (false: never offered).
	OfferExpiry func(ctx context.Context, clinicID, slotID, appointmentID string) (time.Time, bool, error)
}

// RescheduleList answers a Reschedule tap for a with the clinic's free matching
// slots as a list message to `to`; false when there is none to offer (the tap is
// then a plain request to the clinic, as before slots existed).
func (d *Desk) RescheduleList(ctx context.Context, c clinic.Clinic, a appointment.Appointment, to, lang string) (whatsapp.Message, bool, error) {
	now := d.Service.Now().UTC()
	p := c.SlotPolicy()
	free, err := d.FreeSlots(ctx, c.ID, now, now.Add(p.Horizon))
	if err != nil {
		return whatsapp.Message{}, false, fmt.Errorf("waitlist: free slots: %w", err)
	}
	choices := slot.Choices(free, a, p, now)
	if len(choices) == 0 {
		return whatsapp.Message{}, false, nil
	}
	loc, err := c.Location()
	if err != nil {
		return whatsapp.Message{}, false, err
	}
	m, err := RescheduleList(to, a, choices, c.Name, reminder.MatchLanguage(lang, c.DefaultLanguage), loc)
	if err != nil {
		return whatsapp.Message{}, false, err
	}
	return m, true, nil
}

// Choose holds slotID for a (a row of the reschedule list, or an accepted waitlist
// offer) and returns the answer's words in the patient's language.
func (d *Desk) Choose(ctx context.Context, c clinic.Clinic, a appointment.Appointment, slotID string, fromOffer bool, messageID, lang string) (string, error) {
	ch := Choice{ClinicID: c.ID, AppointmentID: a.ID, PatientID: a.PatientID, SlotID: slotID, Reason: slot.ReasonReschedule, MessageID: messageID,
		HoldTTL: c.SlotPolicy().HoldTTL}
	if fromOffer {
		ch.Reason = slot.ReasonWaitlist
		exp, ok, err := d.OfferExpiry(ctx, c.ID, slotID, a.ID)
		if err != nil {
			return "", fmt.Errorf("waitlist: offer: %w", err)
		}
		if !ok {
			exp = d.Service.Now() // never offered to this appointment: nothing to accept
		}
		ch.OfferExpiresAt = exp
	}
	_, r, err := d.Service.Choose(ctx, ch)
	if err != nil {
		return "", err
	}
	return d.words(c, r.Answer, lang, r.SlotStart)
}

// Membership puts appointments on the clinic's waitlist and takes them off.
type Membership interface {
	JoinWaitlist(ctx context.Context, clinicID string, e slot.Entry) error
	LeaveWaitlist(ctx context.Context, clinicID, appointmentID string) error
}

// Waitlist puts a on the waitlist (join) or takes it off, at the patient's word,
// and returns the answer's words. Joining again keeps the first place, so a
// redelivered message changes nothing.
func (d *Desk) Waitlist(ctx context.Context, c clinic.Clinic, a appointment.Appointment, join bool, lang string) (string, error) {
	answer := AnswerLeft
	if join {
		answer = AnswerJoined
		if err := d.Members.JoinWaitlist(ctx, c.ID, slot.Entry{AppointmentID: a.ID, PatientID: a.PatientID, JoinedAt: d.Service.Now().UTC()}); err != nil {
			return "", fmt.Errorf("waitlist: join: %w", err)
		}
	} else if err := d.Members.LeaveWaitlist(ctx, c.ID, a.ID); err != nil {
		return "", fmt.Errorf("waitlist: leave: %w", err)
	}
	d.Service.log().InfoContext(ctx, "waitlist_membership", "clinic_id", c.ID, "appointment_id", a.ID, "join", join, "source", "patient")
	return d.words(c, answer, lang, a.Start)
}

// Kept is the answer to "Keep my time" on an offer.
func (d *Desk) Kept(c clinic.Clinic, lang string) (string, error) {
	return d.words(c, AnswerKept, lang, time.Time{})
}

func (d *Desk) words(c clinic.Clinic, answer, lang string, at time.Time) (string, error) {
	loc, err := c.Location()
	if err != nil {
		return "", err
	}
	code := reminder.MatchLanguage(lang, c.DefaultLanguage)
	date, clock := "", ""
	if !at.IsZero() {
		date, clock = reminder.FormatDate(at, loc, code), reminder.FormatTime(at, loc, code)
	}
	return Text(answer, code, c.DefaultLanguage, c.Name, date, clock), nil
}
