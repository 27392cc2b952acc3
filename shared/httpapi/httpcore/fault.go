package httpcore

import (
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/fault"
)

// StatusOf is the one place a domain error code becomes an HTTP status.
func StatusOf(c fault.Code) int {
	switch c {
	case fault.Invalid:
		return http.StatusBadRequest
	case fault.Unauthorized:
		return http.StatusUnauthorized
	case fault.Forbidden:
		return http.StatusForbidden
	case fault.NotFound:
		return http.StatusNotFound
	case fault.Conflict, fault.InProgress:
		return http.StatusConflict
	case fault.Unprocessable:
		return http.StatusUnprocessableEntity
	case fault.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// FaultProblem answers a coded error: its status and, for a 4xx, the error's
// caller-safe message (or the status text). A 5xx is not built here: internal
// errors go through InternalProblem, which logs them behind a correlation id.
func FaultProblem(err error) (*Problem, bool) {
	status := StatusOf(fault.CodeOf(err))
	if status >= http.StatusInternalServerError {
		return nil, false
	}
	detail := fault.Message(err)
	if detail == "" {
		detail = http.StatusText(status)
	}
	return NewProblem(status, detail), true
}
