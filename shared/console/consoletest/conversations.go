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

// Conversations keeps threads in memory per clinic, records every reply, close and
// audit entry, and marks a staff reply delivered and read at once (as the Graph API
// stand-in's status webhooks would).
type Conversations struct {
	Clock interface{ Now() time.Time }

	mu      sync.Mutex
	threads map[string]map[string]*console.Thread // clinic -> id -> thread
	Replies []console.Reply
	Audits  []console.AuditEntry
	Closed  []string
}

var (
	_ console.Conversations = (*Conversations)(nil)
	_ console.AuditWriter   = (*Conversations)(nil)
)

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
func (c *Conversations) OpenConversations(_ context.Context, clinicID string) ([]console.ConversationSummary, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
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
func (c *Conversations) Thread(_ context.Context, clinicID, id string) (console.Thread, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.threads[clinicID][id]
	if !ok {
		return console.Thread{}, console.ErrConversationNotFound
	}
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
	status := "read"
	if r.Reopen {
		status = "sent"
	}
	t.Messages = append(t.Messages, console.Message{At: now, From: "staff", Author: r.Author.Name, Text: r.Text, Status: status})
	t.Open = true
	return nil
}

// Close closes a thread.
func (c *Conversations) Close(_ context.Context, clinicID, id string, _ console.Author) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.threads[clinicID][id]
	if !ok {
		return console.ErrConversationNotFound
	}
	t.Open = false
	c.Closed = append(c.Closed, id)
	return nil
}

// RecordAccess records an audit entry.
func (c *Conversations) RecordAccess(_ context.Context, e console.AuditEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Audits = append(c.Audits, e)
	return nil
}

// Snapshot returns copies of what was recorded.
func (c *Conversations) Snapshot() (replies []console.Reply, audits []console.AuditEntry, closed []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.Replies), slices.Clone(c.Audits), slices.Clone(c.Closed)
}
