package outreach

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// ReapStore is what the reaper needs from storage (the DynamoDB store implements it).
type ReapStore interface {
	Shards() int
	StalledReminders(ctx context.Context, shard int, before time.Time, limit int, startAfter *reminder.Cursor) ([]reminder.Reminder, *reminder.Cursor, error)
	MarkReaped(ctx context.Context, r reminder.Reminder, next time.Time) error
}

// Reaper defaults.
const (
	// DefaultReapGrace is how far past its next attempt time (or lease end) a queued
	// or sending reminder must be before its job is presumed lost. It is longer than
	// a sender takes to drain a normal queue, so a job merely waiting its turn is
	// rarely enqueued twice (and if it is, the send claim makes the copy harmless).
	DefaultReapGrace = 5 * time.Minute
	// maxReapSpacing bounds how long a reminder that keeps stalling (no sender is
	// consuming: a halted sender) waits between re-enqueues, so a copy of its job is
	// always well inside the queue's retention when the sender resumes.
	maxReapSpacing = 6 * time.Hour
	reapPage       = 100
)

// Reaper re-enqueues reminders whose job was lost: a sweep stopped between
// MarkQueued and the enqueue, a sender that died holding a claim or failed to
// record a send, a message that outlived the queue's retention while the sender
// was halted. They are found through the sparse next-attempt index (queued and
// sending reminders only), not a scan. A reminder deferred on purpose (quiet hours,
// a paused clinic, an outage backoff) has a future next attempt time and is left
// alone. Each stalled reminder is enqueued once per stall: MarkReaped, conditional
// on the next attempt time it was listed with, moves that time forward, doubling the
// spacing while the reminder keeps stalling.
type Reaper struct {
	Store  ReapStore
	Outbox Outbox
	Clock  platform.Clock
	Logger *slog.Logger
	Grace  time.Duration // default DefaultReapGrace
}

// ReapStats describes one reaper run.
type ReapStats struct {
	Stalled  int // listed as past their next attempt time by more than the grace
	Requeued int // enqueued again
	Lost     int // moved on (claimed, sent, another reaper) since they were listed
}

// Reap enqueues a new job for every stalled reminder.
func (r *Reaper) Reap(ctx context.Context) (ReapStats, error) {
	var st ReapStats
	clock := r.Clock
	if clock == nil {
		clock = platform.SystemClock{}
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	grace := r.Grace
	if grace <= 0 {
		grace = DefaultReapGrace
	}
	now := clock.Now()
	var errs []error
	var jobs []reminder.Job
	flush := func() {
		if len(jobs) == 0 {
			return
		}
		// Enqueue failing leaves the reminders marked: they stall again and are found
		// again after the spacing, so nothing needs undoing.
		if err := r.Outbox.Enqueue(context.WithoutCancel(ctx), jobs); err != nil {
			errs = append(errs, fmt.Errorf("outreach: reap: enqueue %d jobs: %w", len(jobs), err))
		} else {
			st.Requeued += len(jobs)
		}
		jobs = jobs[:0]
	}
	for shard := range r.Store.Shards() {
		var cursor *reminder.Cursor
		for {
			if ctx.Err() != nil {
				errs = append(errs, fmt.Errorf("outreach: reap: %w", ctx.Err()))
				break
			}
			stalled, next, err := r.Store.StalledReminders(ctx, shard, now.Add(-grace), reapPage, cursor)
			if err != nil {
				errs = append(errs, fmt.Errorf("outreach: reap shard %d: %w", shard, err))
				break
			}
			for _, rem := range stalled {
				st.Stalled++
				err := r.Store.MarkReaped(ctx, rem, now.Add(reapSpacing(rem.Reaps, grace)))
				if errors.Is(err, fault.ErrConflict) {
					st.Lost++
					continue
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("outreach: reap %s: %w", reminderID(rem), err))
					continue
				}
				log.LogAttrs(ctx, slog.LevelWarn, "reaper.requeued", reminderAttrs(rem,
					slog.String("state", string(rem.State)), slog.Int("reaps", rem.Reaps+1),
					slog.Int64("stalled_ms", now.Sub(rem.NextAttemptAt).Milliseconds()))...)
				jobs = append(jobs, reminder.Job{ClinicID: rem.ClinicID, AppointmentID: rem.AppointmentID, Kind: rem.Kind,
					Generation: rem.Generation, DueAt: rem.DueAt})
				if len(jobs) == DefaultSweepBatch {
					flush()
				}
			}
			if next == nil {
				break
			}
			cursor = next
		}
	}
	flush()
	platform.Metric(ctx, log, clock, platform.MetricRemindersReaped, float64(st.Requeued), "Count")
	return st, errors.Join(errs...)
}

// reapSpacing is how long after a re-enqueue the reminder's next attempt time is
// set: at once for the first (found again after the grace if that job is lost too),
// then doubling, so a reminder nobody consumes is re-enqueued a handful of times a
// day rather than every few minutes.
func reapSpacing(reaps int, grace time.Duration) time.Duration {
	d := time.Duration(0)
	step := grace
	for range reaps {
		d += step
		step *= 2
		if d >= maxReapSpacing {
			return maxReapSpacing
		}
	}
	return d
}
