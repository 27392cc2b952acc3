package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// The sweep codes against this; the adapter must satisfy it.
var _ interface {
	Enqueue(context.Context, []reminder.Job) error
} = queue.ReminderOutbox{}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// drain receives and deletes until n messages arrived or the deadline passed.
func drain(t *testing.T, client *sqs.Client, url string, n int, within time.Duration) []types.Message {
	t.Helper()
	var got []types.Message
	deadline := time.Now().Add(within)
	for len(got) < n && time.Now().Before(deadline) {
		out, err := client.ReceiveMessage(ctxT(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameMessageGroupId}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			got = append(got, m)
			if _, err := client.DeleteMessage(ctxT(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return got
}

func count(t *testing.T, client *sqs.Client, url string) int {
	t.Helper()
	out, err := client.GetQueueAttributes(ctxT(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	b, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return a + b
}

func TestReminderOutboxPublishesEveryJob(t *testing.T) {
	t.Parallel()
	client, urls := localtest.SQS(t)
	outbox := queue.ReminderOutbox{Publisher: queue.NewPublisher(client, urls[queue.Outbound])}
	var jobs []reminder.Job
	want := map[string]bool{}
	for i := range 25 {
		j := reminder.Job{ClinicID: "clinic-a", AppointmentID: fmt.Sprintf("a%02d", i), Kind: reminder.KindSameDay,
			Generation: "g1", DueAt: time.Date(2026, 3, 2, 9, i, 0, 0, time.UTC)}
		jobs = append(jobs, j)
		want[j.ID()] = true
	}
	if err := outbox.Enqueue(ctxT(t), jobs); err != nil {
		t.Fatal(err)
	}
	got := drain(t, client, urls[queue.Outbound], 25, 15*time.Second)
	seen := map[string]bool{}
	for _, m := range got {
		var j reminder.Job
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &j); err != nil {
			t.Fatal(err)
		}
		if !want[j.ID()] || seen[j.ID()] {
			t.Fatalf("unexpected or duplicate job %s", j.ID())
		}
		if g := m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]; g != "clinic-a" {
			t.Fatalf("job %s has group id %q, want its clinic's (a fair queue's tenant)", j.ID(), g)
		}
		seen[j.ID()] = true
	}
	if len(seen) != 25 {
		t.Fatalf("received %d of 25 jobs", len(seen))
	}
}

func TestEventOutboxAndInboundQueue(t *testing.T) {
	t.Parallel()
	client, urls := localtest.SQS(t)
	ev := clinic.NewAppointmentConfirmed("evt_1", "clinic-a", time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		clinic.AppointmentConfirmed{AppointmentID: "a1"})
	if err := (queue.EventOutbox{Publisher: queue.NewPublisher(client, urls[queue.EHROutbox])}).Publish(ctxT(t), ev); err != nil {
		t.Fatal(err)
	}
	got := drain(t, client, urls[queue.EHROutbox], 1, 10*time.Second)
	var back clinic.Event
	if len(got) != 1 || json.Unmarshal([]byte(aws.ToString(got[0].Body)), &back) != nil || back.ID != ev.ID || back.Field("appointmentId") != "a1" {
		t.Fatalf("event outbox delivered %+v", got)
	}
	payload := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	if err := (queue.InboundQueue{Publisher: queue.NewPublisher(client, urls[queue.Inbound])}).Put(ctxT(t), payload); err != nil {
		t.Fatal(err)
	}
	got = drain(t, client, urls[queue.Inbound], 1, 10*time.Second)
	if len(got) != 1 || aws.ToString(got[0].Body) != string(payload) {
		t.Fatalf("inbound delivered %+v", got)
	}
}

// queuePair creates a work queue whose failures come back after 1 s and move to its
// DLQ after two receives, so the redrive path runs in seconds.
func queuePair(t *testing.T, client *sqs.Client) (work, dlq, workARN string) {
	t.Helper()
	prefix := localtest.Prefix()
	d, err := client.CreateQueue(ctxT(t), &sqs.CreateQueueInput{QueueName: aws.String(prefix + "work-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	dlqARN, err := queue.QueueARN(ctxT(t), client, aws.ToString(d.QueueUrl))
	if err != nil {
		t.Fatal(err)
	}
	w, err := client.CreateQueue(ctxT(t), &sqs.CreateQueueInput{QueueName: aws.String(prefix + "work"), Attributes: map[string]string{
		string(types.QueueAttributeNameVisibilityTimeout): "1",
		string(types.QueueAttributeNameRedrivePolicy):     queue.RedrivePolicy(dlqARN, 2),
	}})
	if err != nil {
		t.Fatal(err)
	}
	workARN, err = queue.QueueARN(ctxT(t), client, aws.ToString(w.QueueUrl))
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(w.QueueUrl), aws.ToString(d.QueueUrl), workARN
}

// recorder is a handler that fails the records whose body is in fail.
type recorder struct {
	mu       sync.Mutex
	fail     map[string]bool
	received map[string][]events.SQSMessage // by body
}

func (r *recorder) handle(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var resp events.SQSEventResponse
	for _, rec := range ev.Records {
		r.received[rec.Body] = append(r.received[rec.Body], rec)
		if r.fail[rec.Body] {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

func TestPollerPartialBatchDLQAndRedrive(t *testing.T) {
	t.Parallel()
	client, _ := localtest.SQS(t)
	work, dlq, workARN := queuePair(t, client)
	bodies := []string{`{"n":1}`, `{"n":"poison"}`, `{"n":3}`}
	var ms []queue.Message
	for i, b := range bodies {
		ms = append(ms, queue.Message{ID: strconv.Itoa(i), Body: []byte(b), GroupID: "clinic-" + strconv.Itoa(i)})
	}
	if err := queue.NewPublisher(client, work).Publish(ctxT(t), ms); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{fail: map[string]bool{bodies[1]: true}, received: map[string][]events.SQSMessage{}}
	p := &queue.Poller{Client: client, URL: work, BatchSize: 10, Handler: rec.handle}

	// Poll like the event source mapping until the poison message is parked.
	deadline := time.Now().Add(20 * time.Second)
	for count(t, client, dlq) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("poison message never reached the DLQ; receives: %d", len(rec.received[bodies[1]]))
		}
		if _, err := p.PollOnce(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{bodies[0], bodies[2]} {
		if n := len(rec.received[b]); n != 1 {
			t.Errorf("successful message %s handled %d times, want 1 (it must be deleted)", b, n)
		}
	}
	poison := rec.received[bodies[1]]
	if len(poison) != 2 {
		t.Fatalf("poison message handled %d times, want maxReceiveCount=2", len(poison))
	}
	for i, r := range poison {
		if r.Attributes["ApproximateReceiveCount"] != strconv.Itoa(i+1) {
			t.Errorf("receive %d: ApproximateReceiveCount %q", i+1, r.Attributes["ApproximateReceiveCount"])
		}
		if r.EventSource != "aws:sqs" || r.EventSourceARN != workARN || r.AWSRegion != "us-east-1" ||
			r.ReceiptHandle == "" || r.MessageId == "" || r.Md5OfBody == "" || r.Attributes["SentTimestamp"] == "" {
			t.Errorf("record is not Lambda-shaped: %+v", r)
		}
	}
	if count(t, client, work) != 0 {
		t.Fatal("work queue must be empty")
	}

	listed, err := queue.ListDLQ(ctxT(t), client, dlq, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].Body != bodies[1] || listed[0].ReceiveCount < 2 || listed[0].SentAt.IsZero() {
		t.Fatalf("ListDLQ = %+v", listed)
	}

	// More parked messages, to cross a batch boundary.
	var extra []queue.Message
	for i := range 11 {
		extra = append(extra, queue.Message{ID: strconv.Itoa(i), Body: []byte(fmt.Sprintf(`{"extra":%d}`, i))})
	}
	if err := queue.NewPublisher(client, dlq).Publish(ctxT(t), extra); err != nil {
		t.Fatal(err)
	}
	if page, err := queue.ListDLQ(ctxT(t), client, dlq, 5); err != nil || len(page) != 5 {
		t.Fatalf("ListDLQ max 5 = %d, %v", len(page), err)
	}
	n, err := queue.Redrive(ctxT(t), client, dlq, work, true)
	if err != nil || n != 12 {
		t.Fatalf("dry run = %d, %v; want 12", n, err)
	}
	if c := count(t, client, work); c != 0 {
		t.Fatalf("dry run moved %d messages", c)
	}
	n, err = queue.Redrive(ctxT(t), client, dlq, work, false)
	if err != nil || n != 12 {
		t.Fatalf("redrive = %d, %v; want 12", n, err)
	}
	if c := count(t, client, dlq); c != 0 {
		t.Fatalf("%d messages left in the DLQ", c)
	}
	back := drain(t, client, work, 12, 15*time.Second)
	var got []string
	for _, m := range back {
		got = append(got, aws.ToString(m.Body))
	}
	if len(got) != 12 || !slices.Contains(got, bodies[1]) {
		t.Fatalf("work queue got back %v", got)
	}
	for _, m := range back {
		if aws.ToString(m.Body) == bodies[1] && m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)] != "clinic-1" {
			t.Fatalf("redriven message lost its group id: %v", m.Attributes)
		}
	}
}

func TestPollerKeepsBatchOnHandlerErrorAndBadIdentifier(t *testing.T) {
	t.Parallel()
	client, _ := localtest.SQS(t)
	cases := []struct {
		name    string
		handler queue.Handler
		wantErr bool
	}{
		{"handler error", func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, fmt.Errorf("database down")
		}, true},
		{"unknown item identifier", func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "not-in-batch"}}}, nil
		}, false},
		{"panic", func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) { panic("bug") }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			work, _, _ := queuePair(t, client)
			vis := queue.NewVisibility(client, work)
			if err := queue.NewPublisher(client, work).Publish(ctxT(t), []queue.Message{{ID: "1", Body: []byte("a")}, {ID: "2", Body: []byte("b")}}); err != nil {
				t.Fatal(err)
			}
			var handles []string
			p := &queue.Poller{Client: client, URL: work, Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				for _, r := range ev.Records {
					handles = append(handles, r.ReceiptHandle)
				}
				return c.handler(ctx, ev)
			}}
			received := 0
			deadline := time.Now().Add(10 * time.Second)
			for received < 2 && time.Now().Before(deadline) {
				n, err := p.PollOnce(ctxT(t))
				if n > 0 && (err != nil) != c.wantErr {
					t.Fatalf("PollOnce err = %v, wantErr %v", err, c.wantErr)
				}
				received += n
			}
			if received != 2 {
				t.Fatalf("received %d, want 2", received)
			}
			// Both were kept: make them visible now rather than after the timeout.
			for _, h := range handles {
				if err := vis.Delay(ctxT(t), h, 0); err != nil {
					t.Fatal(err)
				}
			}
			if c := count(t, client, work); c != 2 {
				t.Fatalf("%d messages on the queue, want both kept", c)
			}
		})
	}
}

func TestVisibilityDelay(t *testing.T) {
	t.Parallel()
	client, urls := localtest.SQS(t)
	url := urls[queue.Outbound]
	if err := queue.NewPublisher(client, url).Publish(ctxT(t), []queue.Message{{ID: "1", Body: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	receive := func() *types.Message {
		out, err := client.ReceiveMessage(ctxT(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return nil
		}
		return &out.Messages[0]
	}
	m := receive()
	if m == nil {
		t.Fatal("message not received")
	}
	vis := queue.NewVisibility(client, url)
	if err := vis.Delay(ctxT(t), aws.ToString(m.ReceiptHandle), 0); err != nil {
		t.Fatal(err)
	}
	if m = receive(); m == nil {
		t.Fatal("Delay(0) must make the message visible at once")
	}
	if err := vis.Delay(ctxT(t), aws.ToString(m.ReceiptHandle), time.Hour); err != nil {
		t.Fatal(err)
	}
	if m := receive(); m != nil {
		t.Fatal("a delayed message came back early")
	}
	if err := vis.Delay(ctxT(t), "not-a-handle", time.Second); err == nil {
		t.Fatal("a bad receipt handle must be an error")
	}
}
