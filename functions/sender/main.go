// Command sender is the Lambda on the outbound queue (ReportBatchItemFailures): it
// re-checks each due reminder and sends it through the Graph API. Wiring only.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
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
	outboundURL := a.Env.Required(platform.EnvOutboundQueueURL)
	outboxURL := a.Env.Required(platform.EnvEHROutboxQueueURL)
	function := a.Env.Required("AWS_LAMBDA_FUNCTION_NAME")
	mps := a.Env.Int(platform.EnvMessagesPerSecond, outreach.DefaultMessagesPerSecond)
	concurrency := a.Env.Int(platform.EnvSenderConcurrency, 1)
	graph := a.WhatsAppClient()
	a.Ready()
	outbound, _ := queue.Lookup(queue.Outbound)
	return &outreach.Sender{
		Store:             a.Store,
		Messenger:         graph,
		Events:            queue.EventOutbox{Publisher: queue.NewPublisher(a.SQS, outboxURL)},
		Requeue:           queue.ReminderOutbox{Publisher: queue.NewPublisher(a.SQS, outboundURL)},
		Visibility:        queue.NewVisibility(a.SQS, outboundURL),
		Halter:            esmHalter{client: lambdasvc.NewFromConfig(a.AWS), function: function, log: a.Log},
		Pacer:             a.Store,
		SlotLookahead:     3,
		Claims:            a.Store,
		Clock:             a.Clock,
		Logger:            a.Log,
		MessagesPerSecond: float64(mps),
		Concurrency:       concurrency,
		MaxReceiveCount:   outbound.MaxReceiveCount,
	}
}
