// Package inbound builds the inbound handler, the one place its inbox.Service is
// assembled: the inbound Lambda, the dev stack and the benchmarks all call it.
package inbound

import (
	"context"
	"log/slog"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/app/appstore"
	"github.com/frontdesk-health/frontdesk/shared/app/conversations"
	"github.com/frontdesk-health/frontdesk/shared/app/sender"
	"github.com/frontdesk-health/frontdesk/shared/inbox"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/notices"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/slot"
	"github.com/frontdesk-health/frontdesk/shared/waitlist"
)

// Store is what the inbound handler reads and writes, the clinics' metrics included.
type Store interface {
	inbox.Store
	inbox.FeedbackStore
	metrics.Store
	notices.TrackerStore
	// The reschedule list and the holds a patient's choice places.
	waitlist.Store
	Slots(ctx context.Context, q slot.Query) (slot.Page, error)
	OfferExpiry(ctx context.Context, clinicID, slotID, appointmentID string) (time.Time, bool, error)
	waitlist.Membership
	// The replies' sending: the sender's store, and the claims that send each once.
	sender.Store
	outreach.Claimer
}

// Deps is what differs between the places the inbound handler runs.
type Deps struct {
	Store     Store
	Events    inbox.Events
	Messenger outreach.Messenger
	// Pacer, when set, makes replies take their number's send budget like the
	// sender's jobs, at MessagesPerSecond (0: the default 80).
	Pacer             outreach.NumberPacer
	MessagesPerSecond int
	// Outbound, when set, takes a reply that must wait (its number's budget booked
	// for the next second, a Graph outage) as a reply job for the sender; nil: the
	// inbound message is retried instead.
	Outbound outreach.Requeuer
	// Conversations records hand-offs and what follows them; nil records none.
	Conversations inbox.Conversations
	// Visibility retries a failed record after the inbox's short backoff; nil:
	// after the queue's visibility timeout.
	Visibility queue.VisibilityChanger
	Clock      platform.Clock
	Log        *slog.Logger
}

// New builds the inbound handler; it counts the clinics' numbers as it goes.
func New(d Deps) *inbox.Service {
	// Replies are reply jobs sent in this process by the sender's own code, so
	// they share its checks, its once-only claim and the number's budget.
	replies := sender.New(sender.Deps{Store: d.Store, Messenger: d.Messenger, Requeue: d.Outbound, Pacer: d.Pacer,
		Claims: d.Store, Clock: d.Clock, Log: d.Log, MessagesPerSecond: float64(d.MessagesPerSecond)})
	return &inbox.Service{Store: d.Store, Events: d.Events, Replies: replies, Conversations: d.Conversations, Visibility: d.Visibility, Clock: d.Clock, Log: d.Log,
		Metrics: app.NewMetrics(d.Store, d.Log, d.Clock), Feedback: d.Store, Slots: newDesk(d),
		Notices: &notices.Tracker{Store: d.Store, Events: d.Events, Clock: d.Clock, Log: d.Log}}
}

// maxListed bounds the free slots read for a reschedule list: the list shows at
// most slot.MaxListedSlots of those that suit the visit.
const maxListed = 100

// newDesk is the reschedule list and the handling of a patient's choice of a
// slot; the inbox answers on its own reply path, inside the window the tap opened.
func newDesk(d Deps) *waitlist.Desk {
	return &waitlist.Desk{
		Service: &waitlist.Service{Store: d.Store, Events: d.Events, Now: d.Clock.Now, Log: d.Log},
		FreeSlots: func(ctx context.Context, clinicID string, from, to time.Time) ([]slot.Slot, error) {
			page, err := d.Store.Slots(ctx, slot.Query{ClinicID: clinicID, From: from, To: to, FreeOnly: true, Limit: maxListed})
			return page.Slots, err
		},
		OfferExpiry: d.Store.OfferExpiry,
		Members:     d.Store,
	}
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
	visibility := queue.NewVisibility(queue.NewClient(a.AWS), a.Env.Required(platform.EnvInboundQueueURL))
	a.Ready()
	return New(Deps{Store: store, Events: events, Messenger: graph, Pacer: store, MessagesPerSecond: mps,
		Outbound: jobs, Conversations: convs, Visibility: visibility, Clock: a.Clock, Log: a.Log})
}
