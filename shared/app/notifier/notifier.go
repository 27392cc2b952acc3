// Package notifier builds the clinic notifier, the one place its notify.Service is
// assembled: the ehr-notifier Lambda and the dev stack both call it.
package notifier

import (
	"log/slog"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/app/appstore"
	"github.com/frontdesk-health/frontdesk/shared/notify"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// Deps is what differs between the places the notifier runs.
type Deps struct {
	Clinics    notify.Clinics
	Secrets    notify.SecretResolver
	Visibility notify.Visibility
	Clock      platform.Clock
	Log        *slog.Logger
}

// New builds the notifier with the production HTTP client; its handler names the
// last attempt (the ehr-outbox queue's maxReceiveCount) in its log.
func New(d Deps) *notify.Service {
	outbox, _ := queue.Lookup(queue.EHROutbox)
	return &notify.Service{
		Clinics:     d.Clinics,
		Secrets:     d.Secrets,
		HTTP:        notify.NewHTTPClient(),
		Visibility:  d.Visibility,
		Clock:       d.Clock,
		Log:         d.Log,
		MaxReceives: outbox.MaxReceiveCount,
	}
}

// Load builds the notifier from a Lambda's environment; a missing variable ends the process.
func Load(a *app.App) *notify.Service {
	store := appstore.Load(a)
	outboxURL := a.Env.Required(platform.EnvEHROutboxQueueURL)
	a.Ready()
	return New(Deps{
		Clinics:    store,
		Secrets:    a.Secrets,
		Visibility: queue.NewVisibility(queue.NewClient(a.AWS), outboxURL),
		Clock:      a.Clock,
		Log:        a.Log,
	})
}
