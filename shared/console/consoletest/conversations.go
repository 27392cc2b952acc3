// Package consoletest holds a recording stand-in for the conversation service, for
// the console's tests until that service is deployed beside it.
package consoletest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/console"
)

// Conversations keeps threads in memory per clinic, records every reply and close,
// writes an audit entry for every list, read, reply and close as the real service
// does, and marks a staff reply delivered and read at once (as the Graph API
// stand-in's status webhooks would).
type Conversations struct {
	Clock interface{ Now() time.Time }

	mu      sync.Mutex
	threads map[string]map[string]*console.Thread // clinic -> id -> thread
	Replies []console.Reply
	Audits  []AuditEntry
	Closed  []string
}

// Audit actions.
const (
	AuditList  = "list"
	AuditRead  = "read"
	AuditReply = "reply"
	AuditClose = "close"
)

// AuditEntry is one line of the stand-in's audit trail.
type AuditEntry struct {
	ClinicID, ConversationID, Action string
	Actor                            console.Author
	At                               time.Time
}

var _ console.Conversations = (*Conversations)(nil)

// audit must be called with mu held.
func (c *Conversations) audit(clinicID, id, action string, by console.Author) {
	c.Audits = append(c.Audits, AuditEntry{ClinicID: clinicID, ConversationID: id, Action: action, Actor: by, At: c.Clock.Now()})
}

// Add stores a thread for a clinic.
func (c *Conversations) Add(clinicID string, t console.Thread) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.threads == nil {
		c.threads = map[string]map[string]*console.Thread{}
	}
	if c.threads[clinicID] == nil {
		c.threads[clinicID] = map[string]*console.Thread{}
	}
	c.threads[clinicID][t.ID] = &t
}

// OpenConversations lists open threads, in no particular order (the console sorts).
func (c *Conversations) OpenConversations(_ context.Context, clinicID string, by console.Author) ([]console.ConversationSummary, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.audit(clinicID, "", AuditList, by)
	var out []console.ConversationSummary
	for _, t := range c.threads[clinicID] {
		if t.Open {
			out = append(out, t.ConversationSummary)
		}
	}
	slices.SortFunc(out, func(a, b console.ConversationSummary) int { return a.LastMessageAt.Compare(b.LastMessageAt) })
	return out, nil
}

// Thread returns a copy of one thread of the clinic.
func (c *Conversations) Thread(_ context.Context, clinicID, id string, by console.Author) (console.Thread, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.threads[clinicID][id]
	if !ok {
		return console.Thread{}, console.ErrConversationNotFound
	}
	c.audit(clinicID, id, AuditRead, by)
	cp := *t
	cp.Messages = slices.Clone(t.Messages)
	return cp, nil
}

// Reply appends the staff message, refusing free text outside the window.
func (c *Conversations) Reply(_ context.Context, clinicID, id string, r console.Reply) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.threads[clinicID][id]
	if !ok {
		return console.ErrConversationNotFound
	}
	now := c.Clock.Now()
	if !r.Reopen && !now.Before(t.WindowUntil) {
		return console.ErrWindowClosed
	}
	c.Replies = append(c.Replies, r)
	c.audit(clinicID, id, AuditReply, r.Author)
	status := "read"
	if r.Reopen {
		status = "sent"
	}
	t.Messages = append(t.Messages, console.Message{At: now, From: "staff", Author: r.Author.Name, Text: r.Text, Status: status})
	t.Open = true
	return nil
}

// Close closes a thread.
func (c *Conversations) Close(_ context.Context, clinicID, id string, by console.Author) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.threads[clinicID][id]
	if !ok {
		return console.ErrConversationNotFound
	}
	t.Open = false
	c.Closed = append(c.Closed, id)
	c.audit(clinicID, id, AuditClose, by)
	return nil
}

// Snapshot returns copies of what was recorded.
func (c *Conversations) Snapshot() (replies []console.Reply, audits []AuditEntry, closed []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.Replies), slices.Clone(c.Audits), slices.Clone(c.Closed)
}
