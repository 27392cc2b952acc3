package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// flakySQS fails chosen bodies a number of times, as SQS does under throttling or
// internal errors, which the local SQS cannot be told to do.
type flakySQS struct {
	failTimes   map[string]int  // body -> remaining retryable failures (-1: always)
	senderFault map[string]bool // body -> rejected as the sender's fault
	calls       [][]string      // bodies per call
	accepted    []string
}

func (f *flakySQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	out := &sqs.SendMessageBatchOutput{}
	var bodies []string
	for _, e := range in.Entries {
		body := aws.ToString(e.MessageBody)
		bodies = append(bodies, body)
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
