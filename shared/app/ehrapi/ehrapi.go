// Package ehrapi builds the EHR API, the one place its httpapi.EHRAPI, the
// intake.Service behind it and the front-desk console beside it are assembled: the
// ehr-api Lambda, the dev stack, the benchmarks and the test harness all call it.
package ehrapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/app/appstore"
	"github.com/frontdesk-health/frontdesk/shared/app/conversations"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/console"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/httpapi"
	"github.com/frontdesk-health/frontdesk/shared/intake"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/notices"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// IntakeStore is what intake reads and writes, the clinics' metrics included.
type IntakeStore interface {
	intake.Store
	metrics.Store
}

// Store is what the EHR API and intake read and write.
type Store interface {
	IntakeStore
	conversations.Store
	httpapi.Idempotency
	httpapi.OnceClaimer
	httpapi.MetricsReader
	notices.Store
	GetClinic(ctx context.Context, id string) (clinic.Clinic, error)
}

// Deps is what differs between the places the EHR API runs.
type Deps struct {
	Store   Store
	Secrets httpapi.SecretResolver
	Clock   platform.Clock
	Log     *slog.Logger
	// Events tells the clinic of a notice that cannot be sent (message.failed);
	// Jobs puts notices on the outbound queue. Without Jobs the notice routes
	// answer 500.
	Events notices.Events
	Jobs   notices.JobPublisher
}

// New builds the EHR API.
func New(d Deps) *httpapi.EHRAPI {
	in := Intake(d.Store, d.Clock, d.Log)
	var noticeSvc *notices.Service
	if d.Jobs != nil {
		noticeSvc = &notices.Service{Store: d.Store, Events: d.Events, Clock: d.Clock, Log: d.Log,
			Outbox: notices.Queued{Jobs: d.Jobs}}
		in.Visits = noticeSvc
	}
	api := &httpapi.EHRAPI{
		Intake:      in,
		Clinics:     d.Store,
		Idempotency: d.Store,
		Secrets:     d.Secrets,
		Verifier:    &ehr.Verifier{Clock: d.Clock},
		Clock:       d.Clock,
		Log:         d.Log,
		Once:        d.Store,
		Metrics:     d.Store,
	}
	if noticeSvc != nil {
		api.Notices = noticeSvc
	}
	return api
}

// Intake builds the service that applies appointment events, for the API and for
// tests that book appointments the way the API does. It counts the clinics'
// numbers as it goes.
func Intake(store IntakeStore, clock platform.Clock, log *slog.Logger) *intake.Service {
	return &intake.Service{Store: store, Clock: clock, Log: log, Metrics: app.NewMetrics(store, log, clock)}
}

// ConsoleStore is what the console reads and writes.
type ConsoleStore interface {
	console.SessionStore
	console.LoginStore
	console.ClinicReader
	console.DayLister
	console.PatientReader
}

// ConsoleDeps is what differs between the places the console runs.
type ConsoleDeps struct {
	Config console.Config
	Auth   console.Authenticator
	Store  ConsoleStore
	// Conversations stays nil until the conversation service is deployed; the
	// Inbox then says so.
	Conversations console.Conversations
	Clock         platform.Clock
	Log           *slog.Logger
}

// Console builds the front-desk console; the caller checks it with New and mounts it.
func Console(d ConsoleDeps) *console.Console {
	return &console.Console{
		Config: d.Config, Auth: d.Auth,
		Sessions: d.Store, Logins: d.Store, Clinics: d.Store, Appointments: d.Store, Patients: d.Store,
		Conversations: d.Conversations, Clock: d.Clock, Log: d.Log.With("component", "console"),
	}
}

// loadConsole builds the console from the environment, or returns nil when the
// deployment has none (CONSOLE_OIDC_ISSUER unset).
func loadConsole(a *app.App, store ConsoleStore) *console.Console {
	issuer := a.Env.Optional(fnspec.EnvConsoleIssuer, "")
	if issuer == "" {
		return nil
	}
	base := a.Env.Required(fnspec.EnvConsoleBaseURL)
	auth := &console.OIDC{Issuer: issuer, ClientID: a.Env.Required(fnspec.EnvConsoleClientID),
		RedirectURL: base + console.Prefix + "/callback", GroupsClaim: a.Env.Optional(fnspec.EnvConsoleGroupsClaim, console.DefaultGroupsClaim)}
	if a.Env.Optional(fnspec.EnvConsoleClientSecret, "") != "" || a.Env.Optional(fnspec.EnvConsoleClientSecret+"_SECRET_ARN", "") != "" {
		auth.ClientSecretFrom = a.Secrets.Value(a.Env, fnspec.EnvConsoleClientSecret)
	}
	return Console(ConsoleDeps{
		Config: console.Config{BaseURL: base, LogoutURL: a.Env.Optional(fnspec.EnvConsoleLogoutURL, "")},
		Auth:   auth, Store: store, Clock: a.Clock, Log: a.Log,
	})
}

// Load builds the ehr-api Lambda's handler from its environment: the EHR API, and
// the console in front of it when the deployment has one. A missing variable or a
// bad console configuration ends the process.
func Load(a *app.App) http.Handler {
	store := appstore.Load(a)
	stage := a.Env.Optional(fnspec.EnvAPIStageName, "")
	cons := loadConsole(a, store)
	sqsClient := queue.NewClient(a.AWS)
	events := queue.EventOutbox{Publisher: queue.NewPublisher(sqsClient, a.Env.Required(platform.EnvEHROutboxQueueURL))}
	jobs := queue.ReminderOutbox{Publisher: queue.NewPublisher(sqsClient, a.Env.Required(platform.EnvOutboundQueueURL))}
	convs := conversations.Load(a, store, jobs)
	a.Ready()
	api := New(Deps{Store: store, Secrets: a.Secrets, Clock: a.Clock, Log: a.Log, Events: events, Jobs: jobs})
	api.Conversations = &httpapi.ConversationAPI{EHR: api, Service: convs}
	router := httpapi.NewRouter(api, nil, a.Log, a.Clock, stage)
	if cons == nil {
		return router
	}
	// The console's Inbox and thread pages run on the same conversation service
	// as the API routes: one audit trail, one reply path.
	cons.Conversations = &console.Handoff{Service: convs, Clinics: store}
	if err := cons.New(); err != nil {
		a.Fatal("console configuration", err)
	}
	return httpapi.StripStage(stage, cons.Mount(router))
}
