package outreach

import (
	"context"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// replyLookahead is how far ahead a reply may book its number's budget: a reply
// finding the current window full takes a slot in one of the next windows, which
// no queued job can hold yet (jobs take only the window they run in), so a reply
// goes out within a second of being written, ahead of every queued message.
const replyLookahead = 4

// PacedMessenger sends the inbound service's replies within the same per-number
// budget as the sender's jobs: the patient's reply takes a slot of its number's
// budget like every other send, so replies and reminders together never exceed it.
type PacedMessenger struct {
	Messenger Messenger
	Pacer     interface {
		TakeSendSlot(ctx context.Context, phoneNumberID string, window time.Time, ceiling int) (bool, error)
	}
	// MessagesPerSecond is the numbers' budget (default 80). A clinic granted more
	// still gets at most this for its replies: fewer, never more, than it may send.
	MessagesPerSecond int
	Clock             platform.Clock
	// Wait waits d for the booked window to open; nil: a timer. Tests on a fake
	// clock advance it instead.
	Wait func(ctx context.Context, d time.Duration) error
}

// ErrNoBudget is returned when a number's budget is booked for the next second;
// whatsapp.Classify reports it as throughput, so the reply is retried.
var ErrNoBudget = &whatsapp.APIError{Code: whatsapp.CodeThroughput, Message: "frontdesk: the number's send budget is booked for the next second"}

// Send books the first window with room among the current one and the next few,
// waits for it to open (at most a second), and sends.
func (p PacedMessenger) Send(ctx context.Context, phoneNumberID string, msg whatsapp.Message) (string, error) {
	clock := p.Clock
	if clock == nil {
		clock = platform.SystemClock{}
	}
	rate := p.MessagesPerSecond
	if rate <= 0 {
		rate = DefaultMessagesPerSecond
	}
	now := clock.Now()
	w := outbound.WindowStart(now)
	for range replyLookahead + 1 {
		ok, err := p.Pacer.TakeSendSlot(ctx, phoneNumberID, w, outbound.Ceiling(rate, outbound.PriorityReply))
		if err != nil {
			return "", fmt.Errorf("outreach: pace reply: %w", err)
		}
		if ok {
			if wait := w.Sub(clock.Now()); wait > 0 {
				if err := p.wait(ctx, wait); err != nil {
					return "", err
				}
			}
			return p.Messenger.Send(ctx, phoneNumberID, msg)
		}
		w = w.Add(outbound.Window)
	}
	return "", ErrNoBudget
}

func (p PacedMessenger) wait(ctx context.Context, d time.Duration) error {
	if p.Wait != nil {
		return p.Wait(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
