// Command ehr-api is the Lambda behind API Gateway for the EHR integration API.
// It wraps the same http.Handler `make dev` serves. Wiring only.
package main

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/console"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/httpapi"
	"github.com/frontdesk-health/frontdesk/shared/intake"
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
	conversations := a.Conversations(a.WhatsAppClient())
	cons := a.Console()
	a.Ready()
	api := &httpapi.EHRAPI{
		Intake:      &intake.Service{Store: a.Store, Clock: a.Clock, Log: a.Log, Metrics: a.Metrics()},
		Clinics:     a.Store,
		Idempotency: a.Store,
		Secrets:     a.Secrets,
		Verifier:    &ehr.Verifier{Clock: a.Clock},
		Clock:       a.Clock,
		Log:         a.Log,
		Once:        a.Store,
		Metrics:     a.Store,
	}
	api.Conversations = &httpapi.ConversationAPI{EHR: api, Service: conversations}
	router := httpapi.NewRouter(api, nil, a.Log, a.Clock, stage)
	if cons == nil {
		return router
	}
	// The console's Inbox and thread pages run on the same conversation service
	// as the API routes: one audit trail, one reply path.
	cons.Conversations = &console.Handoff{Service: conversations, Clinics: a.Store}
	if err := cons.New(); err != nil {
		a.Fatal("console configuration", err)
	}
	return httpapi.StripStage(stage, cons.Mount(router))
}
