package outreach

import (
	"context"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

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
