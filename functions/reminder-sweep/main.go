// Command reminder-sweep is the Lambda EventBridge runs every minute: it moves due
// reminders and notices from the sparse due index onto the outbound queue, then
// lets lapsed slot holds go and offers freed slots to the waitlist. Wiring only.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/app/sweep"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
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

// newSweeper is main's wiring: the sweep, then the notices that fell due. The tests
// run the handler it builds.
func newSweeper(a *app.App) *sweep.Schedule { return sweep.Load(a) }
