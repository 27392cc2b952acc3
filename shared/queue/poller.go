package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Handler is an SQS-triggered Lambda handler with partial batch responses
// (ReportBatchItemFailures).
type Handler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Poller consumes a queue the way Lambda's event source mapping does, so `make dev`
// runs the real handlers against the local SQS: records not reported as failures
// are deleted; failures stay and come back after their visibility timeout, and
// reach the DLQ after the queue's maxReceiveCount.
type Poller struct {
	Client    *sqs.Client
	URL       string
	ARN       string // eventSourceARN of the records; looked up when empty
	BatchSize int    // 1..10, default 10
	Handler   Handler
	Logger    *slog.Logger

	mu  sync.Mutex
	arn string
}

// handlerError marks a failure of the handler (the batch stays on the queue) as
// opposed to a failure to talk to SQS.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return "queue: handler: " + e.err.Error() }
func (e *handlerError) Unwrap() error { return e.err }

// Run polls until ctx ends. Handler failures are logged and polling goes on, as in
// Lambda; SQS errors are logged and retried after a pause.
func (p *Poller) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		_, err := p.PollOnce(ctx)
		if err == nil || ctx.Err() != nil {
			continue
		}
		p.logger().Error("poll failed", "queue", queueName(p.URL), "error", err)
		var he *handlerError
		if !errors.As(err, &he) && !wait(ctx, time.Second) {
			break
		}
	}
	return nil
}

func (p *Poller) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.Default()
	}
	return p.Logger
}

// PollOnce receives one batch (long poll up to 1 s), hands it to the handler and
// deletes what succeeded. handled is the number of records given to the handler.
func (p *Poller) PollOnce(ctx context.Context) (handled int, err error) {
	arn, err := p.sourceARN(ctx)
	if err != nil {
		return 0, err
	}
	batch := p.BatchSize
	if batch < 1 || batch > 10 {
		batch = 10
	}
	out, err := p.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(p.URL), MaxNumberOfMessages: int32(batch), WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		return 0, fmt.Errorf("queue: receive from %s: %w", queueName(p.URL), err)
	}
	if len(out.Messages) == 0 {
		return 0, nil
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(out.Messages))}
	region := p.Client.Options().Region
	for _, m := range out.Messages {
		ev.Records = append(ev.Records, toRecord(m, arn, region))
	}
	resp, herr := p.call(ctx, ev)
	if herr != nil {
		// Lambda keeps the whole batch when the function errors.
		return len(ev.Records), &handlerError{herr}
	}
	keep, ok := failedIDs(ev, resp)
	if !ok {
		// Lambda treats an unknown or empty itemIdentifier as a failure of the batch.
		p.logger().Warn("batch item failure names no record of the batch; keeping the batch", "queue", queueName(p.URL))
		return len(ev.Records), nil
	}
	var del []types.DeleteMessageBatchRequestEntry
	for i, r := range ev.Records {
		if !keep[r.MessageId] {
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.ReceiptHandle)})
		}
	}
	if err := deleteBatch(ctx, p.Client, p.URL, del); err != nil {
		return len(ev.Records), err
	}
	return len(ev.Records), nil
}

// call runs the handler, turning a panic into an error as the Lambda runtime does.
func (p *Poller) call(ctx context.Context, ev events.SQSEvent) (resp events.SQSEventResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return p.Handler(ctx, ev)
}

func failedIDs(ev events.SQSEvent, resp events.SQSEventResponse) (map[string]bool, bool) {
	inBatch := make(map[string]bool, len(ev.Records))
	for _, r := range ev.Records {
		inBatch[r.MessageId] = true
	}
	keep := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		if !inBatch[f.ItemIdentifier] {
			return nil, false
		}
		keep[f.ItemIdentifier] = true
	}
	return keep, true
}

func deleteBatch(ctx context.Context, client *sqs.Client, url string, entries []types.DeleteMessageBatchRequestEntry) error {
	for len(entries) > 0 {
		n := min(len(entries), maxBatchEntries)
		out, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries[:n]})
		if err != nil {
			return fmt.Errorf("queue: delete from %s: %w", queueName(url), err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return fmt.Errorf("queue: delete from %s: %d entries failed, first %s: %s",
				queueName(url), len(out.Failed), aws.ToString(f.Code), aws.ToString(f.Message))
		}
		entries = entries[n:]
	}
	return nil
}

func (p *Poller) sourceARN(ctx context.Context) (string, error) {
	if p.ARN != "" {
		return p.ARN, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.arn != "" {
		return p.arn, nil
	}
	arn, err := QueueARN(ctx, p.Client, p.URL)
	if err != nil {
		return "", err
	}
	p.arn = arn
	return arn, nil
}

// QueueARN looks up a queue's ARN.
func QueueARN(ctx context.Context, client *sqs.Client, url string) (string, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("queue: read arn of %s: %w", queueName(url), err)
	}
	return out.Attributes[string(types.QueueAttributeNameQueueArn)], nil
}

// toRecord shapes a received message like the record Lambda delivers.
func toRecord(m types.Message, arn, region string) events.SQSMessage {
	attrs := make(map[string]string, len(m.Attributes))
	for k, v := range m.Attributes {
		attrs[k] = v
	}
	var mattrs map[string]events.SQSMessageAttribute
	if len(m.MessageAttributes) > 0 {
		mattrs = make(map[string]events.SQSMessageAttribute, len(m.MessageAttributes))
		for k, v := range m.MessageAttributes {
			mattrs[k] = events.SQSMessageAttribute{
				DataType: aws.ToString(v.DataType), StringValue: v.StringValue, BinaryValue: v.BinaryValue,
				StringListValues: append([]string{}, v.StringListValues...), BinaryListValues: append([][]byte{}, v.BinaryListValues...),
			}
		}
	} else {
		mattrs = map[string]events.SQSMessageAttribute{}
	}
	return events.SQSMessage{
		MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
		Md5OfBody: aws.ToString(m.MD5OfBody), Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
		Attributes: attrs, MessageAttributes: mattrs,
		EventSourceARN: arn, EventSource: "aws:sqs", AWSRegion: region,
	}
}

// ReceiveCount is how many times SQS has handed out the record, this time included
// (1 when the attribute is missing): consumers use it to grow their backoff and to
// know a receive is the last before the DLQ.
func ReceiveCount(rec events.SQSMessage) int {
	n, err := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
	if err != nil || n < 1 {
		return 1
	}
	return n
}
