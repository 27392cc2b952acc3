package console

import (
	"context"
	"errors"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/handoff"
	"github.com/frontdesk-health/frontdesk/shared/thread"
)

// Handoff is the conversation service (shared/handoff) as the console uses it. The
// service writes the audit trail; the actor it records is the staff member's name
// with their identity provider subject, so two people of one name stay apart.
type Handoff struct {
	Service *handoff.Service
	Clinics ClinicReader
}

var _ Conversations = (*Handoff)(nil)

// maxPages bounds how much of a long list or thread one page view reads.
const maxPages = 10

func actor(by Author) string { return "staff:" + by.Name + " (" + by.Subject + ")" }

func mapErr(err error) error {
	switch {
	case errors.Is(err, thread.ErrNotFound):
		return ErrConversationNotFound
	case errors.Is(err, handoff.ErrWindowClosed):
		return ErrWindowClosed
	case errors.Is(err, handoff.ErrOptedOut):
		return ErrOptedOut
	case errors.Is(err, handoff.ErrReopenPending):
		return ErrReopenPending
	}
	return err
}

func summary(c thread.Conversation) ConversationSummary {
	return ConversationSummary{ID: c.ID, PatientName: c.GivenName, Reason: c.Reason, Urgent: c.Urgency == thread.Urgent,
		LastMessageAt: c.LastMessageAt, Unread: c.Unread, WindowUntil: c.WindowOpenUntil()}
}

// OpenConversations lists the clinic's open conversations.
func (h *Handoff) OpenConversations(ctx context.Context, clinicID string, by Author) ([]ConversationSummary, error) {
	var out []ConversationSummary
	cursor, step := "", 0
	for range maxPages {
		page, next, err := h.Service.List(ctx, clinicID, actor(by), []thread.State{thread.Open}, step, cursor, 100)
		if err != nil {
			return nil, mapErr(err)
		}
		for _, c := range page.Items {
			out = append(out, summary(c))
		}
		if page.Next == "" {
			break
		}
		cursor, step = page.Next, next
	}
	return out, nil
}

func (h *Handoff) clinic(ctx context.Context, id string) (clinic.Clinic, error) {
	return h.Clinics.GetClinic(ctx, id)
}

// Thread reads a conversation and its messages (the service audits the read).
func (h *Handoff) Thread(ctx context.Context, clinicID, id string, by Author) (Thread, error) {
	c, err := h.clinic(ctx, clinicID)
	if err != nil {
		return Thread{}, err
	}
	var t Thread
	cursor := ""
	for range maxPages {
		conv, page, err := h.Service.Thread(ctx, c, actor(by), id, cursor, 200)
		if err != nil {
			return Thread{}, mapErr(err)
		}
		t.ConversationSummary, t.Open = summary(conv), conv.State == thread.Open
		for _, m := range page.Items {
			text := m.Text
			if text == "" {
				text = m.Choice
			}
			t.Messages = append(t.Messages, Message{At: m.At, From: string(m.Author), Author: m.AuthorName, Text: text, Status: m.Status})
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	return t, nil
}

// Reply sends a staff reply: free text, or the reopen template outside the window.
func (h *Handoff) Reply(ctx context.Context, clinicID, id string, r Reply) error {
	c, err := h.clinic(ctx, clinicID)
	if err != nil {
		return err
	}
	tr := thread.Reply{Text: r.Text, Author: r.Author.Name}
	if r.Reopen {
		tr.Template = thread.TemplateReopen
	}
	_, err = h.Service.Reply(ctx, c, actor(r.Author), id, tr)
	return mapErr(err)
}

// Close closes a conversation.
func (h *Handoff) Close(ctx context.Context, clinicID, id string, by Author) error {
	c, err := h.clinic(ctx, clinicID)
	if err != nil {
		return err
	}
	_, err = h.Service.Close(ctx, c, actor(by), id)
	return mapErr(err)
}
