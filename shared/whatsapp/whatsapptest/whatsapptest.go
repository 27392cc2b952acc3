// Package whatsapptest is a stand-in for the WhatsApp Cloud API (Graph API), in the
// spirit of net/http/httptest. `make dev`, the benchmarks and the tests under shared/
// and functions/ all use this one stand-in (it lives outside scripts/internal so
// that they can), so a fault injected or counted here means the same everywhere. It
// validates sends against Meta's Message schema, answers like the Graph API (a
// wamid, or a Graph-style error), records every request, posts signed
// sent/delivered/read status webhooks back the way Meta does, enforces the
// per-number throughput limit, and injects faults on demand.
//
// Choices where Meta's behaviour is not fully documented:
//   - Over the throughput limit the stub answers HTTP 400 with code 130429 (and
//     subcode 2494055), as Meta's error-code table and partner docs show; callers
//     must classify on the code, not the HTTP status. ThrottleEvery injects the same answer.
//   - An injected timeout hangs until TimeoutDelay passes or the client gives up, then
//     answers 504 without sending: it models a request lost before Meta processed it,
//     so "sent exactly once" stays countable at the stub.
//   - A send whose client hung up before the stub decided on it (say, while the
//     schema was being checked) is not sent either, for the same reason: the client
//     saw no answer and will retry, and a wamid it never learnt would make that
//     retry look like a duplicate. It is recorded with HTTPStatus 499, nginx's
//     "client closed request", which no client ever receives.
//   - A submitted template is approved at once, so dev sends can use it immediately.
package whatsapptest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// MessageValidator checks a send body; *whatsappspec.Validator satisfies it.
type MessageValidator interface {
	ValidateMessage(body []byte) error
}

// Defaults for zero Config fields.
const (
	DefaultRatePerSecond      = 80
	DefaultWABAID             = "100000000000001"
	DefaultDisplayPhoneNumber = "15550199"
	DefaultTimeoutDelay       = 30 * time.Second
	defaultCallbackWorkers    = 4
	defaultCallbackAttempts   = 3
	maxBody                   = 1 << 20
)

// Config sets the stub up. AccessToken and AppSecret are required.
type Config struct {
	AccessToken string // the bearer token sends must carry
	AppSecret   string // signs status webhooks (X-Hub-Signature-256)
	// WebhookURL receives status webhooks; empty means none are posted.
	WebhookURL string
	// Validator checks every send against Meta's Message schema; nil checks only
	// that the body is a JSON object with `to` and `type`.
	Validator MessageValidator
	Clock     platform.Clock // default platform.SystemClock
	// RatePerSecond and Burst size each phone number's token bucket (default 80 and
	// RatePerSecond rounded up: one second's worth).
	RatePerSecond float64
	Burst         int
	Faults        Faults

	WABAID             string // entry[].id in webhooks; default DefaultWABAID
	DisplayPhoneNumber string // metadata.display_phone_number; default DefaultDisplayPhoneNumber
	// CallbackWorkers post webhooks concurrently (each message's statuses stay in
	// order); default 4.
	CallbackWorkers int
	HTTPClient      *http.Client // for webhooks; default 10 s timeout
	Logger          *slog.Logger // default discards
}

// Faults makes the stub misbehave deterministically: "every Nth" counters and a
// one-shot count over the send requests that passed authentication and validation
// (0 disables). When several match the same request, the first in field order wins.
type Faults struct {
	// ServerErrorNext answers the next N sends like ServerErrorEvery and counts
	// down to 0, for tests and dev sessions that need exactly one failed attempt
	// followed by a successful retry. Those sends still take their places in the
	// "every Nth" count, so adding it does not shift the other faults.
	ServerErrorNext  int `json:"server_error_next"`
	TimeoutEvery     int `json:"timeout_every"`
	ServerErrorEvery int `json:"server_error_every"` // HTTP 500, code 2
	ThrottleEvery    int `json:"throttle_every"`     // HTTP 400, code 130429
	PairRateEvery    int `json:"pair_rate_every"`    // HTTP 400, code 131056
	// TimeoutDelay is how long an injected timeout hangs (default 30 s); JSON as a
	// Go duration string ("2s").
	TimeoutDelay time.Duration `json:"-"`
	// TemplateErrors answers sends of the named template with the given code
	// (e.g. 132001: template does not exist in that language).
	TemplateErrors map[string]int `json:"template_errors,omitempty"`
	// AuthFail answers every request 401 / code 190, as an expired token does.
	AuthFail bool `json:"auth_fail"`
}

// MarshalJSON writes TimeoutDelay as a duration string.
func (f Faults) MarshalJSON() ([]byte, error) {
	type plain Faults
	out := struct {
		plain
		TimeoutDelay string `json:"timeout_delay,omitempty"`
	}{plain: plain(f)}
	if f.TimeoutDelay > 0 {
		out.TimeoutDelay = f.TimeoutDelay.String()
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads TimeoutDelay from a duration string.
func (f *Faults) UnmarshalJSON(b []byte) error {
	type plain Faults
	var in struct {
		plain
		TimeoutDelay string `json:"timeout_delay"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a typo in a fault name must not silently do nothing
	if err := dec.Decode(&in); err != nil {
		return err
	}
	*f = Faults(in.plain)
	if in.TimeoutDelay != "" {
		d, err := time.ParseDuration(in.TimeoutDelay)
		if err != nil {
			return fmt.Errorf("timeout_delay: %w", err)
		}
		f.TimeoutDelay = d
	}
	return nil
}

// Recorded is one send request as the stub saw it.
type Recorded struct {
	Version       string          `json:"version"` // the Graph API version in the path, e.g. v23.0
	PhoneNumberID string          `json:"phone_number_id"`
	Body          json.RawMessage `json:"body"`
	WAMID         string          `json:"wamid,omitempty"` // empty when rejected
	At            time.Time       `json:"at"`
	HTTPStatus    int             `json:"http_status"`
	Code          int             `json:"code,omitempty"` // Graph error code; 0 when accepted
	Type          string          `json:"type,omitempty"`
	Template      string          `json:"template,omitempty"`
	// Error says why a send was refused (the schema violation of an invalid one).
	Error string `json:"error,omitempty"`
	// Invalid marks a body that failed validation; a code 100 alone could also be
	// an injected template error.
	Invalid bool `json:"invalid,omitempty"`
}

// StatusClientGone is recorded for a send whose client hung up before the stub
// decided on it; see the package doc.
const StatusClientGone = 499

// Accepted reports whether the stub sent the message.
func (r Recorded) Accepted() bool { return r.HTTPStatus == http.StatusOK }

// Message decodes the recorded body, so tests can assert on what was sent.
func (r Recorded) Message() (whatsapp.Message, error) {
	var m whatsapp.Message
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return whatsapp.Message{}, fmt.Errorf("whatsapptest: recorded body: %w", err)
	}
	return m, nil
}

// Stats counts what the stub did.
type Stats struct {
	Requests             int `json:"requests"`
	Accepted             int `json:"accepted"`
	Invalid              int `json:"invalid"`
	AuthFailures         int `json:"auth_failures"`
	Throttled            int `json:"throttled"` // by the real rate limiter
	InjectedTimeouts     int `json:"injected_timeouts"`
	InjectedServerErrors int `json:"injected_server_errors"`
	InjectedThrottles    int `json:"injected_throttles"`
	InjectedPairRate     int `json:"injected_pair_rate"`
	TemplateErrors       int `json:"template_errors"`
	WebhooksDelivered    int `json:"webhooks_delivered"`
	WebhooksFailed       int `json:"webhooks_failed"`
	TemplatesSubmitted   int `json:"templates_submitted"`
	ClientGone           int `json:"client_gone"` // sends dropped because the client had hung up
}

// ErrStopped is returned by Flush when the stub stopped with callbacks undelivered.
var ErrStopped = errors.New("whatsapptest: stopped")

type callback struct {
	phoneNumberID string
	wamid         string
	recipient     string
	userID        string // the BSUID of a send by `recipient`
	category      string
}

// Stub is the Graph API stand-in; it is an http.Handler.
type Stub struct {
	cfg    Config
	mux    *http.ServeMux
	http   *http.Client
	log    *slog.Logger
	queue  chan callback
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
	traceN uint64

	mu        sync.Mutex
	faults    Faults
	n         int // send requests that reached fault injection
	seq       uint64
	sent      []Recorded
	stats     Stats
	limiters  map[string]*rate.Limiter
	templates []whatsapp.TemplateInfo
	pending   int
	waiters   []chan struct{}
}

// New builds a stub and starts its webhook workers; call Stop when done.
func New(cfg Config) (*Stub, error) {
	if cfg.AccessToken == "" || cfg.AppSecret == "" {
		return nil, errors.New("whatsapptest: AccessToken and AppSecret are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = platform.SystemClock{}
	}
	if cfg.RatePerSecond <= 0 {
		cfg.RatePerSecond = DefaultRatePerSecond
	}
	if cfg.Burst <= 0 {
		cfg.Burst = int(math.Ceil(cfg.RatePerSecond))
	}
	if cfg.WABAID == "" {
		cfg.WABAID = DefaultWABAID
	}
	if cfg.DisplayPhoneNumber == "" {
		cfg.DisplayPhoneNumber = DefaultDisplayPhoneNumber
	}
	if cfg.CallbackWorkers <= 0 {
		cfg.CallbackWorkers = defaultCallbackWorkers
	}
	s := &Stub{
		cfg:      cfg,
		http:     cfg.HTTPClient,
		log:      cfg.Logger,
		queue:    make(chan callback, 1024),
		stop:     make(chan struct{}),
		faults:   cloneFaults(cfg.Faults),
		limiters: map[string]*rate.Limiter{},
	}
	if s.http == nil {
		s.http = &http.Client{Timeout: 10 * time.Second}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /{version}/{phoneNumberID}/messages", s.handleSend)
	s.mux.HandleFunc("POST /{version}/{wabaID}/message_templates", s.handleSubmitTemplate)
	s.mux.HandleFunc("GET /{version}/{wabaID}/message_templates", s.handleListTemplates)
	s.mux.HandleFunc("GET /_stub/faults", s.handleGetFaults)
	s.mux.HandleFunc("POST /_stub/faults", s.handleSetFaults)
	s.mux.HandleFunc("GET /_stub/messages", s.handleMessages)
	s.mux.HandleFunc("GET /_stub/stats", s.handleStats)
	s.mux.HandleFunc("POST /_stub/reset", s.handleReset)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, http.StatusBadRequest, whatsapp.GraphError{
			Message: "Unsupported request - method type: " + strings.ToLower(r.Method), Type: "GraphMethodException", Code: 100,
		})
	})
	for range cfg.CallbackWorkers {
		s.wg.Add(1)
		go s.worker()
	}
	return s, nil
}

// ServeHTTP serves the Graph API routes and the /_stub admin routes.
func (s *Stub) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Stop ends the webhook workers (undelivered callbacks are dropped) and releases
// requests hanging in an injected timeout. Safe to call more than once.
func (s *Stub) Stop() {
	s.once.Do(func() {
		close(s.stop)
		s.wg.Wait()
		s.mu.Lock()
		s.pending = 0
		s.releaseWaitersLocked()
		s.mu.Unlock()
	})
}

// Flush waits until every status webhook queued so far has been posted (or given up
// on), so tests can assert on callbacks without sleeping.
func (s *Stub) Flush(ctx context.Context) error {
	s.mu.Lock()
	select {
	case <-s.stop:
		s.mu.Unlock()
		return ErrStopped
	default:
	}
	if s.pending == 0 {
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		select {
		case <-s.stop:
			return ErrStopped
		default:
			return nil
		}
	case <-ctx.Done():
		return fmt.Errorf("whatsapptest: flush: %w", ctx.Err())
	}
}

// SetFaults replaces the fault configuration and restarts the "every Nth" count.
func (s *Stub) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = cloneFaults(f)
	s.n = 0
	s.mu.Unlock()
}

// Faults returns the current fault configuration.
func (s *Stub) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneFaults(s.faults)
}

// Sent returns every send request recorded so far, accepted or not, oldest first.
func (s *Stub) Sent() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.sent...)
}

// Stats returns the counters.
func (s *Stub) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Reset clears recordings, counters, limiters and submitted templates (not faults).
func (s *Stub) Reset() {
	s.mu.Lock()
	s.sent, s.stats, s.n, s.templates = nil, Stats{}, 0, nil
	s.limiters = map[string]*rate.Limiter{}
	s.mu.Unlock()
}

func cloneFaults(f Faults) Faults {
	if f.TemplateErrors != nil {
		m := make(map[string]int, len(f.TemplateErrors))
		for k, v := range f.TemplateErrors {
			m[k] = v
		}
		f.TemplateErrors = m
	}
	return f
}

// authorized answers 401 / code 190 itself when the bearer token is wrong.
func (s *Stub) authorized(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	authFail := s.faults.AuthFail
	s.mu.Unlock()
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !authFail && ok && subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.AccessToken)) == 1 {
		return true
	}
	s.writeError(w, http.StatusUnauthorized, whatsapp.GraphError{
		Message: "Error validating access token: Session has expired or the token is invalid.",
		Type:    "OAuthException", Code: whatsapp.CodeAccessToken, ErrorSubcode: 463,
	})
	return false
}

type sendDecision struct {
	status int
	gerr   whatsapp.GraphError
	hang   time.Duration
}

func (s *Stub) handleSend(w http.ResponseWriter, r *http.Request) {
	pnid := r.PathValue("phoneNumberID")
	now := s.cfg.Clock.Now()
	rec := Recorded{Version: r.PathValue("version"), PhoneNumberID: pnid, At: now}
	body, readErr := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	rec.Body = recordableBody(body)

	s.mu.Lock()
	s.stats.Requests++
	s.mu.Unlock()

	if !s.authorized(w, r) {
		rec.HTTPStatus, rec.Code, rec.Error = http.StatusUnauthorized, whatsapp.CodeAccessToken, "access token refused"
		s.record(rec, func(st *Stats) { st.AuthFailures++ })
		return
	}
	var msg struct {
		To        string `json:"to"`
		Recipient string `json:"recipient"`
		Type      string `json:"type"`
		Template  *struct {
			Name string `json:"name"`
		} `json:"template"`
	}
	var invalid string
	switch {
	case readErr != nil:
		invalid = "could not read the request body"
	case len(body) > maxBody:
		invalid = "request body too large"
	case json.Unmarshal(body, &msg) != nil:
		invalid = "request body is not a JSON object"
	case s.cfg.Validator != nil:
		if err := s.cfg.Validator.ValidateMessage(body); err != nil {
			invalid = err.Error()
		}
	case (msg.To == "" && msg.Recipient == "") || msg.Type == "":
		invalid = "to (or recipient) and type are required"
	}
	rec.Type = msg.Type
	if msg.Template != nil {
		rec.Template = msg.Template.Name
	}
	if invalid != "" {
		rec.HTTPStatus, rec.Code, rec.Error, rec.Invalid = http.StatusBadRequest, whatsapp.CodeInvalidParameter, invalid, true
		s.record(rec, func(st *Stats) { st.Invalid++ })
		s.writeError(w, http.StatusBadRequest, whatsapp.GraphError{
			Message: "(#100) Invalid parameter", Type: "OAuthException", Code: whatsapp.CodeInvalidParameter,
			ErrorData: &whatsapp.ErrorData{MessagingProduct: "whatsapp", Details: invalid},
		})
		return
	}

	if r.Context().Err() != nil {
		// Checked before decide so the abandoned request takes no wamid and does not
		// advance the "every Nth" fault count.
		rec.HTTPStatus, rec.Error = StatusClientGone, "client hung up before the send was processed"
		s.record(rec, func(st *Stats) { st.ClientGone++ })
		return
	}
	d, wamid := s.decide(pnid, rec.Template, now)
	if d.hang > 0 {
		timer := time.NewTimer(d.hang)
		select {
		case <-timer.C:
		case <-r.Context().Done():
		case <-s.stop:
		}
		timer.Stop()
	}
	if d.status != http.StatusOK {
		rec.HTTPStatus, rec.Code, rec.Error = d.status, d.gerr.Code, d.gerr.Message
		s.record(rec, nil)
		s.writeError(w, d.status, d.gerr)
		return
	}
	rec.HTTPStatus, rec.WAMID = http.StatusOK, wamid
	s.record(rec, nil)
	resp := whatsapp.SendResponse{MessagingProduct: "whatsapp"}
	resp.Contacts = append(resp.Contacts, struct {
		Input string `json:"input"`
		WaID  string `json:"wa_id"`
	}{msg.To + msg.Recipient, strings.TrimPrefix(msg.To, "+")})
	status := ""
	if msg.Type == "template" {
		status = "accepted"
	}
	resp.Messages = append(resp.Messages, struct {
		ID            string `json:"id"`
		MessageStatus string `json:"message_status,omitempty"`
	}{wamid, status})
	callbacks := s.reserve()
	writeJSON(w, http.StatusOK, resp)
	s.log.Info("whatsapptest: accepted send", "phone_number_id", pnid, platform.WAMID("wamid", wamid), "type", msg.Type)
	if callbacks {
		category := "service"
		if msg.Type == "template" {
			category = "utility"
		}
		s.push(callback{phoneNumberID: pnid, wamid: wamid, recipient: strings.TrimPrefix(msg.To, "+"), userID: msg.Recipient, category: category})
	}
}

// decide applies faults, the throughput limit and template errors, counting them,
// and allocates the wamid of an accepted send.
func (s *Stub) decide(pnid, template string, now time.Time) (sendDecision, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	f := s.faults
	every := func(k int) bool { return k > 0 && s.n%k == 0 }
	switch {
	case f.ServerErrorNext > 0:
		s.faults.ServerErrorNext--
		s.stats.InjectedServerErrors++
		return sendDecision{status: http.StatusInternalServerError, gerr: serverError()}, ""
	case every(f.TimeoutEvery):
		s.stats.InjectedTimeouts++
		delay := f.TimeoutDelay
		if delay <= 0 {
			delay = DefaultTimeoutDelay
		}
		return sendDecision{status: http.StatusGatewayTimeout, hang: delay, gerr: whatsapp.GraphError{
			Message: "(#2) Service temporarily unavailable", Type: "OAuthException", Code: whatsapp.CodeAPIService}}, ""
	case every(f.ServerErrorEvery):
		s.stats.InjectedServerErrors++
		return sendDecision{status: http.StatusInternalServerError, gerr: serverError()}, ""
	case every(f.ThrottleEvery):
		s.stats.InjectedThrottles++
		return sendDecision{status: http.StatusBadRequest, gerr: throughputError()}, ""
	case every(f.PairRateEvery):
		s.stats.InjectedPairRate++
		return sendDecision{status: http.StatusBadRequest, gerr: whatsapp.GraphError{
			Message: "(#131056) (Business Account, Consumer Account) pair rate limit hit", Type: "OAuthException", Code: whatsapp.CodePairRate,
			ErrorData: &whatsapp.ErrorData{MessagingProduct: "whatsapp", Details: "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time."}}}, ""
	}
	lim, ok := s.limiters[pnid]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(s.cfg.RatePerSecond), s.cfg.Burst)
		s.limiters[pnid] = lim
	}
	// AllowN with the injected clock's time keeps tests free of sleeps.
	if !lim.AllowN(now, 1) {
		s.stats.Throttled++
		return sendDecision{status: http.StatusBadRequest, gerr: throughputError()}, ""
	}
	if code, ok := f.TemplateErrors[template]; ok && template != "" {
		s.stats.TemplateErrors++
		return sendDecision{status: http.StatusBadRequest, gerr: templateError(code)}, ""
	}
	s.seq++
	s.stats.Accepted++
	return sendDecision{status: http.StatusOK}, newWAMID(pnid, s.seq)
}

func serverError() whatsapp.GraphError {
	return whatsapp.GraphError{
		Message: "An unexpected error has occurred. Please retry your request later.", Type: "OAuthException", Code: whatsapp.CodeAPIService,
	}
}

func throughputError() whatsapp.GraphError {
	return whatsapp.GraphError{
		Message: "(#130429) Rate limit hit", Type: "OAuthException", Code: whatsapp.CodeThroughput, ErrorSubcode: 2494055,
		ErrorData: &whatsapp.ErrorData{MessagingProduct: "whatsapp", Details: "Message failed to send because there were too many messages sent from this phone number in a short period of time"},
	}
}

var templateTitles = map[int]string{
	whatsapp.CodeTemplateParams:   "Number of parameters does not match the expected number of params",
	whatsapp.CodeTemplateMissing:  "Template name does not exist in the translation",
	whatsapp.CodeTemplatePaused:   "Template Paused",
	whatsapp.CodeTemplateDisabled: "Template has been disabled",
}

func templateError(code int) whatsapp.GraphError {
	title, ok := templateTitles[code]
	if !ok {
		title = "Injected error"
	}
	return whatsapp.GraphError{
		Message: fmt.Sprintf("(#%d) %s", code, title), Type: "OAuthException", Code: code,
		ErrorData: &whatsapp.ErrorData{MessagingProduct: "whatsapp", Details: title},
	}
}

// newWAMID makes an id shaped like Meta's (base64 after "wamid."), derived from the
// phone number id and a sequence so that it never carries the recipient's number.
func newWAMID(pnid string, seq uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	sum := sha256.Sum256(append([]byte(pnid+":"), b[:]...))
	return "wamid." + base64.StdEncoding.EncodeToString(append([]byte("HBgL"), sum[:20]...))
}

func (s *Stub) record(rec Recorded, count func(*Stats)) {
	s.mu.Lock()
	s.sent = append(s.sent, rec)
	if count != nil {
		count(&s.stats)
	}
	s.mu.Unlock()
}

// recordableBody keeps JSON bodies as they are and wraps anything else in a JSON
// string so /_stub/messages stays valid JSON.
func recordableBody(b []byte) json.RawMessage {
	if json.Valid(b) {
		return append(json.RawMessage(nil), b...)
	}
	q, _ := json.Marshal(string(b))
	return q
}

func (s *Stub) nextTraceID() string {
	s.mu.Lock()
	s.traceN++
	n := s.traceN
	s.mu.Unlock()
	return "AStub" + strconv.FormatUint(n, 36)
}

func (s *Stub) writeError(w http.ResponseWriter, status int, g whatsapp.GraphError) {
	g.FBTraceID = s.nextTraceID()
	if g.Type == "" {
		g.Type = "OAuthException"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token" "`+g.Message+`"`)
	}
	writeJSON(w, status, whatsapp.GraphErrorBody{Error: g})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
