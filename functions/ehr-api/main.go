// Command ehr-api is the Lambda behind API Gateway for the EHR integration API.
// It wraps the same http.Handler `make dev` serves. Wiring only.
package main

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/httpapi"
	"github.com/frontdesk-health/frontdesk/shared/intake"
	"github.com/frontdesk-health/frontdesk/shared/notices"
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
	stage := a.Env.Optional("API_STAGE_NAME", "")
	cons := a.Console()
	events := queue.EventOutbox{Publisher: a.Publisher(platform.EnvEHROutboxQueueURL)}
	graph := a.WhatsAppClient()
	a.Ready()
	noticeSvc := &notices.Service{Store: a.Store, Events: events, Clock: a.Clock, Log: a.Log,
		Outbox: &notices.Immediate{Store: a.Store, Messenger: graph, Events: events, Clock: a.Clock, Log: a.Log}}
	api := &httpapi.EHRAPI{
		Intake:      &intake.Service{Store: a.Store, Clock: a.Clock, Log: a.Log, Metrics: a.Metrics(), Visits: noticeSvc},
		Clinics:     a.Store,
		Idempotency: a.Store,
		Secrets:     a.Secrets,
		Verifier:    &ehr.Verifier{Clock: a.Clock},
		Clock:       a.Clock,
		Log:         a.Log,
		Once:        a.Store,
		Metrics:     a.Store,
	}
	api.Notices = noticeSvc
	router := httpapi.NewRouter(api, nil, a.Log, a.Clock, stage)
	if cons == nil {
		return router
	}
	if err := cons.New(); err != nil {
		a.Fatal("console configuration", err)
	}
	return httpapi.StripStage(stage, cons.Mount(router))
}
