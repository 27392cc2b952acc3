// Package queue holds Frontdesk's SQS queues and the adapters that publish to and
// consume from them.
//
// The queue definitions here are the single source of truth for the local stack
// and the CDK stack: every work queue has a dead-letter queue and a redrive policy.
package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Logical queue names.
const (
	Inbound   = "inbound"    // WhatsApp webhook payloads waiting for the inbound Lambda
	Outbound  = "outbound"   // due reminders and replies waiting for the sender
	EHROutbox = "ehr-outbox" // clinic notifications waiting for the ehr-notifier
)

// Queue is one work queue and its dead-letter queue.
type Queue struct {
	Name string
	// VisibilityTimeout must exceed the consuming Lambda's timeout (AWS advises 6x)
	// so a message is not handed to a second consumer while the first still works.
	VisibilityTimeout time.Duration
	// MaxReceiveCount is how many receives a message gets before it moves to the DLQ.
	MaxReceiveCount int
	// Retention of the work queue and (longer) of its DLQ, so ops have time to redrive.
	Retention    time.Duration
	DLQRetention time.Duration
	// ConsumerTimeout is the consuming Lambda's timeout.
	ConsumerTimeout time.Duration
	// BatchSize is the event source mapping's batch size.
	BatchSize int
}

// DLQName is the dead-letter queue's logical name.
func (q Queue) DLQName() string { return q.Name + "-dlq" }

// Queues returns every work queue.
func Queues() []Queue {
	return []Queue{
		{Name: Inbound, VisibilityTimeout: 180 * time.Second, ConsumerTimeout: 30 * time.Second, MaxReceiveCount: 5,
			Retention: 4 * 24 * time.Hour, DLQRetention: 14 * 24 * time.Hour, BatchSize: 10},
		{Name: Outbound, VisibilityTimeout: 180 * time.Second, ConsumerTimeout: 30 * time.Second, MaxReceiveCount: 6,
			Retention: 4 * 24 * time.Hour, DLQRetention: 14 * 24 * time.Hour, BatchSize: 10},
		{Name: EHROutbox, VisibilityTimeout: 180 * time.Second, ConsumerTimeout: 30 * time.Second, MaxReceiveCount: 8,
			Retention: 4 * 24 * time.Hour, DLQRetention: 14 * 24 * time.Hour, BatchSize: 10},
	}
}

// Lookup returns the definition of a logical queue name.
func Lookup(name string) (Queue, bool) {
	for _, q := range Queues() {
		if q.Name == name {
			return q, true
		}
	}
	return Queue{}, false
}

// RedrivePolicy is the JSON SQS expects in the RedrivePolicy attribute.
func RedrivePolicy(dlqARN string, maxReceiveCount int) string {
	b, _ := json.Marshal(map[string]any{"deadLetterTargetArn": dlqARN, "maxReceiveCount": maxReceiveCount})
	return string(b)
}

// URLs maps logical queue names (work queues and DLQs) to queue URLs.
type URLs map[string]string

// CreateQueues creates every work queue and DLQ with the given name prefix and
// returns their URLs. CreateQueue is idempotent for equal attributes.
func CreateQueues(ctx context.Context, client *sqs.Client, prefix string) (URLs, error) {
	urls := URLs{}
	for _, q := range Queues() {
		dlq, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{
			QueueName: aws.String(prefix + q.DLQName()),
			Attributes: map[string]string{
				string(types.QueueAttributeNameMessageRetentionPeriod): seconds(q.DLQRetention),
			},
		})
		if err != nil {
			return nil, fmt.Errorf("queue: create %s: %w", q.DLQName(), err)
		}
		attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: dlq.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
		})
		if err != nil {
			return nil, fmt.Errorf("queue: read arn of %s: %w", q.DLQName(), err)
		}
		work, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{
			QueueName: aws.String(prefix + q.Name),
			Attributes: map[string]string{
				string(types.QueueAttributeNameVisibilityTimeout):      seconds(q.VisibilityTimeout),
				string(types.QueueAttributeNameMessageRetentionPeriod): seconds(q.Retention),
				string(types.QueueAttributeNameRedrivePolicy): RedrivePolicy(
					attrs.Attributes[string(types.QueueAttributeNameQueueArn)], q.MaxReceiveCount),
			},
		})
		if err != nil {
			return nil, fmt.Errorf("queue: create %s: %w", q.Name, err)
		}
		urls[q.Name] = aws.ToString(work.QueueUrl)
		urls[q.DLQName()] = aws.ToString(dlq.QueueUrl)
	}
	return urls, nil
}

func seconds(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
