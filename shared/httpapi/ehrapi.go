package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/intake"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Idempotency remembers the first answer to each Standard Webhooks message id.
type Idempotency interface {
	ClaimIdempotency(ctx context.Context, key string, ttl time.Duration) (*dynamo.IdempotentResponse, error)
	CompleteIdempotency(ctx context.Context, key string, resp dynamo.IdempotentResponse, ttl time.Duration) error
	ReleaseIdempotency(ctx context.Context, key string) error
}

// SecretResolver turns a clinic's secret reference into the secret.
type SecretResolver interface {
	Resolve(ctx context.Context, ref string) (string, error)
}

// EHRAPI serves the EHR integration API.
type EHRAPI struct {
	Intake  *intake.Service
	Clinics interface {
		GetClinic(ctx context.Context, id string) (clinic.Clinic, error)
	}
	Idempotency Idempotency
	Secrets     SecretResolver
	Verifier    *ehr.Verifier
	Clock       platform.Clock
	Log         *slog.Logger
}

// IdempotencyTTL is how long a webhook-id's answer is remembered (Standard Webhooks
// senders retry for about a day).
const IdempotencyTTL = 24 * time.Hour

// IdempotencyLease bounds an in-progress claim: longer than any request can run
// (the Lambda times out at 10 s), so a timed-out or crashed attempt blocks the
// sender's retries with 409 for seconds, not for the whole day.
const IdempotencyLease = 30 * time.Second

const (
	mediaJSON     = "application/json"
	mediaFHIRJSON = "application/fhir+json"
)

// clinicFor loads the clinic named in the path: 404 when unknown.
func (h *EHRAPI) clinicFor(r *http.Request) (clinic.Clinic, error) {
	c, err := h.Clinics.GetClinic(r.Context(), r.PathValue("clinicId"))
	if errors.Is(err, appointment.ErrNotFound) {
		return clinic.Clinic{}, NewProblem(http.StatusNotFound, "unknown clinic")
	}
	return c, err
}

// authenticateSignature checks the Standard Webhooks signature with the clinic's secret.
func (h *EHRAPI) authenticateSignature(r *http.Request, c clinic.Clinic, body []byte) error {
	secret, err := h.Secrets.Resolve(r.Context(), c.WebhookSecretRef)
	if err != nil {
		return fmt.Errorf("httpapi: clinic %s webhook secret: %w", c.ID, err)
	}
	if err := h.Verifier.Verify(secret, body, r.Header); err != nil {
		h.Log.Warn("ehr signature rejected", "clinic", c.ID, "reason", err.Error())
		return NewProblem(http.StatusUnauthorized, "webhook-id, webhook-timestamp and webhook-signature must be present, "+
			"signed with the clinic's secret, and the timestamp within 5 minutes")
	}
	return nil
}

// authenticateBearer checks the clinic's API token (stored hashed) in constant time.
func (h *EHRAPI) authenticateBearer(r *http.Request, c clinic.Clinic) error {
	presented, ok := ehr.BearerToken(r.Header) // the scheme is case-insensitive (RFC 9110)
	if !ok || presented == "" {
		return NewProblem(http.StatusUnauthorized, "Authorization: Bearer <clinic API token> is required")
	}
	hash := c.APITokenHash
	if hash == "" && c.APITokenSecretRef != "" {
		token, err := h.Secrets.Resolve(r.Context(), c.APITokenSecretRef)
		if err != nil {
			return fmt.Errorf("httpapi: clinic %s api token: %w", c.ID, err)
		}
		hash = ehr.HashToken(token)
	}
	if hash == "" || !ehr.TokenMatches(hash, strings.TrimSpace(presented)) {
		return NewProblem(http.StatusUnauthorized, "the bearer token is not valid for this clinic")
	}
	return nil
}

// idempotent runs apply once per webhook-id: a repeated delivery gets the first
// answer and changes nothing. Only requests that passed authentication and
// validation get here, so a 4xx never stores anything.
func (h *EHRAPI) idempotent(w http.ResponseWriter, r *http.Request, c clinic.Clinic, fail func(error), apply func() (int, string, []byte, error)) {
	msgID := r.Header.Get("webhook-id")
	if msgID == "" { // bearer-authenticated FHIR deliveries carry no message id
		status, ct, body, err := apply()
		if err != nil {
			fail(err)
			return
		}
		h.answer(w, status, ct, body)
		return
	}
	key := "ehr:" + c.ID + ":" + msgID
	prev, err := h.Idempotency.ClaimIdempotency(r.Context(), key, IdempotencyLease)
	switch {
	case errors.Is(err, dynamo.ErrInProgress):
		fail(NewProblem(http.StatusConflict, "a delivery with this webhook-id is being processed; retry later"))
		return
	case err != nil:
		fail(err)
		return
	case prev != nil:
		w.Header().Set("Content-Type", prev.ContentType)
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(prev.Status)
		_, _ = w.Write(prev.Body)
		return
	}
	status, ct, body, err := apply()
	if err != nil {
		// Released even when the client went away: the retry must be able to proceed.
		if rerr := h.Idempotency.ReleaseIdempotency(context.WithoutCancel(r.Context()), key); rerr != nil {
			h.Log.Error("release idempotency key", "clinic", c.ID, "error", rerr)
		}
		fail(err)
		return
	}
	if err := h.Idempotency.CompleteIdempotency(context.WithoutCancel(r.Context()), key,
		dynamo.IdempotentResponse{Status: status, ContentType: ct, Body: body}, IdempotencyTTL); err != nil {
		h.Log.Error("complete idempotency key", "clinic", c.ID, "error", err)
	}
	h.answer(w, status, ct, body)
}

// fail answers err as problem JSON, logging server-side failures.
func (h *EHRAPI) fail(w http.ResponseWriter, r *http.Request) func(error) {
	return func(err error) {
		p := h.problemFor(err)
		if p.Status >= 500 {
			h.Log.Error("ehr request failed", "path", r.URL.Path, "error", err)
		}
		WriteProblem(w, r, p)
	}
}

func (h *EHRAPI) answer(w http.ResponseWriter, status int, ct string, body []byte) {
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// problemFor maps domain and parsing errors to HTTP problems, in one place.
func (h *EHRAPI) problemFor(err error) *Problem {
	var ve *ehr.ValidationError
	switch {
	case errors.As(err, &ve):
		p := NewProblem(http.StatusBadRequest, "the request has invalid fields; see errors")
		p.Errors = append(p.Errors, ve.Problems...)
		return p
	case errors.Is(err, intake.ErrUnknownPatient):
		return NewProblem(http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, appointment.ErrNotFound):
		return NewProblem(http.StatusNotFound, "not found")
	case errors.Is(err, appointment.ErrConflict):
		return NewProblem(http.StatusConflict, "the appointment changed concurrently; retry")
	}
	return asProblem(err)
}

func (h *EHRAPI) putAppointment(w http.ResponseWriter, r *http.Request) {
	c, body, err := h.signedRequest(w, r, mediaJSON)
	if err != nil {
		WriteProblem(w, r, h.problemFor(err))
		return
	}
	ev, err := ehr.ParseNative(body, c, r.PathValue("appointmentId"), h.Clock.Now())
	if err != nil {
		WriteProblem(w, r, h.problemFor(err))
		return
	}
	h.idempotent(w, r, c, h.fail(w, r), func() (int, string, []byte, error) {
		res, err := h.Intake.Apply(r.Context(), c, ev)
		if err != nil {
			return 0, "", nil, err
		}
		status := http.StatusOK
		if res.Created {
			status = http.StatusCreated
		}
		b, err := json.Marshal(ehr.NewAppointmentState(res.Appointment, res.Reminders, res.Ledger, res.Stale))
		return status, mediaJSON, b, err
	})
}

// signedRequest does what every signed write shares: clinic, content type, size, signature.
func (h *EHRAPI) signedRequest(w http.ResponseWriter, r *http.Request, media ...string) (clinic.Clinic, []byte, error) {
	c, err := h.clinicFor(r)
	if err != nil {
		return c, nil, err
	}
	if err := requireContentType(r, media...); err != nil {
		return c, nil, err
	}
	body, err := readBody(w, r)
	if err != nil {
		return c, nil, err
	}
	return c, body, h.authenticateSignature(r, c, body)
}

func (h *EHRAPI) getAppointment(w http.ResponseWriter, r *http.Request) {
	c, err := h.clinicFor(r)
	if err == nil {
		err = h.authenticateBearer(r, c)
	}
	if err != nil {
		WriteProblem(w, r, h.problemFor(err))
		return
	}
	v, err := h.Intake.Appointment(r.Context(), c.ID, r.PathValue("appointmentId"))
	if err != nil {
		if errors.Is(err, appointment.ErrNotFound) {
			err = NewProblem(http.StatusNotFound, "unknown appointment")
		}
		WriteProblem(w, r, h.problemFor(err))
		return
	}
	writeJSON(w, http.StatusOK, ehr.NewAppointmentState(v.Appointment, v.Reminders, v.Ledger, false))
}

func (h *EHRAPI) putConsent(w http.ResponseWriter, r *http.Request) {
	c, body, err := h.signedRequest(w, r, mediaJSON)
	if err != nil {
		WriteProblem(w, r, h.problemFor(err))
		return
	}
	entry, err := ehr.ParseConsent(body, c, r.PathValue("patientId"), h.Clock.Now())
	if err != nil {
		WriteProblem(w, r, h.problemFor(err))
		return
	}
	h.idempotent(w, r, c, h.fail(w, r), func() (int, string, []byte, error) {
		ledger, err := h.Intake.RecordConsent(r.Context(), entry)
		if err != nil {
			return 0, "", nil, err
		}
		b, err := json.Marshal(ehr.NewConsentState(c.ID, entry.PatientID, ledger))
		return http.StatusOK, mediaJSON, b, err
	})
}

func (h *EHRAPI) getConsent(w http.ResponseWriter, r *http.Request) {
	c, err := h.clinicFor(r)
	if err == nil {
		err = h.authenticateBearer(r, c)
	}
	if err != nil {
		WriteProblem(w, r, h.problemFor(err))
		return
	}
	patientID := r.PathValue("patientId")
	ledger, err := h.Intake.Consent(r.Context(), c.ID, patientID)
	if err != nil {
		WriteProblem(w, r, h.problemFor(err))
		return
	}
	writeJSON(w, http.StatusOK, ehr.NewConsentState(c.ID, patientID, ledger))
}
