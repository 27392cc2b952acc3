package inbox

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/notify"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// The whole inbound path on the local SQS: a webhook body on the inbound queue, the
// inbox handler consuming it as Lambda would, the clinic event on the ehr-outbox
// queue, and the notifier posting it, signed, to the clinic (failing once first, so
// the retry goes through SQS's visibility timeout and the same webhook-id).
func TestEndToEndThroughQueues(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	sqsClient, urls := localtest.SQS(t)

	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("end-to-end-secret-0123456789abcd"))
	t.Setenv("CLINIC_SOL_WHSEC", secret)
	verifier, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	calls := 0
	clinicSrv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls++
		if err := verifier.VerifyIgnoringTimestamp(body, r.Header); err != nil {
			t.Errorf("callback signature: %v", err)
		}
		if calls == 1 {
			rw.WriteHeader(http.StatusBadGateway)
			return
		}
		got = append(got, r.Header.Get("webhook-id"))
	}))
	t.Cleanup(clinicSrv.Close)
	c := testClinic()
	c.CallbackURL = clinicSrv.URL
	if err := w.store.PutClinic(ctx, c); err != nil {
		t.Fatal(err)
	}

	w.svc.Events = queue.EventOutbox{Publisher: queue.NewPublisher(sqsClient, urls[queue.EHROutbox])}
	inbound := queue.InboundQueue{Publisher: queue.NewPublisher(sqsClient, urls[queue.Inbound])}
	body := fixture(t, "button_confirm_en")
	for i := 0; i < 3; i++ { // Meta delivered it three times
		if err := inbound.Put(ctx, body); err != nil {
			t.Fatal(err)
		}
	}
	inPoller := &queue.Poller{Client: sqsClient, URL: urls[queue.Inbound], BatchSize: 1, Handler: w.svc.Handle}
	for i := 0; i < 3; i++ {
		if n, err := inPoller.PollOnce(ctx); err != nil || n != 1 {
			t.Fatalf("inbound poll %d: %d, %v", i, n, err)
		}
	}

	notifier := &notify.Service{
		Clinics: w.store, Secrets: &platform.Secrets{}, HTTP: notify.NewHTTPClient(),
		Visibility: queue.NewVisibility(sqsClient, urls[queue.EHROutbox]), Clock: w.clock, Log: w.svc.Log,
		BaseDelay: time.Nanosecond, // visible again at once: the test does not wait for backoff
		Jitter:    func() float64 { return 0 },
	}
	outPoller := &queue.Poller{Client: sqsClient, URL: urls[queue.EHROutbox], Handler: notifier.Handle}
	for i := 0; i < 5; i++ {
		if _, err := outPoller.PollOnce(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		done := len(got) > 0
		mu.Unlock()
		if done {
			break
		}
	}
	// Anything left would be a duplicate event.
	if n, err := outPoller.PollOnce(ctx); err != nil || n != 0 {
		t.Fatalf("ehr-outbox still has %d messages (%v): one inbound message must give one event", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := derivedID("event", clinic.EventAppointmentConfirmed, "wamid.HBgLMTU1NTAxMDAxMDEVAgASGBQzBTNCONFIRMEN")
	if len(got) != 1 || got[0] != want || calls != 2 {
		t.Fatalf("clinic got %v after %d calls, want one delivery of %s after one failure", got, calls, want)
	}
	if n := len(w.sentMessages()); n != 1 {
		t.Errorf("replies = %d, want 1", n)
	}
}
