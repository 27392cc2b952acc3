// Package notify is the ehr-notifier's application service: it takes clinic.Events
// off the ehr-outbox queue and posts each one, signed with Standard Webhooks, to the
// clinic's callback URL.
//
// Delivery is at-least-once. The event ID is the webhook-id header, so a clinic that
// receives the same event twice (a retry after a lost 2xx, or a redelivered SQS
// message) recognises it. Failures are retried by SQS itself: the handler reports the
// record as a batch item failure and stretches its visibility timeout with a growing
// backoff, and after the queue's maxReceiveCount the message moves to the DLQ with
// the reason in the logs. Nothing is dropped silently.
//
// Clinics are isolated from each other: every record of a batch is delivered at the
// same time, each under its own timeout that ends well before the invocation's
// deadline, so a clinic endpoint that hangs or fails costs only its own records a
// retry. If the invocation itself timed out, Lambda would hand the whole batch back
// and every other clinic would get its callbacks twice.
//
// Callbacks carry no ordering promise (a standard SQS queue has none either, and a
// retried event arrives after events that followed it): clinics order by the
// event's timestamp and deduplicate by webhook-id.
package notify

import (
	"github.com/frontdesk-health/frontdesk/shared/queue"

	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/ehr/stdwebhooks"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Clinics loads a clinic's configuration.
type Clinics interface {
	GetClinic(ctx context.Context, id string) (clinic.Clinic, error)
}

// SecretResolver turns clinic.WebhookSecretRef ("env:NAME" or a Secrets Manager ARN)
// into the clinic's "whsec_" secret. platform.Secrets implements it with caching.
type SecretResolver interface {
	Resolve(ctx context.Context, ref string) (string, error)
}

// Visibility stretches a failed message's visibility timeout so the next attempt
// waits (queue.Visibility implements it).
type Visibility interface {
	Delay(ctx context.Context, receiptHandle string, d time.Duration) error
}

// Signer computes the Standard Webhooks headers (webhook-id, webhook-timestamp,
// webhook-signature) for one delivery.
type Signer func(secret, msgID string, at time.Time, body []byte) (http.Header, error)

var _ Signer = stdwebhooks.SignHeaders

var _ SecretResolver = (*platform.Secrets)(nil)

// Defaults. MaxReceives must equal the ehr-outbox queue's maxReceiveCount so the
// handler knows which attempt is the last one and can say so in the log.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultReserve     = 5 * time.Second
	DefaultMaxReceives = 8
	DefaultBaseDelay   = 30 * time.Second
	DefaultMaxDelay    = 30 * time.Minute
)

// AlertDeadLetter is the alert key of the line that announces a callback's last
// attempt (SQS moves it to the DLQ when that attempt fails); a metric filter and an
// alarm match it. Stable.
const AlertDeadLetter = "notify_dead_letter"

// Service delivers clinic events.
type Service struct {
	Clinics    Clinics
	Secrets    SecretResolver
	Sign       Signer // default stdwebhooks.SignHeaders
	HTTP       *http.Client
	Visibility Visibility // nil: failures come back after the queue's visibility timeout
	Clock      platform.Clock
	Log        *slog.Logger

	// Timeout bounds one delivery (clinic lookup, secret, POST); default
	// DefaultTimeout. Under a context with a deadline (Lambda's) a delivery also
	// ends Reserve before it, so the failures are reported and their retries
	// delayed before the invocation times out.
	Timeout time.Duration
	Reserve time.Duration // default DefaultReserve; at most half the time left

	MaxReceives int           // default DefaultMaxReceives
	BaseDelay   time.Duration // backoff after the first failure; doubles per attempt
	MaxDelay    time.Duration
	// Jitter returns a factor in [0,1) that spreads retries of many events for one
	// clinic whose endpoint recovers, so they do not all arrive at once. Tests fix it.
	// Called from concurrent deliveries.
	Jitter func() float64
}

// Handle is the Lambda handler for the ehr-outbox event source mapping (which must
// enable ReportBatchItemFailures).
func (s *Service) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	timeout := s.DeliveryTimeout(ctx)
	maxReceives := s.MaxReceives
	if maxReceives == 0 {
		maxReceives = DefaultMaxReceives
	}
	c := queue.Consumer{Name: "notify", DeadLetter: "notify.dead_letter", Alert: AlertDeadLetter, MaxReceives: maxReceives, Visibility: s.Visibility,
		Backoff: s.backoff(), Concurrency: queue.WholeBatch, Log: s.log()}
	return c.Handle(ctx, ev, func(ctx context.Context, rec events.SQSMessage) queue.Result {
		dctx, cancel := context.WithTimeout(ctx, timeout)
		e, err := s.deliverRecord(dctx, rec)
		cancel()
		if err != nil {
			// Settled under the invocation's context, not the spent delivery's: the
			// reserve is kept for this.
			return queue.RetryWithBackoff(err.Error(),
				slog.String("event_id", e.ID), slog.String("event_type", e.Type), slog.String("clinic_id", e.ClinicID))
		}
		return queue.Ack()
	}), nil
}

// DeliveryTimeout is how long each delivery of a batch handled under ctx may take:
// Timeout, shortened so that it ends Reserve before ctx's deadline (the Reserve
// shrinks to half of what is left when less than twice of it is).
func (s *Service) DeliveryTimeout(ctx context.Context) time.Duration {
	d := s.Timeout
	if d <= 0 {
		d = DefaultTimeout
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		return d
	}
	reserve := s.Reserve
	if reserve <= 0 {
		reserve = DefaultReserve
	}
	// Context deadlines run on the wall clock, whatever clock the service is given.
	left := time.Until(deadline)
	return max(min(d, max(left-reserve, left/2)), 0)
}

// Outcome of one delivery, for logs and tests.
type Outcome string

// Delivery outcomes.
const (
	Delivered  Outcome = "delivered"
	RecordOnly Outcome = "record_only" // the clinic has no callback URL
)

// DeliveryError is a failed delivery attempt. HTTPStatus is 0 for transport errors.
type DeliveryError struct {
	HTTPStatus int
	Err        error
}

func (e *DeliveryError) Error() string {
	if e.HTTPStatus != 0 {
		return fmt.Sprintf("notify: callback answered %d", e.HTTPStatus)
	}
	return fmt.Sprintf("notify: callback: %v", e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// deliverRecord returns the decoded event (zero when the body is malformed) and the
// delivery's error.
func (s *Service) deliverRecord(ctx context.Context, rec events.SQSMessage) (clinic.Event, error) {
	var e clinic.Event
	if err := json.Unmarshal([]byte(rec.Body), &e); err != nil || e.ID == "" || e.ClinicID == "" || e.Type == "" {
		// It can never succeed, but failing it (rather than acking) parks it in the DLQ
		// where ops can see it: nothing is dropped silently.
		if err == nil {
			err = errors.New("id, type and clinicId are required")
		}
		s.log().Error("notify event malformed", "sqs_message_id", rec.MessageId, "error", err)
		return clinic.Event{}, fmt.Errorf("notify: decode event: %w", err)
	}
	out, err := s.Deliver(ctx, e)
	attrs := []any{"event_id", e.ID, "event_type", e.Type, "clinic_id", e.ClinicID, "receive_count", queue.ReceiveCount(rec)}
	if err != nil {
		s.log().Warn("notify delivery failed", append(attrs, "error", err.Error())...)
		return e, err
	}
	s.log().Info("notify event handled", append(attrs, "outcome", string(out))...)
	return e, nil
}

// Deliver posts one event to its clinic's callback URL.
func (s *Service) Deliver(ctx context.Context, e clinic.Event) (Outcome, error) {
	c, err := s.Clinics.GetClinic(ctx, e.ClinicID)
	if err != nil {
		return "", fmt.Errorf("notify: get clinic %s: %w", e.ClinicID, err)
	}
	if c.CallbackURL == "" {
		// The event stays on record in Frontdesk's own tables (appointment response,
		// consent ledger, message log); the clinic reads it through the API.
		return RecordOnly, nil
	}
	secret, err := s.Secrets.Resolve(ctx, c.WebhookSecretRef)
	if err != nil {
		return "", fmt.Errorf("notify: webhook secret of clinic %s: %w", c.ID, err)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("notify: encode event %s: %w", e.ID, err)
	}
	sign := s.Sign
	if sign == nil {
		sign = stdwebhooks.SignHeaders
	}
	headers, err := sign(secret, e.ID, s.now(), body)
	if err != nil {
		return "", fmt.Errorf("notify: sign event %s: %w", e.ID, err)
	}
	timeout := DefaultTimeout
	if s.HTTP != nil && s.HTTP.Timeout > 0 {
		timeout = s.HTTP.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("notify: callback request for clinic %s: %w", c.ID, redact(err))
	}
	for k, v := range headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Frontdesk-Notifier/1")
	client := s.HTTP
	if client == nil {
		client = NewHTTPClient()
	}
	res, err := client.Do(req)
	if err != nil {
		return "", &DeliveryError{Err: redact(err)}
	}
	// Drain a little so the connection can be reused; the body is never logged (a
	// clinic's error page can echo patient data back).
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
	_ = res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return "", &DeliveryError{HTTPStatus: res.StatusCode}
	}
	return Delivered, nil
}

// RetryDelay is the visibility delay after the n-th failed receive (n >= 1):
// BaseDelay, doubling per receive, capped at MaxDelay, plus up to a quarter as
// jitter.
func (s *Service) RetryDelay(n int) time.Duration { return s.backoff().Delay(n) }

func (s *Service) backoff() queue.Backoff {
	b := queue.Backoff{Base: s.BaseDelay, Max: s.MaxDelay, Jitter: 0.25, Rand: s.Jitter}
	if b.Base == 0 {
		b.Base = DefaultBaseDelay
	}
	if b.Max == 0 {
		b.Max = DefaultMaxDelay
	}
	return b
}

func (s *Service) now() time.Time { return platform.NowOf(s.Clock) }

func (s *Service) log() *slog.Logger { return platform.LoggerOrDiscard(s.Log) }

// redact drops the URL from a *url.Error: a callback URL's query string can carry a
// token, and errors end up in logs.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// NewHTTPClient returns the client for callbacks: a 10 s overall timeout, bounded
// dial/TLS/header timeouts, TLS 1.2+, and no redirects (a redirected POST turns
// into a GET, and following redirects would let a callback URL point anywhere).
func NewHTTPClient() *http.Client {
	return &http.Client{
		Timeout: DefaultTimeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: DefaultTimeout,
			MaxIdleConns:          20,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
