// Command coldstart measures each Lambda's cold start under AWS's runtime interface
// emulator (aws-lambda-rie) beside a Go hello-world built the same way, in one run:
//
//	make bench-coldstart
//
// installs the emulator at a pinned version under .local/bin and runs this command
// through scripts/localstack with -rie pointing at it. Every run
// starts a fresh emulator per function, invokes it once with the function's
// real-shaped event from events/ and reads the emulator's own figures: the init
// from its "INIT REPORT(durationMs: ...)" line and the first invocation from its
// "INVOKE RTDONE(..., duration: ...ms)" line. The REPORT line's "Init Duration" is
// not used: the emulator starts the runtime asynchronously, so it measures only
// the hand-off (well under a millisecond) and the init shows up in the first
// REPORT's Duration instead. Medians of -n runs are printed with their ratios to
// hello-world's, the functions interleaved within each run so that load from other
// processes on the machine spreads over all of them alike.
//
// The functions get tables and queues on DynamoDB Local and moto (a fresh prefix
// per run), a Graph API stand-in and a clinic callback endpoint, so each first
// invocation does its real work: the PUT books an appointment, the sender sends
// its reminder, the inbound handler applies a tap, the notifier posts a callback.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/app/apptest"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

const hello = "hello-world"

func main() {
	rie := flag.String("rie", "", "the runtime interface emulator binary (make bench-coldstart installs it)")
	n := flag.Int("n", 7, "cold starts per function (the median is reported)")
	inittrace := flag.Bool("inittrace", false, "also print each function's slowest package inits (GODEBUG=inittrace=1, one extra run)")
	flag.Parse()
	if err := run(*rie, *n, *inittrace); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run(rie string, n int, inittrace bool) error {
	if os.Getenv(platform.EnvDynamoEndpoint) == "" || os.Getenv(platform.EnvSQSEndpoint) == "" {
		return fmt.Errorf("%s and %s are not set: run through `go run ./scripts/localstack -- ...`",
			platform.EnvDynamoEndpoint, platform.EnvSQSEndpoint)
	}
	if rie == "" {
		return fmt.Errorf("-rie is required: run `make bench-coldstart`, which installs the emulator")
	}
	rie, err := filepath.Abs(rie)
	if err != nil {
		return err
	}
	if _, err := os.Stat(rie); err != nil {
		return fmt.Errorf("the emulator: %w (make bench-coldstart installs it)", err)
	}
	root, err := platform.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "frontdesk-coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	targets := append([]string{hello}, fnspec.Names()...)
	for _, name := range targets {
		pkg := "./functions/" + name
		if name == hello {
			pkg = "./scripts/coldstart/hello"
		}
		if err := build(root, pkg, filepath.Join(dir, name, "bootstrap")); err != nil {
			return err
		}
	}
	fmt.Printf("coldstart: built %d bootstraps for %s/%s (the Makefile's flags); %d cold starts each\n",
		len(targets), runtime.GOOS, runtime.GOARCH, n)

	w, err := newWorld()
	if err != nil {
		return err
	}
	defer w.close()

	results := map[string][]sample{}
	for i := range n {
		if err := w.reset(); err != nil {
			return err
		}
		for _, name := range targets {
			s, _, err := w.coldStart(rie, filepath.Join(dir, name, "bootstrap"), name, false)
			if err != nil {
				return fmt.Errorf("run %d: %s: %w", i+1, name, err)
			}
			results[name] = append(results[name], s)
		}
	}
	report(targets, results)

	if inittrace {
		if err := w.reset(); err != nil {
			return err
		}
		fmt.Println("\nslowest package inits (GODEBUG=inittrace=1, one cold start, ms of clock):")
		for _, name := range targets {
			_, out, err := w.coldStart(rie, filepath.Join(dir, name, "bootstrap"), name, true)
			if err != nil {
				return fmt.Errorf("inittrace: %s: %w", name, err)
			}
			fmt.Printf("  %-17s %s\n", name, slowestInits(out, 5))
		}
	}
	return nil
}

func build(root, pkg, out string) error {
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// sample is one cold start as the emulator reported it, in milliseconds.
type sample struct{ init, firstInvoke float64 }

var (
	initReport = regexp.MustCompile(`INIT REPORT\(.*?durationMs: ([0-9.]+)`)
	invokeDone = regexp.MustCompile(`INVOKE RTDONE\(.*?duration: ([0-9.]+)ms`)
	reportLine = regexp.MustCompile(`(?m)^REPORT RequestId: `)
	initTrace  = regexp.MustCompile(`(?m)^init (\S+) @[0-9.]+ ms, ([0-9.]+) ms clock`)
)

// parseSample reads the emulator's figures for the first invocation from its output.
func parseSample(out string) (sample, error) {
	im := initReport.FindStringSubmatch(out)
	vm := invokeDone.FindStringSubmatch(out)
	if im == nil || vm == nil {
		return sample{}, fmt.Errorf("no INIT REPORT or INVOKE RTDONE line in the emulator's output:\n%s", out)
	}
	init, err1 := strconv.ParseFloat(im[1], 64)
	invoke, err2 := strconv.ParseFloat(vm[1], 64)
	if err1 != nil || err2 != nil {
		return sample{}, fmt.Errorf("unreadable figures %q, %q", im[1], vm[1])
	}
	return sample{init: init, firstInvoke: invoke}, nil
}

// slowestInits sums inittrace's clock time per package and names the top k.
func slowestInits(out string, k int) string {
	type pkgInit struct {
		pkg string
		ms  float64
	}
	// The emulator inherits GODEBUG too: only what follows INIT START is the bootstrap's.
	if i := strings.Index(out, "INIT START"); i >= 0 {
		out = out[i:]
	}
	var all []pkgInit
	var total float64
	for _, m := range initTrace.FindAllStringSubmatch(out, -1) {
		ms, _ := strconv.ParseFloat(m[2], 64)
		all = append(all, pkgInit{m[1], ms})
		total += ms
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ms > all[j].ms })
	parts := []string{fmt.Sprintf("total %.1f over %d packages", total, len(all))}
	for i := 0; i < k && i < len(all); i++ {
		parts = append(parts, fmt.Sprintf("%s %.2f", all[i].pkg, all[i].ms))
	}
	return strings.Join(parts, "; ")
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// report prints the medians and their ratios to hello-world's, and beside them the
// fastest run of each: on a shared machine the minimum shows what load added to
// the median.
func report(targets []string, results map[string][]sample) {
	stat := func(name string, f func(sample) float64) (med, low float64) {
		var xs []float64
		for _, s := range results[name] {
			xs = append(xs, f(s))
		}
		return median(xs), slices.Min(xs)
	}
	initOf := func(s sample) float64 { return s.init }
	bothOf := func(s sample) float64 { return s.init + s.firstInvoke }
	hInit, hInitMin := stat(hello, initOf)
	hBoth, _ := stat(hello, bothOf)
	fmt.Printf("\n| function | init ms, median (min) | init / hello (min / min) | init + first invoke ms, median | (init + first) / hello |\n")
	fmt.Printf("|---|---:|---:|---:|---:|\n")
	for _, name := range targets {
		i, iMin := stat(name, initOf)
		b, _ := stat(name, bothOf)
		fmt.Printf("| %s | %.1f (%.1f) | %.2f (%.2f) | %.1f | %.2f |\n", name, i, iMin, i/hInit, iMin/hInitMin, b, b/hBoth)
	}
}

// world is what the functions talk to during the benchmark.
type world struct {
	ctx      context.Context
	graph    *whatsapptest.Stub
	graphSrv *httptest.Server
	callback *httptest.Server
	prefix   string
	queues   queue.URLs
	store    *dynamo.Store
}

func newWorld() (*world, error) {
	ctx := context.Background()
	stub, err := whatsapptest.New(whatsapptest.Config{AccessToken: apptest.AccessToken, AppSecret: apptest.AppSecret})
	if err != nil {
		return nil, err
	}
	w := &world{ctx: ctx, graph: stub, graphSrv: httptest.NewServer(stub)}
	w.callback = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rw.WriteHeader(http.StatusNoContent)
	}))
	return w, nil
}

func (w *world) close() {
	w.graphSrv.Close()
	w.graph.Stop()
	w.callback.Close()
}

// reset gives the next run fresh tables and queues holding the events' clinic.
func (w *world) reset() error {
	cfg, err := platform.AWSConfig(w.ctx)
	if err != nil {
		return err
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	w.prefix = "cold" + hex.EncodeToString(b[:]) + "-"
	db := dynamo.NewClient(cfg)
	if err := dynamo.CreateTables(w.ctx, db, w.prefix); err != nil {
		return err
	}
	if w.queues, err = queue.CreateQueues(w.ctx, queue.NewClient(cfg), w.prefix); err != nil {
		return err
	}
	w.store = dynamo.NewStore(db, dynamo.NamesWithPrefix(w.prefix), platform.SystemClock{}, fnspec.SweepShards)
	c := apptest.DemoClinic(w.callback.URL + "/frontdesk/events")
	if err := c.Validate(); err != nil {
		return err
	}
	return w.store.PutClinic(w.ctx, c)
}

// env is what a deployed function sees, pointed at the local world.
func (w *world) env(name string, inittrace bool) []string {
	vars := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME"),
		"AWS_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		platform.EnvDynamoEndpoint: os.Getenv(platform.EnvDynamoEndpoint),
		platform.EnvSQSEndpoint:    os.Getenv(platform.EnvSQSEndpoint),

		platform.EnvTablePrefix:         w.prefix,
		platform.EnvSweepShards:         strconv.Itoa(fnspec.SweepShards),
		platform.EnvInboundQueueURL:     w.queues[queue.Inbound],
		platform.EnvOutboundQueueURL:    w.queues[queue.Outbound],
		platform.EnvEHROutboxQueueURL:   w.queues[queue.EHROutbox],
		platform.EnvWhatsAppAPIBaseURL:  w.graphSrv.URL,
		platform.EnvWhatsAppAPIVersion:  fnspec.WhatsAppAPIVersion,
		platform.EnvWhatsAppAccessToken: apptest.AccessToken,
		platform.EnvWhatsAppAppSecret:   apptest.AppSecret,
		platform.EnvWhatsAppVerifyToken: apptest.VerifyToken,
		fnspec.EnvAPIStageName:          "prod",
		apptest.EHRSecretEnv:            apptest.EHRSecret,
		// Deployed functions read the digest key from the secret LOG_DIGEST_KEY_SECRET_ARN
		// names (one Secrets Manager call at init, not emulated here); the plain
		// variable stands in for it.
		platform.EnvLogDigestKey: "coldstart-log-digest-key",
	}
	if inittrace {
		vars["GODEBUG"] = "inittrace=1"
	}
	var out []string
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

// event is the function's events/ envelope, re-signed where a signature expires,
// after whatever the earlier steps of the story did (the sweep's claim).
func (w *world) event(name string) ([]byte, error) {
	read := func(file string) ([]byte, error) {
		root, err := platform.RepoRoot()
		if err != nil {
			return nil, err
		}
		return os.ReadFile(filepath.Join(root, "events", file))
	}
	switch name {
	case fnspec.EHRAPI:
		raw, err := read("apigw-put-appointment.json")
		if err != nil {
			return nil, err
		}
		var req events.APIGatewayProxyRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, err
		}
		hdr, err := ehr.SignHeaders(apptest.EHRSecret, req.Headers[ehr.HeaderWebhookID], time.Now(), []byte(req.Body))
		if err != nil {
			return nil, err
		}
		for _, k := range []string{ehr.HeaderWebhookID, ehr.HeaderWebhookTimestamp, ehr.HeaderWebhookSignature} {
			apptest.SetHeader(&req, k, hdr.Get(k))
		}
		return json.Marshal(req)
	case fnspec.WhatsAppWebhook:
		raw, err := read("apigw-webhook-message.json")
		if err != nil {
			return nil, err
		}
		var req events.APIGatewayProxyRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, err
		}
		apptest.SetHeader(&req, "X-Hub-Signature-256", whatsapp.Sign([]byte(apptest.AppSecret), []byte(req.Body)))
		return json.Marshal(req)
	case fnspec.ReminderSweep:
		return read("eventbridge-sweep.json")
	case fnspec.Sender:
		// The sweep would have claimed the reminder the PUT scheduled (it is due in
		// 2035, so the sweep above found nothing due).
		r, err := w.store.GetReminder(w.ctx, apptest.ClinicID, apptest.AppointmentID, reminder.KindDayBefore)
		if err != nil {
			return nil, fmt.Errorf("the PUT's reminder: %w", err)
		}
		if err := w.store.MarkQueued(w.ctx, r); err != nil {
			return nil, err
		}
		return read("sqs-outbound-reminder.json")
	case fnspec.Inbound:
		return read("sqs-inbound-webhook.json")
	case fnspec.EHRNotifier:
		return read("sqs-ehr-outbox-event.json")
	default:
		return []byte(`{}`), nil
	}
}

// coldStart starts the emulator on a free port with the bootstrap, invokes it once
// and returns the emulator's figures and its whole output.
func (w *world) coldStart(rie, bootstrap, name string, inittrace bool) (sample, string, error) {
	body, err := w.event(name)
	if err != nil {
		return sample{}, "", err
	}
	port, err := freePort()
	if err != nil {
		return sample{}, "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = w.env(name, inittrace)
	// Its own process group: the bootstrap is the emulator's child and must go with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &lines{report: make(chan struct{}, 1)}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return sample{}, "", err
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	if err := waitListening(addr, 10*time.Second); err != nil {
		return sample{}, out.String(), err
	}
	resp, err := http.Post("http://"+addr+"/2015-03-31/functions/function/invocations", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return sample{}, out.String(), err
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := checkAnswer(name, answer); err != nil {
		return sample{}, out.String(), err
	}
	select {
	case <-out.report:
	case <-time.After(10 * time.Second):
		return sample{}, out.String(), fmt.Errorf("no REPORT line within 10 s")
	}
	s, err := parseSample(out.String())
	return s, out.String(), err
}

// checkAnswer refuses a run whose first invocation failed: an error path would be
// timed instead of the real work.
func checkAnswer(name string, answer []byte) error {
	var v struct {
		StatusCode        int               `json:"statusCode"`
		BatchItemFailures []json.RawMessage `json:"batchItemFailures"`
		ErrorMessage      string            `json:"errorMessage"`
	}
	_ = json.Unmarshal(answer, &v)
	switch {
	case v.ErrorMessage != "":
		return fmt.Errorf("invocation failed: %s", answer)
	case name == fnspec.EHRAPI && v.StatusCode != http.StatusCreated,
		name == fnspec.WhatsAppWebhook && v.StatusCode != http.StatusOK:
		return fmt.Errorf("answered %d: %s", v.StatusCode, answer)
	case len(v.BatchItemFailures) > 0:
		return fmt.Errorf("batch item failures: %s", answer)
	}
	return nil
}

// lines collects the emulator's output and signals its first REPORT line.
type lines struct {
	mu     sync.Mutex
	buf    strings.Builder
	report chan struct{}
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if reportLine.MatchString(l.buf.String()) {
		select {
		case l.report <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitListening returns once addr accepts connections.
func waitListening(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the emulator did not listen on %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
