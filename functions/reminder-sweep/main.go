// Command reminder-sweep is the Lambda EventBridge runs every minute: it moves due
// reminders from the sparse due index onto the outbound queue. Wiring only.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

var (
	_ outreach.Outbox        = queue.ReminderOutbox{}
	_ outreach.DelayedOutbox = queue.ReminderOutbox{}
)

func main() {
	a, err := app.Load(context.Background())
	if err != nil {
		panic(err) // no logger config yet: the runtime reports the init failure
	}
	lambda.Start(newSweeper(a).Handle)
}

// newSweeper is main's wiring; the tests run the handler it builds.
func newSweeper(a *app.App) *outreach.Sweeper {
	outboundURL := a.Env.Required(platform.EnvOutboundQueueURL)
	if err := a.Env.Err(); err != nil {
		a.Fatal("reminder-sweep: configuration", err)
	}
	outbox := queue.ReminderOutbox{Publisher: queue.NewPublisher(a.SQS, outboundURL)}
	return &outreach.Sweeper{
		Store: a.Store,
		// Each clinic's due reminders become visible at its number's rate.
		Outbox:    outreach.PacedOutbox{Outbox: outbox, Pacer: a.Store, Clinics: a.Store, Clock: a.Clock},
		Reaper:    &outreach.Reaper{Store: a.Store, Outbox: outbox, Clock: a.Clock, Logger: a.Log},
		Clock:     a.Clock,
		Logger:    a.Log,
		BatchSize: outreach.DefaultSweepBatch,
		Margin:    outreach.DefaultSweepMargin,
	}
}
