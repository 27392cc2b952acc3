// Package app builds what every Frontdesk process shares from its environment: the
// logger, clock, AWS clients, the DynamoDB store, secrets and queue publishers. The
// Lambdas and the dev runner use it, so a function's main stays wiring only and a
// missing variable is one clear error at start.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/handoff"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/topic"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// App is the shared wiring of one process.
//
// The store's shard count must be the same in every function: the writers (ehr-api,
// inbound) place scheduled reminders in dueShard N and the sweep reads shards
// 0..N-1, so it is read here once from SWEEP_SHARDS with one default.
type App struct {
	Env     *platform.Env
	Log     *slog.Logger
	Clock   platform.Clock
	AWS     aws.Config
	Store   *dynamo.Store
	SQS     *sqs.Client
	Secrets *platform.Secrets
}

// DefaultSweepShards spreads the due index over this many partition keys so a busy
// minute does not concentrate on one partition.
const DefaultSweepShards = 8

// Load reads the common configuration. Callers read their own variables from a.Env
// and then call a.Env.Err() once, so every missing variable is reported together.
func Load(ctx context.Context) (*App, error) {
	log := platform.NewLogger(os.Stdout, slog.LevelInfo)
	env := platform.NewEnv()
	prefix := env.Required(platform.EnvTablePrefix)
	shards := env.Int(platform.EnvSweepShards, DefaultSweepShards)
	cfg, err := platform.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	clock := platform.SystemClock{}
	a := &App{
		Env:     env,
		Log:     log,
		Clock:   clock,
		AWS:     cfg,
		Store:   dynamo.NewStore(platform.DynamoClient(cfg), dynamo.NamesWithPrefix(prefix), clock, shards),
		SQS:     platform.SQSClient(cfg),
		Secrets: &platform.Secrets{Client: secretsmanager.NewFromConfig(cfg), TTL: 5 * time.Minute, Clock: clock},
	}
	if err := a.loadDigestKey(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// loadDigestKey sets the deployment's log digest key from LOG_DIGEST_KEY, else
// the secret named by LOG_DIGEST_KEY_SECRET_ARN. Without either, digests use a
// per-process random key: still irreversible, but not correlatable across
// functions, which the warning says.
func (a *App) loadDigestKey(ctx context.Context) error {
	key := a.Env.Optional(platform.EnvLogDigestKey, "")
	if arn := a.Env.Optional(platform.EnvLogDigestKey+"_SECRET_ARN", ""); key == "" && arn != "" {
		v, err := a.Secrets.Resolve(ctx, arn)
		if err != nil {
			return fmt.Errorf("app: log digest key: %w", err)
		}
		key = v
	}
	if key == "" {
		a.Log.Warn("log_digest_key_missing", "variable", platform.EnvLogDigestKey)
		return nil
	}
	platform.SetDigestKey([]byte(key))
	return nil
}

// WhatsAppClient builds the Graph API client from the environment; the token comes
// from WHATSAPP_ACCESS_TOKEN locally or the secret named by WHATSAPP_ACCESS_TOKEN_SECRET_ARN.
func (a *App) WhatsAppClient() *whatsapp.Client {
	return &whatsapp.Client{
		BaseURL: a.Env.Optional(platform.EnvWhatsAppAPIBaseURL, platform.DefaultWhatsAppAPIBaseURL),
		Version: a.Env.Optional(platform.EnvWhatsAppAPIVersion, "v23.0"),
		Token:   a.Secrets.Value(a.Env, platform.EnvWhatsAppAccessToken),
		Timeout: a.Env.Duration(platform.EnvWhatsAppAPITimeout, whatsapp.DefaultTimeout),
	}
}

// Conversations builds the conversation record's service: staff replies go out
// through send (the Graph client today), urgent conversations to the SNS topic
// named by CONVERSATION_ALERT_TOPIC_ARN (a log line without it).
func (a *App) Conversations(send handoff.Sender) *handoff.Service {
	var alerter handoff.Alerter = topic.LogAlerts{Log: a.Log}
	if arn := a.Env.Optional(platform.EnvConversationAlertTopicARN, ""); arn != "" {
		alerter = topic.Alerts{Client: sns.NewFromConfig(a.AWS), TopicARN: arn}
	}
	return &handoff.Service{Store: a.Store, Sender: send, Alerter: alerter, Clock: a.Clock, Log: a.Log, Metrics: a.Metrics(),
		APIBaseURL: a.Env.Optional(platform.EnvAPIBaseURL, "")}
}

// Publisher returns an SQS publisher for the queue URL in the named variable.
func (a *App) Publisher(envName string) *queue.Publisher {
	return queue.NewPublisher(a.SQS, a.Env.Required(envName))
}

// Ready reports the collected configuration problems, exiting on any: call it after
// every variable has been read.
func (a *App) Ready() {
	if err := a.Env.Err(); err != nil {
		a.Fatal("configuration", err)
	}
}

// Fatal logs a start-up error and exits: a Lambda that cannot configure itself must
// fail its init loudly rather than answer requests half-wired.
func (a *App) Fatal(msg string, err error) {
	a.Log.Error(msg, "error", err)
	os.Exit(1)
}

// Metrics is the recorder of the clinics' numbers: the per-clinic aggregate in
// DynamoDB, and the dashboard's totals as EMF metrics.
func (a *App) Metrics() *metrics.Recorder {
	return NewMetrics(a.Store, a.Log, a.Clock)
}

// NewMetrics builds the recorder over store; the dev runner and tests use it.
func NewMetrics(store metrics.Store, log *slog.Logger, clock platform.Clock) *metrics.Recorder {
	return &metrics.Recorder{Store: store, Emit: func(ctx context.Context, counter string, n int64) {
		if metrics.OnDashboard(counter) {
			platform.Metric(ctx, log, clock, platform.MetricClinicCounts, float64(n), "Count", platform.DimCounter, counter)
		}
	}}
}
