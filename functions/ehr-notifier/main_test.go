package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/frontdesk-health/frontdesk/shared/app/apptest"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
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
					got.Field("appointmentId") != want.Field("appointmentId") || got.Field("response") != want.Field("response") {
					t.Errorf("posted %+v, want %+v", got, want)
				}
			}
		})
	}
}

// TestFailedCallbackDelaysItsRetry: with the queue the function is wired to, a
// failed callback's message gets its backoff through ChangeMessageVisibility on the
// receipt handle SQS handed out (an unusable handle or queue URL would only be
// logged, and the retry would come back after the queue's fixed visibility timeout).
func TestFailedCallbackDelaysItsRetry(t *testing.T) {
	st := apptest.Start(t, nil)
	cb := &callback{status: http.StatusServiceUnavailable}
	srv := httptest.NewServer(cb)
	t.Cleanup(srv.Close)
	st.PutClinic(t, apptest.DemoClinic(srv.URL))

	ev := apptest.Envelope[events.SQSEvent](t, "sqs-ehr-outbox-event.json")
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	url := st.Queues[queue.EHROutbox]
	if _, err := st.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(ev.Records[0].Body)}); err != nil {
		t.Fatal(err)
	}
	got, err := st.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 1,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
	if err != nil || len(got.Messages) != 1 {
		t.Fatalf("receive: %v, %d messages", err, len(got.Messages))
	}
	ev.Records[0].MessageId = aws.ToString(got.Messages[0].MessageId)
	ev.Records[0].ReceiptHandle = aws.ToString(got.Messages[0].ReceiptHandle)
	ev.Records[0].Attributes = got.Messages[0].Attributes

	a := st.Load(t)
	var logs bytes.Buffer
	a.Log = platform.NewLogger(&logs, slog.LevelDebug)
	resp, err := newService(a).Handle(ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("handle: %+v, %v; want the record failed", resp, err)
	}
	if len(cb.take()) != 1 {
		t.Fatal("the clinic's endpoint was not called")
	}
	if strings.Contains(logs.String(), "could not delay") {
		t.Errorf("the retry's backoff was not applied:\n%s", logs.String())
	}
	// Hidden for the backoff: not handed out again at once.
	again, err := st.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 1})
	if err != nil || len(again.Messages) != 0 {
		t.Errorf("receive after the failure: %v, %d messages; want none visible", err, len(again.Messages))
	}
}
