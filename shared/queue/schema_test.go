package queue_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// The local queues carry the definitions' redrive policy and timings; the CDK test
// (infra) checks the synthesized template against the same definitions.
func TestCreatedQueuesMatchDefinitions(t *testing.T) {
	client, urls := localtest.SQS(t)
	ctx := context.Background()
	attrs := func(url string) map[string]string {
		out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.Attributes
	}
	secs := func(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
	for _, def := range queue.Queues() {
		work, dlq := attrs(urls[def.Name]), attrs(urls[def.DLQName()])
		var policy struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     any    `json:"maxReceiveCount"`
		}
		if err := json.Unmarshal([]byte(work["RedrivePolicy"]), &policy); err != nil {
			t.Fatalf("%s: redrive policy %q: %v", def.Name, work["RedrivePolicy"], err)
		}
		if policy.DeadLetterTargetArn != dlq["QueueArn"] {
			t.Errorf("%s: dead letters go to %s, want its DLQ %s", def.Name, policy.DeadLetterTargetArn, dlq["QueueArn"])
		}
		if got := jsonNumber(policy.MaxReceiveCount); got != def.MaxReceiveCount {
			t.Errorf("%s: maxReceiveCount %d, want %d", def.Name, got, def.MaxReceiveCount)
		}
		if work["VisibilityTimeout"] != secs(def.VisibilityTimeout) || work["MessageRetentionPeriod"] != secs(def.Retention) {
			t.Errorf("%s: visibility %s retention %s, want %s and %s", def.Name, work["VisibilityTimeout"],
				work["MessageRetentionPeriod"], secs(def.VisibilityTimeout), secs(def.Retention))
		}
		if dlq["MessageRetentionPeriod"] != secs(def.DLQRetention) {
			t.Errorf("%s DLQ: retention %s, want %s", def.Name, dlq["MessageRetentionPeriod"], secs(def.DLQRetention))
		}
		if def.VisibilityTimeout < 6*def.ConsumerTimeout {
			t.Errorf("%s: visibility %s is under 6x the consumer's timeout %s (AWS's advice for event source mappings)",
				def.Name, def.VisibilityTimeout, def.ConsumerTimeout)
		}
	}
}

// SQS answers maxReceiveCount as a number or a string depending on the server.
func jsonNumber(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case string:
		i, _ := strconv.Atoi(n)
		return i
	}
	return -1
}
