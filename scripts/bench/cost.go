package main

// The cost case: it drives reminders through the whole happy path, each
// step through the handler its Lambda runs, measures handler time, DynamoDB and SQS
// requests and log bytes, and prices them per 1,000 reminders.

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // G501: SQS defines md5OfBody as the MD5 of the body; an integrity digest, not security
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dynamotypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"

	"github.com/frontdesk-health/frontdesk/shared/app/ehrapi"
	"github.com/frontdesk-health/frontdesk/shared/app/inbound"
	"github.com/frontdesk-health/frontdesk/shared/app/sender"
	"github.com/frontdesk-health/frontdesk/shared/app/sweep"
	"github.com/frontdesk-health/frontdesk/shared/app/webhook"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/httpapi"
	"github.com/frontdesk-health/frontdesk/shared/inbox"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// us-east-1 list prices, as of Nov 2026. They are printed with the table because
// they go stale: check them before quoting the numbers.
const (
	priceDate          = "Nov 2026"
	priceLambdaGBs     = 0.0000133334 // arm64, per GB-second
	priceLambdaRequest = 0.20 / 1e6
	priceAPIRequest    = 3.50 / 1e6 // REST API
	priceSQSRequest    = 0.40 / 1e6 // per 64 KB chunk of a request
	priceWRU           = 0.625 / 1e6
	priceRRU           = 0.125 / 1e6
	priceLogsGB        = 0.50 // CloudWatch Logs ingestion
)

// Function names and memory as the stack deploys them (shared/fnspec).
const (
	fnEHRAPI   = fnspec.EHRAPI
	fnWebhook  = fnspec.WhatsAppWebhook
	fnSweep    = fnspec.ReminderSweep
	fnSender   = fnspec.Sender
	fnInbound  = fnspec.Inbound
	fnNotifier = fnspec.EHRNotifier
)

var memoryMB = func() map[string]float64 {
	m := map[string]float64{}
	for _, s := range fnspec.Specs() {
		m[s.Name] = float64(s.MemoryMB)
	}
	return m
}()

// sweepsPerMonth: the sweep's EventBridge rule is rate(1 minute); a 30-day month.
const sweepsPerMonth = 30 * 24 * 60

// costWarmup reminders go through the whole path once, untimed, before anything is
// measured: DynamoDB Local's JVM, moto and the connection pools warm up on them.
const costWarmup = 10

// statuses are the webhooks Meta posts for one delivered and read message.
var statuses = []string{whatsapp.StatusSent, whatsapp.StatusDelivered, whatsapp.StatusRead}

func benchCost(ctx context.Context, n, runs int) error {
	if runs < 1 || n <= 0 || n%(runs*10) != 0 {
		return fmt.Errorf("cost: -cost-reminders (%d) must be a positive multiple of 10 x -runs (%d): sends and records go in batches of 10", n, runs)
	}
	r, err := newCostRig(ctx)
	if err != nil {
		return err
	}
	defer r.close()

	t := time.Now()
	if _, err := r.pipeline(ctx, "w", costWarmup, 1); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	fmt.Printf("cost: warm-up (%d reminders through the whole path) took %s\n", costWarmup, time.Since(t).Round(time.Millisecond))
	// The sweep's fixed part: what every scheduled run costs with nothing due.
	empty, _, err := r.sweeps(ctx, 0, runs)
	if err != nil {
		return fmt.Errorf("empty sweep: %w", err)
	}
	t = time.Now()
	res, err := r.pipeline(ctx, "r", n, runs)
	if err != nil {
		return err
	}
	fmt.Printf("cost: %d reminders measured in %s (%d runs per step)\n\n", n, time.Since(t).Round(time.Millisecond), runs)
	res.empty = empty
	res.report(n, runs)
	return nil
}

// ---- measuring ---------------------------------------------------------------

// usage is what the handlers asked of AWS, as counters keyed by
//
//	call:dynamodb:Op, call:sqs:Op  HTTP requests (retries included: each is billed)
//	failed:dynamodb:Op             calls DynamoDB answered with an error
//	rru:Op, wru:Op                 DynamoDB request units
//	txgsi                          the GSI part of transactions' write units (doubled in wru:)
type usage map[string]float64

func (u usage) plus(v usage, f float64) usage {
	s := make(usage, len(u)+len(v))
	for k, x := range u {
		s[k] = x
	}
	for k, x := range v {
		if s[k] += f * x; math.Abs(s[k]) < 1e-9 {
			delete(s, k)
		}
	}
	return s
}

func (u usage) sum(prefix string) float64 {
	var s float64
	for k, x := range u {
		if strings.HasPrefix(k, prefix) {
			s += x
		}
	}
	return s
}

// ops lists one service's calls per operation, with their request units:
// "GetItem 1.00 (1.00 RRU), TransactWriteItems 2.00 (16.0 WRU)".
func (u usage) ops(service string) string {
	var parts []string
	for k, x := range u {
		op, ok := strings.CutPrefix(k, "call:"+service+":")
		if !ok || x < 0.0005 {
			continue
		}
		part := op + " " + num(x)
		if r := u["rru:"+op]; r > 0 {
			part += " (" + num(r) + " RRU)"
		}
		if w := u["wru:"+op]; w > 0 {
			part += " (" + num(w) + " WRU)"
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return "none"
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

type meter struct {
	mu sync.Mutex
	u  usage
}

func (m *meter) snapshot() usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return usage{}.plus(m.u, 1)
}

func (m *meter) add(key string, x float64) {
	m.mu.Lock()
	m.u[key] += x
	m.mu.Unlock()
}

// countingClient counts every HTTP request the SDK clients make.
type countingClient struct {
	base aws.HTTPClient
	m    *meter
}

func (c countingClient) Do(r *http.Request) (*http.Response, error) {
	c.m.add("call:"+operation(r), 1)
	return c.base.Do(r)
}

// operation names a request by its X-Amz-Target: both clients speak AWS JSON
// ("DynamoDB_20120810.PutItem", "AmazonSQS.SendMessageBatch").
func operation(r *http.Request) string {
	svc, op, ok := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	switch {
	case !ok:
		if a := r.URL.Query().Get("Action"); a != "" {
			return "sqs:" + a
		}
		return "other:" + r.Method + " " + r.URL.Path
	case strings.HasPrefix(svc, "DynamoDB"):
		return "dynamodb:" + op
	case svc == "AmazonSQS":
		return "sqs:" + op
	}
	return svc + ":" + op
}

// capacity asks DynamoDB for the units each call consumed and adds them up; setting
// ReturnConsumedCapacity only adds a field to the answer. DynamoDB Local computes
// them from item sizes as DynamoDB does, GSI writes included, but three things it
// leaves out are added here as DynamoDB bills them: transactions cost twice; a read
// that finds nothing still costs the minimum read (DynamoDB Local says 0); a
// conditional write that fails still costs its write (Local answers an error
// without units: 1 WRU is assumed, these items being under 1 KB).
func (m *meter) capacity(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("BenchConsumedCapacity",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			minRead := 0.5 // eventually consistent
			if v := reflect.ValueOf(in.Parameters); v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
				if f := v.Elem().FieldByName("ReturnConsumedCapacity"); f.IsValid() && f.CanSet() && f.String() == "" {
					f.SetString(string(dynamotypes.ReturnConsumedCapacityIndexes))
				}
				if f := v.Elem().FieldByName("ConsistentRead"); f.IsValid() && !f.IsNil() && f.Elem().Bool() {
					minRead = 1
				}
			}
			op := awsmiddleware.GetOperationName(ctx)
			factor := 1.0
			if strings.HasPrefix(op, "Transact") {
				factor = 2
			}
			out, md, err := next.HandleInitialize(ctx, in)
			if err != nil {
				m.add("failed:dynamodb:"+op, 1)
				if isWrite(op) {
					m.add("wru:"+op, factor)
				}
				return out, md, err
			}
			read, ccs := consumed(out.Result)
			var units, gsi float64
			for _, cc := range ccs {
				units += aws.ToFloat64(cc.CapacityUnits)
				for _, ix := range cc.GlobalSecondaryIndexes {
					gsi += aws.ToFloat64(ix.CapacityUnits)
				}
			}
			switch {
			case read:
				if op == "GetItem" || op == "Query" || op == "Scan" {
					units = math.Max(units, minRead)
				}
				m.add("rru:"+op, units*factor)
			case isWrite(op):
				m.add("wru:"+op, units*factor)
				if factor > 1 {
					m.add("txgsi", gsi)
				}
			}
			return out, md, err
		}), middleware.After)
}

func isWrite(op string) bool {
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems":
		return true
	}
	return false
}

func consumed(result any) (read bool, ccs []dynamotypes.ConsumedCapacity) {
	one := func(c *dynamotypes.ConsumedCapacity) []dynamotypes.ConsumedCapacity {
		if c == nil {
			return nil
		}
		return []dynamotypes.ConsumedCapacity{*c}
	}
	switch o := result.(type) {
	case *dynamodb.GetItemOutput:
		return true, one(o.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		return true, one(o.ConsumedCapacity)
	case *dynamodb.ScanOutput:
		return true, one(o.ConsumedCapacity)
	case *dynamodb.BatchGetItemOutput:
		return true, o.ConsumedCapacity
	case *dynamodb.TransactGetItemsOutput:
		return true, o.ConsumedCapacity
	case *dynamodb.PutItemOutput:
		return false, one(o.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		return false, one(o.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		return false, one(o.ConsumedCapacity)
	case *dynamodb.BatchWriteItemOutput:
		return false, o.ConsumedCapacity
	case *dynamodb.TransactWriteItemsOutput:
		return false, o.ConsumedCapacity
	}
	return false, nil
}

// sdkLogger drops one SDK warning and passes the rest on: DynamoDB Local sends no
// x-amz-crc32 header on error answers, and the SDK then warns about the checksum of
// every one (a known SDK behaviour against endpoints without that header). Failed conditional writes are expected on this
// path; hundreds of those lines would bury the report.
type sdkLogger struct{ next logging.Logger }

func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	if strings.Contains(format, "failed to close HTTP response body") {
		return
	}
	l.next.Logf(c, format, v...)
}

// byteCounter stands in for a function's stdout: CloudWatch Logs ingests what the
// function writes there.
type byteCounter struct{ n atomic.Int64 }

func (b *byteCounter) Write(p []byte) (int, error) {
	b.n.Add(int64(len(p)))
	return len(p), nil
}

// phase is one function's measurements over the runs.
type phase struct {
	fn, invocation, unit string // e.g. "sender", "batch of 10", "reminder"
	runs                 []phaseRun
}

type phaseRun struct {
	durs  []time.Duration // one per invocation
	units int
	use   usage
	logs  int64
}

// measureRun runs f as one run of p: usage and log bytes are what changed meanwhile.
func (r *costRig) measureRun(p *phase, units int, f func(timed func(func() error) error) error) error {
	before, logs := r.meter.snapshot(), r.logs[p.fn].n.Load()
	var durs []time.Duration
	err := f(func(invoke func() error) error {
		t := time.Now()
		err := invoke()
		durs = append(durs, time.Since(t))
		return err
	})
	if err != nil {
		return err
	}
	p.runs = append(p.runs, phaseRun{durs: durs, units: units, use: r.meter.snapshot().plus(before, -1),
		logs: r.logs[p.fn].n.Load() - logs})
	return nil
}

func (p *phase) invocations() int {
	n := 0
	for _, r := range p.runs {
		n += len(r.durs)
	}
	return n
}

func (p *phase) units() int {
	n := 0
	for _, r := range p.runs {
		n += r.units
	}
	return n
}

// medianRun returns the median over runs of f(run).
func (p *phase) medianRun(f func(phaseRun) float64) float64 {
	v := make([]float64, len(p.runs))
	for i, r := range p.runs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	return v[len(v)/2]
}

// meanMs is the median over runs of the mean invocation time.
func (p *phase) meanMs() float64 {
	return p.medianRun(func(r phaseRun) float64 {
		var s time.Duration
		for _, d := range r.durs {
			s += d
		}
		return ms(s) / float64(len(r.durs))
	})
}

// billedMs is the median over runs of the mean billed duration: Lambda rounds each
// invocation up to the next millisecond.
func (p *phase) billedMs() float64 {
	return p.medianRun(func(r phaseRun) float64 {
		var s float64
		for _, d := range r.durs {
			s += math.Max(1, math.Ceil(ms(d)))
		}
		return s / float64(len(r.durs))
	})
}

func (p *phase) percentile(q float64) float64 {
	var all []time.Duration
	for _, r := range p.runs {
		all = append(all, r.durs...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return ms(all[min(len(all)-1, int(q*float64(len(all))))])
}

// per is the usage of all runs divided by div, with "logs" the log bytes.
func (p *phase) per(div int) usage {
	total := usage{}
	for _, r := range p.runs {
		total = total.plus(r.use, 1)
		total["logs"] += float64(r.logs)
	}
	return usage{}.plus(total, 1/float64(div))
}

// ---- the rig -----------------------------------------------------------------

// costRig is every function's handler wired as the Lambdas wire it, on one set of
// fresh tables and queues, with counted AWS clients and one log sink per function.
type costRig struct {
	meter  *meter
	logs   map[string]*byteCounter
	store  *dynamo.Store
	sqs    *sqs.Client
	queues queue.URLs
	arns   map[string]string
	clinic clinic.Clinic

	ehrSecret, appSecret string
	ehrAPI, webhook      http.Handler
	outbox               *recordingOutbox
	sweeper              *outreach.Sweeper
	sender               *outreach.Sender
	inbound              *inbox.Service
	stub                 *whatsapptest.Stub
	graph                *httptest.Server
	patients             int
}

func newCostRig(ctx context.Context) (*costRig, error) {
	if os.Getenv(platform.EnvDynamoEndpoint) == "" || os.Getenv(platform.EnvSQSEndpoint) == "" {
		return nil, fmt.Errorf("%s and %s are not set: run through `go run ./scripts/localstack -- ...`",
			platform.EnvDynamoEndpoint, platform.EnvSQSEndpoint)
	}
	cfg, err := platform.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	r := &costRig{meter: &meter{u: usage{}}, logs: map[string]*byteCounter{}, arns: map[string]string{}}
	base := cfg.HTTPClient
	if base == nil {
		base = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = countingClient{base: base, m: r.meter}
	if cfg.Logger == nil {
		cfg.Logger = logging.NewStandardLogger(os.Stderr)
	}
	cfg.Logger = sdkLogger{next: cfg.Logger}
	dcfg := cfg.Copy()
	dcfg.APIOptions = append(dcfg.APIOptions, r.meter.capacity)
	db := dynamo.NewClient(dcfg)
	r.sqs = queue.NewClient(cfg)

	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "cost" + hex.EncodeToString(b[:]) + "-"
	if err := dynamo.CreateTables(ctx, db, prefix); err != nil {
		return nil, err
	}
	if r.queues, err = queue.CreateQueues(ctx, r.sqs, prefix); err != nil {
		return nil, err
	}
	for _, q := range []string{queue.Inbound, queue.Outbound} {
		if r.arns[q], err = queue.QueueARN(ctx, r.sqs, r.queues[q]); err != nil {
			return nil, err
		}
	}
	clock := platform.SystemClock{}
	r.store = dynamo.NewStore(db, dynamo.NamesWithPrefix(prefix), clock, benchShards)
	r.clinic = benchClinic() // no quiet hours: every reminder goes out when due
	if err := r.store.PutClinic(ctx, r.clinic); err != nil {
		return nil, err
	}
	r.ehrSecret, r.appSecret = ehr.NewSecret(), "bench-app-secret"

	logger := func(fn string) *slog.Logger {
		w := &byteCounter{}
		r.logs[fn] = w
		return platform.NewLogger(w, slog.LevelInfo) // the level the Lambdas log at
	}
	secretName := strings.TrimPrefix(r.clinic.WebhookSecretRef, "env:")
	secrets := &platform.Secrets{Lookup: func(name string) (string, bool) { return r.ehrSecret, name == secretName }}
	ehrLog := logger(fnEHRAPI)
	r.ehrAPI = httpapi.NewRouter(ehrapi.New(ehrapi.Deps{Store: r.store, Secrets: secrets, Clock: clock, Log: ehrLog}),
		nil, ehrLog, clock, "")
	hookLog := logger(fnWebhook)
	r.webhook = httpapi.NewRouter(nil, webhook.New(webhook.Deps{
		AppSecret:   func(context.Context) (string, error) { return r.appSecret, nil },
		VerifyToken: func(context.Context) (string, error) { return "bench-verify-token", nil },
		Queue:       queue.InboundQueue{Publisher: queue.NewPublisher(r.sqs, r.queues[queue.Inbound])},
		Log:         hookLog,
	}), hookLog, clock, "")

	r.outbox = &recordingOutbox{next: queue.ReminderOutbox{Publisher: queue.NewPublisher(r.sqs, r.queues[queue.Outbound])}}
	r.sweeper = sweep.New(sweep.Deps{Store: r.store, Outbox: r.outbox, Clock: clock, Log: logger(fnSweep)})

	// The stand-in's and the sender's rates are far above what 300 sends need, and
	// every patient is different, so neither throughput pacing nor pair pacing ever
	// waits: the sender's time is its own processing.
	r.stub, err = whatsapptest.New(whatsapptest.Config{AccessToken: benchToken, AppSecret: r.appSecret, RatePerSecond: 1e6})
	if err != nil {
		return nil, err
	}
	r.graph = httptest.NewServer(r.stub)
	graph := &whatsapp.Client{BaseURL: r.graph.URL, Token: func(context.Context) (string, error) { return benchToken, nil },
		HTTP: r.graph.Client()}
	clinicEvents := queue.EventOutbox{Publisher: queue.NewPublisher(r.sqs, r.queues[queue.EHROutbox])}
	r.sender = sender.New(sender.Deps{
		Store: r.store, Messenger: graph, Events: clinicEvents, Visibility: queue.NewVisibility(r.sqs, r.queues[queue.Outbound]),
		Halter: outreach.HaltFunc(func(context.Context, string) error { return nil }), Clock: clock, Log: logger(fnSender),
		MessagesPerSecond: 1e6, Concurrency: 1, PairGap: time.Millisecond,
	})
	r.inbound = inbound.New(inbound.Deps{Store: r.store, Events: clinicEvents, Messenger: graph, Clock: clock, Log: logger(fnInbound)})
	logger(fnNotifier) // nothing on the happy path reaches it; the report checks its queue stayed empty
	return r, nil
}

func (r *costRig) close() {
	r.graph.Close()
	r.stub.Stop()
}

// recordingOutbox is the real outbound queue, remembering what the sweep enqueued.
type recordingOutbox struct {
	next outreach.Outbox
	mu   sync.Mutex
	jobs []reminder.Job
}

func (o *recordingOutbox) Enqueue(ctx context.Context, jobs []reminder.Job) error {
	if err := o.next.Enqueue(ctx, jobs); err != nil {
		return err
	}
	o.mu.Lock()
	o.jobs = append(o.jobs, jobs...)
	o.mu.Unlock()
	return nil
}

func (o *recordingOutbox) take() []reminder.Job {
	o.mu.Lock()
	defer o.mu.Unlock()
	j := o.jobs
	o.jobs = nil
	return j
}

// record shapes a queue message like the record the Lambda event source mapping
// delivers (first receive).
func (r *costRig) record(q string, body []byte) events.SQSMessage {
	id := platform.NewID()
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	sum := md5.Sum(body) //nolint:gosec // G401: the md5OfBody SQS computes
	return events.SQSMessage{
		MessageId: id, ReceiptHandle: "bench-" + id, Body: string(body), Md5OfBody: hex.EncodeToString(sum[:]),
		Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": now,
			"SenderId": "AROABENCH", "ApproximateFirstReceiveTimestamp": now},
		MessageAttributes: map[string]events.SQSMessageAttribute{},
		EventSource:       "aws:sqs", EventSourceARN: r.arns[q], AWSRegion: "us-east-1",
	}
}

// ---- the path ----------------------------------------------------------------

type costResults struct {
	ehr, sweep, empty, sender, webhook, inbound *phase
	notifierMessages                            int // on the ehr-outbox queue after the path
}

// pipeline takes n new reminders through every step, each step in runs equal runs.
func (r *costRig) pipeline(ctx context.Context, idPrefix string, n, runs int) (*costResults, error) {
	res := &costResults{}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%06d", idPrefix, i)
	}
	var (
		jobs []reminder.Job
		err  error
	)
	if res.ehr, err = r.book(ctx, ids, runs); err != nil {
		return nil, fmt.Errorf("ehr-api: %w", err)
	}
	if res.sweep, jobs, err = r.sweeps(ctx, n, runs); err != nil {
		return nil, fmt.Errorf("reminder-sweep: %w", err)
	}
	sent, sender, err := r.send(ctx, jobs, runs)
	if err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	res.sender = sender
	bodies, err := statusBodies(sent, runs)
	if err != nil {
		return nil, err
	}
	if res.webhook, err = r.post(ctx, bodies); err != nil {
		return nil, fmt.Errorf("whatsapp-webhook: %w", err)
	}
	if res.inbound, err = r.consume(ctx, bodies); err != nil {
		return nil, fmt.Errorf("inbound: %w", err)
	}
	if err := r.verifyRead(ctx, ids); err != nil {
		return nil, err
	}
	// Clinic callbacks go through the ehr-outbox queue to ehr-notifier: whatever is
	// on it (nothing, on this path) is what ehr-notifier would have to handle.
	if res.notifierMessages, err = r.queueDepth(ctx, queue.EHROutbox); err != nil {
		return nil, err
	}
	return res, nil
}

// queueDepth is the number of messages on a queue, visible or not.
func (r *costRig) queueDepth(ctx context.Context, name string) (int, error) {
	out, err := r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(r.queues[name]),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		return 0, fmt.Errorf("depth of %s: %w", name, err)
	}
	var n int
	for _, v := range out.Attributes {
		d, _ := strconv.Atoi(v)
		n += d
	}
	return n, nil
}

// book PUTs one appointment per reminder through the EHR API router, signed as an
// EHR signs it, booked 47 h ahead so its 48 h reminder is due at once.
func (r *costRig) book(ctx context.Context, ids []string, runs int) (*phase, error) {
	p := &phase{fn: fnEHRAPI, invocation: "signed PUT", unit: "PUT"}
	per := len(ids) / runs
	for run := range runs {
		err := r.measureRun(p, per, func(timed func(func() error) error) error {
			for _, id := range ids[run*per : (run+1)*per] {
				req, cancel, err := r.putRequest(ctx, id)
				if err != nil {
					return err
				}
				rec := httptest.NewRecorder()
				_ = timed(func() error { r.ehrAPI.ServeHTTP(rec, req); return nil })
				cancel()
				if rec.Code != http.StatusCreated {
					return fmt.Errorf("PUT %s: HTTP %d, want 201: %s", id, rec.Code, rec.Body.Bytes())
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (r *costRig) putRequest(ctx context.Context, id string) (*http.Request, context.CancelFunc, error) {
	r.patients++
	now := time.Now().UTC()
	body, err := json.Marshal(map[string]any{
		"status": "booked", "start": now.Add(47 * time.Hour).Truncate(time.Minute).Format(time.RFC3339), "durationMinutes": 30,
		"location":     map[string]string{"name": "Bench Family Clinic", "address": "1 Main St, Springfield"},
		"practitioner": map[string]string{"display": "Dr. Bench Example"},
		// Invented +1 555 01xx numbers, one per patient.
		"patient": map[string]string{"id": "p-" + id, "phone": fmt.Sprintf("+1555%07d", 100000+r.patients),
			"givenName": "Ana", "language": "en-US"},
		"consent": map[string]string{"whatsapp": "opted_in", "at": now.Add(-time.Hour).Format(time.RFC3339),
			"source": "bench", "evidence": "intake form"},
		"version": 1,
	})
	if err != nil {
		return nil, nil, err
	}
	h, err := ehr.SignHeaders(r.ehrSecret, "msg_"+platform.NewID(), now, body)
	if err != nil {
		return nil, nil, err
	}
	// The function's timeout (10 s) bounds the request, as in Lambda.
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	req := httptest.NewRequestWithContext(rctx, http.MethodPut, "/v1/clinics/"+r.clinic.ID+"/appointments/"+id, bytes.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	return req, cancel, nil
}

// sweeps runs one sweep over the due reminders runs times, putting them back in the
// index (untimed, uncounted) between runs, and returns the last sweep's jobs.
func (r *costRig) sweeps(ctx context.Context, due, runs int) (*phase, []reminder.Job, error) {
	p := &phase{fn: fnSweep, invocation: fmt.Sprintf("sweep, %d due", due), unit: "reminder"}
	var jobs []reminder.Job
	for run := range runs {
		if run > 0 {
			if err := parallel(len(jobs), 8, func(i int) error {
				j := jobs[i]
				return r.store.UnmarkQueued(ctx, reminder.Reminder{ClinicID: j.ClinicID, AppointmentID: j.AppointmentID,
					Kind: j.Kind, DueAt: j.DueAt, Generation: j.Generation})
			}); err != nil {
				return nil, nil, fmt.Errorf("reset: %w", err)
			}
		}
		err := r.measureRun(p, due, func(timed func(func() error) error) error {
			// The function's timeout: the sweep stops Margin before its deadline.
			sctx, cancel := context.WithTimeout(ctx, 50*time.Second)
			defer cancel()
			var st outreach.SweepStats
			if err := timed(func() (err error) { st, err = r.sweeper.Sweep(sctx); return err }); err != nil {
				return err
			}
			if st.Due != due || st.Enqueued != due {
				return fmt.Errorf("sweep saw %d due and enqueued %d, want %d (%+v)", st.Due, st.Enqueued, due, st)
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		jobs = r.outbox.take()
	}
	return p, jobs, nil
}

// send hands the jobs to the sender in SQS events of 10 records and returns what
// the Graph API stand-in accepted.
func (r *costRig) send(ctx context.Context, jobs []reminder.Job, runs int) ([]whatsapptest.Recorded, *phase, error) {
	p := &phase{fn: fnSender, invocation: "batch of 10", unit: "reminder"}
	before := len(r.stub.Sent())
	per := len(jobs) / runs
	for run := range runs {
		err := r.measureRun(p, per, func(timed func(func() error) error) error {
			for b := run * per; b < (run+1)*per; b += 10 {
				var ev events.SQSEvent
				for _, j := range jobs[b : b+10] {
					body, err := json.Marshal(j)
					if err != nil {
						return err
					}
					ev.Records = append(ev.Records, r.record(queue.Outbound, body))
				}
				hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				var resp events.SQSEventResponse
				err := timed(func() (err error) { resp, err = r.sender.Handle(hctx, ev); return err })
				cancel()
				if err != nil {
					return err
				}
				if len(resp.BatchItemFailures) > 0 {
					return fmt.Errorf("%d of 10 records failed", len(resp.BatchItemFailures))
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	var sent []whatsapptest.Recorded
	for _, rec := range r.stub.Sent()[before:] {
		if rec.Accepted() {
			sent = append(sent, rec)
		}
	}
	if len(sent) != len(jobs) {
		return nil, nil, fmt.Errorf("the stand-in accepted %d of %d reminders", len(sent), len(jobs))
	}
	return sent, p, nil
}

// statusBodies builds, per run, the sent, delivered and read webhooks of that run's
// messages, all "sent" first: Meta posts them seconds to hours apart, so a batch of
// the inbound queue holds statuses of different messages rather than one message's three.
func statusBodies(sent []whatsapptest.Recorded, runs int) ([][][]byte, error) {
	per := len(sent) / runs
	out := make([][][]byte, runs)
	for run := range runs {
		for _, status := range statuses {
			for _, rec := range sent[run*per : (run+1)*per] {
				msg, err := rec.Message()
				if err != nil {
					return nil, err
				}
				n := whatsapptest.StatusNotification(whatsapptest.DefaultWABAID, whatsapptest.DefaultDisplayPhoneNumber,
					rec.PhoneNumberID, rec.WAMID, strings.TrimPrefix(msg.To, "+"), status, "utility", time.Now())
				b, err := json.Marshal(n)
				if err != nil {
					return nil, err
				}
				out[run] = append(out[run], b)
			}
		}
	}
	return out, nil
}

// post delivers each status webhook, signed as Meta signs it, to the webhook router,
// which puts it on the real inbound queue.
func (r *costRig) post(ctx context.Context, bodies [][][]byte) (*phase, error) {
	p := &phase{fn: fnWebhook, invocation: "signed status POST", unit: "request"}
	for _, run := range bodies {
		err := r.measureRun(p, len(run), func(timed func(func() error) error) error {
			for _, b := range run {
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				req := httptest.NewRequestWithContext(rctx, http.MethodPost, "/webhooks/whatsapp", bytes.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign([]byte(r.appSecret), b))
				rec := httptest.NewRecorder()
				_ = timed(func() error { r.webhook.ServeHTTP(rec, req); return nil })
				cancel()
				if rec.Code != http.StatusOK {
					return fmt.Errorf("POST: HTTP %d, want 200: %s", rec.Code, rec.Body.Bytes())
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// consume hands the status webhooks to the inbound service in SQS events of 10.
func (r *costRig) consume(ctx context.Context, bodies [][][]byte) (*phase, error) {
	p := &phase{fn: fnInbound, invocation: "batch of 10", unit: "record"}
	for _, run := range bodies {
		err := r.measureRun(p, len(run), func(timed func(func() error) error) error {
			for b := 0; b < len(run); b += 10 {
				var ev events.SQSEvent
				for _, body := range run[b:min(b+10, len(run))] {
					ev.Records = append(ev.Records, r.record(queue.Inbound, body))
				}
				hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				var resp events.SQSEventResponse
				err := timed(func() (err error) { resp, err = r.inbound.Handle(hctx, ev); return err })
				cancel()
				if err != nil {
					return err
				}
				if len(resp.BatchItemFailures) > 0 {
					return fmt.Errorf("%d of %d records failed", len(resp.BatchItemFailures), len(ev.Records))
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// verifyRead checks that every 48 h reminder ended up read: the path really ran.
func (r *costRig) verifyRead(ctx context.Context, ids []string) error {
	return parallel(len(ids), 8, func(i int) error {
		_, rems, err := r.store.GetAppointment(ctx, r.clinic.ID, ids[i])
		if err != nil {
			return err
		}
		for _, rem := range rems {
			if rem.Kind == reminder.KindDayBefore && rem.State != reminder.StateRead {
				return fmt.Errorf("appointment %s: 48 h reminder is %s, want %s", ids[i], rem.State, reminder.StateRead)
			}
		}
		return nil
	})
}

// ---- the report --------------------------------------------------------------

// accessLogBytes estimates one API Gateway access-log line: infra/api.go's format
// filled with typical values (API Gateway writes it; nothing here can capture it).
func accessLogBytes() float64 {
	line := `{"requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef","xrayTraceId":"1-6731c8a0-0123456789abcdef01234567",` +
		`"ip":"203.0.113.10","requestTime":"12/Nov/2026:10:00:00 +0000","httpMethod":"PUT",` +
		`"resourcePath":"/v1/clinics/{clinicId}/appointments/{appointmentId}","status":"201","protocol":"HTTP/1.1",` +
		`"responseLength":"1024","responseLatency":"45","integrationLatency":"40","integrationError":"-","wafResponse":"-"}`
	return float64(len(line) + 1)
}

func lambdaUSD(fn string, invocations, billedMs float64) float64 {
	return invocations*billedMs/1000*memoryMB[fn]/1024*priceLambdaGBs + invocations*priceLambdaRequest
}

func (res *costResults) report(n, runs int) {
	const k = 1000.0 // reminders
	// Per reminder, by assumption: 1 PUT, 1 send, 3 status webhooks and 3 inbound records.
	ehrInv := k * 1
	hookInv := k * 3
	senderInv := k * float64(res.sender.invocations()) / float64(res.sender.units())
	inboundInv := k * 3 * float64(res.inbound.invocations()) / float64(res.inbound.units())
	// The sweep runs every minute whatever is due: a reminder adds only the difference
	// to an empty sweep; the empty sweeps are the fixed monthly baseline below.
	sweepShareMs := math.Max(0, res.sweep.billedMs()-res.empty.billedMs()) / float64(n)
	emptyUse := res.empty.per(res.empty.invocations())
	sweepShare := res.sweep.per(res.sweep.invocations()).plus(emptyUse, -1)

	use := usage{}.plus(res.ehr.per(res.ehr.units()), k).
		plus(sweepShare, k/float64(n)).
		plus(res.sender.per(res.sender.units()), k).
		plus(res.webhook.per(res.webhook.units()), 3*k).
		plus(res.inbound.per(res.inbound.units()), 3*k)
	apiRequests := ehrInv + hookInv
	pollerRequests := 2 * (senderInv + inboundInv) // one ReceiveMessage and one DeleteMessageBatch per batch
	sqsSweep := sweepShare.sum("call:sqs:") * k / float64(n)
	sqsHook := res.webhook.per(res.webhook.units()).sum("call:sqs:") * 3 * k
	sqsFn := use.sum("call:sqs:")
	sqsTotal := sqsFn + pollerRequests
	rru, wru := use.sum("rru:"), use.sum("wru:")
	accessLogs := apiRequests * accessLogBytes()
	logBytes := use["logs"] + accessLogs

	type line struct {
		item, usage string
		usd         float64
	}
	lines := []line{
		{fmt.Sprintf("Lambda %s (%.0f MB)", fnEHRAPI, memoryMB[fnEHRAPI]),
			fmt.Sprintf("%s invocations × %s ms billed", count(ehrInv), num(res.ehr.billedMs())),
			lambdaUSD(fnEHRAPI, ehrInv, res.ehr.billedMs())},
		{fmt.Sprintf("Lambda %s (%.0f MB)", fnSweep, memoryMB[fnSweep]),
			fmt.Sprintf("share of sweeps: %s ms per reminder", num(sweepShareMs)),
			k * sweepShareMs / 1000 * memoryMB[fnSweep] / 1024 * priceLambdaGBs},
		{fmt.Sprintf("Lambda %s (%.0f MB)", fnSender, memoryMB[fnSender]),
			fmt.Sprintf("%s batches of 10 × %s ms billed", count(senderInv), num(res.sender.billedMs())),
			lambdaUSD(fnSender, senderInv, res.sender.billedMs())},
		{fmt.Sprintf("Lambda %s (%.0f MB)", fnWebhook, memoryMB[fnWebhook]),
			fmt.Sprintf("%s invocations × %s ms billed", count(hookInv), num(res.webhook.billedMs())),
			lambdaUSD(fnWebhook, hookInv, res.webhook.billedMs())},
		{fmt.Sprintf("Lambda %s (%.0f MB)", fnInbound, memoryMB[fnInbound]),
			fmt.Sprintf("%s batches of 10 × %s ms billed", count(inboundInv), num(res.inbound.billedMs())),
			lambdaUSD(fnInbound, inboundInv, res.inbound.billedMs())},
		{fmt.Sprintf("Lambda %s (%.0f MB)", fnNotifier, memoryMB[fnNotifier]),
			fmt.Sprintf("0 invocations: %d clinic callbacks queued on this path", res.notifierMessages), 0},
		{"API Gateway REST", fmt.Sprintf("%s requests", count(apiRequests)), apiRequests * priceAPIRequest},
		{"SQS", fmt.Sprintf("%s requests (%s webhook sends, %s sweep sends, %s Lambda pollers' receives and deletes%s)",
			count(sqsTotal), count(sqsHook), count(sqsSweep), count(pollerRequests), otherSQS(sqsFn-sqsHook-sqsSweep)),
			sqsTotal * priceSQSRequest},
		{"DynamoDB on demand", fmt.Sprintf("%s WRU + %s RRU (%s requests)", count(wru), count(rru), count(use.sum("call:dynamodb:"))),
			wru*priceWRU + rru*priceRRU},
		{"CloudWatch Logs", fmt.Sprintf("%s KB ingested (%s KB function logs, %s KB API access logs)",
			count(logBytes/1000), count(use["logs"]/1000), count(accessLogs/1000)), logBytes / 1e9 * priceLogsGB},
		{"KMS", "negligible: SQS and DynamoDB cache data keys", 0},
		{"EventBridge schedule", "scheduled rules are free", 0},
	}
	var total float64
	for _, l := range lines {
		total += l.usd
	}

	fmt.Printf("### Estimated AWS cost per 1,000 reminders (us-east-1, %s list prices)\n\n", priceDate)
	fmt.Println("| Item | Usage per 1,000 reminders | USD |")
	fmt.Println("|---|---|---:|")
	for _, l := range lines {
		fmt.Printf("| %s | %s | %s |\n", l.item, l.usage, usd(l.usd))
	}
	fmt.Printf("| **Total AWS** | | **%s** |\n\n", usd(total))

	baseline := lambdaUSD(fnSweep, sweepsPerMonth, res.empty.billedMs()) + sweepsPerMonth*(emptyUse.sum("rru:")*priceRRU+
		emptyUse.sum("wru:")*priceWRU+emptyUse.sum("call:sqs:")*priceSQSRequest+emptyUse["logs"]/1e9*priceLogsGB)
	fmt.Printf("Fixed, whatever the volume: the every-minute sweep with nothing due (%s invocations a 30-day month × %s ms billed, "+
		"%s RRU and %s log bytes each) costs %s a month.\n\n",
		count(sweepsPerMonth), num(res.empty.billedMs()), num(emptyUse.sum("rru:")), count(emptyUse["logs"]), usd(baseline))

	fmt.Println("Assumptions:")
	fmt.Printf("- Prices are us-east-1 list prices as of %s, to be checked: Lambda arm64 $0.0000133334 per GB-second and $0.20 per million requests "+
		"(billed duration rounded up to 1 ms); API Gateway REST $3.50 per million requests; SQS $0.40 per million requests (64 KB chunks); "+
		"DynamoDB on demand $0.625 per million WRU and $0.125 per million RRU; CloudWatch Logs ingestion $0.50 per GB; KMS $0.03 per 10,000 requests; "+
		"EventBridge scheduled rules free. No free tier.\n", priceDate)
	fmt.Println("- Each reminder: 1 EHR PUT (ehr-api), its share of the sweeps, 1 send (sender, batches of 10), 3 status webhooks (sent, delivered, read), " +
		"each 1 whatsapp-webhook call and 1 inbound record (batches of 10). The default policy plans two reminders per appointment, " +
		"so with one PUT per appointment the ehr-api line and its DynamoDB share halve. Happy path only: no retries, replies or failures, so ehr-notifier is not called.")
	fmt.Println("- Memory per function as infra deploys it: ehr-api 512 MB; whatsapp-webhook, reminder-sweep, sender, inbound, ehr-notifier 256 MB.")
	fmt.Printf("- DynamoDB units are what DynamoDB Local reports per call (item sizes: 1 RRU per strongly consistent read of up to 4 KB, half that eventually consistent, "+
		"1 WRU per write of up to 1 KB, GSI writes included), plus what it leaves out: transactions count twice; a read finding nothing still costs 1 (or 0.5) RRU; "+
		"a failed conditional write costs 1 WRU (these items are under 1 KB). GSI writes inside transactions are doubled too (%s WRU of the total); "+
		"if DynamoDB bills those once, the DynamoDB line is that much lower.\n", count(use["txgsi"]))
	fmt.Println("- SQS: every send, receive and delete is a request (all messages are far below 64 KB); Lambda's poller receives a batch of 10 and deletes it " +
		"with one DeleteMessageBatch. The pollers' empty long polls on idle queues are a fixed cost not included here.")
	fmt.Printf("- Logs: bytes the functions write at INFO, captured from their loggers (platform START/END/REPORT lines are off: system log level WARN); "+
		"API Gateway access logs estimated at %.0f bytes per request from infra's access-log format.\n", accessLogBytes())
	fmt.Println("- KMS: assumed negligible, as SQS (data key reuse period) and DynamoDB cache data keys rather than calling KMS per request.")
	fmt.Printf("- Durations are local handler times against DynamoDB Local and moto on this %d-CPU box, median of %d runs after a warm-up: an approximation of "+
		"Lambda durations. In AWS a DynamoDB call takes about 5 ms in-region. Graph API latency is not in the sender's time (the stand-in answers locally); "+
		"the 10 sends of a batch run in parallel, so each 100 ms Meta takes adds about %s per 1,000 reminders. Cold starts are not included.\n",
		runtime.NumCPU(), runs, usd(lambdaUSD(fnSender, senderInv, 100)-senderInv*priceLambdaRequest))
	fmt.Println("- Not AWS, not in the table: Meta charges per delivered template message, per its rate card for the recipient's country and the template category.")
	fmt.Println("- Also not included: X-Ray traces, Secrets Manager calls (cached per instance), CloudWatch metrics, alarms and dashboard, data transfer.")
	fmt.Println()

	fmt.Printf("### Measured (%d reminders, %d runs, %s, %d CPUs, %s)\n\n", n, runs, runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(),
		time.Now().UTC().Format("2006-01-02"))
	fmt.Println("| Function | Invocation | Mean per invocation (median of runs) | Billed | p50 / p90 | Per unit | DynamoDB calls per unit (request units) | RRU / WRU per unit | SQS calls per unit | Log bytes per unit |")
	fmt.Println("|---|---|---:|---:|---:|---:|---|---:|---|---:|")
	row := func(p *phase, perUnitMs float64, unit string, div int) {
		x := p.per(div)
		fmt.Printf("| %s | %s | %s ms | %s ms | %s / %s ms | %s ms per %s | %s | %s / %s | %s | %s |\n",
			p.fn, p.invocation, num(p.meanMs()), num(p.billedMs()), num(p.percentile(0.5)), num(p.percentile(0.9)),
			num(perUnitMs), unit, x.ops("dynamodb"), num(x.sum("rru:")), num(x.sum("wru:")), x.ops("sqs"), count(x["logs"]))
	}
	perUnit := func(p *phase) float64 {
		return p.meanMs() * float64(p.invocations()) / float64(p.units())
	}
	row(res.ehr, perUnit(res.ehr), "PUT", res.ehr.units())
	row(res.sweep, res.sweep.meanMs()/float64(n), "reminder", res.sweep.units())
	row(res.empty, res.empty.meanMs(), "sweep", res.empty.invocations())
	row(res.sender, perUnit(res.sender), "reminder", res.sender.units())
	row(res.webhook, perUnit(res.webhook), "request", res.webhook.units())
	row(res.inbound, perUnit(res.inbound), "record", res.inbound.units())
	fmt.Println()
	for _, p := range []*phase{res.ehr, res.sweep, res.empty, res.sender, res.webhook, res.inbound} {
		x, unit := p.per(p.units()), p.unit
		if p.units() == 0 {
			x, unit = p.per(p.invocations()), "sweep"
		}
		var failed []string
		for key, v := range x {
			if op, ok := strings.CutPrefix(key, "failed:dynamodb:"); ok {
				failed = append(failed, op+" "+num(v))
			}
		}
		if len(failed) > 0 {
			sort.Strings(failed)
			fmt.Printf("%s: DynamoDB calls answered with an error (conditional checks; included above) per %s: %s\n", p.fn, unit, strings.Join(failed, ", "))
		}
	}
}

func otherSQS(v float64) string {
	if v < 0.5 {
		return ""
	}
	return ", " + count(v) + " other"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// num prints a measurement with about three significant digits.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return count(v)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// count prints a rounded number with thousands separators.
func count(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

func usd(v float64) string {
	if v == 0 {
		return "$0"
	}
	if v >= 0.1 {
		return fmt.Sprintf("$%.2f", v)
	}
	return fmt.Sprintf("$%.5f", v)
}
