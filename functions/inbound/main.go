// Command inbound is the Lambda that consumes the inbound queue (verified WhatsApp
// webhook payloads): answers, consent, hand-offs and delivery statuses. Wiring only.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/app/inbound"
	"github.com/frontdesk-health/frontdesk/shared/inbox"
)

func main() {
	a, err := app.Load(context.Background())
	if err != nil {
		panic(err)
	}
	lambda.Start(newService(a).Handle)
}

// newService is main's wiring; the tests run the handler it builds.
func newService(a *app.App) *inbox.Service { return inbound.Load(a) }
