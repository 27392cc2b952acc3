package queue

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// NewClient returns an SQS client, pointed at SQS_ENDPOINT when set. It lives here
// rather than in platform so that only code that uses SQS links its client (the
// ehr-api's cold start does not pay for it).
func NewClient(cfg aws.Config) *sqs.Client {
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if ep := os.Getenv(platform.EnvSQSEndpoint); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
}
