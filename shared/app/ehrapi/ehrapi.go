// Package ehrapi builds the EHR API, the one place its httpapi.EHRAPI and the
// intake.Service behind it are assembled: the ehr-api Lambda, the dev stack, the
// benchmarks and the test harness all call it.
package ehrapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/app/appstore"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/httpapi"
	"github.com/frontdesk-health/frontdesk/shared/intake"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Store is what the EHR API and intake read and write.
type Store interface {
	intake.Store
	httpapi.Idempotency
	GetClinic(ctx context.Context, id string) (clinic.Clinic, error)
}

// Deps is what differs between the places the EHR API runs.
type Deps struct {
	Store   Store
	Secrets httpapi.SecretResolver
	Clock   platform.Clock
	Log     *slog.Logger
}

// New builds the EHR API.
func New(d Deps) *httpapi.EHRAPI {
	return &httpapi.EHRAPI{
		Intake:      Intake(d.Store, d.Clock, d.Log),
		Clinics:     d.Store,
		Idempotency: d.Store,
		Secrets:     d.Secrets,
		Verifier:    &ehr.Verifier{Clock: d.Clock},
		Clock:       d.Clock,
		Log:         d.Log,
	}
}

// Intake builds the service that applies appointment events, for the API and for
// tests that book appointments the way the API does.
func Intake(store intake.Store, clock platform.Clock, log *slog.Logger) *intake.Service {
	return &intake.Service{Store: store, Clock: clock, Log: log}
}

// Load builds the ehr-api Lambda's handler from its environment; a missing
// variable ends the process.
func Load(a *app.App) http.Handler {
	store := appstore.Load(a)
	stage := a.Env.Optional(fnspec.EnvAPIStageName, "")
	a.Ready()
	return httpapi.NewRouter(New(Deps{Store: store, Secrets: a.Secrets, Clock: a.Clock, Log: a.Log}), nil, a.Log, a.Clock, stage)
}
