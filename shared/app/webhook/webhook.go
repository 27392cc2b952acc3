// Package webhook builds the WhatsApp webhook receiver, the one place its handler is
// assembled: the whatsapp-webhook Lambda, the dev stack and the benchmarks all call it.
package webhook

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/httpapi/whatsapphook"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// Deps is what differs between the places the webhook runs.
type Deps struct {
	AppSecret   func(context.Context) (string, error)
	VerifyToken func(context.Context) (string, error)
	Queue       whatsapphook.InboundQueue
	Log         *slog.Logger
}

// New builds the webhook receiver.
func New(d Deps) *whatsapphook.Webhook {
	return &whatsapphook.Webhook{AppSecret: d.AppSecret, VerifyToken: d.VerifyToken, Queue: d.Queue, Log: d.Log}
}

// Load builds the whatsapp-webhook Lambda's handler from its environment; a missing
// variable ends the process. It serves the webhook alone, on a router without the
// EHR API, so the function links none of the EHR code.
func Load(a *app.App) http.Handler {
	hook := New(Deps{
		AppSecret:   a.Secrets.Value(a.Env, platform.EnvWhatsAppAppSecret),
		VerifyToken: a.Secrets.Value(a.Env, platform.EnvWhatsAppVerifyToken),
		Queue:       queue.InboundQueue{Publisher: queue.NewPublisher(queue.NewClient(a.AWS), a.Env.Required(platform.EnvInboundQueueURL))},
		Log:         a.Log,
	})
	stage := a.Env.Optional(fnspec.EnvAPIStageName, "")
	a.Ready()
	return whatsapphook.NewRouter(hook, a.Log, a.Clock, stage)
}
