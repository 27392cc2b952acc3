package outreach

import (
	"context"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// replyLookahead is how far ahead a reply may book its number's budget: a reply
// finding the current window full takes a slot in one of the next windows, one
// further than any queued job may book (maxSlotLookahead), so a reply goes out
// within a second of being written, ahead of the messages still queued.
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

// DelayedOutbox publishes outbound jobs, each visible after its delay
// (queue.ReminderOutbox implements it).
type DelayedOutbox interface {
	EnqueueAfter(ctx context.Context, jobs []outbound.Job, delays []time.Duration) error
}

// ClinicReader reads a clinic's number and budget.
type ClinicReader interface {
	GetClinic(ctx context.Context, id string) (clinic.Clinic, error)
}

// PacedOutbox is the sweep's outbox: it lines each clinic's due reminders up in
// their number's line as it queues them, each visible when its place comes up.
// A clinic with thousands due at once then has them on the queue spread at its
// number's rate, not all visible at once ahead of other clinics' reminders, which
// the sender would otherwise reach only after working through the whole backlog.
type PacedOutbox struct {
	Outbox            DelayedOutbox
	Pacer             NumberPacer
	Clinics           ClinicReader
	MessagesPerSecond int // default rate of a clinic without its own; default 80
	Clock             platform.Clock
}

// Enqueue queues jobs, lined up per clinic. A clinic that cannot be read or lined
// up has its jobs queued at once (the sender paces them anyway), so the sweep never
// holds a reminder back for the pacer's sake.
func (p PacedOutbox) Enqueue(ctx context.Context, jobs []reminder.Job) error {
	clock := p.Clock
	if clock == nil {
		clock = platform.SystemClock{}
	}
	now := clock.Now()
	out := make([]outbound.Job, len(jobs))
	delays := make([]time.Duration, len(jobs))
	byClinic := map[string][]int{}
	var order []string
	for i, j := range jobs {
		out[i] = outbound.FromReminder(j)
		if _, ok := byClinic[j.ClinicID]; !ok {
			order = append(order, j.ClinicID)
		}
		byClinic[j.ClinicID] = append(byClinic[j.ClinicID], i)
	}
	for _, id := range order {
		idx := byClinic[id]
		c, err := p.Clinics.GetClinic(ctx, id)
		if err != nil {
			continue
		}
		rate := c.MessagesPerSecond
		if rate <= 0 {
			rate = p.MessagesPerSecond
		}
		if rate <= 0 {
			rate = DefaultMessagesPerSecond
		}
		spacing := lineSpacing(rate)
		first, err := p.Pacer.TakeQueueSlots(ctx, c.PhoneNumberID, now, spacing, len(idx))
		if err != nil {
			continue
		}
		for k, i := range idx {
			delays[i] = min(max(first.Add(time.Duration(k)*spacing).Sub(now), 0), MaxRequeueDelay)
			// It waited for its place: if the budget is spent when it arrives it comes
			// back within seconds rather than joining the end of the line.
			out[i].Paced = delays[i] > 0
		}
	}
	return p.Outbox.EnqueueAfter(ctx, out, delays)
}
