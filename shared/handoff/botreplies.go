package handoff

import (
	"context"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/thread"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// BotReplyStore is what BotReplies reads and writes (the DynamoDB store).
type BotReplyStore interface {
	BotStore
	GetClinic(ctx context.Context, id string) (clinic.Clinic, error)
}

// BotReplies is the sender's completion hook for reply jobs. The inbox sends its
// replies itself and adds each to the contact's conversation; a reply that had to
// wait (its number's budget booked beyond the next second, a Graph outage) goes
// out later from the outbound queue, and this adds it to the conversation then, so
// staff see what the patient was told either way.
type BotReplies struct {
	Store BotReplyStore
	Clock platform.Clock
}

// Sent adds the reply to the contact's conversation, if it has one.
func (b *BotReplies) Sent(ctx context.Context, job outbound.Job, wamid string) error {
	if job.ContactKey == "" || job.Message == nil {
		return nil
	}
	c, err := b.Store.GetClinic(ctx, job.ClinicID)
	if err != nil {
		return fmt.Errorf("handoff: bot reply: %w", err)
	}
	return botSaid(ctx, b.Store, c, job.ContactKey, BotMessage(*job.Message, wamid, b.Clock.Now()))
}

// Failed records nothing: a reply that never went out is not in the thread.
func (b *BotReplies) Failed(context.Context, outbound.Job, string) error { return nil }

// BotMessage is the thread's copy of a bot reply: its text, or a template's name
// (a template's words are Meta's approved text).
func BotMessage(msg whatsapp.Message, wamid string, at time.Time) thread.Message {
	m := thread.Message{ID: messagelog.ID(wamid), At: at, Type: msg.Type, Status: thread.StatusAccepted, WAMID: wamid}
	switch {
	case msg.Text != nil:
		m.Text = msg.Text.Body
	case msg.Interactive != nil && msg.Interactive.Body != nil:
		m.Text = msg.Interactive.Body.Text
	case msg.Template != nil:
		m.Choice = msg.Template.Name
	}
	return m
}
