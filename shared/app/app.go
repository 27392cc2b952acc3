// Package app builds what every Frontdesk process shares from its environment: the
// logger, clock, AWS clients, secrets and queue publishers (package appstore adds
// the DynamoDB store). The
// Lambdas and the dev runner use it, so a function's main stays wiring only and a
// missing variable is one clear error at start.
package app

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// App is the shared wiring of one process. The DynamoDB store is built by package
// appstore, for the functions that have tables.
type App struct {
	Env     *platform.Env
	Log     *slog.Logger
	Clock   platform.Clock
	AWS     aws.Config
	SQS     *sqs.Client
	Secrets *platform.Secrets
}

// DefaultSweepShards is the due index's shard count when SWEEP_SHARDS is unset.
const DefaultSweepShards = fnspec.SweepShards

// Load reads the common configuration. Callers read their own variables from a.Env
// and then call a.Env.Err() once, so every missing variable is reported together.
func Load(ctx context.Context) (*App, error) {
	log := platform.NewLogger(os.Stdout, slog.LevelInfo)
	env := platform.NewEnv()
	cfg, err := platform.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	clock := platform.SystemClock{}
	return &App{
		Env:     env,
		Log:     log,
		Clock:   clock,
		AWS:     cfg,
		SQS:     platform.SQSClient(cfg),
		Secrets: &platform.Secrets{Client: secretsmanager.NewFromConfig(cfg), TTL: 5 * time.Minute, Clock: clock},
	}, nil
}

// WhatsAppClient builds the Graph API client from the environment; the token comes
// from WHATSAPP_ACCESS_TOKEN locally or the secret named by WHATSAPP_ACCESS_TOKEN_SECRET_ARN.
func (a *App) WhatsAppClient() *whatsapp.Client {
	return &whatsapp.Client{
		BaseURL: a.Env.Optional(platform.EnvWhatsAppAPIBaseURL, platform.DefaultWhatsAppAPIBaseURL),
		Version: a.Env.Optional(platform.EnvWhatsAppAPIVersion, fnspec.WhatsAppAPIVersion),
		Token:   a.Secrets.Value(a.Env, platform.EnvWhatsAppAccessToken),
	}
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
