// Package httpapi holds the net/http routers for the EHR API and the WhatsApp
// webhook. The same http.Handler serves `make dev` and, wrapped by
// aws-lambda-go-api-proxy, API Gateway.
package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/httpapi/httpcore"
)

// Problem is an RFC 9457 problem details body.
type Problem = httpcore.Problem

// Problem types beyond the one per status.
const (
	ProblemIdempotencyKeyReused = "https://frontdesk.dev/problems/idempotency-key-reused"
	ProblemOrderingKeyChanged   = "https://frontdesk.dev/problems/ordering-key-changed"
	ProblemTokenScope           = "https://frontdesk.dev/problems/token-scope" //nolint:gosec // G101: a problem type URI, not a credential
	ProblemInternal             = httpcore.ProblemInternal
)

// FieldProblem points at one bad field with an RFC 6901 JSON pointer.
type FieldProblem = httpcore.FieldProblem

// NewProblem builds a problem for status with a detail message.
func NewProblem(status int, detail string) *Problem { return httpcore.NewProblem(status, detail) }

// internalProblem answers a server-side failure behind a correlation id (see
// httpcore.InternalProblem).
func internalProblem(log *slog.Logger, r *http.Request, status int, err error) *Problem {
	return httpcore.InternalProblem(log, r, status, err)
}

// WriteProblem answers with problem JSON.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) { httpcore.WriteProblem(w, r, p) }

func writeJSON(w http.ResponseWriter, status int, v any) { httpcore.WriteJSON(w, status, v) }
