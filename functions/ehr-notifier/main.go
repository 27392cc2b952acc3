// Command ehr-notifier is the Lambda that consumes the ehr-outbox queue and posts
// each clinic event, signed with Standard Webhooks, to the clinic's callback URL.
// Wiring only.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/app/notifier"
	"github.com/frontdesk-health/frontdesk/shared/notify"
)

func main() {
	a, err := app.Load(context.Background())
	if err != nil {
		panic(err)
	}
	lambda.Start(newService(a).Handle)
}

// newService is main's wiring; the tests run the handler it builds.
func newService(a *app.App) *notify.Service { return notifier.Load(a) }
