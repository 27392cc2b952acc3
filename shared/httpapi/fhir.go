package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/ehr"
)

// operationOutcome is a minimal FHIR R4 OperationOutcome for informational answers.
type operationOutcome struct {
	ResourceType string         `json:"resourceType"`
	Issue        []outcomeIssue `json:"issue"`
}

type outcomeIssue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics,omitempty"`
}

// postFHIR accepts Appointment resources, Bundles and R4 Subscriptions Backport
// notifications. FHIR servers send a configured header rather than a signature,
// so a bearer token authenticates as well as a Standard Webhooks signature.
func (h *EHRAPI) postFHIR(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, err error) {
		if status >= 500 {
			h.Log.Error("fhir request failed", "error", err)
		}
		w.Header().Set("Content-Type", mediaFHIRJSON)
		w.WriteHeader(status)
		_, _ = w.Write(ehr.OperationOutcome(err))
	}
	c, err := h.clinicFor(r)
	if err != nil {
		p := h.problemFor(err)
		fail(p.Status, err)
		return
	}
	if err := requireContentType(r, mediaFHIRJSON, mediaJSON); err != nil {
		fail(http.StatusUnsupportedMediaType, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		fail(asProblem(err).Status, err)
		return
	}
	if r.Header.Get("webhook-signature") != "" {
		err = h.authenticateSignature(r, c, body)
	} else {
		err = h.authenticateBearer(r, c)
	}
	if err != nil {
		fail(h.problemFor(err).Status, err)
		return
	}
	res, err := ehr.ParseFHIR(body, c, h.Clock.Now())
	if err != nil {
		fail(h.problemFor(err).Status, err)
		return
	}
	h.idempotent(w, r, c, func(err error) { fail(h.problemFor(err).Status, err) }, func() (int, string, []byte, error) {
		out := operationOutcome{ResourceType: "OperationOutcome"}
		switch res.Kind {
		case ehr.KindHandshake, ehr.KindHeartbeat, ehr.KindQueryStatus:
			out.Issue = append(out.Issue, outcomeIssue{Severity: "information", Code: "informational",
				Diagnostics: fmt.Sprintf("%s acknowledged", res.Kind)})
		default:
			if err := h.Intake.CheckPatients(r.Context(), c, res.Events); err != nil {
				return 0, "", nil, err
			}
			for _, ev := range res.Events {
				applied, err := h.Intake.Apply(r.Context(), c, ev)
				if err != nil {
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
			if len(out.Issue) == 0 {
				out.Issue = append(out.Issue, outcomeIssue{Severity: "information", Code: "informational", Diagnostics: "no appointments in the payload"})
			}
		}
		b, err := json.Marshal(out)
		return http.StatusOK, mediaFHIRJSON, b, err
	})
}
