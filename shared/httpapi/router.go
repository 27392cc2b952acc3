package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/httpapi/httpcore"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Routes is every route the router serves, as "METHOD /path"; a test compares it
// with the OpenAPI document.
var Routes = []string{
	"GET /healthz",
	"GET /openapi.yaml",
	"PUT /v1/clinics/{clinicId}/appointments/{appointmentId}",
	"GET /v1/clinics/{clinicId}/appointments/{appointmentId}",
	"POST /v1/clinics/{clinicId}/fhir",
	"PUT /v1/clinics/{clinicId}/patients/{patientId}/consent",
	"GET /v1/clinics/{clinicId}/patients/{patientId}/consent",
	"PUT /v1/clinics/{clinicId}/slots/{slotId}",
	"GET /v1/clinics/{clinicId}/slots",
	"GET /v1/clinics/{clinicId}/metrics",
	"POST /v1/clinics/{clinicId}/patients/{patientId}/notices",
	"GET /v1/clinics/{clinicId}/patients/{patientId}/notices/{noticeId}",
	"GET /webhooks/whatsapp",
	"POST /webhooks/whatsapp",
	"GET /v1/clinics/{clinicId}/conversations",
	"GET /v1/clinics/{clinicId}/conversations/{conversationId}/messages",
	"POST /v1/clinics/{clinicId}/conversations/{conversationId}/messages",
	"POST /v1/clinics/{clinicId}/conversations/{conversationId}/close",
	"GET /v1/clinics/{clinicId}/audit",
}

// NewRouter builds the handler for both APIs. Either may be nil when a Lambda
// serves only the other (the ehr-api and whatsapp-webhook functions share it).
func NewRouter(api *EHRAPI, hook *Webhook, log *slog.Logger, clock platform.Clock, stage string) http.Handler {
	return httpcore.NewRouter(log, clock, stage, func(mux *http.ServeMux) {
		mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/yaml")
			_, _ = w.Write(ehr.OpenAPI)
		})
		if api != nil {
			mux.HandleFunc("PUT /v1/clinics/{clinicId}/appointments/{appointmentId}", api.putAppointment)
			mux.HandleFunc("GET /v1/clinics/{clinicId}/appointments/{appointmentId}", api.getAppointment)
			mux.HandleFunc("POST /v1/clinics/{clinicId}/fhir", api.postFHIR)
			mux.HandleFunc("PUT /v1/clinics/{clinicId}/patients/{patientId}/consent", api.putConsent)
			mux.HandleFunc("GET /v1/clinics/{clinicId}/patients/{patientId}/consent", api.getConsent)
			mux.HandleFunc("PUT /v1/clinics/{clinicId}/slots/{slotId}", api.putSlot)
			mux.HandleFunc("GET /v1/clinics/{clinicId}/slots", api.getSlots)
			mux.HandleFunc("GET /v1/clinics/{clinicId}/metrics", api.getMetrics)
			mux.HandleFunc("POST /v1/clinics/{clinicId}/patients/{patientId}/notices", api.postNotice)
			mux.HandleFunc("GET /v1/clinics/{clinicId}/patients/{patientId}/notices/{noticeId}", api.getNotice)
		}
		if api != nil && api.Conversations != nil {
			conv := api.Conversations
			mux.HandleFunc("GET /v1/clinics/{clinicId}/conversations", conv.listConversations)
			mux.HandleFunc("GET /v1/clinics/{clinicId}/conversations/{conversationId}/messages", conv.getMessages)
			mux.HandleFunc("POST /v1/clinics/{clinicId}/conversations/{conversationId}/messages", conv.postMessage)
			mux.HandleFunc("POST /v1/clinics/{clinicId}/conversations/{conversationId}/close", conv.closeConversation)
			mux.HandleFunc("GET /v1/clinics/{clinicId}/audit", conv.getAudit)
		}
		if hook != nil {
			hook.Register(mux)
		}
	})
}
