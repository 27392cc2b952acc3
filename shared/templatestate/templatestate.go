// Package templatestate is what Meta last said about one message template (one name
// in one language of one WhatsApp Business Account): its review status and its
// category. Meta pauses, disables and re-categorises templates after approval; a
// template that is not an approved utility template must not be sent, because every
// send would fail (or, re-categorised as marketing, be refused for +1 numbers and
// billed as marketing elsewhere). Pure Go.
package templatestate

import (
	"strings"
	"time"
)

// Status values (Meta's message_template_status_update events) that matter here.
const (
	StatusApproved = "APPROVED"
	StatusPaused   = "PAUSED"
	StatusDisabled = "DISABLED"
)

// CategoryUtility is the only category Frontdesk's templates may have.
const CategoryUtility = "UTILITY"

// Skip reasons of reminders held back by a template, recorded on the reminder.
const (
	ReasonPaused        = "template_paused"
	ReasonDisabled      = "template_disabled"
	ReasonNotApproved   = "template_not_approved"
	ReasonRecategorised = "template_recategorised"
)

// State is the stored view of one template. Zero values mean Meta has said nothing
// since Frontdesk started listening: the template is taken as approved utility.
type State struct {
	WABAID, Name, Language string
	Status                 string
	StatusReason           string // Meta's reason text; not shown to patients
	StatusAt               time.Time
	Category               string
	CategoryAt             time.Time
}

// Blocked returns why sends of the template must wait, or "".
func (s State) Blocked() string {
	switch strings.ToUpper(s.Status) {
	case "", StatusApproved, "REINSTATED", "UNARCHIVED", "FLAGGED", "IN_APPEAL", "PENDING":
		// FLAGGED is a warning: the template still sends until Meta disables it.
	case StatusPaused:
		return ReasonPaused
	case StatusDisabled:
		return ReasonDisabled
	default: // REJECTED, ARCHIVED, PENDING_DELETION, LOCKED ...
		return ReasonNotApproved
	}
	if s.Category != "" && !strings.EqualFold(s.Category, CategoryUtility) {
		return ReasonRecategorised
	}
	return ""
}

// Usable reports whether the template may be sent.
func (s State) Usable() bool { return s.Blocked() == "" }
