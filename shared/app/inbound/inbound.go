// Package inbound builds the inbound handler, the one place its inbox.Service is
// assembled: the inbound Lambda, the dev stack and the benchmarks all call it.
package inbound

import (
	"log/slog"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/app/appstore"
	"github.com/frontdesk-health/frontdesk/shared/app/conversations"
	"github.com/frontdesk-health/frontdesk/shared/inbox"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/notices"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// Store is what the inbound handler reads and writes, the clinics' metrics included.
type Store interface {
	inbox.Store
	inbox.FeedbackStore
	metrics.Store
	notices.TrackerStore
}

// Deps is what differs between the places the inbound handler runs.
type Deps struct {
	Store     Store
	Events    inbox.Events
	Messenger inbox.Messenger
	// Pacer, when set, makes replies take their number's send budget like the
	// sender's jobs, at MessagesPerSecond (0: the default 80).
	Pacer             outreach.NumberPacer
	MessagesPerSecond int
	// Conversations records hand-offs and what follows them; nil records none.
	Conversations inbox.Conversations
	Clock         platform.Clock
	Log           *slog.Logger
}

// New builds the inbound handler; it counts the clinics' numbers as it goes.
func New(d Deps) *inbox.Service {
	messenger := d.Messenger
	if d.Pacer != nil {
		messenger = outreach.PacedMessenger{Messenger: d.Messenger, Pacer: d.Pacer, Clock: d.Clock,
			MessagesPerSecond: d.MessagesPerSecond}
	}
	return &inbox.Service{Store: d.Store, Events: d.Events, Messenger: messenger, Conversations: d.Conversations, Clock: d.Clock, Log: d.Log,
		Metrics: app.NewMetrics(d.Store, d.Log, d.Clock), Feedback: d.Store,
		Notices: &notices.Tracker{Store: d.Store, Events: d.Events, Clock: d.Clock, Log: d.Log}}
}

// Load builds the inbound handler from a Lambda's environment; a missing variable
// ends the process.
func Load(a *app.App) *inbox.Service {
	store := appstore.Load(a)
	events := queue.EventOutbox{Publisher: queue.NewPublisher(queue.NewClient(a.AWS), a.Env.Required(platform.EnvEHROutboxQueueURL))}
	mps := a.Env.Int(platform.EnvMessagesPerSecond, outreach.DefaultMessagesPerSecond)
	graph := a.WhatsAppClient()
	// A staff text that waited for the patient goes out as a staff_reply job.
	jobs := queue.ReminderOutbox{Publisher: queue.NewPublisher(queue.NewClient(a.AWS), a.Env.Required(platform.EnvOutboundQueueURL))}
	convs := conversations.Load(a, store, jobs)
	a.Ready()
	return New(Deps{Store: store, Events: events, Messenger: graph, Pacer: store, MessagesPerSecond: mps,
		Conversations: convs, Clock: a.Clock, Log: a.Log})
}
