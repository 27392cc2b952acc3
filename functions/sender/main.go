// Command sender is the Lambda on the outbound queue (ReportBatchItemFailures): it
// re-checks each due reminder and sends it through the Graph API. Wiring only.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/app/sender"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

var (
	_ outreach.EventPublisher = queue.EventOutbox{}
	_ outreach.Delayer        = (*queue.Visibility)(nil)
	_ outreach.Requeuer       = queue.ReminderOutbox{}
	_ outreach.JobRequeuer    = queue.ReminderOutbox{}
	_ outreach.Halter         = esmHalter{}
)

func main() {
	a, err := app.Load(context.Background())
	if err != nil {
		panic(err) // no logger yet: the runtime reports the init failure
	}
	lambda.Start(newSender(a).Handle)
}

// newSender is main's wiring; the tests run the handler it builds.
func newSender(a *app.App) *outreach.Sender {
	return sender.Load(a, func(function string) outreach.Halter {
		return esmHalter{client: newLambdaAPI(a.AWS), function: function, log: a.Log}
	})
}
