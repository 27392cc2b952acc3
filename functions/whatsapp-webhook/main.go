// Command whatsapp-webhook is the Lambda behind API Gateway for Meta's webhook: it
// verifies X-Hub-Signature-256 and puts each payload on the inbound queue. Wiring only.
package main

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/httpapi"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

func main() {
	a, err := app.Load(context.Background())
	if err != nil {
		panic(err)
	}
	lambda.Start(httpadapter.New(newHandler(a)).ProxyWithContext)
}

func newHandler(a *app.App) http.Handler {
	hook := &httpapi.Webhook{
		AppSecret:   a.Secrets.Value(a.Env, platform.EnvWhatsAppAppSecret),
		VerifyToken: a.Secrets.Value(a.Env, platform.EnvWhatsAppVerifyToken),
		Queue:       queue.InboundQueue{Publisher: a.Publisher(platform.EnvInboundQueueURL)},
		Log:         a.Log,
	}
	stage := a.Env.Optional("API_STAGE_NAME", "")
	a.Ready()
	return httpapi.NewRouter(nil, hook, a.Log, a.Clock, stage)
}
