// Package topic publishes urgent conversations to the deployment's alert topic
// (SNS), so an emergency reaches whoever is on call without anyone opening a
// screen. One topic serves every clinic: each message carries the clinic id as a
// message attribute, and each clinic's subscriptions (e-mail, SMS, a pager) filter
// on it. The alert names the clinic and the conversation and nothing about the
// patient: no name, number or text.
package topic

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/frontdesk-health/frontdesk/shared/handoff"
)

// AttrClinicID is the message attribute subscriptions filter on.
const AttrClinicID = "clinicId"

// Publisher is the SNS call the alerts need (sns.Client).
type Publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Alerts publishes to one SNS topic.
type Alerts struct {
	Client   Publisher
	TopicARN string
}

var (
	_ handoff.Alerter = Alerts{}
	_ handoff.Alerter = LogAlerts{}
	_ Publisher       = (*sns.Client)(nil)
)

// Body is the alert's JSON message.
type Body struct {
	Type           string    `json:"type"`
	ClinicID       string    `json:"clinicId"`
	ConversationID string    `json:"conversationId"`
	URL            string    `json:"url"`
	At             time.Time `json:"at"`
}

// TypeUrgentConversation is the alert's type.
const TypeUrgentConversation = "conversation.urgent"

func body(a handoff.Alert) Body {
	return Body{Type: TypeUrgentConversation, ClinicID: a.ClinicID, ConversationID: a.ConversationID, URL: a.URL, At: a.At.UTC()}
}

// Alert publishes one urgent conversation.
func (p Alerts) Alert(ctx context.Context, a handoff.Alert) error {
	b, err := json.Marshal(body(a))
	if err != nil {
		return err
	}
	_, err = p.Client.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(p.TopicARN),
		Subject:  aws.String("Frontdesk: urgent conversation at " + a.ClinicID),
		Message:  aws.String(string(b)),
		MessageAttributes: map[string]types.MessageAttributeValue{
			AttrClinicID: {DataType: aws.String("String"), StringValue: aws.String(a.ClinicID)},
		},
	})
	if err != nil {
		return fmt.Errorf("topic: publish alert for %s/%s: %w", a.ClinicID, a.ConversationID, err)
	}
	return nil
}

// LogAlerts stands in for the topic in make dev: one WARN line per alert, and a
// copy to Record when set (tests read it).
type LogAlerts struct {
	Log    *slog.Logger
	Record func(Body)
}

// Alert logs the alert.
func (l LogAlerts) Alert(_ context.Context, a handoff.Alert) error {
	b := body(a)
	l.Log.Warn("conversation_urgent_alert", "clinic_id", b.ClinicID, "conversation_id", b.ConversationID, "url", b.URL)
	if l.Record != nil {
		l.Record(b)
	}
	return nil
}
