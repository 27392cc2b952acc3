package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// flakySQS fails chosen bodies a number of times, as SQS does under throttling or
// internal errors, which the local SQS cannot be told to do.
type flakySQS struct {
	failTimes   map[string]int  // body -> remaining retryable failures (-1: always)
	senderFault map[string]bool // body -> rejected as the sender's fault
	calls       [][]string      // bodies per call
	accepted    []string
	groups      map[string]string // body -> MessageGroupId of its last entry ("" when none)
}

func (f *flakySQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	out := &sqs.SendMessageBatchOutput{}
	var bodies []string
	for _, e := range in.Entries {
		body := aws.ToString(e.MessageBody)
		bodies = append(bodies, body)
		if f.groups == nil {
			f.groups = map[string]string{}
		}
		f.groups[body] = aws.ToString(e.MessageGroupId)
		switch {
		case f.senderFault[body]:
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InvalidParameterValue"), Message: aws.String("bad"), SenderFault: true})
		case f.failTimes[body] != 0:
			f.failTimes[body]--
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), Message: aws.String("try again")})
		default:
			f.accepted = append(f.accepted, body)
			out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String("m-" + body)})
		}
	}
	f.calls = append(f.calls, bodies)
	return out, nil
}

func msgs(n int) []Message {
	var out []Message
	for i := range n {
		out = append(out, Message{ID: fmt.Sprintf("job/%d", i), Body: []byte(fmt.Sprintf("b%d", i))})
	}
	return out
}

func TestPublishRetriesOnlyRetryableEntries(t *testing.T) {
	cases := []struct {
		name        string
		failTimes   map[string]int
		senderFault map[string]bool
		wantFailed  []string
		wantCalls   int
	}{
		{"all accepted", nil, nil, nil, 3},
		{"transient failure retried", map[string]int{"b3": 2}, nil, nil, 5},
		{"retries are bounded", map[string]int{"b3": -1}, nil, []string{"job/3"}, 5},
		{"sender fault not retried", nil, map[string]bool{"b12": true}, []string{"job/12"}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := &flakySQS{failTimes: map[string]int{}, senderFault: c.senderFault}
			for k, v := range c.failTimes {
				fake.failTimes[k] = v
			}
			p := newPublisher(fake, "http://localhost/000000000000/outbound")
			p.backoff = 0
			err := p.Publish(context.Background(), msgs(25))
			var perr *PublishError
			if len(c.wantFailed) == 0 {
				if err != nil {
					t.Fatalf("Publish: %v", err)
				}
			} else if !errors.As(err, &perr) || !slices.Equal(perr.FailedIDs(), c.wantFailed) {
				t.Fatalf("Publish error %v, want failures %v", err, c.wantFailed)
			} else if !strings.Contains(err.Error(), "outbound") || !strings.Contains(err.Error(), c.wantFailed[0]) {
				t.Fatalf("error %q must name the queue and the message", err)
			}
			if len(fake.calls) != c.wantCalls {
				t.Fatalf("%d SendMessageBatch calls, want %d: %v", len(fake.calls), c.wantCalls, fake.calls)
			}
			for _, call := range fake.calls {
				if len(call) > maxBatchEntries {
					t.Fatalf("batch of %d", len(call))
				}
			}
			if want := 25 - len(c.wantFailed); len(fake.accepted) != want {
				t.Fatalf("%d accepted, want %d", len(fake.accepted), want)
			}
		})
	}
}

func TestBatchesRespectSize(t *testing.T) {
	big := make([]byte, 100*1024)
	var ms []Message
	for i := range 5 {
		ms = append(ms, Message{ID: fmt.Sprint(i), Body: big})
	}
	var sizes []int
	for _, b := range batches(ms) {
		sizes = append(sizes, len(b))
	}
	if !slices.Equal(sizes, []int{2, 2, 1}) {
		t.Fatalf("batch sizes %v, want [2 2 1] (256 KiB per batch)", sizes)
	}
}

func TestPublishRejectsBodiesSQSRefuses(t *testing.T) {
	fake := &flakySQS{}
	p := newPublisher(fake, "u")
	err := p.Publish(context.Background(), []Message{{ID: "ok", Body: []byte(`{"a":1}`)}, {ID: "nul", Body: []byte("a\x00b")}, {ID: "empty"}})
	var perr *PublishError
	if !errors.As(err, &perr) || !slices.Equal(perr.FailedIDs(), []string{"nul", "empty"}) {
		t.Fatalf("err = %v", err)
	}
	if len(fake.accepted) != 1 {
		t.Fatalf("the valid message must still go out: %v", fake.accepted)
	}
	if err := p.Publish(context.Background(), []Message{{ID: "x", Body: []byte("1")}, {ID: "x", Body: []byte("2")}}); err == nil {
		t.Fatal("duplicate ids must be refused")
	}
}

func TestSQSSafeJSONKeepsMeaning(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"text":{"body":"hola"}}`, `{"text":{"body":"hola"}}`},
		{"{\"body\":\"a\uFFFEb\"}", `{"body":"a\ufffeb"}`},
		{"{\"body\":\"x\uFFFF\"}", `{"body":"x\uffff"}`},
		{"{\"body\":\"\xff\"}", `{"body":"\ufffd"}`},
		{"{\"body\":\"emoji \U0001F600 ok\"}", "{\"body\":\"emoji \U0001F600 ok\"}"},
	}
	for _, c := range cases {
		got := SQSSafeJSON([]byte(c.in))
		if string(got) != c.want {
			t.Errorf("SQSSafeJSON(%q) = %q, want %q", c.in, got, c.want)
		}
		var a, b any
		if json.Unmarshal(got, &a) != nil {
			t.Errorf("%q is no longer JSON", got)
		}
		if utf8.ValidString(c.in) && json.Unmarshal([]byte(c.in), &b) == nil && fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("meaning changed: %v vs %v", a, b)
		}
	}
}

// Every message of a clinic carries the clinic id as its group id, which makes the
// standard queues fair: a clinic's backlog does not hold the other clinics' messages.
func TestPublishersGroupMessagesByClinic(t *testing.T) {
	rem := func(clinicID, appt string) reminder.Job {
		return reminder.Job{ClinicID: clinicID, AppointmentID: appt, Kind: reminder.KindSameDay, Generation: "g1",
			DueAt: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	}
	reply := outbound.Job{Type: outbound.KindReply, Job: reminder.Job{ClinicID: "clinic-b"}, Key: "reply:wamid.1"}
	offer := outbound.Job{Type: outbound.KindOffer, Job: reminder.Job{ClinicID: "clinic-c"}, Key: "offer:slot-1"}
	cases := []struct {
		name    string
		publish func(context.Context, *Publisher) error
		want    []string // group ids, in the order the messages were sent
	}{
		{"sweep's reminder jobs", func(ctx context.Context, p *Publisher) error {
			return ReminderOutbox{p}.Enqueue(ctx, []reminder.Job{rem("clinic-a", "a1"), rem("clinic-b", "b1")})
		}, []string{"clinic-a", "clinic-b"}},
		{"requeued reminder", func(ctx context.Context, p *Publisher) error {
			return ReminderOutbox{p}.Requeue(ctx, rem("clinic-a", "a2"), 3*time.Second)
		}, []string{"clinic-a"}},
		{"prepared jobs", func(ctx context.Context, p *Publisher) error {
			return ReminderOutbox{p}.PublishJobs(ctx, reply, offer)
		}, []string{"clinic-b", "clinic-c"}},
		{"paced jobs", func(ctx context.Context, p *Publisher) error {
			return ReminderOutbox{p}.EnqueueAfter(ctx, []outbound.Job{outbound.FromReminder(rem("clinic-d", "d1")), reply},
				[]time.Duration{time.Second, 0})
		}, []string{"clinic-d", "clinic-b"}},
		{"requeued prepared job", func(ctx context.Context, p *Publisher) error {
			return ReminderOutbox{p}.RequeueJob(ctx, offer, time.Second)
		}, []string{"clinic-c"}},
		{"clinic events", func(ctx context.Context, p *Publisher) error {
			return EventOutbox{p}.Publish(ctx, clinic.Event{ID: "evt_1", Type: "patient.opted_out", ClinicID: "clinic-e"})
		}, []string{"clinic-e"}},
		{"inbound webhooks carry none", func(ctx context.Context, p *Publisher) error {
			return InboundQueue{p}.Put(ctx, []byte(`{"entry":[]}`))
		}, []string{""}},
		{"a group id SQS refuses is left off, the message still goes", func(ctx context.Context, p *Publisher) error {
			return p.Publish(ctx, []Message{{ID: "1", Body: []byte("x"), GroupID: "clinic a"},
				{ID: "2", Body: []byte("y"), GroupID: strings.Repeat("c", 129)}, {ID: "3", Body: []byte("z"), GroupID: strings.Repeat("c", 128)}})
		}, []string{"", "", strings.Repeat("c", 128)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := &flakySQS{}
			if err := c.publish(context.Background(), newPublisher(fake, "http://localhost/000000000000/outbound")); err != nil {
				t.Fatalf("publish: %v", err)
			}
			var got []string
			for _, call := range fake.calls {
				for _, body := range call {
					got = append(got, fake.groups[body])
				}
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("group ids %q, want %q (bodies by group: %v)", got, c.want, fake.groups)
			}
		})
	}
}
