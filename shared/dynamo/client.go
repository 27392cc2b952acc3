package dynamo

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// NewClient returns a DynamoDB client, pointed at DYNAMODB_ENDPOINT when set. It
// lives here rather than in platform so that only code that uses DynamoDB links
// its client (the WhatsApp webhook's cold start does not pay for it).
func NewClient(cfg aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if ep := os.Getenv(platform.EnvDynamoEndpoint); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
}
