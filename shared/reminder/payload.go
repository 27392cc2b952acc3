package reminder

import (
	"errors"
	"fmt"
	"strings"
)

// Action is what a quick-reply button asks for.
type Action string

// Button actions.
const (
	ActionConfirm    Action = "confirm"
	ActionReschedule Action = "reschedule"
	ActionCancel     Action = "cancel"
	// ActionReopen is the frontdesk_reopen template's button: the tap opens the 24 h
	// window so the pending answer can be sent free-form. It names no appointment.
	ActionReopen Action = "reopen"
	// ActionOfferAccept and ActionOfferKeep are a waitlist offer's buttons. Their
	// payload's Generation field carries the offered slot's id instead of a
	// generation: the offer is about that slot, whatever the appointment's time.
	ActionOfferAccept Action = "offer_accept"
	ActionOfferKeep   Action = "offer_keep"
	// ActionPickSlot is a row of the reschedule list (Generation: the slot's id);
	// ActionPickNone its "None of these" row.
	ActionPickSlot Action = "slot"
	ActionPickNone Action = "slot_none"
	// ActionWaitlistJoin is the reschedule list's "tell me if an earlier time
	// opens" row: the visit keeps its time and joins the waitlist.
	ActionWaitlistJoin Action = "waitlist_join"
)

// Valid reports whether a is a known action.
func (a Action) Valid() bool {
	switch a {
	case ActionConfirm, ActionReschedule, ActionCancel, ActionReopen, ActionOfferAccept, ActionOfferKeep,
		ActionPickSlot, ActionPickNone, ActionWaitlistJoin:
		return true
	}
	return false
}

// ButtonPayload is what a quick-reply button carries back in the webhook
// (messages[].button.payload): enough to find the appointment and to tell whether the
// tap answers the visit time the reminder was about (Generation).
type ButtonPayload struct {
	Action        Action
	ClinicID      string
	AppointmentID string
	Generation    string
}

// MaxButtonPayloadLen is WhatsApp's limit on a quick-reply payload.
const MaxButtonPayloadLen = 256

const payloadPrefix = "fd1"

// Encode renders the payload as "fd1:<action>:<clinic>:<appointment>:<generation>",
// each field percent-escaped so ':' (or '|', '%', spaces, non-ASCII) in an EHR's id
// cannot shift the fields. The "fd1" version prefix lets a later format coexist with
// buttons already sitting in patients' chats. Readable in logs; ids are not PHI.
// Clinic ids (≤ 63 chars), FHIR-style appointment ids (≤ 64 chars of [A-Za-z0-9.-])
// and generations fit well within MaxButtonPayloadLen; Validate checks it.
func (p ButtonPayload) Encode() string {
	return strings.Join([]string{payloadPrefix, escapeField(string(p.Action)), escapeField(p.ClinicID),
		escapeField(p.AppointmentID), escapeField(p.Generation)}, ":")
}

// Validate checks that the payload names a known action and fits WhatsApp's limit.
func (p ButtonPayload) Validate() error {
	if !p.Action.Valid() {
		return fmt.Errorf("reminder: button action %q unknown", p.Action)
	}
	if p.ClinicID == "" {
		return errors.New("reminder: button payload needs a clinic")
	}
	if p.Action != ActionReopen && p.AppointmentID == "" {
		return errors.New("reminder: button payload needs an appointment")
	}
	if n := len(p.Encode()); n > MaxButtonPayloadLen {
		return fmt.Errorf("reminder: button payload is %d bytes, over WhatsApp's %d", n, MaxButtonPayloadLen)
	}
	return nil
}

// ErrNotFrontdeskPayload is returned for payloads Frontdesk did not write (another
// integration's button, a hand-edited message).
var ErrNotFrontdeskPayload = errors.New("reminder: not a frontdesk button payload")

// ParseButtonPayload reads a payload written by Encode. It requires a known action, a
// clinic and, except for reopen, an appointment; the Generation is returned as is for
// the caller to compare with the appointment's current one.
func ParseButtonPayload(s string) (ButtonPayload, error) {
	if len(s) > 4*MaxButtonPayloadLen {
		return ButtonPayload{}, ErrNotFrontdeskPayload
	}
	parts := strings.Split(s, ":")
	if len(parts) != 5 || parts[0] != payloadPrefix {
		return ButtonPayload{}, ErrNotFrontdeskPayload
	}
	var fields [4]string
	for i, raw := range parts[1:] {
		v, err := unescapeField(raw)
		if err != nil {
			return ButtonPayload{}, fmt.Errorf("%w: %v", ErrNotFrontdeskPayload, err)
		}
		fields[i] = v
	}
	p := ButtonPayload{Action: Action(fields[0]), ClinicID: fields[1], AppointmentID: fields[2], Generation: fields[3]}
	// Accept exactly what Encode could have written for a sendable button: a payload
	// Validate refuses (unknown action, missing ids, over WhatsApp's limit once
	// encoded) was not written by Frontdesk.
	if err := p.Validate(); err != nil {
		return ButtonPayload{}, fmt.Errorf("%w: %v", ErrNotFrontdeskPayload, err)
	}
	return p, nil
}

// escapeField keeps [A-Za-z0-9._~-] and percent-escapes every other byte, so the
// result never contains the ':' separator and decodes back byte for byte.
func escapeField(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '~' || c == '-' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func unescapeField(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated escape at %d", i)
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("bad escape at %d", i)
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
