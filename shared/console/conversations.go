package console

import (
	"context"
	"errors"
	"time"
)

// What the Inbox and thread pages need from the conversation service. The console
// declares these small interfaces so that wiring the service is an adapter of a
// few lines, and the pages do not depend on how conversations are stored. Every
// call names the staff member: the service writes the audit trail (who read or
// answered which conversation, when) for the console exactly as for the API, before
// it returns anything.

// ConversationLister lists a clinic's open conversations.
type ConversationLister interface {
	OpenConversations(ctx context.Context, clinicID string, by Author) ([]ConversationSummary, error)
}

// ThreadReader reads one conversation with its messages, oldest first, and
// records the read in the audit trail.
type ThreadReader interface {
	Thread(ctx context.Context, clinicID, conversationID string, by Author) (Thread, error)
}

// Replier sends a staff reply (free text inside the 24-hour window, or the reopen
// template outside it) and closes conversations, recording both in the audit
// trail. The author is the staff member whose name the thread and the trail show.
type Replier interface {
	Reply(ctx context.Context, clinicID, conversationID string, reply Reply) error
	Close(ctx context.Context, clinicID, conversationID string, by Author) error
}

// Conversations is the whole conversation service as the console uses it.
type Conversations interface {
	ConversationLister
	ThreadReader
	Replier
}

// Errors the conversation service returns that the console shows as such.
var (
	// ErrConversationNotFound: no such conversation in this clinic.
	ErrConversationNotFound = errors.New("console: conversation not found")
	// ErrWindowClosed: free text outside the 24-hour window; use the reopen template.
	ErrWindowClosed = errors.New("console: the 24-hour window is closed")
	// ErrOptedOut: the patient opted out and has not written since.
	ErrOptedOut = errors.New("console: the patient opted out")
	// ErrReopenPending: a reopen template already waits for the patient's answer.
	ErrReopenPending = errors.New("console: a reopen template is waiting for the patient")
)

// Author is a staff member acting in the console.
type Author struct {
	Subject string
	Name    string
}

// ConversationSummary is one row of the Inbox.
type ConversationSummary struct {
	ID            string
	PatientName   string // given name as the clinic recorded it; empty for an unknown number
	Reason        string // why Frontdesk handed it over (emergency, free text, ...)
	Urgent        bool
	LastMessageAt time.Time
	Unread        int
	WindowUntil   time.Time // until when free-form replies are allowed; zero: closed
}

// Message is one message of a thread.
type Message struct {
	At     time.Time
	From   string // "patient", "frontdesk" or "staff"
	Author string // the staff member's name when From is "staff"
	Text   string // as written; the template escapes it
	Status string // for outbound messages: sent, delivered, read, failed
}

// Thread is a conversation with its messages.
type Thread struct {
	ConversationSummary
	Open     bool
	Messages []Message
}

// Reply is what a staff member sends.
type Reply struct {
	Author Author
	Text   string
	// Reopen sends the approved reopen template; Text is delivered when the patient answers it.
	Reopen bool
}
