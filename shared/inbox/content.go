package inbox

// This file adapts the content packages (shared/reminder: button payloads and
// templates; shared/conversation: keywords and localized replies) to the inbox, so
// the flow in messages.go does not depend on their exact shapes.

import (
	"errors"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/conversation"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

type action int

const (
	actionConfirm action = iota + 1
	actionCancel
	actionReschedule
)

func (a action) String() string {
	switch a {
	case actionConfirm:
		return "confirm"
	case actionCancel:
		return "cancel"
	case actionReschedule:
		return "reschedule"
	}
	return "unknown"
}

func (a action) response() appointment.Response {
	switch a {
	case actionConfirm:
		return appointment.ResponseConfirmed
	case actionCancel:
		return appointment.ResponseCancelledByPatient
	}
	return appointment.ResponseRescheduleRequested
}

// event is the clinic's event for the patient's answer.
func (a action) event(clinicID, wamid string, at time.Time, r clinic.AppointmentResponse) clinic.Event {
	switch a {
	case actionConfirm:
		return clinic.NewAppointmentConfirmed(wamidEventID(clinic.EventAppointmentConfirmed, wamid), clinicID, at.UTC(),
			clinic.AppointmentConfirmed(r))
	case actionCancel:
		return clinic.NewAppointmentCancelRequested(wamidEventID(clinic.EventAppointmentCancelRequested, wamid), clinicID, at.UTC(),
			clinic.AppointmentCancelRequested(r))
	}
	return clinic.NewAppointmentRescheduleRequested(wamidEventID(clinic.EventAppointmentRescheduleRequested, wamid), clinicID, at.UTC(),
		clinic.AppointmentRescheduleRequested{AppointmentID: r.AppointmentID, MessageID: r.MessageID, PatientID: r.PatientID,
			RespondedAt: r.RespondedAt, Response: r.Response, Source: r.Source})
}

func (a action) reply() replyKind {
	switch a {
	case actionConfirm:
		return replyConfirmed
	case actionCancel:
		return replyCancelled
	}
	return replyReschedule
}

// button is a decoded Frontdesk button (template quick reply or interactive reply).
type button struct {
	action        action
	reopen        bool      // the frontdesk_reopen template's "see reply" button
	pending       replyKind // for reopen: the answer that was waiting
	clinicID      string
	appointmentID string
	generation    string // the plan generation of the reminder the button was on
	// slotAction is set for a reschedule list row or a waitlist offer button,
	// whose payload names the slot (slotID) instead of a generation.
	slotAction reminder.Action
	slotID     string
}

func parseButton(payload string) (button, bool) {
	p, err := reminder.ParseButtonPayload(payload)
	if err != nil {
		return button{}, false
	}
	b := button{clinicID: p.ClinicID, appointmentID: p.AppointmentID, generation: p.Generation}
	switch p.Action {
	case reminder.ActionConfirm:
		b.action = actionConfirm
	case reminder.ActionCancel:
		b.action = actionCancel
	case reminder.ActionReschedule:
		b.action = actionReschedule
	case reminder.ActionReopen:
		// The reopen template carries the pending reply's kind in the payload's
		// generation field (see reopenTemplate): recognised by the action, it is
		// never read as a generation.
		b.reopen, b.pending, b.generation = true, replyKind(p.Generation), ""
	case reminder.ActionPickSlot, reminder.ActionOfferAccept, reminder.ActionOfferKeep:
		b.action, b.slotAction, b.slotID, b.generation = actionReschedule, p.Action, p.Generation, ""
	case reminder.ActionPickNone, reminder.ActionWaitlistJoin:
		b.action, b.slotAction = actionReschedule, p.Action
	default:
		return button{}, false
	}
	return b, true
}

type replyKind string

const (
	replyConfirmed     replyKind = "confirmed"
	replyCancelled     replyKind = "cancelled"
	replyReschedule    replyKind = "reschedule"
	replyOptedOut      replyKind = "opted_out"
	replyOptedIn       replyKind = "opted_in"
	replyEmergency     replyKind = "emergency"
	replyHandOff       replyKind = "hand_off"
	replyNoAppointment replyKind = "no_appointment"
	replyUnsupported   replyKind = "unsupported" // media and other non-text: "please write"
	replyHelp          replyKind = "help"
	replyMoved         replyKind = "moved" // an answer about an earlier time: the current one, with the buttons
)

// reopenTemplate is the only answer possible outside the 24-hour window: the
// frontdesk_reopen template, whose button brings the pending answer (kind and
// appointment ride in the payload, so nothing has to be stored for it).
func reopenTemplate(to, lang string, c clinic.Clinic, kind replyKind, a *appointment.Appointment) (whatsapp.Message, error) {
	t, err := reminder.TemplateNamed(reminder.TemplateReopen, lang, c.DefaultLanguage)
	if err != nil {
		return whatsapp.Message{}, err
	}
	v := reminder.Vars{Clinic: c.Name, ClinicID: c.ID, Generation: string(kind)}
	if a != nil {
		v.AppointmentID = a.ID
	}
	return reminder.Message(to, t, v)
}

// replyText renders a localized free-form answer. lang is the patient's language;
// the clinic's default is the fallback.
func replyText(kind replyKind, lang string, c clinic.Clinic, a *appointment.Appointment, now time.Time) (string, error) {
	loc, err := c.Location()
	if err != nil {
		return "", err
	}
	r := conversation.RepliesFor(lang, c.DefaultLanguage)
	date, clock := "", ""
	if a != nil {
		date, clock = reminder.FormatDate(a.Start, loc, r.Language), reminder.FormatTime(a.Start, loc, r.Language)
	}
	switch kind {
	case replyConfirmed:
		if a == nil {
			return "", errors.New("inbox: a confirmation needs its appointment")
		}
		return r.AckConfirmed(c.Name, date, clock), nil
	case replyCancelled:
		if a == nil {
			return "", errors.New("inbox: a cancellation needs its appointment")
		}
		return r.AckCancelRequested(c.Name, date, clock), nil
	case replyReschedule:
		return r.AckRescheduleRequested(c.Name), nil
	case replyOptedOut:
		return r.OptedOut(c.Name), nil
	case replyOptedIn:
		return r.OptedIn(c.Name), nil
	case replyEmergency:
		return r.Safety(c.Name, c.EmergencyNumber), nil
	case replyHandOff:
		next, ok := conversation.NextStaffTime(c.Hours, loc, now)
		if !ok {
			// No staffed hours configured: promise nothing more precise than "shortly".
			next = now
		}
		return r.HandOff(c.Name, r.When(next, now, loc)), nil
	case replyNoAppointment:
		return r.NoAppointment(c.Name), nil
	case replyUnsupported:
		return r.Unsupported(c.Name), nil
	case replyHelp:
		return r.Help(c.Name), nil
	case replyMoved:
		if a == nil {
			return "", errors.New("inbox: the current time needs its appointment")
		}
		return r.Moved(c.Name, date, clock), nil
	}
	return "", fmt.Errorf("inbox: no reply text for %q", kind)
}

// answerButtons are the reminder's Confirm / Reschedule / Cancel buttons for the
// appointment's current time, offered again as interactive reply buttons.
func answerButtons(lang string, c clinic.Clinic, a appointment.Appointment) ([]whatsapp.ReplyButton, error) {
	t, err := reminder.TemplateNamed(reminder.TemplateReminder48h, lang, c.DefaultLanguage)
	if err != nil {
		return nil, err
	}
	out := make([]whatsapp.ReplyButton, 0, len(t.Buttons))
	for _, b := range t.Buttons {
		p := reminder.ButtonPayload{Action: b.Action, ClinicID: c.ID, AppointmentID: a.ID, Generation: reminder.Generation(a.Start)}
		if err := p.Validate(); err != nil {
			return nil, err
		}
		out = append(out, whatsapp.ReplyButton{ID: p.Encode(), Title: b.Text})
	}
	return out, nil
}
