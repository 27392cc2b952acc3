package notify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/memstore"
	"github.com/frontdesk-health/frontdesk/shared/notify"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

var (
	testSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("test-clinic-secret-0123456789abc"))
	t0         = time.Date(2026, 3, 2, 15, 4, 5, 0, time.UTC)
)

// callbackServer is the clinic's endpoint: it verifies every request with the
// Standard Webhooks reference library and answers with the scripted statuses.
type callbackServer struct {
	mu       sync.Mutex
	answers  []int // per request; the last one repeats
	received []received
	srv      *httptest.Server
}

type received struct {
	id, timestamp string
	verifyErr     error
	event         clinic.Event
	query         string
	body          []byte
}

func newCallbackServer(t *testing.T, answers ...int) *callbackServer {
	cs := &callbackServer{answers: answers}
	wh, err := standardwebhooks.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	cs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := received{id: r.Header.Get("webhook-id"), timestamp: r.Header.Get("webhook-timestamp"), query: r.URL.RawQuery, body: body}
		// The fake clock is in 2026, so the library's 5-minute tolerance against the
		// wall clock is not what is tested here; the timestamp is checked separately.
		rec.verifyErr = wh.VerifyIgnoringTimestamp(body, r.Header)
		_ = json.Unmarshal(body, &rec.event)
		cs.mu.Lock()
		cs.received = append(cs.received, rec)
		status := cs.answers[min(len(cs.received), len(cs.answers))-1]
		cs.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"detail":"patient Jane Doe +15550100101"}`))
	}))
	t.Cleanup(cs.srv.Close)
	return cs
}

func (cs *callbackServer) requests() []received {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]received(nil), cs.received...)
}

type delays struct {
	mu        sync.Mutex
	got       []time.Duration
	byReceipt map[string]time.Duration
}

func (d *delays) Delay(ctx context.Context, receipt string, dur time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if receipt == "" {
		panic("empty receipt handle")
	}
	if ctx.Err() != nil {
		// SQS would refuse the call too: the retry would not be delayed.
		return ctx.Err()
	}
	d.got = append(d.got, dur)
	if d.byReceipt == nil {
		d.byReceipt = map[string]time.Duration{}
	}
	d.byReceipt[receipt] = dur
	return nil
}

func (d *delays) of(receipt string) (time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.byReceipt[receipt]
	return v, ok
}

type fixture struct {
	svc   *notify.Service
	store *memstore.Store
	vis   *delays
	logs  *bytes.Buffer
}

func setup(t *testing.T) fixture {
	t.Helper()
	clock := platform.NewFakeClock(t0)
	store := memstore.New(clock, 4)
	var logs bytes.Buffer
	f := fixture{store: store, vis: &delays{}, logs: &logs}
	f.svc = &notify.Service{
		Clinics:    store,
		Secrets:    &platform.Secrets{Lookup: func(k string) (string, bool) { return testSecret, k == "CLINIC_WHSEC" }},
		HTTP:       notify.NewHTTPClient(),
		Visibility: f.vis,
		Clock:      clock,
		Log:        platform.NewLogger(&logs, slog.LevelDebug),
		Jitter:     func() float64 { return 0 },
	}
	return f
}

func putClinic(t *testing.T, store *memstore.Store, id, callbackURL string) {
	t.Helper()
	c := clinic.Clinic{
		ID: id, Name: "Clinica Sol", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: "1065550100" + strconv.Itoa(len(id)), WABAID: "2065550100", DefaultLanguage: "en",
		ReminderPolicy: reminder.DefaultPolicy(), EmergencyNumber: "911", CallbackURL: callbackURL,
		WebhookSecretRef: "env:CLINIC_WHSEC", APITokenHash: strings.Repeat("a", 64),
	}
	if err := store.PutClinic(context.Background(), c); err != nil {
		t.Fatalf("put clinic: %v", err)
	}
}

func sqsRecord(t *testing.T, e clinic.Event, receiveCount int) events.SQSMessage {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return events.SQSMessage{
		MessageId: "m-" + e.ID, ReceiptHandle: "rh-" + e.ID + "-" + strconv.Itoa(receiveCount), Body: string(b),
		Attributes:     map[string]string{"ApproximateReceiveCount": strconv.Itoa(receiveCount), "SentTimestamp": "1772463845000"},
		EventSource:    "aws:sqs",
		EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:ehr-outbox",
		AWSRegion:      "us-east-1",
	}
}

func event(id, clinicID string) clinic.Event {
	return clinic.NewAppointmentConfirmed(id, clinicID, t0,
		clinic.AppointmentConfirmed{AppointmentID: "appt-1", PatientID: "pat-1", Response: "confirmed"})
}

// TestDeliverForwardsQueuedBodiesUnchanged: an event queued by an earlier or a
// newer publisher (a field or an event type this notifier does not know) reaches
// the clinic as it was queued.
func TestDeliverForwardsQueuedBodiesUnchanged(t *testing.T) {
	f := setup(t)
	cs := newCallbackServer(t, http.StatusNoContent)
	putClinic(t, f.store, "clinic-raw", cs.srv.URL)
	bodies := []string{
		`{"id":"evt-r1","type":"appointment.confirmed","clinicId":"clinic-raw","timestamp":"2026-03-02T09:00:00Z","data":{"appointmentId":"appt-1","messageId":"msg_01","patientId":"pat-1","respondedAt":"2026-03-02T09:00:00.5Z","response":"confirmed","source":"whatsapp"}}`,
		`{"id":"evt-r2","type":"message.failed","clinicId":"clinic-raw","timestamp":"2026-03-02T09:00:00Z","data":{"appointmentId":"appt-1","errorCode":0,"reason":"expired","reminderKind":"pre2h","retriedFor":"PT2H"}}`,
		`{"id":"evt-r3","type":"waitlist.offered","clinicId":"clinic-raw","timestamp":"2026-03-02T09:00:00Z","data":{"slotId":"slot-1","offers":[1,2]}}`,
	}
	var recs []events.SQSMessage
	for i, b := range bodies {
		recs = append(recs, events.SQSMessage{MessageId: "m-raw-" + strconv.Itoa(i), ReceiptHandle: "rh-raw-" + strconv.Itoa(i), Body: b,
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}, EventSource: "aws:sqs"})
	}
	resp, err := f.svc.Handle(context.Background(), events.SQSEvent{Records: recs})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("handle = %+v, %v", resp, err)
	}
	got := map[string]string{}
	for _, r := range cs.requests() {
		if r.verifyErr != nil {
			t.Errorf("%s: signature does not verify: %v", r.id, r.verifyErr)
		}
		got[r.id] = string(r.body)
	}
	for i, b := range bodies {
		id := "evt-r" + strconv.Itoa(i+1)
		if got[id] != b {
			t.Errorf("%s posted\n %s\nqueued\n %s", id, got[id], b)
		}
	}
}

func TestDeliverSignedCallback(t *testing.T) {
	f := setup(t)
	cs := newCallbackServer(t, http.StatusNoContent)
	putClinic(t, f.store, "clinic-sol", cs.srv.URL+"/hooks/frontdesk?token=s3cr3t-query")
	e := event("evt-1", "clinic-sol")

	resp, err := f.svc.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{sqsRecord(t, e, 1)}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("handle = %+v, %v", resp, err)
	}
	reqs := cs.requests()
	if len(reqs) != 1 {
		t.Fatalf("callback got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.verifyErr != nil {
		t.Fatalf("signature does not verify: %v", r.verifyErr)
	}
	if r.id != e.ID {
		t.Errorf("webhook-id = %q, want the event id %q (clinics dedupe on it)", r.id, e.ID)
	}
	if r.timestamp != strconv.FormatInt(t0.Unix(), 10) {
		t.Errorf("webhook-timestamp = %q, want the injected clock %d", r.timestamp, t0.Unix())
	}
	if r.event.Type != e.Type || r.event.Field("appointmentId") != "appt-1" || !r.event.OccurredAt.Equal(t0) {
		t.Errorf("body = %+v", r.event)
	}
	for _, leak := range []string{"s3cr3t-query", "Jane", "5550100101"} {
		if strings.Contains(f.logs.String(), leak) {
			t.Errorf("logs contain %q:\n%s", leak, f.logs.String())
		}
	}
}

func TestRetriesWithGrowingBackoffThenDLQ(t *testing.T) {
	f := setup(t)
	cs := newCallbackServer(t, http.StatusInternalServerError)
	putClinic(t, f.store, "clinic-sol", cs.srv.URL+"/hooks")
	e := event("evt-retry", "clinic-sol")

	for n := 1; n <= notify.DefaultMaxReceives; n++ {
		resp, err := f.svc.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{sqsRecord(t, e, n)}})
		if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m-evt-retry" {
			t.Fatalf("receive %d: handle = %+v, %v; want one item failure", n, resp, err)
		}
	}
	if got := len(cs.requests()); got != notify.DefaultMaxReceives {
		t.Fatalf("callback got %d requests, want %d", got, notify.DefaultMaxReceives)
	}
	for _, r := range cs.requests() {
		if r.id != e.ID {
			t.Fatalf("retry changed webhook-id to %q", r.id)
		}
	}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 30 * time.Minute}
	if len(f.vis.got) != len(want) {
		t.Fatalf("delays = %v, want %v (none after the last receive: SQS moves it to the DLQ)", f.vis.got, want)
	}
	for i := range want {
		if f.vis.got[i] != want[i] {
			t.Errorf("delay after receive %d = %v, want %v", i+1, f.vis.got[i], want[i])
		}
	}
	if !strings.Contains(f.logs.String(), `"alert":"`+notify.AlertDeadLetter+`"`) || !strings.Contains(f.logs.String(), `"msg":"notify.dead_letter"`) {
		t.Errorf("last attempt not logged as going to the DLQ:\n%s", f.logs.String())
	}
}

func TestRecoversAfterFailure(t *testing.T) {
	f := setup(t)
	cs := newCallbackServer(t, http.StatusServiceUnavailable, http.StatusOK)
	putClinic(t, f.store, "clinic-sol", cs.srv.URL)
	e := event("evt-recover", "clinic-sol")
	ctx := context.Background()
	if resp, _ := f.svc.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{sqsRecord(t, e, 1)}}); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("first attempt: %+v, want failure", resp)
	}
	if resp, _ := f.svc.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{sqsRecord(t, e, 2)}}); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("second attempt: %+v, want success", resp)
	}
}

func TestOutcomes(t *testing.T) {
	f := setup(t)
	ok := newCallbackServer(t, http.StatusOK)
	redirect := newCallbackServer(t, http.StatusFound)
	gone := newCallbackServer(t, http.StatusGone)
	putClinic(t, f.store, "clinic-ok", ok.srv.URL)
	putClinic(t, f.store, "clinic-norl", "")
	putClinic(t, f.store, "clinic-redirect", redirect.srv.URL)
	putClinic(t, f.store, "clinic-gone", gone.srv.URL)

	cases := []struct {
		name, body string
		fail       bool
	}{
		{"delivered", mustJSON(event("e-ok", "clinic-ok")), false},
		{"record-only without callback URL", mustJSON(event("e-norl", "clinic-norl")), false},
		{"redirect is not followed and fails", mustJSON(event("e-redir", "clinic-redirect")), true},
		{"410 is retried and reaches the DLQ, not dropped", mustJSON(event("e-gone", "clinic-gone")), true},
		{"unknown clinic", mustJSON(event("e-unknown", "clinic-none")), true},
		{"malformed body goes to the DLQ", `{"id":`, true},
		{"event without type", `{"id":"x","clinicId":"clinic-ok"}`, true},
	}
	var recs []events.SQSMessage
	for i, c := range cases {
		recs = append(recs, events.SQSMessage{MessageId: strconv.Itoa(i), ReceiptHandle: "rh", Body: c.body,
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}})
	}
	resp, err := f.svc.Handle(context.Background(), events.SQSEvent{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]bool{}
	for _, it := range resp.BatchItemFailures {
		failed[it.ItemIdentifier] = true
	}
	for i, c := range cases {
		if failed[strconv.Itoa(i)] != c.fail {
			t.Errorf("%s: failed = %v, want %v", c.name, failed[strconv.Itoa(i)], c.fail)
		}
	}
	if len(ok.requests()) != 1 || len(redirect.requests()) != 1 {
		t.Errorf("requests: ok=%d redirect=%d", len(ok.requests()), len(redirect.requests()))
	}
}

func TestTimeout(t *testing.T) {
	f := setup(t)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	putClinic(t, f.store, "clinic-slow", slow.URL)
	f.svc.HTTP = notify.NewHTTPClient()
	f.svc.HTTP.Timeout = 200 * time.Millisecond
	start := time.Now()
	_, err := f.svc.Deliver(context.Background(), event("e-slow", "clinic-slow"))
	if err == nil {
		t.Fatal("want a timeout error")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %v", el)
	}
}

func TestRetryDelayJitterNeverShortens(t *testing.T) {
	s := &notify.Service{Jitter: func() float64 { return 0.999 }}
	for n := 1; n <= 10; n++ {
		base := (&notify.Service{Jitter: func() float64 { return 0 }}).RetryDelay(n)
		got := s.RetryDelay(n)
		if got < base || got > base+base/4 {
			t.Errorf("RetryDelay(%d) = %v, want in [%v, %v]", n, got, base, base+base/4)
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
