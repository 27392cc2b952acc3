// Package httpapi holds the net/http routers for the EHR API and the WhatsApp
// webhook. The same http.Handler serves `make dev` and, wrapped by
// aws-lambda-go-api-proxy, API Gateway.
package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Problem is an RFC 9457 problem details body.
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

// Problem types beyond the one per status.
const (
	ProblemIdempotencyKeyReused = "https://frontdesk.dev/problems/idempotency-key-reused"
	ProblemOrderingKeyChanged   = "https://frontdesk.dev/problems/ordering-key-changed"
	ProblemTokenScope           = "https://frontdesk.dev/problems/token-scope"
	ProblemInternal             = "https://frontdesk.dev/problems/internal"
)

// FieldProblem points at one bad field with an RFC 6901 JSON pointer.
type FieldProblem struct {
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

// withType returns p with a more specific type than its status's.
func (p *Problem) withType(typ, fhirCode string) *Problem {
	p.Type, p.fhirCode = typ, fhirCode
	return p
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// internalProblem answers a server-side failure: the real error goes to exactly one
// ERROR log line under a fresh correlation id, and the client gets generic text
// with that id, never the error (it can hold ARNs, table names, AWS messages).
func internalProblem(log *slog.Logger, r *http.Request, status int, err error) *Problem {
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

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// asProblem maps an error to a problem, in this one place.
func asProblem(err error) *Problem {
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
