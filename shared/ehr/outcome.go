package ehr

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/httpapi/httpcore"
)

// ContentTypeFHIR is the media type of FHIR JSON answers.
const ContentTypeFHIR = "application/fhir+json"

// ContentTypeProblem is the media type of RFC 9457 problem answers.
const ContentTypeProblem = "application/problem+json"

type outcomeIssue struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

type operationOutcome struct {
	ResourceType string         `json:"resourceType"`
	Issue        []outcomeIssue `json:"issue"`
}

// OperationOutcome renders err as a FHIR R4 OperationOutcome, the error body FHIR
// clients expect (application/fhir+json). A *ValidationError gives one issue per
// problem (code invalid, expression = its pointer); the verification errors give
// code security; fault.ErrNotFound gives not-found; anything else processing.
// Diagnostics is err.Error(): pass only errors meant for the client (this
// package's errors never contain PHI), not internal failures.
func OperationOutcome(err error) []byte {
	oo := operationOutcome{ResourceType: "OperationOutcome"}
	var ve *ValidationError
	switch {
	case err == nil:
		oo.Issue = []outcomeIssue{{Severity: "information", Code: "informational", Diagnostics: "ok"}}
	case errors.As(err, &ve) && len(ve.Problems) > 0:
		for _, p := range ve.Problems {
			is := outcomeIssue{Severity: "error", Code: "invalid", Diagnostics: p.Detail}
			if p.Pointer != "" {
				is.Expression = []string{p.Pointer}
			}
			oo.Issue = append(oo.Issue, is)
		}
	case errors.Is(err, ErrMissingHeaders), errors.Is(err, ErrBadSignature), errors.Is(err, ErrTimestamp):
		oo.Issue = []outcomeIssue{{Severity: "error", Code: "security", Diagnostics: err.Error()}}
	case errors.Is(err, fault.ErrNotFound):
		oo.Issue = []outcomeIssue{{Severity: "error", Code: "not-found", Diagnostics: err.Error()}}
	default:
		oo.Issue = []outcomeIssue{{Severity: "error", Code: "processing", Diagnostics: err.Error()}}
	}
	b, mErr := json.Marshal(oo)
	if mErr != nil {
		// Cannot happen with these types; a fixed body keeps the answer valid FHIR.
		return []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}`)
	}
	return b
}

// Problem is the RFC 9457 problem details body every route answers errors with.
type Problem = httpcore.Problem

// NewProblem builds the problem body for an error answered with status. A
// *ValidationError contributes its problems as errors[]; detail is err.Error()
// (so pass only client-facing errors). instance is usually the request path.
func NewProblem(status int, instance string, err error) Problem {
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Instance: instance}
	var ve *ValidationError
	if errors.As(err, &ve) {
		p.Detail = "the request body has problems; see errors"
		p.Errors = ve.Problems
	} else if err != nil {
		p.Detail = err.Error()
	}
	return p
}
