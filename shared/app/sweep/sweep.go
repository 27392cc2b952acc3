// Package sweep builds the reminder sweep, the one place its outreach.Sweeper is
// assembled: the reminder-sweep Lambda, the dev stack and the benchmarks all call it.
package sweep

import (
	"log/slog"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/app/appstore"
	"github.com/frontdesk-health/frontdesk/shared/notices"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// Store is what the sweep and its reaper read and write.
type Store interface {
	outreach.DueStore
	outreach.ReapStore
}

// Deps is what differs between the places the sweep runs.
type Deps struct {
	Store  Store
	Outbox outreach.Outbox
	// Pacer, when set, lines each clinic's due reminders up in its number's line
	// (outreach.PacedOutbox: each visible when its place comes up); Outbox must then
	// be an outreach.DelayedOutbox, and Clinics gives each clinic's number and rate.
	// The reaper re-enqueues on Outbox directly.
	Pacer   outreach.NumberPacer
	Clinics outreach.ClinicReader
	Clock   platform.Clock
	Log     *slog.Logger
}

// New builds the sweep with the deployed batch size and deadline margin, and the
// reaper that re-enqueues lost jobs after each sweep.
func New(d Deps) *outreach.Sweeper {
	outbox := d.Outbox
	if delayed, ok := d.Outbox.(outreach.DelayedOutbox); ok && d.Pacer != nil {
		// Each clinic's due reminders become visible at its number's rate.
		outbox = outreach.PacedOutbox{Outbox: delayed, Pacer: d.Pacer, Clinics: d.Clinics, Clock: d.Clock}
	}
	return &outreach.Sweeper{
		Store:     d.Store,
		Outbox:    outbox,
		Reaper:    &outreach.Reaper{Store: d.Store, Outbox: d.Outbox, Clock: d.Clock, Logger: d.Log},
		Clock:     d.Clock,
		Logger:    d.Log,
		BatchSize: outreach.DefaultSweepBatch,
		Margin:    outreach.DefaultSweepMargin,
	}
}

// Load builds the minute's schedule from a Lambda's environment: the sweep, and
// the dispatch of due notices onto the outbound queue (message.failed to the EHR
// outbox); a missing variable ends the process.
func Load(a *app.App) *Schedule {
	store := appstore.Load(a)
	outboundURL := a.Env.Required(platform.EnvOutboundQueueURL)
	ehrOutboxURL := a.Env.Required(platform.EnvEHROutboxQueueURL)
	if err := a.Env.Err(); err != nil {
		a.Fatal("reminder-sweep: configuration", err)
	}
	sqsClient := queue.NewClient(a.AWS)
	outbox := queue.ReminderOutbox{Publisher: queue.NewPublisher(sqsClient, outboundURL)}
	return &Schedule{
		Sweeper: New(Deps{
			Store:   store,
			Outbox:  outbox,
			Pacer:   store,
			Clinics: store,
			Clock:   a.Clock,
			Log:     a.Log,
		}),
		Notices: NewNotices(store, notices.Queued{Jobs: outbox},
			queue.EventOutbox{Publisher: queue.NewPublisher(sqsClient, ehrOutboxURL)}, a.Clock, a.Log),
		Log: a.Log,
	}
}
