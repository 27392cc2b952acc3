// Package httpapi holds the net/http routers for the EHR API and the WhatsApp
// webhook. The same http.Handler serves `make dev` and, wrapped by
// aws-lambda-go-api-proxy, API Gateway.
package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Errors   []FieldProblem `json:"errors,omitempty"`
}

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
