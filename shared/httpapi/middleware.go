package httpapi

import (
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/httpapi/httpcore"
)

// MaxBodyBytes bounds every request body (EHR events and WhatsApp webhooks).
const MaxBodyBytes = httpcore.MaxBodyBytes

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) { return httpcore.ReadBody(w, r) }

func requireContentType(r *http.Request, want ...string) error {
	return httpcore.RequireContentType(r, want...)
}

// StripStage removes a leading "/<stage>" from the path (see httpcore.StripStage).
func StripStage(stage string, next http.Handler) http.Handler {
	return httpcore.StripStage(stage, next)
}
