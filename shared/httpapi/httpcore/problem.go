// Package httpcore is what every Frontdesk router shares and what needs no EHR or
// WhatsApp code: problem JSON, body limits, request logging, the stage prefix and
// the answer for unknown routes. The EHR API (package httpapi) and the WhatsApp
// webhook (package whatsapphook) build on it, so the webhook's Lambda links neither
// the EHR formats nor their phone-number metadata.
package httpcore

import (
	"encoding/json"
	"errors"
	"net/http"
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
}

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
	http.StatusInternalServerError:   {"about:blank", "Internal error"},
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

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// WriteProblem answers with problem JSON.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if r != nil && p.Instance == "" {
		p.Instance = r.URL.Path
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
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
