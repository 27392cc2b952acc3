package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// AttrLastError is the message attribute a DLQ listing shows as the last error,
// when a producer or operator attached one.
const AttrLastError = "lastError"

// DLQMessage is one parked message as the DLQ tool shows it.
type DLQMessage struct {
	ID           string
	Body         string
	ReceiveCount int
	SentAt       time.Time
	LastError    string
	// Attributes are SQS's system attributes; MessageAttributes the string-valued
	// message attributes.
	Attributes        map[string]string
	MessageAttributes map[string]string
}

// listHide is how long listed messages stay hidden while a listing runs, so each
// receive returns new ones; they are made visible again when the listing ends.
const listHide = 30 * time.Second

// ListDLQ returns up to max messages of a dead-letter queue without removing them.
func ListDLQ(ctx context.Context, client *sqs.Client, dlqURL string, max int) ([]DLQMessage, error) {
	msgs, err := peek(ctx, client, dlqURL, max)
	out := make([]DLQMessage, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, toDLQMessage(m))
	}
	return out, err
}

// peek receives up to max messages (all when max <= 0), then makes them visible again.
func peek(ctx context.Context, client *sqs.Client, url string, max int) ([]types.Message, error) {
	var (
		msgs []types.Message
		seen = map[string]bool{}
		err  error
	)
	for max <= 0 || len(msgs) < max {
		n := maxBatchEntries
		if max > 0 {
			n = min(n, max-len(msgs))
		}
		var out *sqs.ReceiveMessageOutput
		out, err = client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: int32(n), WaitTimeSeconds: 1,
			VisibilityTimeout:           int32(listHide / time.Second),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			err = fmt.Errorf("queue: receive from %s: %w", queueName(url), err)
			break
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			if !seen[aws.ToString(m.MessageId)] {
				seen[aws.ToString(m.MessageId)] = true
				msgs = append(msgs, m)
			}
		}
	}
	return msgs, errors.Join(err, release(ctx, client, url, msgs))
}

// release makes listed messages visible again at once.
func release(ctx context.Context, client *sqs.Client, url string, msgs []types.Message) error {
	for i := 0; i < len(msgs); i += maxBatchEntries {
		var entries []types.ChangeMessageVisibilityBatchRequestEntry
		for j, m := range msgs[i:min(i+maxBatchEntries, len(msgs))] {
			entries = append(entries, types.ChangeMessageVisibilityBatchRequestEntry{
				Id: aws.String(strconv.Itoa(j)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
			})
		}
		if _, err := client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{
			QueueUrl: aws.String(url), Entries: entries,
		}); err != nil {
			return fmt.Errorf("queue: release listed messages on %s: %w", queueName(url), err)
		}
	}
	return nil
}

func toDLQMessage(m types.Message) DLQMessage {
	d := DLQMessage{ID: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), Attributes: m.Attributes,
		MessageAttributes: map[string]string{}}
	d.ReceiveCount, _ = strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		d.SentAt = time.UnixMilli(ms).UTC()
	}
	for k, v := range m.MessageAttributes {
		if v.StringValue != nil {
			d.MessageAttributes[k] = *v.StringValue
		}
	}
	d.LastError = d.MessageAttributes[AttrLastError]
	return d
}

// Redrive moves every message of a DLQ back to its work queue (copy, then delete:
// a crash in between duplicates a message rather than losing it; receivers are
// idempotent). With dryRun it only counts what it would move.
func Redrive(ctx context.Context, client *sqs.Client, dlqURL, targetURL string, dryRun bool) (int, error) {
	if dlqURL == targetURL {
		return 0, fmt.Errorf("queue: redrive %s onto itself", queueName(dlqURL))
	}
	if dryRun {
		msgs, err := peek(ctx, client, dlqURL, 0)
		return len(msgs), err
	}
	moved := 0
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(dlqURL), MaxNumberOfMessages: maxBatchEntries, WaitTimeSeconds: 1,
			VisibilityTimeout:     60,
			MessageAttributeNames: []string{"All"},
			// The group id is the message's tenant on a fair queue: a redriven
			// message keeps it, so SQS still counts it as its clinic's.
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameMessageGroupId},
		})
		if err != nil {
			return moved, fmt.Errorf("queue: redrive: receive from %s: %w", queueName(dlqURL), err)
		}
		if len(out.Messages) == 0 {
			return moved, nil
		}
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(targetURL)}
		for i, m := range out.Messages {
			e := types.SendMessageBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), MessageBody: m.Body, MessageAttributes: m.MessageAttributes,
			}
			if g := m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]; validGroupID(g) {
				e.MessageGroupId = aws.String(g)
			}
			in.Entries = append(in.Entries, e)
		}
		sent, err := client.SendMessageBatch(ctx, in)
		if err != nil {
			return moved, fmt.Errorf("queue: redrive: send to %s: %w", queueName(targetURL), err)
		}
		var del []types.DeleteMessageBatchRequestEntry
		for _, ok := range sent.Successful {
			i, _ := strconv.Atoi(aws.ToString(ok.Id))
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: ok.Id, ReceiptHandle: out.Messages[i].ReceiptHandle})
		}
		if err := deleteBatch(ctx, client, dlqURL, del); err != nil {
			return moved, fmt.Errorf("queue: redrive: %w", err)
		}
		moved += len(del)
		if len(sent.Failed) > 0 {
			f := sent.Failed[0]
			return moved, fmt.Errorf("queue: redrive: %d message(s) not accepted by %s, first %s: %s (they stay in the DLQ)",
				len(sent.Failed), queueName(targetURL), aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
}
