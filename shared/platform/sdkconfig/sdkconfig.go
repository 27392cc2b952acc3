// Package sdkconfig loads the AWS SDK's full default configuration: profiles,
// SSO, assumed roles, instance metadata. The operator scripts use it to reach a
// real account from a workstation. The Lambda functions do not: the runtime hands
// them their region and credentials in environment variables
// (platform.AWSConfig), and the credential chain's clients would only slow their
// cold start.
package sdkconfig

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Load loads the default AWS configuration. When a local endpoint is set it uses
// static dummy credentials and a fixed region, so local runs need no AWS account.
func Load(ctx context.Context) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if os.Getenv(platform.EnvDynamoEndpoint) != "" || os.Getenv(platform.EnvSQSEndpoint) != "" {
		opts = append(opts,
			config.WithRegion(platform.LocalRegion),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
		)
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("sdkconfig: load aws config: %w", err)
	}
	return cfg, nil
}
