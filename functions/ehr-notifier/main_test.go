package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/app/apptest"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
)

func TestEnvelopeRoundTrips(t *testing.T) {
	apptest.RoundTrip[events.SQSEvent](t, "sqs-ehr-outbox-event.json")
	apptest.CheckSQSDigests(t, "sqs-ehr-outbox-event.json", apptest.Envelope[events.SQSEvent](t, "sqs-ehr-outbox-event.json"))
}

// callback is the clinic's endpoint: it answers with status and keeps what arrived.
type callback struct {
	mu       sync.Mutex
	status   int
	received []delivery
}

type delivery struct {
	header http.Header
	body   []byte
}

func (c *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.received = append(c.received, delivery{header: r.Header.Clone(), body: body})
	status := c.status
	c.mu.Unlock()
	w.WriteHeader(status)
}

func (c *callback) take() []delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.received
	c.received = nil
	return out
}

// TestDeliverClinicEvent runs the ehr-outbox envelope through the handler main gives
// lambda.Start, against the clinic's callback URL.
func TestDeliverClinicEvent(t *testing.T) {
	st := apptest.Start(t, nil)
	cb := &callback{}
	srv := httptest.NewServer(cb)
	t.Cleanup(srv.Close)

	ev := apptest.Envelope[events.SQSEvent](t, "sqs-ehr-outbox-event.json")
	var want clinic.Event
	if err := json.Unmarshal([]byte(ev.Records[0].Body), &want); err != nil || want.ID == "" || want.ClinicID != apptest.ClinicID {
		t.Fatalf("the envelope's body is not a clinic event of %s: %v", apptest.ClinicID, err)
	}

	cases := []struct {
		name        string
		callbackURL string
		status      int
		wantFailed  bool
		wantPosts   int
	}{
		{"clinic accepts", srv.URL + "/frontdesk/events", http.StatusNoContent, false, 1},
		// Retried by SQS (and parked in the DLQ after maxReceiveCount), never dropped.
		{"clinic endpoint down", srv.URL + "/frontdesk/events", http.StatusServiceUnavailable, true, 1},
		// The event stays on record in Frontdesk's tables; the clinic reads it through the API.
		{"clinic without a callback URL", "", http.StatusNoContent, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st.PutClinic(t, apptest.DemoClinic(tc.callbackURL))
			cb.mu.Lock()
			cb.status = tc.status
			cb.mu.Unlock()

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			resp, err := newService(st.Load(t)).Handle(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			failed := len(resp.BatchItemFailures) == 1 && resp.BatchItemFailures[0].ItemIdentifier == ev.Records[0].MessageId
			if failed != tc.wantFailed || (!tc.wantFailed && len(resp.BatchItemFailures) != 0) {
				t.Fatalf("batch item failures %v, want failed=%v", resp.BatchItemFailures, tc.wantFailed)
			}
			posts := cb.take()
			if len(posts) != tc.wantPosts {
				t.Fatalf("%d callbacks, want %d", len(posts), tc.wantPosts)
			}
			for _, p := range posts {
				// The clinic verifies like any Standard Webhooks receiver, on its own clock.
				if err := (ehr.Verifier{}).Verify(apptest.EHRSecret, p.body, p.header); err != nil {
					t.Errorf("callback signature: %v", err)
				}
				if id := p.header.Get(ehr.HeaderWebhookID); id != want.ID {
					t.Errorf("webhook-id %q, want the event id %q (the clinic dedupes on it)", id, want.ID)
				}
				var got clinic.Event
				if err := json.Unmarshal(p.body, &got); err != nil {
					t.Fatal(err)
				}
				if got.ID != want.ID || got.Type != want.Type || !got.OccurredAt.Equal(want.OccurredAt) ||
					got.Data["appointmentId"] != want.Data["appointmentId"] || got.Data["response"] != want.Data["response"] {
					t.Errorf("posted %+v, want %+v", got, want)
				}
			}
		})
	}
}
