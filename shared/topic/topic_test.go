package topic_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/frontdesk-health/frontdesk/shared/handoff"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/topic"
)

// One topic, a subscription per clinic filtered on the clinicId attribute: each
// clinic's on-call subscription gets its own alerts only, and an alert holds ids
// and a URL, nothing about the patient.
func TestAlertsReachOnlyTheirClinicsSubscription(t *testing.T) {
	ep := os.Getenv("SQS_ENDPOINT") // moto serves SNS on the same endpoint
	if ep == "" {
		t.Skip("SQS_ENDPOINT is not set: run through `go run ./scripts/localstack -- go test ./shared/topic/`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	snsc := sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(ep) })
	sqsc := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(ep) })
	prefix := localtest.Prefix()
	tp, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(prefix + "alerts")})
	if err != nil {
		t.Fatal(err)
	}
	subscribe := func(clinicID string) string {
		q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(prefix + clinicID)})
		if err != nil {
			t.Fatal(err)
		}
		attrs, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		policy, _ := json.Marshal(map[string][]string{topic.AttrClinicID: {clinicID}})
		_, err = snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: tp.TopicArn, Protocol: aws.String("sqs"),
			Endpoint:   aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]),
			Attributes: map[string]string{"FilterPolicy": string(policy), "RawMessageDelivery": "true"}})
		if err != nil {
			t.Fatal(err)
		}
		return *q.QueueUrl
	}
	queues := map[string]string{"clinic-a": subscribe("clinic-a"), "clinic-b": subscribe("clinic-b")}

	alerts := topic.Alerts{Client: snsc, TopicARN: *tp.TopicArn}
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for _, a := range []handoff.Alert{
		{ClinicID: "clinic-a", ConversationID: "cnv_a1", URL: "https://api.example/v1/clinics/clinic-a/conversations/cnv_a1", At: at},
		{ClinicID: "clinic-a", ConversationID: "cnv_a2", URL: "https://api.example/v1/clinics/clinic-a/conversations/cnv_a2", At: at},
		{ClinicID: "clinic-b", ConversationID: "cnv_b1", URL: "https://api.example/v1/clinics/clinic-b/conversations/cnv_b1", At: at},
	} {
		if err := alerts.Alert(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for clinicID, url := range queues {
		out, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"clinic-a": 2, "clinic-b": 1}[clinicID]
		if len(out.Messages) != want {
			t.Fatalf("%s got %d alerts, want %d", clinicID, len(out.Messages), want)
		}
		for _, m := range out.Messages {
			var b topic.Body
			if err := json.Unmarshal([]byte(*m.Body), &b); err != nil {
				t.Fatalf("%s: alert body %q: %v", clinicID, *m.Body, err)
			}
			if b.ClinicID != clinicID || b.Type != topic.TypeUrgentConversation || !strings.HasSuffix(b.URL, "/"+b.ConversationID) {
				t.Errorf("%s got %+v", clinicID, b)
			}
		}
	}
}
