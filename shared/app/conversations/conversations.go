// Package conversations builds the conversation record's service (shared/handoff)
// for the functions that use it: ehr-api (the conversation routes and the console)
// and inbound (hand-offs and what follows them).
package conversations

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/handoff"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/topic"
)

// Store is what the service and its metrics recorder need (dynamo.Store).
type Store interface {
	handoff.Store
	metrics.Store
}

// Deps are the service's collaborators.
type Deps struct {
	Store Store
	// Outbox puts staff replies on the outbound queue as staff_reply jobs.
	Outbox  handoff.Outbox
	Alerter handoff.Alerter
	Clock   platform.Clock
	Log     *slog.Logger
	// APIBaseURL makes conversation URLs absolute; empty gives paths.
	APIBaseURL string
}

// New builds the service; the dev stack and tests use it.
func New(d Deps) *handoff.Service {
	return &handoff.Service{Store: d.Store, Outbox: d.Outbox, Alerter: d.Alerter, Clock: d.Clock, Log: d.Log,
		Metrics: app.NewMetrics(d.Store, d.Log, d.Clock), APIBaseURL: d.APIBaseURL}
}

// Load builds the service from the environment: urgent conversations go to the SNS
// topic named by CONVERSATION_ALERT_TOPIC_ARN (a log line without it).
func Load(a *app.App, store Store, outbox handoff.Outbox) *handoff.Service {
	var alerter handoff.Alerter = topic.LogAlerts{Log: a.Log}
	if arn := a.Env.Optional(platform.EnvConversationAlertTopicARN, ""); arn != "" {
		alerter = topic.Alerts{Client: sns.NewFromConfig(a.AWS), TopicARN: arn}
	}
	return New(Deps{Store: store, Outbox: outbox, Alerter: alerter, Clock: a.Clock, Log: a.Log,
		APIBaseURL: a.Env.Optional(platform.EnvAPIBaseURL, "")})
}
