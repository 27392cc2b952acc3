// Package outreach holds the application services that get reminders out: the
// sweep (due reminders → outbound queue) and the sender (outbound queue → Graph API).
// It depends on storage, queues and WhatsApp only through the small interfaces it
// declares, so the services are tested against the local servers and a Graph API
// stand-in without any Lambda runtime.
package outreach

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// DueStore is what the sweep needs from storage (the DynamoDB store implements it).
type DueStore interface {
	Shards() int
	DueReminders(ctx context.Context, shard int, now time.Time, limit int, startAfter *reminder.Cursor) ([]reminder.Reminder, *reminder.Cursor, error)
	MarkQueued(ctx context.Context, r reminder.Reminder) error
	UnmarkQueued(ctx context.Context, r reminder.Reminder) error
	AdvanceReminder(ctx context.Context, clinicID, appointmentID string, kind reminder.Kind, to reminder.State, u reminder.Update) (bool, error)
}

// Outbox puts reminder jobs on the outbound queue (queue.ReminderOutbox implements it).
type Outbox interface {
	Enqueue(ctx context.Context, jobs []reminder.Job) error
}

// Reasons recorded on reminders the sender decided not to send, besides those of
// package reminder (past_visit, superseded_by_next_reminder, appointment_<status> ...).
// They are stable: the API shows them and dashboards count them.
const (
	ReasonOptedOut  = "opted_out"  // the patient opted out
	ReasonNoConsent = "no_consent" // no opt-in on record
	ReasonMoved     = "moved"      // the job was planned for an earlier start time (logged only)
	ReasonNoPatient = "no_patient" // the patient record is missing
	ReasonNoPhone   = "no_phone"   // the patient has no usable WhatsApp number
	// ReasonRetriesExhausted: every retry failed; the job is in the outbound DLQ.
	ReasonRetriesExhausted = "retries_exhausted"
	// ReasonPatientCancelled: the patient asked to cancel this visit.
	ReasonPatientCancelled = "patient_requested_cancel"
	// ReasonExpired: failed sends (a WhatsApp outage) held the reminder back until
	// it was no longer useful; the clinic gets message.failed with this reason.
	ReasonExpired = "expired"
)

// Sweep defaults.
const (
	DefaultSweepBatch  = 10 // SQS SendMessageBatch maximum
	DefaultSweepMargin = 3 * time.Second
	// sweepPage is how many due reminders one index query returns; pages are marked
	// with bounded parallelism so a large backlog drains within one invocation.
	sweepPage        = 100
	sweepParallelism = 8
)

// Sweeper moves due reminders from the sparse due index onto the outbound queue.
//
// Correctness rests on the index, not on the sweep: a reminder is in the index
// exactly while it is scheduled, MarkQueued is a conditional write that only one
// concurrent sweep can win, and a reminder that could not be enqueued is put back
// with UnmarkQueued. So overlapping sweeps enqueue each reminder once, a missed or
// stopped sweep leaves its work in the index for the next one, and the cost of a
// sweep grows with the number of due reminders, not with the number of appointments.
//
// A process that dies between MarkQueued and Enqueue, or before an outbox's timed
// hand-overs (PacedOutbox; the sweep settles them, and stops Margin before its
// deadline to make that unlikely) leaves the reminder queued but not on the queue; MarkQueued lists it in the next-attempt index as expected at once, so the
// Reaper enqueues it a few minutes later.
type Sweeper struct {
	Store     DueStore
	Outbox    Outbox
	Clock     platform.Clock
	Logger    *slog.Logger
	BatchSize int           // jobs per Enqueue call; default and maximum 10
	Margin    time.Duration // stop this long before the context deadline; default 3 s
	// Reaper, when set, runs after each sweep: the same schedule finds lost jobs.
	Reaper *Reaper
}

// SweepStats describes one sweep.
type SweepStats struct {
	Due      int  // due reminders read from the index
	Enqueued int  // put on the outbound queue
	Skipped  int  // no longer useful: recorded as skipped
	Lost     int  // another sweep (or a change of plan) got there first
	Requeued int  // enqueue failed: put back in the index for the next sweep
	Stopped  bool // stopped before the deadline; the next sweep continues
	Duration time.Duration
	// Lag is how late the most overdue enqueued reminder was (0 when none): the
	// dashboard's sweep lag, alarmed on.
	Lag time.Duration
	// Reaped counts reminders the reaper enqueued again (their job was lost).
	Reaped int
}

// Handle is the Lambda entry point for the EventBridge schedule. A returned error
// makes EventBridge/Lambda retry the invocation, which is safe: the sweep is idempotent.
func (s *Sweeper) Handle(ctx context.Context, ev events.CloudWatchEvent) error {
	st, err := s.Sweep(ctx)
	attrs := []slog.Attr{
		slog.String("event_id", ev.ID), slog.Int("due", st.Due), slog.Int("enqueued", st.Enqueued),
		slog.Int("skipped", st.Skipped), slog.Int("lost", st.Lost), slog.Int("requeued", st.Requeued),
		slog.Bool("stopped", st.Stopped), slog.Int64("duration_ms", st.Duration.Milliseconds()),
		slog.Int("reaped", st.Reaped),
	}
	if !ev.Time.IsZero() {
		// How late this sweep ran against its schedule: the "sweep lag" dashboard metric.
		attrs = append(attrs, slog.Int64("lag_ms", s.clock().Now().Sub(ev.Time).Milliseconds()))
	}
	if err != nil {
		s.logger().LogAttrs(ctx, slog.LevelError, "sweep.failed", append(attrs, slog.String("error", err.Error()))...)
		return err
	}
	s.logger().LogAttrs(ctx, slog.LevelInfo, "sweep.done", attrs...)
	return nil
}

func (s *Sweeper) clock() platform.Clock {
	if s.Clock == nil {
		return platform.SystemClock{}
	}
	return s.Clock
}

func (s *Sweeper) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Sweep enqueues every reminder due now, shard by shard, until done or until the
// context's deadline minus Margin. Errors of one shard do not stop the others; all
// are returned together.
func (s *Sweeper) Sweep(ctx context.Context) (SweepStats, error) {
	clock := s.clock()
	start := clock.Now()
	// One "now" for the whole sweep: reminders falling due while it runs belong to
	// the next sweep, which keeps a sweep's work bounded.
	now := start
	batch := s.BatchSize
	if batch <= 0 || batch > DefaultSweepBatch {
		batch = DefaultSweepBatch
	}
	margin := s.Margin
	if margin == 0 {
		margin = DefaultSweepMargin
	}
	// The invocation's deadline is wall clock; it is turned into a budget once and
	// measured on the injected clock from then on, so tests drive it with a fake clock.
	deadline, hasDeadline := ctx.Deadline()
	stopAt := start.Add(time.Until(deadline) - margin)
	mustStop := func() bool { return hasDeadline && !clock.Now().Before(stopAt) }

	run := &sweepRun{s: s, now: now, batch: batch}
	var errs []error
	n := s.Store.Shards()
	// Start at a different shard each minute so that, under a backlog larger than one
	// sweep can drain, every shard still gets its turn first.
	first := int(start.Unix()/60) % max(n, 1)
shards:
	for k := 0; k < n; k++ {
		shard := (first + k) % n
		var cursor *reminder.Cursor
		for {
			if ctx.Err() != nil {
				errs = append(errs, fmt.Errorf("outreach: sweep: %w", ctx.Err()))
				break shards
			}
			if mustStop() {
				run.stats.Stopped = true
				break shards
			}
			due, next, err := s.Store.DueReminders(ctx, shard, now, sweepPage, cursor)
			if err != nil {
				errs = append(errs, fmt.Errorf("outreach: sweep shard %d: %w", shard, err))
				break
			}
			if err := run.page(ctx, due); err != nil {
				errs = append(errs, fmt.Errorf("outreach: sweep shard %d: %w", shard, err))
			}
			if next == nil {
				break
			}
			cursor = next
		}
	}
	// The marked remainder goes out even when the context is done: marked but not
	// enqueued would strand it (enqueue puts it back in the index on failure).
	if err := run.flush(context.WithoutCancel(ctx)); err != nil {
		errs = append(errs, fmt.Errorf("outreach: sweep: %w", err))
	}
	if err := run.settle(context.WithoutCancel(ctx)); err != nil {
		errs = append(errs, fmt.Errorf("outreach: sweep: %w", err))
	}
	if s.Reaper != nil && !run.stats.Stopped {
		rs, err := s.Reaper.Reap(ctx)
		run.stats.Reaped = rs.Requeued
		if err != nil {
			errs = append(errs, err)
		}
	}
	run.stats.Duration = clock.Now().Sub(start)
	log := s.logger()
	platform.Metric(ctx, log, clock, platform.MetricRemindersEnqueued, float64(run.stats.Enqueued), "Count")
	platform.Seconds(ctx, log, clock, platform.MetricSweepLag, run.stats.Lag)
	return run.stats, errors.Join(errs...)
}

type sweepRun struct {
	s     *Sweeper
	now   time.Time
	batch int

	pending []reminder.Reminder // marked, waiting to fill a batch

	mu    sync.Mutex
	stats SweepStats
}

func (r *sweepRun) count(f func(*SweepStats)) { r.mu.Lock(); f(&r.stats); r.mu.Unlock() }

// page handles one page of due reminders: each is skipped or marked queued (in
// parallel, the writes are independent), then the marked ones are enqueued in
// batches. A page is finished before the deadline is looked at again, and the
// remainder is flushed when the sweep stops, so a stop never leaves a reminder
// marked but not enqueued.
func (r *sweepRun) page(ctx context.Context, due []reminder.Reminder) error {
	r.count(func(st *SweepStats) { st.Due += len(due) })
	marked := make([]reminder.Reminder, 0, len(due))
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, sweepParallelism)
	)
	for _, rem := range due {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ok, err := r.claim(ctx, rem)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				marked = append(marked, rem)
			}
		}()
	}
	wg.Wait()
	// Full batches go out now; a remainder waits for the next page (of any shard) so
	// batches stay full. flush sends it at the end of the sweep.
	r.pending = append(r.pending, marked...)
	for len(r.pending) >= r.batch {
		if err := r.enqueue(ctx, r.pending[:r.batch]); err != nil {
			errs = append(errs, err)
		}
		r.pending = r.pending[r.batch:]
	}
	return errors.Join(errs...)
}

// flush enqueues what is left over from the last pages.
func (r *sweepRun) flush(ctx context.Context) error {
	if len(r.pending) == 0 {
		return nil
	}
	err := r.enqueue(ctx, r.pending)
	r.pending = nil
	return err
}

// claim decides one due reminder: skipped when it is no longer useful, else marked
// queued. ok reports that this sweep owns it and must enqueue it.
func (r *sweepRun) claim(ctx context.Context, rem reminder.Reminder) (ok bool, err error) {
	log := r.s.logger()
	if reason := reminder.SkipReason(rem, r.now); reason != "" {
		// Sent late only while still useful: past its window (the next reminder's due
		// time, the visit start) it is recorded as skipped, never sent.
		moved, err := r.s.Store.AdvanceReminder(ctx, rem.ClinicID, rem.AppointmentID, rem.Kind,
			reminder.StateSkipped, reminder.Update{Reason: reason, Generation: rem.Generation})
		if err != nil {
			return false, fmt.Errorf("skip reminder %s: %w", reminderID(rem), err)
		}
		if moved {
			r.count(func(st *SweepStats) { st.Skipped++ })
			log.LogAttrs(ctx, slog.LevelInfo, "sweep.skipped", reminderAttrs(rem, slog.String("reason", reason))...)
		} else {
			r.count(func(st *SweepStats) { st.Lost++ })
		}
		return false, nil
	}
	if err := r.s.Store.MarkQueued(ctx, rem); err != nil {
		if errors.Is(err, fault.ErrConflict) {
			// A concurrent sweep marked it first, or the plan changed since the index
			// read: either way this sweep must not enqueue it.
			r.count(func(st *SweepStats) { st.Lost++ })
			return false, nil
		}
		return false, fmt.Errorf("mark queued %s: %w", reminderID(rem), err)
	}
	return true, nil
}

func (r *sweepRun) enqueue(ctx context.Context, rems []reminder.Reminder) error {
	jobs := make([]reminder.Job, len(rems))
	for i, rem := range rems {
		jobs[i] = reminder.Job{ClinicID: rem.ClinicID, AppointmentID: rem.AppointmentID, Kind: rem.Kind,
			Generation: rem.Generation, DueAt: rem.DueAt}
	}
	err := r.s.Outbox.Enqueue(ctx, jobs)
	if err == nil {
		r.count(func(st *SweepStats) {
			st.Enqueued += len(jobs)
			for _, j := range jobs {
				st.Lag = max(st.Lag, r.now.Sub(j.DueAt))
			}
		})
		return nil
	}
	return errors.Join(append([]error{fmt.Errorf("enqueue %d jobs: %w", len(jobs), err)}, r.putBack(ctx, rems)...)...)
}

// putBack puts reminders that did not reach the queue back in the index so the next
// sweep tries again. Some may have reached it; the sender's ClaimSend (queued only)
// ignores those. The write must outlive a cancelled context, or the reminders would
// be stranded.
func (r *sweepRun) putBack(ctx context.Context, rems []reminder.Reminder) []error {
	bg := context.WithoutCancel(ctx)
	var errs []error
	for _, rem := range rems {
		switch uerr := r.s.Store.UnmarkQueued(bg, rem); {
		case uerr == nil:
			r.count(func(st *SweepStats) { st.Requeued++ })
		case errors.Is(uerr, fault.ErrConflict):
			// Already past queued: a copy that did reach the queue is being sent.
		default:
			errs = append(errs, fmt.Errorf("unmark queued %s: %w", reminderID(rem), uerr))
		}
	}
	return errs
}

// settle waits for the jobs an outbox hands to the queue after Enqueue returned
// (PacedOutbox's timed hand-overs) and puts back those it could not queue.
func (r *sweepRun) settle(ctx context.Context) error {
	s, ok := r.s.Outbox.(Settler)
	if !ok {
		return nil
	}
	failed, err := s.Settle(ctx)
	if len(failed) == 0 {
		return err
	}
	rems := make([]reminder.Reminder, len(failed))
	for i, j := range failed {
		rems[i] = reminder.Reminder{ClinicID: j.ClinicID, AppointmentID: j.AppointmentID, Kind: j.Kind,
			Generation: j.Generation, DueAt: j.DueAt}
	}
	r.count(func(st *SweepStats) { st.Enqueued -= len(failed) })
	return errors.Join(append([]error{fmt.Errorf("enqueue %d jobs: %w", len(failed), err)}, r.putBack(ctx, rems)...)...)
}

func reminderID(r reminder.Reminder) string {
	return r.ClinicID + "/" + r.AppointmentID + "/" + string(r.Kind)
}

func reminderAttrs(r reminder.Reminder, extra ...slog.Attr) []slog.Attr {
	return append([]slog.Attr{
		slog.String("clinic_id", r.ClinicID), slog.String("appointment_id", r.AppointmentID),
		slog.String("kind", string(r.Kind)),
	}, extra...)
}
