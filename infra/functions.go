package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/frontdesk-health/frontdesk/shared/fnspec"
)

// Function names: one Lambda per directory under functions/, built by `make build`
// into <asset root>/<name>/bootstrap.
const (
	FnEHRAPI          = fnspec.EHRAPI
	FnWhatsAppWebhook = fnspec.WhatsAppWebhook
	FnReminderSweep   = fnspec.ReminderSweep
	FnSender          = fnspec.Sender
	FnInbound         = fnspec.Inbound
	FnEHRNotifier     = fnspec.EHRNotifier
)

// FunctionNames lists every function in a stable order.
var FunctionNames = fnspec.Names()

// CheckAssets reports every function whose bootstrap is missing under root, with
// the command that builds them: synthesizing without code would deploy nothing.
func CheckAssets(root string) error {
	var missing []string
	for _, name := range FunctionNames {
		p := filepath.Join(root, name, "bootstrap")
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("infra: Lambda code missing: %v; run `make build` first "+
			"(`npx cdk synth|deploy` does it through cdk.json \"build\")", missing)
	}
	return nil
}

// FunctionSpec is what differs between the functions.
type FunctionSpec struct {
	Name        string
	Description string
	Timeout     time.Duration
	MemoryMB    int
	// Reserved concurrency is set on every function on purpose: it caps what one
	// function can take from the account pool and what it can push downstream
	// (the sender's cap is what splits WhatsApp's per-number throughput).
	Reserved int
	Env      map[string]string
	// AsyncDLQ receives events of asynchronous invocations that failed every retry
	// (only the EventBridge-invoked sweep is invoked asynchronously).
	AsyncDLQ awssqs.IQueue
}

// Function is one deployed Lambda with the resources that belong to it alone.
type Function struct {
	Spec     FunctionSpec
	Fn       awslambda.Function
	Role     awsiam.Role
	LogGroup awslogs.LogGroup
	Access   *Access
}

// newFunction creates the function, its encrypted log group and its role. The role
// takes no automatic grants: every permission comes from the function's Access,
// written to one customer-managed policy, so the template shows exactly what each
// function may do (and cdk-nag's no-inline-policy rule holds).
func newFunction(scope constructs.Construct, st Stage, keys Keys, assetRoot string, spec FunctionSpec, access *Access) *Function {
	id := logicalID(spec.Name)
	fnName := st.Prefix() + spec.Name
	logGroup := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/lambda/" + fnName),
		Retention:     st.LogRetention,
		EncryptionKey: keys.Logs,
		RemovalPolicy: st.RemovalPolicy(),
	})
	access.statement("WriteOwnLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, *logGroup.LogGroupArn())
	// X-Ray's write actions do not support resource-level permissions.
	access.statement("XRayTraces", []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, "*")
	if spec.AsyncDLQ != nil {
		access.SendTo(spec.AsyncDLQ, keys.Messaging)
	}

	policy := awsiam.NewManagedPolicy(scope, jsii.String(id+"Policy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("Frontdesk " + spec.Name + ": only the data this function uses"),
		Statements:  access.Statements(),
	})
	role := awsiam.NewRole(scope, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:       awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description:     jsii.String("Frontdesk " + spec.Name + " execution role"),
		ManagedPolicies: &[]awsiam.IManagedPolicy{policy},
	})

	env := map[string]*string{}
	for _, k := range sortedKeys(spec.Env) {
		env[k] = jsii.String(spec.Env[k])
	}
	props := &awslambda.FunctionProps{
		FunctionName: jsii.String(fnName),
		Description:  jsii.String(spec.Description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		// A plain `go build` output (make build); no Docker bundling.
		Code:                         awslambda.Code_FromAsset(jsii.String(filepath.Join(assetRoot, spec.Name)), nil),
		Timeout:                      awscdk.Duration_Seconds(jsii.Number(spec.Timeout.Seconds())),
		MemorySize:                   jsii.Number(float64(spec.MemoryMB)),
		ReservedConcurrentExecutions: jsii.Number(float64(spec.Reserved)),
		Environment:                  &env,
		LoggingFormat:                awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2:        awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:             awslambda.SystemLogLevel_WARN,
		LogGroup:                     logGroup,
		Tracing:                      awslambda.Tracing_ACTIVE,
		DeadLetterQueue:              spec.AsyncDLQ,
		// Grants CDK would add on its own (X-Ray, the DLQ) are already in the policy.
		Role: role.WithoutPolicyUpdates(&awsiam.WithoutPolicyUpdatesOptions{AddGrantsToResources: jsii.Bool(false)}),
	}
	if spec.AsyncDLQ != nil {
		// An old sweep event is worth nothing: the next one a minute later covers it.
		props.RetryAttempts = jsii.Number(1)
		props.MaxEventAge = awscdk.Duration_Minutes(jsii.Number(2))
	}
	fn := awslambda.NewFunction(scope, jsii.String(id+"Function"), props)
	// CDK adds DependsOn on the role next to the GetAtt that already orders them;
	// cfn-lint warns about the redundancy (W3005), which is harmless.
	fn.Node().DefaultChild().(awscdk.CfnResource).AddMetadata(jsii.String("cfn-lint"),
		map[string]any{"config": map[string]any{"ignore_checks": []string{"W3005"}}})
	return &Function{Spec: spec, Fn: fn, Role: role, LogGroup: logGroup, Access: access}
}

// Access collects one function's permissions. Each helper names the exact actions
// and resources; there is no wildcard action anywhere.
type Access struct {
	stmts map[string]*accessStatement
	order []string
}

type accessStatement struct {
	sid       string
	actions   []string
	resources []string
	cond      map[string]any
}

// NewAccess starts an empty permission set.
func NewAccess() *Access { return &Access{stmts: map[string]*accessStatement{}} }

// statement adds actions on resources, merging with an earlier statement of the
// same sid so the policy stays small.
func (a *Access) statement(sid string, actions []string, resources ...string) {
	s, ok := a.stmts[sid]
	if !ok {
		s = &accessStatement{sid: sid}
		a.stmts[sid] = s
		a.order = append(a.order, sid)
	}
	s.actions = appendMissing(s.actions, actions...)
	s.resources = appendMissing(s.resources, resources...)
}

var (
	tableReadActions  = []string{"dynamodb:GetItem", "dynamodb:Query"}
	tableWriteActions = []string{"dynamodb:GetItem", "dynamodb:Query",
		"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"}
	kmsDecrypt = []string{"kms:Decrypt", "kms:DescribeKey"}
	kmsEncrypt = []string{"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"}
)

// ReadTable allows reads of the table and queries of the named indexes.
func (a *Access) ReadTable(t awsdynamodb.Table, key awskms.IKey, indexes ...string) {
	a.statement("ReadTables", tableReadActions, *t.TableArn())
	a.indexes(t, indexes)
	a.statement("UseDataKey", kmsDecrypt, *key.KeyArn())
}

// WriteTable allows reads and conditional writes (including transactions) of the
// table and queries of the named indexes.
func (a *Access) WriteTable(t awsdynamodb.Table, key awskms.IKey, indexes ...string) {
	a.statement("WriteTables", tableWriteActions, *t.TableArn())
	a.indexes(t, indexes)
	a.statement("UseDataKey", kmsEncrypt, *key.KeyArn())
}

// ScanTable lets the function page through a whole table (the clinics table,
// which holds one item per tenant).
func (a *Access) ScanTable(t awsdynamodb.Table, key awskms.IKey) {
	a.statement("ScanTables", []string{"dynamodb:Scan"}, *t.TableArn())
	a.statement("UseDataKey", kmsDecrypt, *key.KeyArn())
}

func (a *Access) indexes(t awsdynamodb.Table, names []string) {
	for _, ix := range names {
		a.statement("QueryIndexes", []string{"dynamodb:Query"}, *t.TableArn()+"/index/"+ix)
	}
}

// SendTo allows publishing to a queue encrypted with key.
func (a *Access) SendTo(q awssqs.IQueue, key awskms.IKey) {
	a.statement("SendMessages", []string{"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}, *q.QueueArn())
	a.statement("UseMessagingKey", kmsEncrypt, *key.KeyArn())
}

// PublishTo allows publishing to an SNS topic encrypted with key.
func (a *Access) PublishTo(t awssns.ITopic, key awskms.IKey) {
	a.statement("PublishAlerts", []string{"sns:Publish"}, *t.TopicArn())
	a.statement("UseMessagingKey", kmsEncrypt, *key.KeyArn())
}

// ConsumeFrom allows what an SQS event source mapping and a handler that delays
// failed items (ChangeMessageVisibility) need.
func (a *Access) ConsumeFrom(q awssqs.IQueue, key awskms.IKey) {
	a.statement("ConsumeMessages", []string{"sqs:ReceiveMessage", "sqs:DeleteMessage",
		"sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}, *q.QueueArn())
	a.statement("UseMessagingKey", kmsDecrypt, *key.KeyArn())
}

// ReadSecret allows reading one secret encrypted with key.
func (a *Access) ReadSecret(s awssecretsmanager.ISecret, key awskms.IKey) {
	a.statement("ReadSecrets", []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, *s.SecretArn())
	a.statement("UseSecretsKey", kmsDecrypt, *key.KeyArn())
}

// ReadClinicSecrets allows reading the per-clinic EHR secrets ops create under
// the stage's prefix (the clinic config names them by ARN). Secrets Manager
// appends a random suffix to secret ARNs, hence the trailing wildcard.
func (a *Access) ReadClinicSecrets(st Stage, key awskms.IKey) {
	arn := "arn:" + *awscdk.Aws_PARTITION() + ":secretsmanager:" + *awscdk.Aws_REGION() + ":" +
		*awscdk.Aws_ACCOUNT_ID() + ":secret:" + st.ClinicSecretPrefix + "*"
	a.statement("ReadClinicSecrets", []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, arn)
	a.statement("UseSecretsKey", kmsDecrypt, *key.KeyArn())
}

// Statements renders the permission set.
func (a *Access) Statements() *[]awsiam.PolicyStatement {
	var out []awsiam.PolicyStatement
	for _, sid := range a.order {
		s := a.stmts[sid]
		props := &awsiam.PolicyStatementProps{
			Sid:       jsii.String(s.sid),
			Actions:   jsii.Strings(s.actions...),
			Resources: jsii.Strings(s.resources...),
		}
		if s.cond != nil {
			props.Conditions = &s.cond
		}
		out = append(out, awsiam.NewPolicyStatement(props))
	}
	return &out
}

func appendMissing(list []string, items ...string) []string {
	for _, it := range items {
		found := false
		for _, have := range list {
			if have == it {
				found = true
				break
			}
		}
		if !found {
			list = append(list, it)
		}
	}
	return list
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
