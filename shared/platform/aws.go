package platform

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Local endpoints: when set, clients talk to DynamoDB Local and moto instead of AWS.
const (
	EnvDynamoEndpoint = "DYNAMODB_ENDPOINT"
	EnvSQSEndpoint    = "SQS_ENDPOINT"
)

// AWSConfig loads the default AWS configuration. When a local endpoint is set it
// uses static dummy credentials and a fixed region, so local runs need no AWS account.
func AWSConfig(ctx context.Context) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if os.Getenv(EnvDynamoEndpoint) != "" || os.Getenv(EnvSQSEndpoint) != "" {
		opts = append(opts,
			config.WithRegion("us-east-1"),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
		)
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("platform: load aws config: %w", err)
	}
	return cfg, nil
}
