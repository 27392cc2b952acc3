// Package localtest gives integration tests real clients for the local DynamoDB and
// SQS servers started by `make test` (scripts/localstack), each test with its own
// freshly created tables and queues so tests never see each other's data.
package localtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

func endpoint(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	msg := name + " is not set: this test needs the local servers; run `make test` " +
		"(or `go run ./scripts/localstack -- go test ./...`)"
	if os.Getenv("FRONTDESK_REQUIRE_LOCAL") != "" || os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Prefix returns a unique table/queue name prefix for one test.
func Prefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:]) + "-"
}

func cfg() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
}

// DynamoClient returns a client for DynamoDB Local.
func DynamoClient(t testing.TB) *dynamodb.Client {
	t.Helper()
	ep := endpoint(t, "DYNAMODB_ENDPOINT")
	return dynamodb.NewFromConfig(cfg(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(ep) })
}

// Dynamo returns a client for DynamoDB Local and the names of a fresh set of tables.
//
// TTL is switched off on them: DynamoDB Local really deletes expired items within a
// second or so, and tests run on fake clocks whose "now" may lie in the real past,
// which would make their data vanish mid-test. The TTL settings themselves are
// tested in shared/dynamo against tables created with TTL on.
func Dynamo(t testing.TB) (*dynamodb.Client, dynamo.TableNames) {
	t.Helper()
	client := DynamoClient(t)
	prefix := Prefix()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dynamo.CreateTables(ctx, client, prefix); err != nil {
		t.Fatalf("create tables: %v", err)
	}
	for _, def := range dynamo.Tables() {
		if def.TTLAttribute == "" {
			continue
		}
		_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName: aws.String(prefix + def.Name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{
				AttributeName: aws.String(def.TTLAttribute), Enabled: aws.Bool(false),
			},
		})
		if err != nil {
			t.Fatalf("disable ttl on %s: %v", def.Name, err)
		}
	}
	return client, dynamo.NamesWithPrefix(prefix)
}

// SQS returns a client for the local SQS and the URLs of a fresh set of queues.
func SQS(t testing.TB) (*sqs.Client, queue.URLs) {
	t.Helper()
	ep := endpoint(t, "SQS_ENDPOINT")
	client := sqs.NewFromConfig(cfg(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(ep) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	urls, err := queue.CreateQueues(ctx, client, Prefix())
	if err != nil {
		t.Fatalf("create queues: %v", err)
	}
	return client, urls
}
