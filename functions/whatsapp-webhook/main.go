// Command whatsapp-webhook is the Lambda behind API Gateway for Meta's webhook: it
// verifies X-Hub-Signature-256 and puts each payload on the inbound queue. Wiring only.
package main

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/app/webhook"
)

func main() {
	a, err := app.Load(context.Background())
	if err != nil {
		panic(err)
	}
	lambda.Start(httpadapter.New(newHandler(a)).ProxyWithContext)
}

// newHandler is main's wiring; the tests run the handler it builds.
func newHandler(a *app.App) http.Handler { return webhook.Load(a) }
