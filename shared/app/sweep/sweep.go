// Package sweep builds the reminder sweep, the one place its outreach.Sweeper and
// its waitlist step (waitlist.Sweep) are assembled: the reminder-sweep Lambda, the
// dev stack and the benchmarks all call it.
package sweep

import (
	"context"
	"log/slog"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/app/appstore"
	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/notices"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/waitlist"
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
		outbox = &outreach.PacedOutbox{Outbox: delayed, Pacer: d.Pacer, Clinics: d.Clinics, Clock: d.Clock}
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

// WaitlistStore is what the waitlist step reads and writes (dynamo.Store).
type WaitlistStore interface {
	waitlist.Store
	waitlist.WaveStore
	waitlist.RecipientStore
	waitlist.HoldMarker
	metrics.Store
	GetAppointment(ctx context.Context, clinicID, id string) (appointment.Appointment, []reminder.Reminder, error)
	ListClinics(ctx context.Context, after string, limit int) (dynamo.ClinicPage, error)
}

// WaitlistDeps is what differs between the places the waitlist step runs.
type WaitlistDeps struct {
	Store WaitlistStore
	// Jobs takes offers and answers (the outbound queue); Events the clinics'
	// callbacks (the ehr-outbox queue).
	Jobs   waitlist.JobPublisher
	Events waitlist.Publisher
	Clock  platform.Clock
	Log    *slog.Logger
}

// Bounds of one run's clinic list: the step visits at most maxClinicsPerRun
// clinics a minute, read clinicPage at a time.
const (
	clinicPage       = 100
	maxClinicsPerRun = 2000
)

// NewWaitlist builds the sweep's waitlist step: lapsed holds, then due waves of
// offers, for every clinic (a paged read of the clinics table).
func NewWaitlist(d WaitlistDeps) *waitlist.Sweep {
	send := &waitlist.JobSender{Store: d.Store, Jobs: d.Jobs, Now: d.Clock.Now, Log: d.Log}
	appointments := func(ctx context.Context, clinicID, id string) (appointment.Appointment, error) {
		a, _, err := d.Store.GetAppointment(ctx, clinicID, id)
		return a, err
	}
	holds := &waitlist.Service{Store: d.Store, Events: d.Events, Replies: send, Confirmations: send, Marks: d.Store, Appointments: appointments,
		Now: d.Clock.Now, Log: d.Log}
	waves := &waitlist.Waves{Store: d.Store, Appointments: appointments, OptedOut: send.OptedOut, Offers: send,
		Metrics: app.NewMetrics(d.Store, d.Log, d.Clock), Now: d.Clock.Now, Log: d.Log}
	return &waitlist.Sweep{Holds: holds, Waves: waves, Now: d.Clock.Now,
		Clinics: func(ctx context.Context) ([]clinic.Clinic, error) { return listClinics(ctx, d.Store, d.Log) }}
}

func listClinics(ctx context.Context, store WaitlistStore, log *slog.Logger) ([]clinic.Clinic, error) {
	var out []clinic.Clinic
	cursor := ""
	for {
		page, err := store.ListClinics(ctx, cursor, clinicPage)
		if err != nil {
			return out, err
		}
		out = append(out, page.Clinics...)
		if page.Next == "" {
			return out, nil
		}
		if len(out) >= maxClinicsPerRun {
			if log != nil {
				log.WarnContext(ctx, "waitlist_clinics_truncated", "clinics", len(out))
			}
			return out, nil
		}
		cursor = page.Next
	}
}

// Load builds the minute's schedule from a Lambda's environment: the sweep, the
// dispatch of due notices onto the outbound queue and the waitlist step
// (message.failed and hold callbacks to the EHR outbox); a missing variable ends
// the process.
func Load(a *app.App) *Schedule {
	store := appstore.Load(a)
	outboundURL := a.Env.Required(platform.EnvOutboundQueueURL)
	outboxURL := a.Env.Required(platform.EnvEHROutboxQueueURL)
	if err := a.Env.Err(); err != nil {
		a.Fatal("reminder-sweep: configuration", err)
	}
	client := queue.NewClient(a.AWS)
	outbound := queue.ReminderOutbox{Publisher: queue.NewPublisher(client, outboundURL)}
	events := queue.EventOutbox{Publisher: queue.NewPublisher(client, outboxURL)}
	return &Schedule{
		Sweeper:  New(Deps{Store: store, Outbox: outbound, Pacer: store, Clinics: store, Clock: a.Clock, Log: a.Log}),
		Notices:  NewNotices(store, notices.Queued{Jobs: outbound}, events, a.Clock, a.Log),
		Waitlist: NewWaitlist(WaitlistDeps{Store: store, Jobs: outbound, Events: events, Clock: a.Clock, Log: a.Log}),
		Log:      a.Log,
	}
}
