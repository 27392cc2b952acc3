// Package outbound is the one job every message Frontdesk sends travels as, and
// the arithmetic of the per-number send budget those jobs share. Pure Go.
//
// Kinds and their priority (most urgent first):
//
//	reply, staff_reply   a patient wrote and is waiting for the answer
//	reminder, offer      due now, useful only for a while
//	notice               informational, may wait
//
// Priority is realised by the pacer, not by queue order: every send of a number
// (from the sender and from the inbound replies) takes a slot of the same budget.
// A reply may book a slot up to four windows ahead, one further than any queued
// job may (a job takes the window it runs in, or one of the next three once it
// reached its place in the number's line), so a reply finds a slot within a second;
// bulk kinds may fill only half a window (see Ceiling).
package outbound

import (
	"time"

	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// Kind names what a job sends.
type Kind string

// Job kinds.
const (
	KindReminder   Kind = "reminder"
	KindReply      Kind = "reply"
	KindStaffReply Kind = "staff_reply"
	KindOffer      Kind = "offer"
	KindNotice     Kind = "notice"
)

// Priority orders kinds: lower is more urgent.
type Priority int

// Priorities.
const (
	PriorityReply Priority = iota
	PriorityDue
	PriorityBulk
)

// Priority is the kind's priority; an unknown kind is bulk.
func (k Kind) Priority() Priority {
	switch k {
	case KindReply, KindStaffReply:
		return PriorityReply
	case KindReminder, KindOffer, "":
		return PriorityDue
	}
	return PriorityBulk
}

// FreeForm reports whether the kind sends free-form messages, which WhatsApp
// allows only inside the 24-hour window the patient's last message opened.
func (k Kind) FreeForm() bool { return k == KindReply || k == KindStaffReply }

// Valid reports whether k is a kind this version knows.
func (k Kind) Valid() bool {
	switch k {
	case KindReminder, KindReply, KindStaffReply, KindOffer, KindNotice:
		return true
	}
	return false
}

// Job is one outbound-queue message. A reminder job carries ids only (the sender
// re-reads the appointment, patient and consent at send time). The other kinds
// carry the message they send and what the sender must re-check before sending
// it: the recipient's opt-out (unless Force), the 24-hour window for free-form
// kinds, and how long the message is useful.
//
// The embedded reminder.Job keeps the JSON shape of the jobs queued before this
// type existed: a body without "type" is a reminder job and decodes unchanged.
type Job struct {
	Type Kind `json:"type,omitempty"`
	reminder.Job

	// ContactKey is the recipient's canonical number (contact.Key), whose STOP the
	// sender re-checks; PatientID, when known, links the sent message to a patient.
	ContactKey string `json:"contactKey,omitempty"`
	PatientID  string `json:"patientId,omitempty"`
	// Key makes the send happen once however often the job is delivered (for a
	// reply: "reply:<inbound wamid>").
	Key     string            `json:"key,omitempty"`
	Message *whatsapp.Message `json:"message,omitempty"`
	// WindowEndsAt is when the patient's 24-hour window closes (a message that is not a template).
	WindowEndsAt time.Time `json:"windowEndsAt,omitzero"`
	// ExpiresAt is when the message stops being useful (an offer's hold, a notice).
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// Force sends despite an opt-out: the STOP acknowledgement, the safety answer.
	Force bool `json:"force,omitempty"`
	// AnsweredOptOut is when the opt-out was said that the patient has since written
	// past (a staff reply to a contact who wrote again after STOP): that opt-out does
	// not hold the job back, a later one does.
	AnsweredOptOut time.Time `json:"answeredOptOut,omitzero"`
	// Attempts counts a prepared job's failed sends (a reminder counts them on itself).
	Attempts int `json:"attempts,omitempty"`
	// Paced marks a job that already waited for its place in its number's line.
	Paced bool `json:"paced,omitempty"`
	// Place is when that place comes up. A job handed over before it (SQS delays
	// are whole seconds) may book the budget windows up to its place's and wait for
	// one; a job at or past its place that finds the budget spent takes a new place
	// at the end of the line. Zero on jobs queued before this field: they may book
	// as many windows ahead as the sender's SlotLookahead.
	Place time.Time `json:"place,omitzero"`
	// Ref names the record the message came from (a notice id, a staff message in
	// its thread), in the form its kind's completion hook reads: the sender hands it
	// back with the outcome so that record's state follows the send.
	Ref string `json:"ref,omitempty"`
}

// FromReminder wraps a reminder job.
func FromReminder(j reminder.Job) Job { return Job{Type: KindReminder, Job: j} }

// MessageKind is the job's kind, reading a body from before kinds existed as a reminder.
func (j Job) MessageKind() Kind {
	if j.Type == "" {
		return KindReminder
	}
	return j.Type
}

// ID is the job's stable identity (SQS batch entry ids and logs use it).
func (j Job) ID() string {
	if j.MessageKind() == KindReminder {
		return j.Job.ID()
	}
	return j.ClinicID + "/" + string(j.Type) + "/" + j.Key
}

// Why a prepared (non-reminder) job is not sent.
const (
	ReasonWindowClosed = "window_closed"
	ReasonExpired      = "expired"
	ReasonOptedOut     = "opted_out"
)

// HeldByOptOut reports whether the recipient number's consent ledger holds the job
// back: the number stands opted out, by an opt-out said after the one the job
// answers (AnsweredOptOut), if any.
func (j Job) HeldByOptOut(ledger []consent.Entry) bool {
	applied := consent.Applied(ledger)
	if consent.Current(applied) != consent.OptedOut {
		return false
	}
	return j.AnsweredOptOut.IsZero() || consent.Sorted(applied)[len(applied)-1].At.After(j.AnsweredOptOut)
}

// WhyNot returns why a prepared job must not be sent at now, or "". optedOut is
// whether the recipient's opt-out holds the job back (HeldByOptOut).
func (j Job) WhyNot(now time.Time, optedOut bool) string {
	if !j.ExpiresAt.IsZero() && !now.Before(j.ExpiresAt) {
		return ReasonExpired
	}
	// Any message that is not a template (a reply, or a notice's interactive list)
	// may go out only inside the patient's window.
	if j.Message != nil && j.Message.Type != whatsapp.TypeTemplate &&
		!j.WindowEndsAt.IsZero() && !now.Before(j.WindowEndsAt) {
		return ReasonWindowClosed
	}
	if optedOut && !j.Force {
		return ReasonOptedOut
	}
	return ""
}

// Budget windows. A number's budget is counted in short windows rather than whole
// seconds: Meta (and the stand-in) refill a one-second bucket continuously, and a
// whole second's budget spent at the end of one second and again at the start of
// the next would be twice the rate at once. With windows of a quarter second, any
// interval of length T holds at most rate*T + rate/2 sends: inside the bucket.
const Window = 250 * time.Millisecond

// WindowStart is the start of the window now falls in.
func WindowStart(now time.Time) time.Time { return now.Truncate(Window) }

// WindowBudget is how many sends a number may make in one window at perSecond.
func WindowBudget(perSecond int) int {
	return max(1, perSecond*int(Window/time.Millisecond)/1000)
}

// Ceiling is how full a window may already be for a send of priority p to take a
// slot in it. Replies and due messages may fill it; bulk messages only half, so
// a notice campaign leaves the other half of every window to reminders and replies.
func Ceiling(perSecond int, p Priority) int {
	b := WindowBudget(perSecond)
	if p >= PriorityBulk {
		return max(1, b/2)
	}
	return b
}
