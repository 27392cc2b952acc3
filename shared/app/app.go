// Package app builds what every Frontdesk process shares from its environment: the
// logger, clock, AWS configuration, secrets and the Graph API client. Each function
// builds only the clients it uses (queue.NewClient, package appstore), so none
// links an AWS service client it never calls. The
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

	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
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
	a := &App{
		Env:     env,
		Log:     log,
		Clock:   clock,
		AWS:     cfg,
		Secrets: &platform.Secrets{Client: platform.NewSecretsManager(cfg), TTL: 5 * time.Minute, Clock: clock},
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
	if arn := a.Env.Optional(fnspec.EnvLogDigestKeySecretARN, ""); key == "" && arn != "" {
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
		Version: a.Env.Optional(platform.EnvWhatsAppAPIVersion, fnspec.WhatsAppAPIVersion),
		Token:   a.Secrets.Value(a.Env, platform.EnvWhatsAppAccessToken),
		Timeout: a.Env.Duration(platform.EnvWhatsAppAPITimeout, whatsapp.DefaultTimeout),
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

// NewMetrics builds the recorder of the clinics' numbers: the per-clinic aggregate
// in store (the DynamoDB metrics table), and the dashboard's totals as EMF metrics.
// The EHR API's and the inbound handler's builders use it.
func NewMetrics(store metrics.Store, log *slog.Logger, clock platform.Clock) *metrics.Recorder {
	return &metrics.Recorder{Store: store, Emit: func(ctx context.Context, counter string, n int64) {
		if metrics.OnDashboard(counter) {
			platform.Metric(ctx, log, clock, platform.MetricClinicCounts, float64(n), "Count", platform.DimCounter, counter)
		}
	}}
}
