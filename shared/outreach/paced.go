package outreach

import (
	"context"
	"errors"
	"sync"
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
//
// SQS delays are whole seconds, so a job queued with its place's delay would
// become visible up to a second early, every job of a second of the line in the
// same instant (the instant of its Enqueue call); the senders would then hold the
// whole second's jobs at once, each waiting in a sender instance for its window,
// while other clinics' jobs wait for an instance. So a job whose place is a second
// or more ahead is handed to the queue later by the fraction of a second that
// brings it at its place (within a budget window after it): Enqueue queues the
// rest and returns, and Settle waits for those hand-overs. Use it by pointer.
type PacedOutbox struct {
	Outbox            DelayedOutbox
	Pacer             NumberPacer
	Clinics           ClinicReader
	MessagesPerSecond int // default rate of a clinic without its own; default 80
	Clock             platform.Clock
	// After runs f after d (a timed hand-over); default time.AfterFunc. Tests run
	// the hand-overs themselves.
	After func(d time.Duration, f func())

	pending sync.WaitGroup
	mu      sync.Mutex
	failed  []reminder.Job
	errs    []error
}

// Settler is an Outbox that may still be handing jobs to the queue after Enqueue
// returned (PacedOutbox). Settle waits for it and answers the jobs that could not
// be queued, with why; the caller puts them back as it does after a failed Enqueue.
type Settler interface {
	Settle(ctx context.Context) ([]reminder.Job, error)
}

// Enqueue queues jobs, lined up per clinic. A clinic that cannot be read or lined
// up has its jobs queued at once (the sender paces them anyway), so the sweep never
// holds a reminder back for the pacer's sake. An error means none of the jobs were
// handed over; those timed for later are reported by Settle if they fail.
func (p *PacedOutbox) Enqueue(ctx context.Context, jobs []reminder.Job) error {
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
			place := first.Add(time.Duration(k) * spacing)
			delays[i] = min(max(place.Sub(now), 0), MaxRequeueDelay)
			// It waited for its place: if the budget is spent when it arrives it goes
			// back to the end of the line. One due within the second is queued at once
			// and may wait in the sender for one of the next windows (SlotLookahead); one
			// handed over at its place's window does not wait (see Sender.takeBudget).
			out[i].Paced = delays[i] > 0
			if delays[i] >= time.Second && delays[i] < MaxRequeueDelay {
				out[i].Place = place
			}
		}
	}
	// Jobs due within the second go now; the others in one hand-over per budget
	// window of their places, timed so that SQS's whole-second delay makes each
	// visible as its place's window opens.
	var nowJobs []outbound.Job
	var nowDelays []time.Duration
	later := map[time.Time]*handover{}
	var windows []time.Time
	for i, d := range delays {
		if out[i].Place.IsZero() {
			nowJobs, nowDelays = append(nowJobs, out[i]), append(nowDelays, d)
			continue
		}
		w := outbound.WindowStart(out[i].Place)
		h := later[w]
		if h == nil {
			h = &handover{}
			h.off, h.delay = handoverAt(now, w)
			later[w] = h
			windows = append(windows, w)
		}
		h.jobs = append(h.jobs, out[i])
	}
	if len(nowJobs) > 0 {
		if err := p.Outbox.EnqueueAfter(ctx, nowJobs, nowDelays); err != nil {
			return err
		}
	}
	after := p.After
	if after == nil {
		after = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
	}
	bg := context.WithoutCancel(ctx)
	for _, w := range windows {
		h := later[w]
		p.pending.Add(1)
		delays := make([]time.Duration, len(h.jobs))
		for i := range delays {
			delays[i] = h.delay
		}
		after(h.off, func() {
			defer p.pending.Done()
			if err := p.Outbox.EnqueueAfter(bg, h.jobs, delays); err != nil {
				p.mu.Lock()
				defer p.mu.Unlock()
				for _, j := range h.jobs {
					p.failed = append(p.failed, j.Job)
				}
				p.errs = append(p.errs, err)
			}
		})
	}
	return nil
}

// Settle waits for the hand-overs Enqueue timed for later and answers the jobs
// that could not be queued.
func (p *PacedOutbox) Settle(context.Context) ([]reminder.Job, error) {
	p.pending.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	failed, err := p.failed, errors.Join(p.errs...)
	p.failed, p.errs = nil, nil
	return failed, err
}

// handover is the jobs of one budget window handed to the queue together: after
// off, with the whole-second delay that makes them visible as the window opens.
type handover struct {
	off, delay time.Duration
	jobs       []outbound.Job
}

// handoverAt splits the time from now until window into a hand-over offset under
// a second and the whole-second delay to queue with then.
func handoverAt(now, window time.Time) (off, delay time.Duration) {
	d := max(window.Sub(now), 0)
	delay = d.Truncate(time.Second)
	return d - delay, delay
}
