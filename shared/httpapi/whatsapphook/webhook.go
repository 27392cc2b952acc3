// Package whatsapphook serves Meta's WhatsApp webhook: the verification handshake
// and signed notifications, which it puts on the inbound queue.
package whatsapphook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/frontdesk-health/frontdesk/shared/httpapi/httpcore"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// InboundQueue takes a verified webhook payload; it must be durable when Put returns.
type InboundQueue interface {
	Put(ctx context.Context, payload []byte) error
}

// Webhook serves Meta's webhook: the GET verification handshake and signed POSTs.
// It only verifies and enqueues; the inbound Lambda does the work, so the answer is
// fast (Meta retries slow answers) and 200 means the payload is on the queue.
type Webhook struct {
	AppSecret   func(context.Context) (string, error)
	VerifyToken func(context.Context) (string, error)
	Queue       InboundQueue
	Log         *slog.Logger
}

// Routes are the webhook's routes, as "METHOD /path".
var Routes = []string{"GET /webhooks/whatsapp", "POST /webhooks/whatsapp"}

// Register adds the webhook's routes to mux.
func (h *Webhook) Register(mux *http.ServeMux) {
	mux.HandleFunc(Routes[0], h.verify)
	mux.HandleFunc(Routes[1], h.receive)
}

// NewRouter serves the webhook alone, as its Lambda does.
func NewRouter(h *Webhook, log *slog.Logger, clock platform.Clock, stage string) http.Handler {
	return httpcore.NewRouter(log, clock, stage, h.Register)
}

func (h *Webhook) verify(w http.ResponseWriter, r *http.Request) {
	token, err := h.VerifyToken(r.Context())
	if err != nil {
		httpcore.WriteProblem(w, r, httpcore.InternalProblem(h.Log, r, http.StatusServiceUnavailable, fmt.Errorf("webhook verify token unavailable: %w", err)))
		return
	}
	challenge, ok := whatsapp.VerifyChallenge(r.URL.Query(), token)
	if !ok {
		h.Log.Warn("webhook verification refused")
		httpcore.WriteProblem(w, r, httpcore.NewProblem(http.StatusForbidden, "hub.mode or hub.verify_token is wrong"))
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(challenge))
}

func (h *Webhook) receive(w http.ResponseWriter, r *http.Request) {
	body, err := httpcore.ReadBody(w, r)
	if err != nil {
		httpcore.WriteProblem(w, r, httpcore.AsProblem(err))
		return
	}
	secret, err := h.AppSecret(r.Context())
	if err != nil {
		httpcore.WriteProblem(w, r, httpcore.InternalProblem(h.Log, r, http.StatusServiceUnavailable, fmt.Errorf("webhook app secret unavailable: %w", err)))
		return
	}
	if err := whatsapp.VerifySignature([]byte(secret), body, r.Header.Get("X-Hub-Signature-256")); err != nil {
		h.Log.Warn("webhook signature rejected", "reason", err.Error())
		httpcore.WriteProblem(w, r, httpcore.NewProblem(http.StatusUnauthorized, "X-Hub-Signature-256 is missing or does not match"))
		return
	}
	if !json.Valid(body) {
		httpcore.WriteProblem(w, r, httpcore.NewProblem(http.StatusBadRequest, "the body is not JSON"))
		return
	}
	if err := h.Queue.Put(r.Context(), body); err != nil {
		// Not 200: Meta keeps the payload and retries, so nothing is lost.
		httpcore.WriteProblem(w, r, httpcore.InternalProblem(h.Log, r, http.StatusServiceUnavailable, fmt.Errorf("webhook enqueue failed: %w", err)))
		return
	}
	w.WriteHeader(http.StatusOK)
}
