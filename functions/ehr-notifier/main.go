// Command ehr-notifier is the Lambda that consumes the ehr-outbox queue and posts
// each clinic event, signed with Standard Webhooks, to the clinic's callback URL.
// Wiring only.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/notify"
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

func newService(a *app.App) *notify.Service {
	outboxURL := a.Env.Required(platform.EnvEHROutboxQueueURL)
	a.Ready()
	outbox, _ := queue.Lookup(queue.EHROutbox)
	return &notify.Service{
		Clinics:     a.Store,
		Secrets:     a.Secrets,
		Sign:        ehr.SignHeaders,
		HTTP:        notify.NewHTTPClient(),
		Visibility:  queue.NewVisibility(a.SQS, outboxURL),
		Clock:       a.Clock,
		Log:         a.Log,
		MaxReceives: outbox.MaxReceiveCount, // the handler names the last attempt in its log
	}
}
