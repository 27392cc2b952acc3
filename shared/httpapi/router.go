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
	"GET /webhooks/whatsapp",
	"POST /webhooks/whatsapp",
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
		}
		if hook != nil {
			hook.Register(mux)
		}
	})
}
