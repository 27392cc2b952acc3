// Command inbound is the Lambda that consumes the inbound queue (verified WhatsApp
// webhook payloads): answers, consent, hand-offs and delivery statuses. Wiring only.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/inbox"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

func main() {
	a, err := app.Load(context.Background())
	if err != nil {
		panic(err)
	}
	lambda.Start(newService(a).Handle)
}

func newService(a *app.App) *inbox.Service {
	events := queue.EventOutbox{Publisher: a.Publisher(platform.EnvEHROutboxQueueURL)}
	graph := a.WhatsAppClient()
	a.Ready()
	// Replies take their number's send budget like the sender's jobs.
	paced := outreach.PacedMessenger{Messenger: graph, Pacer: a.Store, Clock: a.Clock,
		MessagesPerSecond: a.Env.Int(platform.EnvMessagesPerSecond, outreach.DefaultMessagesPerSecond)}
	return &inbox.Service{Store: a.Store, Events: events, Messenger: paced, Clock: a.Clock, Log: a.Log}
}
