// Package devstack runs the whole of Frontdesk in one process on 127.0.0.1: the
// local AWS stand-ins, the HTTP APIs, the reminder sweep, a consumer per queue
// calling the same handlers the Lambdas call, the Graph API stand-in and a demo
// clinic. `make dev` runs it; its test starts and stops it.
package devstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/frontdesk-health/frontdesk/scripts/internal/clinicfile"
	"github.com/frontdesk-health/frontdesk/scripts/internal/localstack"
	"github.com/frontdesk-health/frontdesk/shared/app/conversations"
	"github.com/frontdesk-health/frontdesk/shared/app/ehrapi"
	"github.com/frontdesk-health/frontdesk/shared/app/inbound"
	"github.com/frontdesk-health/frontdesk/shared/app/notifier"
	"github.com/frontdesk-health/frontdesk/shared/app/sender"
	"github.com/frontdesk-health/frontdesk/shared/app/sweep"
	"github.com/frontdesk-health/frontdesk/shared/app/webhook"
	"github.com/frontdesk-health/frontdesk/shared/console"
	"github.com/frontdesk-health/frontdesk/shared/console/devoidc"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/httpapi"
	"github.com/frontdesk-health/frontdesk/shared/notices"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/topic"
	"github.com/frontdesk-health/frontdesk/shared/waitlist"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// Config is the dev stack's settings; ConfigFromEnv documents the defaults.
type Config struct {
	Port, GraphPort int
	// OIDCPort is the dev OpenID provider's port (the console's sign-in).
	OIDCPort    int
	SweepEvery  time.Duration
	TablePrefix string

	AppSecret, VerifyToken, AccessToken string
	PhoneNumberID                       string
	EHRWebhookSecret, EHRAPIToken       string
	EHRWriteToken                       string // the demo clinic's token for FHIR pushes
	CallbackURL                         string
	ClinicFile                          string
	// GraphBaseURL, when set (WHATSAPP_API_BASE_URL), is where Frontdesk sends: a
	// Meta test number's Graph API or another fake. The built-in stand-in then does
	// not start and GraphPort is unused.
	GraphBaseURL string
	// QuietHours overrides the demo clinic's quiet hours ("21:00-08:00"); empty
	// disables them so a demo run at night still shows a reminder at once.
	QuietHours string
	// LogDigestKey keys the digests of patient ids, contact keys and wamids in logs.
	LogDigestKey string

	// SecondPhoneNumberID is the second demo clinic's WhatsApp number id.
	SecondPhoneNumberID string
	// Conversations backs the console's Inbox and thread pages; nil uses the dev
	// stack's conversation service (the one the API routes use).
	Conversations console.Conversations

	// Log receives the JSON logs (default stdout); ServerLog the local servers' output (default discarded).
	Log, ServerLog io.Writer
}

// Dev-only defaults. None of them is a real credential.
const (
	DefaultAppSecret     = "dev-app-secret"
	DefaultVerifyToken   = "dev-verify-token"
	DefaultAccessToken   = "dev-access-token"
	DefaultPhoneNumberID = "100000000000001"
	DefaultEHRSecret     = "whsec_ZGV2LWVoci13ZWJob29rLXNlY3JldC0wMDAwMDAwMDA="
	DefaultEHRAPIToken   = "dev-ehr-api-token"
	DefaultEHRWriteToken = "dev-ehr-write-token"
	DefaultLogDigestKey  = "dev-log-digest-key"
	DemoClinicID         = "demo-clinic"
	// SecondClinicID is a second tenant, so that clinic isolation can be tried by hand.
	SecondClinicID             = "second-clinic"
	DefaultSecondPhoneNumberID = "100000000000002"
	DefaultSecondEHRSecret     = "whsec_ZGV2LXNlY29uZC1jbGluaWMtc2VjcmV0LTAwMDAwMDA="
	DefaultSecondAPIToken      = "dev-second-api-token"
	DefaultSecondWriteToken    = "dev-second-write-token"
)

// StaffUsers are the dev OpenID provider's demo staff: two of the demo clinic and
// one of the second clinic. Invented people; the console shows their names.
var StaffUsers = []devoidc.User{
	{Subject: "dev-dana", Name: "Dana Demo", Email: "dana@demo-clinic.example", Groups: []string{"clinic:" + DemoClinicID}},
	{Subject: "dev-lee", Name: "Lee Demo", Email: "lee@demo-clinic.example", Groups: []string{"clinic:" + DemoClinicID}},
	{Subject: "dev-sol", Name: "Sol Second", Email: "sol@second-clinic.example", Groups: []string{"clinic:" + SecondClinicID}},
}

// ConfigFromEnv reads the dev stack's environment (see the README's table).
func ConfigFromEnv(lookup func(string) (string, bool)) (Config, error) {
	get := func(name, def string) string {
		if v, ok := lookup(name); ok && v != "" {
			return v
		}
		return def
	}
	atoi := func(name string, def int) (int, error) {
		v := get(name, "")
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 65535 {
			return 0, fmt.Errorf("devstack: %s=%q is not a port", name, v)
		}
		return n, nil
	}
	port, err := atoi("PORT", 8080)
	if err != nil {
		return Config{}, err
	}
	graphPort, err := atoi("GRAPH_PORT", 8089)
	if err != nil {
		return Config{}, err
	}
	oidcPort, err := atoi("OIDC_PORT", 8090)
	if err != nil {
		return Config{}, err
	}
	sweep, err := time.ParseDuration(get("SWEEP_INTERVAL", "5s"))
	if err != nil {
		return Config{}, fmt.Errorf("devstack: SWEEP_INTERVAL: %w", err)
	}
	return Config{
		Port: port, GraphPort: graphPort, OIDCPort: oidcPort, SweepEvery: sweep, TablePrefix: "dev-",
		AppSecret:           get("WHATSAPP_APP_SECRET", DefaultAppSecret),
		VerifyToken:         get("WHATSAPP_VERIFY_TOKEN", DefaultVerifyToken),
		AccessToken:         get("WHATSAPP_ACCESS_TOKEN", DefaultAccessToken),
		PhoneNumberID:       get("DEMO_WHATSAPP_PHONE_NUMBER_ID", DefaultPhoneNumberID),
		SecondPhoneNumberID: get("SECOND_WHATSAPP_PHONE_NUMBER_ID", DefaultSecondPhoneNumberID),
		EHRWebhookSecret:    get("DEMO_EHR_WEBHOOK_SECRET", DefaultEHRSecret),
		EHRAPIToken:         get("DEMO_EHR_API_TOKEN", DefaultEHRAPIToken),
		EHRWriteToken:       get("DEMO_EHR_WRITE_TOKEN", DefaultEHRWriteToken),
		CallbackURL:         get("DEMO_EHR_CALLBACK_URL", ""),
		ClinicFile:          get("DEMO_CLINIC_FILE", ""),
		QuietHours:          get("DEMO_QUIET_HOURS", ""),
		GraphBaseURL:        strings.TrimRight(get("WHATSAPP_API_BASE_URL", ""), "/"),
		LogDigestKey:        get(platform.EnvLogDigestKey, DefaultLogDigestKey),
	}, nil
}

// Stack is a running dev system.
type Stack struct {
	APIURL, GraphURL string
	// ConsoleURL is the console's sign-in page; OIDC the dev provider behind it.
	ConsoleURL string
	OIDC       *devoidc.Provider
	Local      *localstack.Stack
	Store      *dynamo.Store
	Stub       *whatsapptest.Stub
	Queues     queue.URLs
	Sweeper    *outreach.Sweeper
	// Waitlist is the sweep's waitlist step (lapsed holds, waves of offers).
	Waitlist *waitlist.Sweep

	// Notices dispatches due notices after each sweep, as the sweep Lambda does,
	// onto the outbound queue as the EHR API does (notices.Queued).
	Notices *notices.Dispatcher

	alertsMu sync.Mutex
	alerts   []topic.Body

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	servers []*http.Server
	once    sync.Once
	// gates hold one token per queue consumer while it polls; PauseConsumer takes
	// the token, so a paused consumer receives nothing (a received-but-unhandled
	// message would stay invisible for the queue's whole visibility timeout).
	gates map[string]*gate
}

// Alerts returns the urgent-conversation alerts published so far (make dev logs
// them as conversation_urgent_alert instead of publishing to SNS).
func (s *Stack) Alerts() []topic.Body {
	s.alertsMu.Lock()
	defer s.alertsMu.Unlock()
	return append([]topic.Body(nil), s.alerts...)
}

func (s *Stack) recordAlert(b topic.Body) {
	s.alertsMu.Lock()
	s.alerts = append(s.alerts, b)
	s.alertsMu.Unlock()
}

type gate struct {
	token  chan struct{} // capacity 1
	mu     sync.Mutex
	paused bool
}

// Start brings everything up and returns once the API answers /healthz.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	logOut := cfg.Log
	if logOut == nil {
		logOut = os.Stdout
	}
	log := platform.NewLogger(logOut, slog.LevelInfo)
	if cfg.LogDigestKey != "" {
		platform.SetDigestKey([]byte(cfg.LogDigestKey))
	}
	clock := platform.SystemClock{}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = 5 * time.Second // time.NewTicker panics on zero
	}

	// Listen first: a port in use is the most common dev failure and should be
	// reported before half a minute of starting Java.
	apiLn, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", cfg.Port))
	if err != nil {
		return nil, fmt.Errorf("devstack: API port: %w (set PORT)", err)
	}
	s := &Stack{APIURL: "http://" + apiLn.Addr().String(), GraphURL: cfg.GraphBaseURL}
	s.ConsoleURL = s.APIURL + console.Prefix + "/"
	oidcLn, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", cfg.OIDCPort))
	if err != nil {
		apiLn.Close()
		return nil, fmt.Errorf("devstack: OpenID provider port: %w (set OIDC_PORT)", err)
	}
	var graphLn net.Listener
	if cfg.GraphBaseURL == "" {
		graphLn, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", cfg.GraphPort))
		if err != nil {
			apiLn.Close()
			oidcLn.Close()
			return nil, fmt.Errorf("devstack: Graph API stand-in port: %w (set GRAPH_PORT)", err)
		}
		s.GraphURL = "http://" + graphLn.Addr().String()
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	defer func() {
		if err != nil {
			apiLn.Close()
			oidcLn.Close()
			if graphLn != nil {
				graphLn.Close()
			}
			s.Stop()
		}
	}()

	s.Local, err = localstack.Start(ctx, localstack.Options{Log: cfg.ServerLog})
	if err != nil {
		return nil, err
	}
	// Logged so a user (and the dev command's test) can find the servers' processes
	// by port, e.g. to check that Ctrl-C left none behind.
	log.Info("local servers started", "dynamodb_endpoint", s.Local.DynamoEndpoint, "sqs_endpoint", s.Local.SQSEndpoint)
	dyn, sq := s.Local.DynamoClient(), s.Local.SQSClient()
	if err := dynamo.CreateTables(ctx, dyn, cfg.TablePrefix); err != nil {
		return nil, err
	}
	if s.Queues, err = queue.CreateQueues(ctx, sq, cfg.TablePrefix); err != nil {
		return nil, err
	}
	s.Store = dynamo.NewStore(dyn, dynamo.NamesWithPrefix(cfg.TablePrefix), clock, fnspec.SweepShards)

	if cfg.GraphBaseURL == "" {
		if s.Stub, err = newStub(cfg, s.APIURL, log); err != nil {
			return nil, err
		}
	} else {
		log.Info("sending to WHATSAPP_API_BASE_URL; the Graph API stand-in is not started", "graph_base_url", cfg.GraphBaseURL)
	}

	secrets := &platform.Secrets{Lookup: func(name string) (string, bool) {
		v, ok := map[string]string{"DEMO_EHR_WEBHOOK_SECRET": cfg.EHRWebhookSecret, "DEMO_EHR_API_TOKEN": cfg.EHRAPIToken,
			"DEMO_EHR_WRITE_TOKEN": cfg.EHRWriteToken, "SECOND_EHR_WEBHOOK_SECRET": DefaultSecondEHRSecret,
			"SECOND_EHR_API_TOKEN": DefaultSecondAPIToken, "SECOND_EHR_WRITE_TOKEN": DefaultSecondWriteToken}[name]
		return v, ok
	}}
	if err := s.seedClinic(ctx, cfg); err != nil {
		return nil, err
	}

	graph := &whatsapp.Client{BaseURL: s.GraphURL, Token: func(context.Context) (string, error) { return cfg.AccessToken, nil }}
	outbound := queue.ReminderOutbox{Publisher: queue.NewPublisher(sq, s.Queues[queue.Outbound])}
	clinicEvents := queue.EventOutbox{Publisher: queue.NewPublisher(sq, s.Queues[queue.EHROutbox])}

	api := ehrapi.New(ehrapi.Deps{Store: s.Store, Secrets: secrets, Clock: clock, Log: log, Events: clinicEvents, Jobs: outbound})
	hook := webhook.New(webhook.Deps{
		AppSecret:   func(context.Context) (string, error) { return cfg.AppSecret, nil },
		VerifyToken: func(context.Context) (string, error) { return cfg.VerifyToken, nil },
		Queue:       queue.InboundQueue{Publisher: queue.NewPublisher(sq, s.Queues[queue.Inbound])},
		Log:         log,
	})
	if s.Stub != nil {
		s.serve(graphLn, s.Stub)
	}

	s.Sweeper = sweep.New(sweep.Deps{Store: s.Store, Outbox: outbound, Clock: clock, Log: log})
	s.Notices = sweep.NewNotices(s.Store, notices.Queued{Jobs: outbound},
		clinicEvents, clock, log)
	s.Waitlist = sweep.NewWaitlist(sweep.WaitlistDeps{Store: s.Store, Jobs: outbound, Events: clinicEvents, Clock: clock, Log: log})
	outboundSender := sender.New(sender.Deps{
		Store: s.Store, Messenger: graph, Events: clinicEvents, Visibility: queue.NewVisibility(sq, s.Queues[queue.Outbound]),
		Requeue: outbound, Pacer: s.Store, Claims: s.Store, SlotLookahead: 3,
		Completions: sender.Completions(s.Store, clinicEvents, clock, log),
		// As the Lambda disables its event source mapping, dev pauses the outbound
		// consumer (from a goroutine: the halt is called from inside that consumer's
		// handler, and pausing waits for the poll in progress).
		Halter: outreach.HaltFunc(func(_ context.Context, reason string) error {
			log.Error("sender halted: fix WHATSAPP_ACCESS_TOKEN and restart; queued reminders are kept", "reason", reason)
			go func() { _ = s.PauseConsumer(runCtx, queue.Outbound) }()
			return nil
		}),
		Clock: clock, Log: log,
		// A held template is rechecked every few sweeps, not every 15 minutes.
		TemplateRecheck: 5 * cfg.SweepEvery,
	})
	convs := conversations.New(conversations.Deps{Store: s.Store, Outbox: outbound, Alerter: topic.LogAlerts{Log: log, Record: s.recordAlert},
		Clock: clock, Log: log, APIBaseURL: s.APIURL})
	api.Conversations = &httpapi.ConversationAPI{EHR: api, Service: convs}
	// Replies take their number's send budget like the sender's jobs.
	in := inbound.New(inbound.Deps{Store: s.Store, Events: clinicEvents, Messenger: graph, Pacer: s.Store, Outbound: outbound, Conversations: convs,
		Visibility: queue.NewVisibility(sq, s.Queues[queue.Inbound]), Clock: clock, Log: log})
	clinicNotifier := notifier.New(notifier.Deps{Clinics: s.Store, Secrets: secrets,
		Visibility: queue.NewVisibility(sq, s.Queues[queue.EHROutbox]), Clock: clock, Log: log})

	s.gates = map[string]*gate{}
	for name, handler := range map[string]queue.Handler{queue.Inbound: in.Handle, queue.Outbound: outboundSender.Handle, queue.EHROutbox: clinicNotifier.Handle} {
		arn, err := queue.QueueARN(ctx, sq, s.Queues[name])
		if err != nil {
			return nil, err
		}
		p := &queue.Poller{Client: sq, URL: s.Queues[name], ARN: arn, BatchSize: 10, Handler: handler, Logger: log.With("queue", name)}
		g := &gate{token: make(chan struct{}, 1)}
		s.gates[name] = g
		s.goRun(func() { consume(runCtx, p, g.token, log.With("queue", name)) })
	}
	s.goRun(func() { s.sweepLoop(runCtx, cfg.SweepEvery, log) })

	if s.OIDC, err = devoidc.Start(oidcLn, StaffUsers); err != nil {
		return nil, err
	}
	cons := ehrapi.Console(ehrapi.ConsoleDeps{
		Config: console.Config{BaseURL: s.APIURL, InsecureLoopback: true},
		Auth: &console.OIDC{Issuer: s.OIDC.Issuer(), ClientID: devoidc.ClientID, ClientSecret: devoidc.ClientSecret,
			RedirectURL: s.APIURL + console.Prefix + "/callback", AuthStyle: oauth2.AuthStyleInParams},
		Store: s.Store, Conversations: cfg.Conversations, Clock: clock, Log: log,
	})
	if cons.Conversations == nil {
		cons.Conversations = &console.Handoff{Service: convs, Clinics: s.Store}
	}
	if err := cons.New(); err != nil {
		return nil, err
	}

	// Served last, so a 200 from /healthz means every part above is running.
	s.serve(apiLn, cons.Mount(httpapi.NewRouter(api, hook, log, clock, "")))

	if err := waitHealthy(ctx, s.APIURL+"/healthz"); err != nil {
		return nil, err
	}
	return s, nil
}

// newStub builds the Graph API stand-in. Without Meta's spec (a laptop with no network
// the first time) it still starts, checking only the recipient and type of each send,
// and says so in one line.
func newStub(cfg Config, apiURL string, log *slog.Logger) (*whatsapptest.Stub, error) {
	stubCfg := whatsapptest.Config{
		AccessToken: cfg.AccessToken, AppSecret: cfg.AppSecret,
		WebhookURL: apiURL + "/webhooks/whatsapp", Logger: log.With("component", "graph-stub"),
	}
	if whatsappspec.SpecAvailable() {
		validator, err := whatsappspec.Default()
		if err != nil {
			return nil, fmt.Errorf("devstack: Meta's OpenAPI spec for the Graph API stand-in: %w", err)
		}
		stubCfg.Validator = validator
	} else {
		log.Warn(whatsappspec.SkipMessage(whatsappspec.SpecPath()))
	}
	return whatsapptest.New(stubCfg)
}

func (s *Stack) seedClinic(ctx context.Context, cfg Config) error {
	path := cfg.ClinicFile
	if path == "" {
		root, err := platform.RepoRoot()
		if err != nil {
			return err
		}
		path = filepath.Join(root, "scripts", "clinics", "demo-clinic.json")
	}
	c, err := clinicfile.Load(path, "", "", os.LookupEnv)
	if err != nil {
		return err
	}
	c.PhoneNumberID = cfg.PhoneNumberID
	c.CallbackURL = cfg.CallbackURL
	c.QuietHours = reminder.QuietHours{}
	if cfg.QuietHours != "" {
		start, end, ok := strings.Cut(cfg.QuietHours, "-")
		if !ok {
			return fmt.Errorf("devstack: DEMO_QUIET_HOURS=%q must look like 21:00-08:00", cfg.QuietHours)
		}
		c.QuietHours = reminder.QuietHours{Start: start, End: end}
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("devstack: demo clinic: %w", err)
	}
	if err := s.Store.PutClinic(ctx, c); err != nil {
		return err
	}
	second := c
	second.ID, second.Name, second.TimeZone = SecondClinicID, "Second Street Clinic", "America/Chicago"
	second.PhoneNumberID, second.WABAID = cfg.SecondPhoneNumberID, "200000000000002"
	second.WebhookSecretRef, second.APITokenSecretRef, second.WriteTokenSecretRef = "env:SECOND_EHR_WEBHOOK_SECRET", "env:SECOND_EHR_API_TOKEN", "env:SECOND_EHR_WRITE_TOKEN"
	second.APITokenHash, second.WriteTokenHash, second.CallbackURL = "", "", ""
	if err := second.Validate(); err != nil {
		return fmt.Errorf("devstack: second clinic: %w", err)
	}
	return s.Store.PutClinic(ctx, second)
}

func (s *Stack) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	s.goRun(func() { _ = srv.Serve(ln) })
}

func (s *Stack) goRun(f func()) {
	s.wg.Add(1)
	go func() { defer s.wg.Done(); f() }()
}

// consume polls like queue.Poller.Run, but only while it holds the gate's token.
func consume(ctx context.Context, p *queue.Poller, gate chan struct{}, log *slog.Logger) {
	for {
		select {
		case gate <- struct{}{}:
		case <-ctx.Done():
			return
		}
		_, err := p.PollOnce(ctx)
		<-gate
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Error("poll failed", "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// PauseConsumer stops the consumer of a work queue (queue.Inbound, queue.Outbound,
// queue.EHROutbox) from receiving, waiting for a poll in progress to finish, so
// messages pile up on the queue: tests use it to hold reminders "queued".
func (s *Stack) PauseConsumer(ctx context.Context, name string) error {
	g, ok := s.gates[name]
	if !ok {
		return fmt.Errorf("devstack: no consumer for queue %q", name)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.paused {
		return nil
	}
	select {
	case g.token <- struct{}{}:
		g.paused = true
		return nil
	case <-ctx.Done():
		return fmt.Errorf("devstack: pause %s: %w", name, ctx.Err())
	}
}

// ResumeConsumer undoes PauseConsumer.
func (s *Stack) ResumeConsumer(name string) {
	g, ok := s.gates[name]
	if !ok {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.paused {
		<-g.token // ours: the consumer cannot hold it while paused
		g.paused = false
	}
}

func (s *Stack) sweepLoop(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		sweepCtx, cancel := context.WithTimeout(ctx, every+10*time.Second)
		if _, err := s.Sweeper.Sweep(sweepCtx); err != nil && ctx.Err() == nil {
			log.Error("sweep failed", "error", err)
		}
		if _, err := s.Notices.Dispatch(sweepCtx); err != nil && ctx.Err() == nil {
			log.Error("notice dispatch failed", "error", err)
		}
		if err := s.Waitlist.Run(sweepCtx); err != nil && ctx.Err() == nil {
			log.Error("waitlist sweep failed", "error", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop shuts everything down: HTTP servers, consumers, the sweep, the stand-in
// and the local servers (with their process groups).
func (s *Stack) Stop() {
	s.once.Do(func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, srv := range s.servers {
			_ = srv.Shutdown(shutdownCtx)
		}
		if s.cancel != nil {
			s.cancel()
		}
		s.wg.Wait()
		if s.Stub != nil {
			s.Stub.Stop()
		}
		if s.OIDC != nil {
			s.OIDC.Stop()
		}
		if s.Local != nil {
			s.Local.Stop()
		}
	})
}

func waitHealthy(ctx context.Context, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("devstack: %s did not answer 200: %v", url, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SignedEHRRequest is a request as the demo clinic's EHR sends it: a JSON body
// signed with the clinic's Standard Webhooks secret at the time at, under a new
// message id (the tests' other clinics share the secret).
func (cfg Config) SignedEHRRequest(ctx context.Context, method, url string, at time.Time, body []byte) (*http.Request, error) {
	headers, err := ehr.SignHeaders(cfg.EHRWebhookSecret, "msg_"+platform.NewID(), at, body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}
