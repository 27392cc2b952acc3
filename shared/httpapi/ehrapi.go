package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/httpapi/httpcore"
	"github.com/frontdesk-health/frontdesk/shared/idempotency"
	"github.com/frontdesk-health/frontdesk/shared/intake"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Idempotency remembers the first answer to each Standard Webhooks message id,
// bound to the request (route and body digest) it was first used for.
type Idempotency interface {
	ClaimRequest(ctx context.Context, key, fingerprint string, ttl time.Duration) (*idempotency.Response, error)
	CompleteIdempotency(ctx context.Context, key string, resp idempotency.Response, ttl time.Duration) error
	ReleaseIdempotency(ctx context.Context, key string) error
}

// OnceClaimer stores a marker once; first is true for the first caller of key.
type OnceClaimer interface {
	ClaimOnce(ctx context.Context, key string, ttl time.Duration) (first bool, err error)
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
	// Conversations, when set, serves the conversation and audit routes.
	Conversations *ConversationAPI
	// Once makes the deprecated_token_scope warning once a day per clinic across
	// instances; nil means once a day per instance.
	Once OnceClaimer
	// Metrics serves GET .../metrics.
	Metrics MetricsReader
	// Notices serves POST and GET .../patients/{patientId}/notices.
	Notices NoticeService

	mu             sync.Mutex
	deprecatedSeen map[string]string // clinic id -> day the warning was last logged
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

// maxWebhookIDLen bounds the webhook-id header: it becomes part of a storage key,
// and Standard Webhooks ids are short ("msg_" and a ULID or UUID).
const maxWebhookIDLen = 256

// clinicFor checks the ids in the path, then loads the clinic. Ids become parts of
// storage keys, so they are checked before any lookup: a clinic id outside the
// clinic id syntax (2-63 of a-z 0-9 -) cannot exist (404), an appointment, patient
// or slot id outside the FHIR id syntax (1-64 of A-Z a-z 0-9 - .) is invalid (400).
func (h *EHRAPI) clinicFor(r *http.Request) (clinic.Clinic, error) {
	if !clinic.ValidID(r.PathValue("clinicId")) {
		return clinic.Clinic{}, NewProblem(http.StatusNotFound, "unknown clinic")
	}
	for _, name := range []string{"appointmentId", "patientId", "slotId"} {
		if v := r.PathValue(name); v != "" && !ehr.ValidID(v) {
			return clinic.Clinic{}, NewProblem(http.StatusBadRequest, name+" in the path must be 1-64 characters of A-Z a-z 0-9 - .")
		}
	}
	c, err := h.Clinics.GetClinic(r.Context(), r.PathValue("clinicId"))
	if errors.Is(err, fault.ErrNotFound) {
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
		if !errors.Is(err, ehr.ErrMissingHeaders) && !errors.Is(err, ehr.ErrBadSignature) && !errors.Is(err, ehr.ErrTimestamp) {
			return fmt.Errorf("httpapi: clinic %s: %w", c.ID, err) // a broken secret is ours to fix
		}
		h.Log.Warn("ehr signature rejected", "clinic", c.ID, "reason", err.Error())
		return NewProblem(http.StatusUnauthorized, "webhook-id, webhook-timestamp and webhook-signature must be present, "+
			"signed with the clinic's secret, and the timestamp within 5 minutes")
	}
	return nil
}

// tokenScope is what a bearer token may do.
type tokenScope int

const (
	scopeRead  tokenScope = iota // GET routes
	scopeWrite                   // FHIR pushes authenticated by a bearer token
)

// authenticateBearer checks the clinic's token for the scope (both stored hashed,
// both compared in constant time whatever matches). A token of the other scope is
// 403. A clinic with no write token yet may push with its read token (deprecated is
// then true): FHIR Subscriptions configured before tokens were scoped keep working
// until onboarding sets a write token.
func (h *EHRAPI) authenticateBearer(r *http.Request, c clinic.Clinic, want tokenScope) (deprecated bool, err error) {
	presented, ok := ehr.BearerToken(r.Header) // the scheme is case-insensitive (RFC 9110)
	if !ok || presented == "" {
		return false, NewProblem(http.StatusUnauthorized, "Authorization: Bearer <clinic token> is required")
	}
	readHash, err := h.tokenHash(r, c, "api", c.APITokenHash, c.APITokenSecretRef)
	if err != nil {
		return false, err
	}
	writeHash, err := h.tokenHash(r, c, "write", c.WriteTokenHash, c.WriteTokenSecretRef)
	if err != nil {
		return false, err
	}
	presented = strings.TrimSpace(presented)
	isRead := ehr.TokenMatches(readHash, presented)
	isWrite := ehr.TokenMatches(writeHash, presented)
	switch {
	case want == scopeRead && isRead, want == scopeWrite && isWrite:
		return false, nil
	case want == scopeWrite && isRead && writeHash == "":
		return true, nil
	case want == scopeWrite && isRead:
		return false, NewProblem(http.StatusForbidden, "this is the clinic's read token; FHIR pushes need the write token").
			WithType(ProblemTokenScope, "forbidden")
	case want == scopeRead && isWrite:
		return false, NewProblem(http.StatusForbidden, "this is the clinic's write token; reads need the read token").
			WithType(ProblemTokenScope, "forbidden")
	}
	return false, NewProblem(http.StatusUnauthorized, "the bearer token is not valid for this clinic")
}

func (h *EHRAPI) tokenHash(r *http.Request, c clinic.Clinic, which, hash, ref string) (string, error) {
	if hash != "" || ref == "" {
		return hash, nil
	}
	token, err := h.Secrets.Resolve(r.Context(), ref)
	if err != nil {
		return "", fmt.Errorf("httpapi: clinic %s %s token: %w", c.ID, which, err)
	}
	return ehr.HashToken(token), nil
}

// noteDeprecatedScope logs deprecated_token_scope at most once a day per clinic, so
// ops see which clinics still push with their read token without a line per push.
func (h *EHRAPI) noteDeprecatedScope(ctx context.Context, c clinic.Clinic) {
	day := h.Clock.Now().UTC().Format(time.DateOnly)
	h.mu.Lock()
	if h.deprecatedSeen[c.ID] == day {
		h.mu.Unlock()
		return
	}
	if h.deprecatedSeen == nil {
		h.deprecatedSeen = map[string]string{}
	}
	h.deprecatedSeen[c.ID] = day
	h.mu.Unlock()
	if h.Once != nil {
		first, err := h.Once.ClaimOnce(ctx, "deprecated_token_scope:"+c.ID+":"+day, 48*time.Hour)
		if err == nil && !first {
			return
		}
		// On an error the line is logged anyway: a duplicate beats a missed warning.
	}
	h.Log.Warn("ehr token scope deprecated: FHIR push authenticated with the read token; onboard a write token",
		"alert", "deprecated_token_scope", "clinic", c.ID)
}

// fingerprint binds a webhook-id to one request: the route (method and path, so
// the appointment or patient id) and the SHA-256 of the body.
func fingerprint(r *http.Request, body []byte) string {
	sum := sha256.Sum256(body)
	return r.Method + " " + r.URL.Path + " " + hex.EncodeToString(sum[:])
}

// idempotent runs apply once per webhook-id: a repeated delivery gets the first
// answer and changes nothing. Only requests that passed authentication and
// validation get here, so a 4xx never stores anything.
func (h *EHRAPI) idempotent(w http.ResponseWriter, r *http.Request, c clinic.Clinic, body []byte, fail func(error), apply func() (int, string, []byte, error)) {
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
	if len(msgID) > maxWebhookIDLen {
		fail(NewProblem(http.StatusBadRequest, fmt.Sprintf("webhook-id must be at most %d characters", maxWebhookIDLen)))
		return
	}
	key := "ehr:" + c.ID + ":" + msgID
	prev, err := h.Idempotency.ClaimRequest(r.Context(), key, fingerprint(r, body), IdempotencyLease)
	switch {
	case errors.Is(err, idempotency.ErrKeyReused):
		fail(NewProblem(http.StatusUnprocessableEntity, "this webhook-id was already used for a different request (route or body); "+
			"use a new webhook-id for a new message").WithType(ProblemIdempotencyKeyReused, "duplicate"))
		return
	case errors.Is(err, fault.ErrInProgress):
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
	status, ct, out, err := apply()
	if err != nil {
		// Released even when the client went away: the retry must be able to proceed.
		if rerr := h.Idempotency.ReleaseIdempotency(context.WithoutCancel(r.Context()), key); rerr != nil {
			h.Log.Error("release idempotency key", "clinic", c.ID, "error", rerr)
		}
		fail(err)
		return
	}
	if err := h.Idempotency.CompleteIdempotency(context.WithoutCancel(r.Context()), key,
		idempotency.Response{Status: status, ContentType: ct, Body: out, Fingerprint: fingerprint(r, body)}, IdempotencyTTL); err != nil {
		h.Log.Error("complete idempotency key", "clinic", c.ID, "error", err)
	}
	h.answer(w, status, ct, out)
}

// fail answers err as problem JSON.
func (h *EHRAPI) fail(w http.ResponseWriter, r *http.Request) func(error) {
	return func(err error) { WriteProblem(w, r, h.problemFor(r, err)) }
}

func (h *EHRAPI) answer(w http.ResponseWriter, status int, ct string, body []byte) {
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// problemFor maps domain and parsing errors to HTTP problems, in one place. A
// server-side failure is logged here, once, under the correlation id it answers.
func (h *EHRAPI) problemFor(r *http.Request, err error) *Problem {
	var ve *ehr.ValidationError
	var p *Problem
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &ve):
		p := NewProblem(http.StatusBadRequest, "the request has invalid fields; see errors")
		p.Errors = append(p.Errors, ve.Problems...)
		return p
	case errors.Is(err, intake.ErrContention):
		return internalProblem(h.Log, r, http.StatusServiceUnavailable, err)
	case errors.Is(err, intake.ErrUnknownPatient):
		return NewProblem(http.StatusUnprocessableEntity, err.Error()).WithType(httpcore.StatusType(http.StatusUnprocessableEntity), "not-found")
	case errors.Is(err, ehr.ErrOrderingKeyChanged):
		return NewProblem(http.StatusUnprocessableEntity, err.Error()).WithType(ProblemOrderingKeyChanged, "business-rule")
	}
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return NewProblem(http.StatusRequestEntityTooLarge, "the body exceeds the limit of 256 KiB")
	}
	// Every other coded domain error maps by its code, in one place.
	if p, ok := httpcore.FaultProblem(err); ok {
		return p
	}
	if fault.CodeOf(err) == fault.Unavailable {
		return internalProblem(h.Log, r, http.StatusServiceUnavailable, err)
	}
	return internalProblem(h.Log, r, http.StatusInternalServerError, err)
}

func (h *EHRAPI) putAppointment(w http.ResponseWriter, r *http.Request) {
	signedWrite(h, w, r, func(c clinic.Clinic, body []byte) (ehr.Event, error) {
		return ehr.ParseNative(body, c, r.PathValue("appointmentId"), h.Clock.Now())
	}, func(c clinic.Clinic, ev ehr.Event) (int, any, error) {
		res, err := h.Intake.Apply(r.Context(), c, ev)
		if err != nil {
			return 0, nil, err
		}
		return putStatus(res.Created), ehr.NewAppointmentState(res.Appointment, res.Reminders, res.Ledger, res.Stale), nil
	})
}

// signedWrite is the flow every signed JSON write shares: the signed request, its
// body parsed, then the change applied once per webhook-id, its status and JSON
// answer kept for a retry.
func signedWrite[E any](h *EHRAPI, w http.ResponseWriter, r *http.Request,
	parse func(c clinic.Clinic, body []byte) (E, error), apply func(c clinic.Clinic, ev E) (int, any, error)) {
	c, body, err := h.signedRequest(w, r, mediaJSON)
	if err != nil {
		h.fail(w, r)(err)
		return
	}
	ev, err := parse(c, body)
	if err != nil {
		h.fail(w, r)(err)
		return
	}
	h.idempotent(w, r, c, body, h.fail(w, r), func() (int, string, []byte, error) {
		status, v, err := apply(c, ev)
		if err != nil {
			return 0, "", nil, err
		}
		b, err := json.Marshal(v)
		return status, mediaJSON, b, err
	})
}

// putStatus answers a PUT: 201 when it created the resource, 200 when it updated it.
func putStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// readClinic is what every read shares: the clinic and a bearer token with the
// read scope. On false the failure has been answered.
func (h *EHRAPI) readClinic(w http.ResponseWriter, r *http.Request) (clinic.Clinic, bool) {
	c, err := h.clinicFor(r)
	if err == nil {
		_, err = h.authenticateBearer(r, c, scopeRead)
	}
	if err != nil {
		h.fail(w, r)(err)
		return c, false
	}
	return c, true
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
	c, ok := h.readClinic(w, r)
	if !ok {
		return
	}
	v, err := h.Intake.Appointment(r.Context(), c.ID, r.PathValue("appointmentId"))
	if err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			err = NewProblem(http.StatusNotFound, "unknown appointment")
		}
		h.fail(w, r)(err)
		return
	}
	writeJSON(w, http.StatusOK, ehr.NewAppointmentState(v.Appointment, v.Reminders, v.Ledger, false))
}

func (h *EHRAPI) putConsent(w http.ResponseWriter, r *http.Request) {
	signedWrite(h, w, r, func(c clinic.Clinic, body []byte) (consent.Entry, error) {
		return ehr.ParseConsent(body, c, r.PathValue("patientId"), h.Clock.Now())
	}, func(c clinic.Clinic, entry consent.Entry) (int, any, error) {
		ledger, err := h.Intake.RecordConsent(r.Context(), entry)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, ehr.NewConsentState(c.ID, entry.PatientID, ledger), nil
	})
}

func (h *EHRAPI) getConsent(w http.ResponseWriter, r *http.Request) {
	c, ok := h.readClinic(w, r)
	if !ok {
		return
	}
	patientID := r.PathValue("patientId")
	ledger, err := h.Intake.Consent(r.Context(), c.ID, patientID)
	if err != nil {
		h.fail(w, r)(err)
		return
	}
	writeJSON(w, http.StatusOK, ehr.NewConsentState(c.ID, patientID, ledger))
}
