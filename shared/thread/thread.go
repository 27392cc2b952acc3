// Package thread is the conversation record: what a patient (or anyone writing
// from a contact's number) and the clinic said to each other, kept so that a person
// at the clinic can read it and answer. A conversation belongs to a contact, opens
// on a hand-off, stays open until staff close it and reopens on the contact's next
// message. Message text is PHI: it is stored (the table is encrypted with the
// stack's customer-managed key and expires after the clinic's retention) and leaves
// Frontdesk only through the authenticated, audited conversation routes. Pure Go.
package thread

import (
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// State is whether a conversation waits for staff.
type State string

// States.
const (
	Open   State = "open"
	Closed State = "closed"
)

// ParseStateFilter reads the list filter: open (the default), closed or all.
func ParseStateFilter(s string) ([]State, bool) {
	switch s {
	case "", string(Open):
		return []State{Open}, true
	case string(Closed):
		return []State{Closed}, true
	case "all":
		// Open first: a conversation waiting for staff matters more than any closed one.
		return []State{Open, Closed}, true
	}
	return nil, false
}

// Urgencies, as in conversation.escalated callbacks.
const (
	Urgent = "urgent"
	Normal = "normal"
)

// Direction of a message.
type Direction string

// Directions.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// AuthorKind says who wrote a message.
type AuthorKind string

// Author kinds.
const (
	Patient   AuthorKind = "patient"   // whoever writes from the contact's number
	Frontdesk AuthorKind = "frontdesk" // the bot's own answers
	Staff     AuthorKind = "staff"     // a named person at the clinic
)

// Message statuses beyond WhatsApp's delivery statuses.
const (
	StatusReceived = "received" // an inbound message
	StatusAccepted = "accepted" // the Graph API took it
	StatusPending  = "pending"  // staff text waiting for the patient to answer the reopen template
	StatusQueued   = "queued"   // staff text on the outbound queue, not yet taken by the Graph API
	StatusFailed   = "failed"   // it will not reach the patient; Reason says why
)

// DefaultRetention is how long a conversation's messages are kept when the clinic
// sets nothing: long enough for staff to answer and export into the record.
const DefaultRetention = 90 * 24 * time.Hour

// Retention is the clinic's retention in days, or the default.
func Retention(days int) time.Duration {
	if days <= 0 {
		return DefaultRetention
	}
	return time.Duration(days) * 24 * time.Hour
}

// ServiceWindow is WhatsApp's customer service window.
const ServiceWindow = 24 * time.Hour

// MaxTextLen is the Cloud API's limit on a text message body (characters).
const MaxTextLen = 4096

// MaxAuthorLen bounds a staff member's name as shown in the thread.
const MaxAuthorLen = 64

// Conversation is one contact's thread with a clinic.
type Conversation struct {
	ClinicID   string
	ID         string
	ContactKey string // never leaves Frontdesk: it is the phone number
	// ReplyTo is where WhatsApp replies go (the number, or the user id Meta gave
	// a sender without one), as the contact's latest message came.
	ReplyTo string
	// Language is the one the contact is answered in (BCP 47), for templates.
	Language   string
	PatientIDs []string // the clinic's patients on the contact's number
	GivenName  string   // when exactly one patient is on the number
	Reason     string   // of the latest hand-off
	Urgency    string
	State      State
	OpenedAt   time.Time
	// AnsweredAt is when staff last answered for the first time after a hand-off
	// opened the conversation; before OpenedAt (or zero) while that hand-off waits.
	AnsweredAt time.Time
	ClosedAt   time.Time
	// LastMessageAt orders the list (newest first).
	LastMessageAt time.Time
	// LastInboundAt opens WhatsApp's 24-hour window.
	LastInboundAt time.Time
	Unread        int
	// OptedOutAt is when the contact's standing STOP was said; zero when none.
	OptedOutAt time.Time
	// Pending is staff text waiting for the patient to answer the reopen template.
	Pending *Message
	// Revision guards concurrent updates (optimistic locking).
	Revision int
}

// WindowOpenUntil is when free-form replies stop being allowed; zero when the
// contact never wrote.
func (c Conversation) WindowOpenUntil() time.Time {
	if c.LastInboundAt.IsZero() {
		return time.Time{}
	}
	return c.LastInboundAt.Add(ServiceWindow)
}

// InWindow reports whether a free-form reply may be sent at now.
func (c Conversation) InWindow(now time.Time) bool {
	return !c.LastInboundAt.IsZero() && now.Before(c.WindowOpenUntil())
}

// MayReply reports whether staff may write to the contact: a contact that said
// STOP gets replies only to messages it sent after the STOP.
func (c Conversation) MayReply() bool {
	return c.OptedOutAt.IsZero() || c.LastInboundAt.After(c.OptedOutAt)
}

// Escalate opens the conversation for a hand-off. An urgent conversation stays
// urgent until staff close it, whatever hand-offs follow.
func (c *Conversation) Escalate(reason, urgency string, at time.Time) {
	if c.State != Open {
		c.State, c.OpenedAt, c.ClosedAt = Open, at, time.Time{}
		c.Urgency = ""
	}
	c.Reason = reason
	if c.Urgency != Urgent {
		c.Urgency = urgency
	}
}

// Receive notes an inbound message; a closed conversation reopens on it.
func (c *Conversation) Receive(at time.Time) {
	if c.State == Closed {
		c.State, c.OpenedAt, c.ClosedAt = Open, at, time.Time{}
		c.Urgency, c.Reason = Normal, "patient_wrote"
	}
	if at.After(c.LastInboundAt) {
		c.LastInboundAt = at
	}
	if at.After(c.LastMessageAt) {
		c.LastMessageAt = at
	}
	c.Unread++
}

// Note notes an inbound message that needs no person (a closed conversation stays
// closed), keeping the window and the order right.
func (c *Conversation) Note(at time.Time) {
	if at.After(c.LastInboundAt) {
		c.LastInboundAt = at
	}
	if at.After(c.LastMessageAt) {
		c.LastMessageAt = at
	}
}

// AwaitsFirstAnswer reports whether the conversation is open on a hand-off that
// staff have not answered yet.
func (c Conversation) AwaitsFirstAnswer() bool {
	return c.State == Open && !c.OpenedAt.IsZero() && c.AnsweredAt.Before(c.OpenedAt)
}

// Answered notes a staff answer: the first after the hand-off is the one the
// clinic's hand-off-to-answer time measures.
func (c *Conversation) Answered(at time.Time) {
	if c.AwaitsFirstAnswer() {
		c.AnsweredAt = at
	}
}

// Sent notes an outbound message.
func (c *Conversation) Sent(at time.Time) {
	if at.After(c.LastMessageAt) {
		c.LastMessageAt = at
	}
}

// Close ends the hand-off; the contact's next message reopens it.
func (c *Conversation) Close(at time.Time) {
	c.State, c.ClosedAt, c.Unread = Closed, at, 0
}

// Message is one message of a conversation.
type Message struct {
	ConversationID string
	ID             string // Frontdesk's message id (msg_...), never a wamid
	At             time.Time
	Direction      Direction
	Author         AuthorKind
	AuthorName     string // a staff member's name
	Type           string // WhatsApp message type: text, button, interactive, image, template ...
	Text           string
	// Choice is the button or list row a patient chose (its visible title).
	Choice string
	Status string
	// WAMID links an outbound message to Meta's statuses; never shown or logged.
	WAMID string
	// Reason is why a failed staff message did not go out (window_closed, opted_out,
	// retries_exhausted, a WhatsApp error class).
	Reason string
}

// Reply is what staff ask to send.
type Reply struct {
	Text     string
	Author   string
	Template string // "" for free-form, TemplateReopen outside the window
}

// TemplateReopen names the approved template that invites the patient to open the
// window again; the staff text waits until the patient answers it.
const TemplateReopen = "reopen"

// Validation errors of a reply.
var (
	ErrTextRequired  = errors.New("text is required")
	ErrTextTooLong   = errors.New("text is longer than 4096 characters")
	ErrBadAuthor     = errors.New("author must be 1-64 printable characters")
	ErrBadTemplate   = errors.New(`template must be "reopen" or absent`)
	ErrWindowClosed  = errors.New("the 24-hour window is closed")
	ErrOptedOut      = errors.New("the contact opted out and has not written since")
	ErrNotFound      = errors.New("no such conversation")
	ErrReopenPending = errors.New("a reopen template is already waiting for the patient's answer")
)

// ErrBadCursor is what a store answers for a page cursor it did not hand out for
// that clinic and listing (conversations, a thread's messages, the audit trail):
// never a read of the keys it names.
var ErrBadCursor = errors.New("bad cursor")

// Validate checks a reply's fields (each error is the field's problem).
func (r Reply) Validate() map[string]error {
	bad := map[string]error{}
	switch n := utf8.RuneCountInString(r.Text); {
	case strings.TrimSpace(r.Text) == "":
		bad["/text"] = ErrTextRequired
	case n > MaxTextLen || !utf8.ValidString(r.Text):
		bad["/text"] = ErrTextTooLong
	}
	if !ValidAuthor(r.Author) {
		bad["/author"] = ErrBadAuthor
	}
	if r.Template != "" && r.Template != TemplateReopen {
		bad["/template"] = ErrBadTemplate
	}
	return bad
}

// ValidAuthor reports whether name can stand for a staff member in the thread.
func ValidAuthor(name string) bool {
	n := utf8.RuneCountInString(name)
	if strings.TrimSpace(name) == "" || n > MaxAuthorLen || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// Audit actions.
const (
	AuditList  = "list_conversations"
	AuditRead  = "read_thread"
	AuditReply = "reply"
	AuditClose = "close"
)

// AuditEntry records one access to PHI: who, what, which conversation, when.
type AuditEntry struct {
	ClinicID       string
	ID             string
	At             time.Time
	Actor          string // "token:write" for the clinic's write token; a staff session later names the person
	Action         string
	ConversationID string
	MessageID      string
}
