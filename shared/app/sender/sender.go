// Package sender builds the reminder sender, the one place its outreach.Sender is
// assembled: the sender Lambda, the dev stack and the benchmarks all call it, and
// the inbound handler builds the one that sends its replies in-process with it.
package sender

import (
	"log/slog"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/app/appstore"
	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/handoff"
	"github.com/frontdesk-health/frontdesk/shared/notices"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// Store is what the sender reads and writes: the reminders and their ledger, the
// template states that hold sends back, and the identities that reach a patient
// without a phone.
type Store interface {
	outreach.SendStore
	outreach.TemplateGate
	outreach.RecipientResolver
}

// Deps is what differs between the places the sender runs.
type Deps struct {
	Store      Store
	Messenger  outreach.Messenger
	Events     outreach.EventPublisher
	Requeue    outreach.Requeuer // nil: deferrals wait on the queue's visibility timeout
	Visibility outreach.Delayer
	Halter     outreach.Halter
	// Pacer, when set, is the numbers' send budget shared by every instance; Claims
	// makes prepared messages (replies, offers, notices) go out once; SlotLookahead
	// lets a job back at its place in its number's line book one of the next
	// windows (see outreach.Sender).
	Pacer         outreach.NumberPacer
	Claims        outreach.Claimer
	SlotLookahead int
	Clock         platform.Clock
	Log           *slog.Logger

	// Pacing; zero values take the sender's defaults (one instance at 80 msg/s,
	// 6 s between messages to one recipient).
	MessagesPerSecond float64
	Concurrency       int
	PairGap           time.Duration
	// TemplateRecheck is how long a send held back by its template's state waits;
	// zero takes the sender's default (the dev stack rechecks sooner).
	TemplateRecheck time.Duration
	// Completions moves each prepared job's origin along with its send (see
	// Completions below); nil: prepared jobs are only sent.
	Completions map[outbound.Kind]outreach.Completion
}

// DeployedSlotLookahead is how many budget windows ahead a job back at its place
// in its number's line may book (at most 750 ms of waiting).
const DeployedSlotLookahead = 3

// New builds the sender; retries end in the DLQ after the outbound queue's maxReceiveCount.
func New(d Deps) *outreach.Sender {
	outboundQueue, _ := queue.Lookup(queue.Outbound)
	return outreach.NewSender(&outreach.Sender{
		Store:             d.Store,
		Messenger:         d.Messenger,
		Events:            d.Events,
		Requeue:           d.Requeue,
		Visibility:        d.Visibility,
		Halter:            d.Halter,
		Pacer:             d.Pacer,
		Claims:            d.Claims,
		Completions:       d.Completions,
		SlotLookahead:     d.SlotLookahead,
		Clock:             d.Clock,
		Logger:            d.Log,
		MessagesPerSecond: d.MessagesPerSecond,
		Concurrency:       d.Concurrency,
		PairGap:           d.PairGap,
		MaxReceiveCount:   outboundQueue.MaxReceiveCount,
		Templates:         d.Store,
		TemplateRecheck:   d.TemplateRecheck,
		Identity:          d.Store,
	})
}

// Load builds the sender from a Lambda's environment; a missing variable ends the
// process. halter builds what stops the sender's own event source mapping.
func Load(a *app.App, halter func(function string) outreach.Halter) *outreach.Sender {
	store := appstore.Load(a)
	outboundURL := a.Env.Required(platform.EnvOutboundQueueURL)
	outboxURL := a.Env.Required(platform.EnvEHROutboxQueueURL)
	function := a.Env.Required(fnspec.EnvFunctionName)
	mps := a.Env.Int(platform.EnvMessagesPerSecond, outreach.DefaultMessagesPerSecond)
	concurrency := a.Env.Int(platform.EnvSenderConcurrency, 1)
	graph := a.WhatsAppClient()
	a.Ready()
	sqsClient := queue.NewClient(a.AWS)
	events := queue.EventOutbox{Publisher: queue.NewPublisher(sqsClient, outboxURL)}
	return New(Deps{
		Store:             store,
		Messenger:         graph,
		Events:            events,
		Completions:       Completions(store, events, a.Clock, a.Log),
		Requeue:           queue.ReminderOutbox{Publisher: queue.NewPublisher(sqsClient, outboundURL)},
		Visibility:        queue.NewVisibility(sqsClient, outboundURL),
		Halter:            halter(function),
		Pacer:             store,
		Claims:            store,
		SlotLookahead:     DeployedSlotLookahead,
		Clock:             a.Clock,
		Log:               a.Log,
		MessagesPerSecond: float64(mps),
		Concurrency:       concurrency,
	})
}

// CompletionStore is what the origins of prepared jobs keep (dynamo.Store).
type CompletionStore interface {
	notices.TrackerStore
	handoff.TrackerStore
	handoff.BotReplyStore
}

// Completions are the origins the sender tells what became of prepared jobs:
// a notice, and a staff message in its thread, follow their jobs; a bot reply sent
// from the queue joins the contact's conversation.
func Completions(store CompletionStore, events outreach.EventPublisher, clock platform.Clock, log *slog.Logger) map[outbound.Kind]outreach.Completion {
	return map[outbound.Kind]outreach.Completion{
		outbound.KindNotice:     &notices.Tracker{Store: store, Events: events, Clock: clock, Log: log},
		outbound.KindStaffReply: &handoff.Tracker{Store: store, Events: events, Clock: clock, Log: log},
		outbound.KindReply:      &handoff.BotReplies{Store: store, Clock: clock},
	}
}
