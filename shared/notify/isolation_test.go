package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/notify"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// readmeBackoff is the callback retry schedule the README promises: "30 s doubling
// to 30 min, 8 attempts over about an hour, then the DLQ". Receive n failing is
// followed by the delay in row n; the last receive has none (SQS dead-letters it).
var readmeBackoff = []struct {
	receive int
	delay   time.Duration // 0: none, the message goes to the DLQ
}{
	{1, 30 * time.Second},
	{2, time.Minute},
	{3, 2 * time.Minute},
	{4, 4 * time.Minute},
	{5, 8 * time.Minute},
	{6, 16 * time.Minute},
	{7, 30 * time.Minute},
	{8, 0},
}

// hangingServer is a clinic endpoint that never answers on its own: each request
// waits until release is closed and then drops the connection without a response.
type hangingServer struct {
	srv     *httptest.Server
	release chan struct{}
	mu      sync.Mutex
	ids     []string
}

func newHangingServer(t *testing.T) *hangingServer {
	h := &hangingServer{release: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.ids = append(h.ids, r.Header.Get("webhook-id"))
		h.mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-h.release:
		case <-r.Context().Done():
		}
		panic(http.ErrAbortHandler)
	}))
	t.Cleanup(h.srv.Close)
	t.Cleanup(h.free) // runs before Close, which waits for the handlers
	return h
}

func (h *hangingServer) free() {
	select {
	case <-h.release:
	default:
		close(h.release)
	}
}

func (h *hangingServer) received() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ids...)
}

// arrivals is a healthy clinic endpoint that reports each callback on a channel.
func arrivals(t *testing.T) (*httptest.Server, chan string) {
	ch := make(chan string, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e clinic.Event
		_ = json.NewDecoder(r.Body).Decode(&e)
		ch <- e.ID
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// patientHTTP makes the service's HTTP client wait as long as the delivery context
// allows, so the test controls when the hanging endpoint gives up.
func patientHTTP() *http.Client {
	c := notify.NewHTTPClient()
	c.Timeout = time.Hour
	c.Transport.(*http.Transport).ResponseHeaderTimeout = time.Hour
	return c
}

// TestClinicsIsolated: one batch holds callbacks for a clinic whose endpoint hangs,
// one that answers 500 and a healthy one. The healthy clinic's callbacks all arrive,
// once each, while the hanging endpoint is still holding its requests; only the two
// failing clinics' records come back, each delayed by the README's schedule for its
// receive count.
func TestClinicsIsolated(t *testing.T) {
	f := setup(t)
	hang := newHangingServer(t)
	failing := newCallbackServer(t, http.StatusInternalServerError)
	healthy, arrived := arrivals(t)
	putClinic(t, f.store, "clinic-hang", hang.srv.URL)
	putClinic(t, f.store, "clinic-fail", failing.srv.URL)
	putClinic(t, f.store, "clinic-ok", healthy.URL)
	f.svc.HTTP = patientHTTP()
	f.svc.Timeout = time.Hour // a sequential handler would wait here for the hanging clinic

	// Records in the order SQS might hand them over, hanging clinic first; the
	// receive counts exercise different rows of the schedule.
	batch := []struct {
		id, clinic string
		receive    int
	}{
		{"evt-hang-1", "clinic-hang", 1},
		{"evt-fail-1", "clinic-fail", 3},
		{"evt-ok-1", "clinic-ok", 1},
		{"evt-hang-2", "clinic-hang", 5},
		{"evt-ok-2", "clinic-ok", 2},
		{"evt-fail-2", "clinic-fail", 8},
		{"evt-ok-3", "clinic-ok", 1},
	}
	var ev events.SQSEvent
	for _, b := range batch {
		ev.Records = append(ev.Records, sqsRecord(t, event(b.id, b.clinic), b.receive))
	}

	type result struct {
		resp events.SQSEventResponse
		err  error
	}
	done := make(chan result, 1)
	// Lambda's context: the invocation may run far longer than this test waits.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	go func() {
		resp, err := f.svc.Handle(ctx, ev)
		done <- result{resp, err}
	}()

	got := map[string]int{}
	for len(got) < 3 {
		select {
		case id := <-arrived:
			got[id]++
		case r := <-done:
			t.Fatalf("handler returned %+v before the healthy clinic got its callbacks", r)
		case <-time.After(time.Minute): // a failure guard only; this takes milliseconds
			t.Fatalf("healthy clinic got %v while another clinic's endpoint hung: it is waiting behind it", got)
		}
	}
	select {
	case r := <-done:
		t.Fatalf("handler returned %+v while the hanging endpoint still held its requests", r)
	default:
	}
	hang.free()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}

	var failed []string
	for _, it := range r.resp.BatchItemFailures {
		failed = append(failed, it.ItemIdentifier)
	}
	sort.Strings(failed)
	want := []string{"m-evt-fail-1", "m-evt-fail-2", "m-evt-hang-1", "m-evt-hang-2"}
	if strings.Join(failed, ",") != strings.Join(want, ",") {
		t.Errorf("batch item failures %v, want only the failing clinics' %v", failed, want)
	}
	close(arrived)
	for id := range arrived {
		got[id]++
	}
	for _, id := range []string{"evt-ok-1", "evt-ok-2", "evt-ok-3"} {
		if got[id] != 1 {
			t.Errorf("healthy clinic got %s %d times, want exactly once", id, got[id])
		}
	}
	if n := len(hang.received()); n != 2 {
		t.Errorf("hanging endpoint got %d requests, want 2", n)
	}
	if n := len(failing.requests()); n != 2 {
		t.Errorf("failing endpoint got %d requests, want 2", n)
	}

	schedule := map[int]time.Duration{}
	for _, row := range readmeBackoff {
		schedule[row.receive] = row.delay
	}
	for _, b := range batch {
		if b.clinic == "clinic-ok" {
			continue
		}
		d, delayed := f.vis.of("rh-" + b.id + "-" + strconv.Itoa(b.receive))
		switch want := schedule[b.receive]; {
		case want == 0 && delayed:
			t.Errorf("%s on its last receive was delayed %v; SQS should dead-letter it", b.id, d)
		case want != 0 && d != want:
			t.Errorf("%s after receive %d delayed %v (applied %v), want %v", b.id, b.receive, d, delayed, want)
		}
	}
	if !strings.Contains(f.logs.String(), `"msg":"notify.dead_letter","alert":"`+notify.AlertDeadLetter+`","sqs_message_id":"m-evt-fail-2"`) {
		t.Errorf("the last attempt of evt-fail-2 is not logged with the alert key:\n%s", f.logs.String())
	}
}

// TestHangingClinicsEndBeforeTheInvocation: three hanging endpoints in one batch must
// not run the invocation into Lambda's timeout (which would hand the whole batch
// back, duplicating the healthy clinic's callback, with no backoff applied). Each
// delivery ends its Reserve before the deadline and the retries are delayed.
func TestHangingClinicsEndBeforeTheInvocation(t *testing.T) {
	f := setup(t)
	f.svc.HTTP = patientHTTP()
	healthy, arrived := arrivals(t)
	putClinic(t, f.store, "clinic-ok", healthy.URL)
	ev := events.SQSEvent{Records: []events.SQSMessage{sqsRecord(t, event("evt-ok", "clinic-ok"), 1)}}
	var hung []*hangingServer
	for _, id := range []string{"clinic-a", "clinic-b", "clinic-c"} {
		h := newHangingServer(t)
		hung = append(hung, h)
		putClinic(t, f.store, id, h.srv.URL)
		ev.Records = append(ev.Records, sqsRecord(t, event("evt-"+id, id), 2))
	}
	// 20 s left: each delivery gets 10 s, and 10 s remain to report and delay. A
	// shorter budget made the healthy delivery itself time out on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := f.svc.Handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the handler ran into the invocation's deadline")
	}
	if len(resp.BatchItemFailures) != 3 {
		t.Errorf("batch item failures %v, want the three hanging clinics'", resp.BatchItemFailures)
	}
	for _, it := range resp.BatchItemFailures {
		if it.ItemIdentifier == "m-evt-ok" {
			t.Errorf("the healthy clinic's record was reported failed: it would be delivered twice")
		}
	}
	select {
	case id := <-arrived:
		if id != "evt-ok" {
			t.Errorf("healthy clinic got %q", id)
		}
	case <-time.After(time.Minute): // bounded: a lost delivery fails the test instead of hanging it
		t.Fatal("the healthy clinic's event never arrived")
	}
	for i, h := range hung {
		if n := len(h.received()); n != 1 {
			t.Errorf("hanging endpoint %d got %d requests, want 1", i, n)
		}
	}
	for _, id := range []string{"clinic-a", "clinic-b", "clinic-c"} {
		if d, ok := f.vis.of("rh-evt-" + id + "-2"); !ok || d != time.Minute {
			t.Errorf("retry of %s delayed %v (applied %v), want 1m", id, d, ok)
		}
	}
}

func TestDeliveryTimeout(t *testing.T) {
	cases := []struct {
		name     string
		timeout  time.Duration
		reserve  time.Duration
		deadline time.Duration // from now; 0: none
		want     time.Duration
	}{
		{"no deadline", 0, 0, 0, notify.DefaultTimeout},
		{"Lambda's 30 s: the default fits", 0, 0, 30 * time.Second, notify.DefaultTimeout},
		{"12 s left: ends the reserve before", 0, 0, 12 * time.Second, 7 * time.Second},
		{"6 s left: the reserve shrinks to half", 0, 0, 6 * time.Second, 3 * time.Second},
		{"configured timeout", 2 * time.Second, 0, 30 * time.Second, 2 * time.Second},
		{"configured reserve", time.Minute, 20 * time.Second, 50 * time.Second, 30 * time.Second},
		{"deadline passed", 0, 0, -time.Second, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &notify.Service{Timeout: c.timeout, Reserve: c.reserve}
			ctx := context.Background()
			if c.deadline != 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, time.Now().Add(c.deadline))
				defer cancel()
			}
			got := s.DeliveryTimeout(ctx)
			// The deadline is on the wall clock, which moves on while the test runs.
			if got > c.want || got < c.want-time.Second {
				t.Errorf("DeliveryTimeout = %v, want %v", got, c.want)
			}
		})
	}
}

// TestBackoffScheduleMatchesREADME runs one callback to a clinic whose endpoint
// always answers 500 through a simulated ehr-outbox queue on the fake clock: the
// message is handed out again when its visibility (as the handler delayed it, or
// the queue's default) ends, and dead-lettered on the receive after maxReceiveCount,
// as SQS does. The attempts happen exactly on the README's schedule.
func TestBackoffScheduleMatchesREADME(t *testing.T) {
	f := setup(t)
	cs := newCallbackServer(t, http.StatusInternalServerError)
	putClinic(t, f.store, "clinic-down", cs.srv.URL)
	outbox, _ := queue.Lookup(queue.EHROutbox)
	if outbox.MaxReceiveCount != notify.DefaultMaxReceives || len(readmeBackoff) != outbox.MaxReceiveCount {
		t.Fatalf("ehr-outbox maxReceiveCount %d, notifier %d, README %d attempts: they must agree",
			outbox.MaxReceiveCount, notify.DefaultMaxReceives, len(readmeBackoff))
	}
	clock := f.svc.Clock.(*platform.FakeClock)
	e := event("evt-down", "clinic-down")

	var attemptsAt []time.Duration
	visibleAt := t0
	receives := 0
	for {
		clock.Set(visibleAt)
		receives++
		if receives > outbox.MaxReceiveCount {
			break // SQS moves it to the DLQ instead of handing it out
		}
		rec := sqsRecord(t, e, receives)
		attemptsAt = append(attemptsAt, clock.Now().Sub(t0))
		resp, err := f.svc.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{rec}})
		if err != nil || len(resp.BatchItemFailures) != 1 {
			t.Fatalf("receive %d: %+v, %v; want a failure", receives, resp, err)
		}
		d, delayed := f.vis.of(rec.ReceiptHandle)
		if !delayed {
			d = outbox.VisibilityTimeout
		}
		row := readmeBackoff[receives-1]
		if row.delay == 0 && delayed {
			t.Errorf("receive %d (the last) delayed %v; nothing should be", receives, d)
		}
		if row.delay != 0 && d != row.delay {
			t.Errorf("receive %d: next attempt after %v, README says %v", receives, d, row.delay)
		}
		visibleAt = clock.Now().Add(d)
	}
	dlqAt := clock.Now().Sub(t0)

	wantAttempts := []time.Duration{0}
	for _, row := range readmeBackoff[:len(readmeBackoff)-1] {
		wantAttempts = append(wantAttempts, wantAttempts[len(wantAttempts)-1]+row.delay)
	}
	if len(attemptsAt) != len(wantAttempts) || len(cs.requests()) != len(wantAttempts) {
		t.Fatalf("%d attempts (%d callbacks), want %d", len(attemptsAt), len(cs.requests()), len(wantAttempts))
	}
	for i := range wantAttempts {
		if attemptsAt[i] != wantAttempts[i] {
			t.Errorf("attempt %d at +%v, want +%v", i+1, attemptsAt[i], wantAttempts[i])
		}
	}
	// "8 attempts over about an hour, then the DLQ".
	if last := attemptsAt[len(attemptsAt)-1]; last != 61*time.Minute+30*time.Second {
		t.Errorf("last attempt at +%v, want +61m30s", last)
	}
	if want := 61*time.Minute + 30*time.Second + outbox.VisibilityTimeout; dlqAt != want {
		t.Errorf("dead-lettered at +%v, want +%v", dlqAt, want)
	}
}

func TestMaxReceivesMatchesTheQueue(t *testing.T) {
	outbox, ok := queue.Lookup(queue.EHROutbox)
	if !ok || outbox.MaxReceiveCount != notify.DefaultMaxReceives {
		t.Fatalf("ehr-outbox maxReceiveCount %d, notifier default %d", outbox.MaxReceiveCount, notify.DefaultMaxReceives)
	}
	// Each delivery's timeout plus the reserve for reporting must fit in the
	// consumer's run time, or Lambda times the batch out and redelivers it whole.
	if notify.DefaultTimeout+notify.DefaultReserve > outbox.ConsumerTimeout {
		t.Errorf("delivery %v + reserve %v exceed the notifier's timeout %v",
			notify.DefaultTimeout, notify.DefaultReserve, outbox.ConsumerTimeout)
	}
}
