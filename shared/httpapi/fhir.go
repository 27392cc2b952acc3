package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/intake"
)

// operationOutcome is a minimal FHIR R4 OperationOutcome.
type operationOutcome struct {
	ResourceType string         `json:"resourceType"`
	Issue        []outcomeIssue `json:"issue"`
}

type outcomeIssue struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

// fhirCodes maps a status to the OperationOutcome issue code (FHIR R4 IssueType)
// when the problem names none more specific.
var fhirCodes = map[int]string{
	http.StatusBadRequest:            "invalid",
	http.StatusUnauthorized:          "security",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not-found",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "too-long",
	http.StatusUnsupportedMediaType:  "not-supported",
	http.StatusUnprocessableEntity:   "business-rule",
	http.StatusServiceUnavailable:    "transient",
}

// writeOutcome answers a problem as the OperationOutcome FHIR clients expect: one
// issue per field problem, else one issue with the problem's detail (which for a
// 5xx is the generic text with its correlation id, never the internal error).
func writeOutcome(w http.ResponseWriter, p *Problem) {
	code := p.FHIRCode()
	if code == "" {
		code = fhirCodes[p.Status]
	}
	if code == "" {
		code = "exception"
	}
	oo := operationOutcome{ResourceType: "OperationOutcome"}
	for _, fp := range p.Errors {
		is := outcomeIssue{Severity: "error", Code: code, Diagnostics: fp.Detail}
		if fp.Pointer != "" {
			is.Expression = []string{fp.Pointer}
		}
		oo.Issue = append(oo.Issue, is)
	}
	if len(oo.Issue) == 0 {
		oo.Issue = []outcomeIssue{{Severity: "error", Code: code, Diagnostics: p.Detail}}
	}
	if p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", mediaFHIRJSON)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(oo)
}

// postFHIR accepts Appointment resources, Bundles and R4 Subscriptions Backport
// notifications. FHIR servers send a configured header rather than a signature,
// so the clinic's write token authenticates as well as a Standard Webhooks signature.
func (h *EHRAPI) postFHIR(w http.ResponseWriter, r *http.Request) {
	fail := func(err error) { writeOutcome(w, h.problemFor(r, err)) }
	c, err := h.clinicFor(r)
	if err != nil {
		fail(err)
		return
	}
	if err := requireContentType(r, mediaFHIRJSON, mediaJSON); err != nil {
		fail(err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		fail(err)
		return
	}
	deprecatedScope := false
	if r.Header.Get("webhook-signature") != "" {
		err = h.authenticateSignature(r, c, body)
	} else {
		deprecatedScope, err = h.authenticateBearer(r, c, scopeWrite)
	}
	if err != nil {
		fail(err)
		return
	}
	res, err := ehr.ParseFHIR(body, c, h.Clock.Now())
	if err != nil {
		fail(err)
		return
	}
	h.idempotent(w, r, c, body, fail, func() (int, string, []byte, error) {
		out := operationOutcome{ResourceType: "OperationOutcome"}
		switch res.Kind {
		case ehr.KindHandshake, ehr.KindHeartbeat, ehr.KindQueryStatus:
			out.Issue = append(out.Issue, outcomeIssue{Severity: "information", Code: "informational",
				Diagnostics: fmt.Sprintf("%s acknowledged", res.Kind)})
		default:
			// Everything that can refuse the request is checked before the first write.
			events, err := h.Intake.Prepare(r.Context(), c, res.Events)
			if err != nil {
				return 0, "", nil, err
			}
			slots, err := h.Intake.PrepareSlots(r.Context(), c, res.Slots)
			if err != nil {
				return 0, "", nil, err
			}
			for i, ev := range events {
				applied, err := h.Intake.Apply(r.Context(), c, ev)
				if err != nil {
					if i > 0 {
						// Earlier entries are stored: only a retry (idempotent) can
						// finish the Bundle, and a 4xx would tell the sender not to retry.
						err = fmt.Errorf("%w: Bundle applied up to entry %d: %w", intake.ErrContention, i, err)
					}
					return 0, "", nil, err
				}
				what := "updated"
				switch {
				case applied.Stale:
					what = "stale: older than stored, not applied"
				case applied.Created:
					what = "created"
				}
				out.Issue = append(out.Issue, outcomeIssue{Severity: "information", Code: "informational",
					Diagnostics: fmt.Sprintf("Appointment/%s: %s", ev.Appointment.ID, what)})
			}
			for i, ev := range slots {
				applied, err := h.Intake.ApplySlot(r.Context(), c, ev)
				if err != nil {
					if applied := len(events) + i; applied > 0 {
						err = fmt.Errorf("%w: Bundle applied up to entry %d: %w", intake.ErrContention, applied, err)
					}
					return 0, "", nil, err
				}
				out.Issue = append(out.Issue, outcomeIssue{Severity: "information", Code: "informational",
					Diagnostics: fmt.Sprintf("Slot/%s: %s", ev.Slot.ID, outcomeWord(applied.Created, applied.Stale))})
			}
			if len(out.Issue) == 0 {
				out.Issue = append(out.Issue, outcomeIssue{Severity: "information", Code: "informational", Diagnostics: "no appointments or slots in the payload"})
			}
		}
		if deprecatedScope {
			h.noteDeprecatedScope(r.Context(), c)
		}
		b, err := json.Marshal(out)
		return http.StatusOK, mediaFHIRJSON, b, err
	})
}

func outcomeWord(created, stale bool) string {
	switch {
	case stale:
		return "stale: older than stored, not applied"
	case created:
		return "created"
	}
	return "updated"
}
