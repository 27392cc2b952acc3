// Command inbound is the Lambda that consumes the inbound queue (verified WhatsApp
// webhook payloads): answers, consent, hand-offs and delivery statuses. Wiring only.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/inbox"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

func main() {
	ctx := context.Background()
	log := platform.NewLogger(os.Stdout, slog.LevelInfo)
	env := platform.NewEnv()
	prefix := env.Required(platform.EnvTablePrefix)
	outboxURL := env.Required(platform.EnvEHROutboxQueueURL)
	baseURL := env.Optional(platform.EnvWhatsAppAPIBaseURL, platform.DefaultWhatsAppAPIBaseURL)
	version := env.Optional(platform.EnvWhatsAppAPIVersion, whatsapp.DefaultVersion)
	shards := env.Int(platform.EnvSweepShards, 16)
	cfg, err := platform.AWSConfig(ctx)
	if err != nil {
		log.Error("inbound: aws config", "error", err)
		os.Exit(1)
	}
	secrets := &platform.Secrets{Client: secretsmanager.NewFromConfig(cfg)}
	token := secrets.Value(env, platform.EnvWhatsAppAccessToken)
	if err := env.Err(); err != nil {
		log.Error("inbound: configuration", "error", err)
		os.Exit(1)
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = endpoint(platform.EnvDynamoEndpoint) })
	sq := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = endpoint(platform.EnvSQSEndpoint) })
	svc := &inbox.Service{
		Store:     dynamo.NewStore(db, dynamo.NamesWithPrefix(prefix), platform.SystemClock{}, shards),
		Events:    queue.EventOutbox{Publisher: queue.NewPublisher(sq, outboxURL)},
		Messenger: &whatsapp.Client{BaseURL: baseURL, Version: version, Token: token},
		Clock:     platform.SystemClock{},
		Log:       log,
	}
	lambda.Start(svc.Handle)
}

// endpoint points a client at the local servers when their variable is set.
func endpoint(name string) *string {
	if v := os.Getenv(name); v != "" {
		return aws.String(v)
	}
	return nil
}
