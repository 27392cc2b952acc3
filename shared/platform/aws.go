package platform

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Local endpoints: when set, clients talk to DynamoDB Local and moto instead of AWS.
const (
	EnvDynamoEndpoint = "DYNAMODB_ENDPOINT"
	EnvSQSEndpoint    = "SQS_ENDPOINT"
)

// LocalRegion is the region of local runs (DynamoDB Local, moto).
const LocalRegion = "us-east-1"

// Variables the Lambda runtime sets: the region and the function role's keys.
const (
	envRegion        = "AWS_REGION"
	envDefaultRegion = "AWS_DEFAULT_REGION"
)

var roleEnv = struct{ keyID, secretKey, sessionToken string }{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}

// AWSConfig is a function's AWS configuration: the region and the role's
// credentials from the variables the Lambda runtime sets (they stay valid for
// the execution environment's life), or, when a local endpoint is set, a fixed
// region and static dummy credentials, so local runs need no AWS account.
//
// It deliberately is not the SDK's config.LoadDefaultConfig: that links the whole
// credential chain (SSO, STS, instance metadata, their clients and endpoint
// tables), whose package initialisation alone costs a function's cold start
// about half a millisecond, for providers a Lambda never reaches. Scripts run by
// operators with profiles use package sdkconfig.
func AWSConfig(_ context.Context) (aws.Config, error) {
	if os.Getenv(EnvDynamoEndpoint) != "" || os.Getenv(EnvSQSEndpoint) != "" {
		return aws.Config{Region: LocalRegion, Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}, nil
	}
	region := os.Getenv(envRegion)
	if region == "" {
		region = os.Getenv(envDefaultRegion)
	}
	key, secret := os.Getenv(roleEnv.keyID), os.Getenv(roleEnv.secretKey)
	if region == "" || key == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("platform: aws config: %s, %s and %s must be set (the Lambda runtime sets them; scripts use package sdkconfig)",
			envRegion, roleEnv.keyID, roleEnv.secretKey)
	}
	return aws.Config{Region: region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secret, os.Getenv(roleEnv.sessionToken)))}, nil
}
