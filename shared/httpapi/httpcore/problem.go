// Package httpcore is what every Frontdesk router shares and what needs no EHR or
// WhatsApp code: problem JSON, body limits, request logging, the stage prefix and
// the answer for unknown routes. The EHR API (package httpapi) and the WhatsApp
// webhook (package whatsapphook) build on it, so the webhook's Lambda links neither
// the EHR formats nor their phone-number metadata.
package httpcore

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Problem is an RFC 9457 problem details body, as the OpenAPI document describes
// it (components/schemas/Problem).
type Problem struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Errors   []FieldProblem `json:"errors,omitempty"`
	// CorrelationID names the one ERROR log line that holds the real cause of a
	// 5xx; the answer itself never carries internal error text.
	CorrelationID string `json:"correlationId,omitempty"`

	// fhirCode is the OperationOutcome issue code when it is more specific than
	// the status alone gives.
	fhirCode string
}

// ProblemInternal is the type of a 5xx whose cause is behind a correlation id.
const ProblemInternal = "https://frontdesk.dev/problems/internal"

// FieldProblem is one thing wrong with a request body.
type FieldProblem struct {
	// Pointer locates the problem: an RFC 6901 JSON pointer ("/patient/phone") for
	// native JSON, a FHIRPath-like expression ("Appointment.start") for FHIR. Empty
	// when the problem is with the body as a whole.
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// problemTypes maps each status this API answers with to a stable type URI and
// title, so integrators can switch on `type`.
var problemTypes = map[int][2]string{
	http.StatusBadRequest:            {"https://frontdesk.dev/problems/invalid-request", "The request is invalid"},
	http.StatusUnauthorized:          {"https://frontdesk.dev/problems/unauthorized", "Authentication failed"},
	http.StatusForbidden:             {"https://frontdesk.dev/problems/forbidden", "Forbidden"},
	http.StatusNotFound:              {"https://frontdesk.dev/problems/not-found", "Not found"},
	http.StatusMethodNotAllowed:      {"https://frontdesk.dev/problems/method-not-allowed", "Method not allowed"},
	http.StatusConflict:              {"https://frontdesk.dev/problems/conflict", "Conflict"},
	http.StatusRequestEntityTooLarge: {"https://frontdesk.dev/problems/too-large", "The request body is too large"},
	http.StatusUnsupportedMediaType:  {"https://frontdesk.dev/problems/unsupported-media-type", "Unsupported content type"},
	http.StatusUnprocessableEntity:   {"https://frontdesk.dev/problems/unprocessable", "The request cannot be applied"},
	http.StatusTooManyRequests:       {"https://frontdesk.dev/problems/too-many-requests", "Too many requests"},
	http.StatusInternalServerError:   {ProblemInternal, "Internal error"},
	http.StatusServiceUnavailable:    {"https://frontdesk.dev/problems/unavailable", "Temporarily unavailable"},
}

// NewProblem builds a problem for status with a detail message.
func NewProblem(status int, detail string) *Problem {
	t, ok := problemTypes[status]
	if !ok {
		t = [2]string{"about:blank", http.StatusText(status)}
	}
	return &Problem{Type: t[0], Title: t[1], Status: status, Detail: detail}
}

// StatusType is the problem type URI of status's answers when nothing more
// specific applies.
func StatusType(status int) string {
	if t, ok := problemTypes[status]; ok {
		return t[0]
	}
	return "about:blank"
}

// WithType returns p with a more specific type than its status's, and the FHIR
// OperationOutcome issue code that goes with it.
func (p *Problem) WithType(typ, fhirCode string) *Problem {
	p.Type, p.fhirCode = typ, fhirCode
	return p
}

// FHIRCode is the OperationOutcome issue code set by WithType, or "" for the
// status's own.
func (p *Problem) FHIRCode() string { return p.fhirCode }

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// InternalProblem answers a server-side failure: the real error goes to exactly one
// ERROR log line under a fresh correlation id, and the client gets generic text
// with that id, never the error (it can hold ARNs, table names, AWS messages).
func InternalProblem(log *slog.Logger, r *http.Request, status int, err error) *Problem {
	id := platform.NewID()
	route := ""
	if r != nil {
		route = r.Pattern
	}
	log.Error("request failed", "correlation_id", id, "route", route, "status", status, "error", err)
	detail := "an internal error occurred; quote correlation id " + id
	if status == http.StatusServiceUnavailable {
		detail = "temporarily unavailable; retry later (correlation id " + id + ")"
	}
	p := NewProblem(status, detail)
	p.CorrelationID = id
	return p
}

// WriteProblem answers with problem JSON.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if r != nil && p.Instance == "" {
		p.Instance = r.URL.Path
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	if p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// WriteJSON answers with a JSON body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// AsProblem maps an error to a problem, in this one place.
func AsProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return NewProblem(http.StatusRequestEntityTooLarge, "the body exceeds the limit of 256 KiB")
	}
	return NewProblem(http.StatusInternalServerError, "an internal error occurred; it was logged")
}
