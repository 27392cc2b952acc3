// Package apptest runs a function's real wiring in tests: it gives each test fresh
// tables and queues on the local DynamoDB and SQS servers, a Graph API stand-in,
// and the process environment a deployed function sees, so the test can call
// app.Load and the function's own constructor exactly as main does and feed the
// handler a real-shaped Lambda event from events/.
//
// It is a non-test package so the functions/*/main_test.go packages can share it.
// The environment is process-wide (t.Setenv), so tests using it cannot run in
// parallel within one package; packages still run in parallel with each other.
package apptest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// Stack is one test's isolated world.
type Stack struct {
	Prefix string // TABLE_PREFIX and the queue name prefix
	Tables dynamo.TableNames
	Queues queue.URLs
	// Store reads and seeds the same tables as the function, with the shard count
	// every function uses by default.
	Store  *dynamo.Store
	Dynamo *dynamodb.Client
	SQS    *sqs.Client
	Graph  *Graph
}

// FunctionName stands in for AWS_LAMBDA_FUNCTION_NAME, which the Lambda runtime
// sets; the sender uses it only to find its own event source mapping on a halt.
const FunctionName = "frontdesk-test-function"

// Start creates the tables and queues under a fresh prefix, starts the Graph API
// stand-in and sets every variable the functions read (TABLE_PREFIX, the queue
// URLs, WHATSAPP_*, AWS_LAMBDA_FUNCTION_NAME). env adds or overrides
// variables (API_STAGE_NAME, ...); an empty value unsets one.
//
// Like shared/localtest it skips when DYNAMODB_ENDPOINT or SQS_ENDPOINT is unset,
// and fails instead under `make test` (FRONTDESK_REQUIRE_LOCAL) or CI.
func Start(t *testing.T, env map[string]string) *Stack {
	t.Helper()
	requireEndpoint(t, platform.EnvDynamoEndpoint)
	requireEndpoint(t, platform.EnvSQSEndpoint)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The same constructors app.Load uses, so the test talks to exactly the
	// endpoints the function will.
	cfg, err := platform.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := &Stack{
		Prefix: localtest.Prefix(),
		Dynamo: dynamo.NewClient(cfg),
		SQS:    queue.NewClient(cfg),
	}
	if err := dynamo.CreateTables(ctx, s.Dynamo, s.Prefix); err != nil {
		t.Fatalf("apptest: create tables: %v", err)
	}
	if s.Queues, err = queue.CreateQueues(ctx, s.SQS, s.Prefix); err != nil {
		t.Fatalf("apptest: create queues: %v", err)
	}
	s.Tables = dynamo.NamesWithPrefix(s.Prefix)
	s.Store = dynamo.NewStore(s.Dynamo, s.Tables, platform.SystemClock{}, app.DefaultSweepShards)
	s.Graph = NewGraph(t, AccessToken)

	vars := map[string]string{
		platform.EnvTablePrefix:         s.Prefix,
		platform.EnvInboundQueueURL:     s.Queues[queue.Inbound],
		platform.EnvOutboundQueueURL:    s.Queues[queue.Outbound],
		platform.EnvEHROutboxQueueURL:   s.Queues[queue.EHROutbox],
		platform.EnvWhatsAppAPIBaseURL:  s.Graph.URL,
		platform.EnvWhatsAppAPIVersion:  GraphVersion,
		platform.EnvWhatsAppAccessToken: AccessToken,
		platform.EnvWhatsAppAppSecret:   AppSecret,
		platform.EnvWhatsAppVerifyToken: VerifyToken,
		fnspec.EnvFunctionName:          FunctionName,
		EHRSecretEnv:                    EHRSecret,
		platform.EnvLogDigestKey:        "test-log-digest-key",
		// Whatever the developer's shell says, the functions here must see only
		// what the stack sets.
		fnspec.EnvAPIStageName:        "",
		platform.EnvSweepShards:       "",
		platform.EnvMessagesPerSecond: "",
	}
	for k, v := range env {
		vars[k] = v
	}
	for k, v := range vars {
		t.Setenv(k, v)
		if v == "" {
			os.Unsetenv(k) // t.Setenv restores the original value at cleanup
		}
	}
	return s
}

// Load builds the App the way a function's main does.
func (s *Stack) Load(t *testing.T) *app.App {
	t.Helper()
	a, err := app.Load(context.Background())
	if err != nil {
		t.Fatalf("app.Load: %v", err)
	}
	return a
}

// Receive takes every message now visible on the named queue (a logical name such
// as queue.Outbound) and deletes it, so a later Receive sees only newer messages.
func (s *Stack) Receive(t *testing.T, name string) []types.Message {
	t.Helper()
	url, ok := s.Queues[name]
	if !ok {
		t.Fatalf("apptest: no queue %q", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []types.Message
	for {
		res, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 0,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("apptest: receive from %s: %v", name, err)
		}
		if len(res.Messages) == 0 {
			return out
		}
		for _, m := range res.Messages {
			if _, err := s.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("apptest: delete from %s: %v", name, err)
			}
		}
		out = append(out, res.Messages...)
	}
}

func requireEndpoint(t *testing.T, name string) {
	t.Helper()
	if os.Getenv(name) != "" {
		return
	}
	msg := name + " is not set: this test needs the local servers; run `make test` " +
		"(or `go run ./scripts/localstack -- go test ./functions/...`)"
	if os.Getenv("FRONTDESK_REQUIRE_LOCAL") != "" || os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
