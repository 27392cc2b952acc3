// Package app builds what every Frontdesk process shares from its environment: the
// logger, clock, AWS configuration, secrets and the Graph API client. Each function
// builds only the clients it uses (queue.NewClient, package appstore), so none
// links an AWS service client it never calls. The
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

	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// App is the shared wiring of one process. The DynamoDB store is built by package
// appstore, for the functions that have tables.
type App struct {
	Env     *platform.Env
	Log     *slog.Logger
	Clock   platform.Clock
	AWS     aws.Config
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
