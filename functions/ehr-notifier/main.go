// Command ehr-notifier is the Lambda that consumes the ehr-outbox queue and posts
// each clinic event, signed, to the clinic's callback URL. Wiring only.
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
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/notify"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

func main() {
	ctx := context.Background()
	log := platform.NewLogger(os.Stdout, slog.LevelInfo)
	env := platform.NewEnv()
	prefix := env.Required(platform.EnvTablePrefix)
	outboxURL := env.Required(platform.EnvEHROutboxQueueURL)
	shards := env.Int(platform.EnvSweepShards, 16)
	if err := env.Err(); err != nil {
		log.Error("ehr-notifier: configuration", "error", err)
		os.Exit(1)
	}
	cfg, err := platform.AWSConfig(ctx)
	if err != nil {
		log.Error("ehr-notifier: aws config", "error", err)
		os.Exit(1)
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = endpoint(platform.EnvDynamoEndpoint) })
	sq := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = endpoint(platform.EnvSQSEndpoint) })
	outbox, _ := queue.Lookup(queue.EHROutbox)
	svc := &notify.Service{
		Clinics:     dynamo.NewStore(db, dynamo.NamesWithPrefix(prefix), platform.SystemClock{}, shards),
		Secrets:     &platform.Secrets{Client: secretsmanager.NewFromConfig(cfg)},
		Sign:        ehr.SignHeaders,
		HTTP:        notify.NewHTTPClient(),
		Visibility:  queue.NewVisibility(sq, outboxURL),
		Clock:       platform.SystemClock{},
		Log:         log,
		MaxReceives: outbox.MaxReceiveCount, // the handler names the last attempt in its log
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
