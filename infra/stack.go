package main

import (
	"strconv"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// Sender pacing: WhatsApp allows 80 messages/s per business number by default.
// Every send takes a slot of its number's budget in DynamoDB, so the limit holds
// however many sender instances run. SenderConcurrency is sized so that one
// clinic's backlog (its jobs waiting up to 750 ms for their budget window) leaves
// instances free for other clinics' jobs: the fairness benchmark kept another
// clinic's delays within 1.2x of its idle figures at 16, not at 4 or 8.
const (
	MessagesPerSecond = 80
	SenderConcurrency = 16

	// SweepShards spreads the due index over this many partition keys (the same
	// value as shared/app.DefaultSweepShards; set explicitly so every function agrees).
	SweepShards = 8

	WhatsAppAPIBaseURL = "https://graph.facebook.com"
	WhatsAppAPIVersion = "v23.0"

	// EnvAPIStageName tells the HTTP functions which stage prefix to strip if a
	// request path carries it (see httpapi.StripStage).
	EnvAPIStageName = "API_STAGE_NAME"
)

// StackProps configures the Frontdesk stack.
type StackProps struct {
	awscdk.StackProps
	Stage Stage
	// AssetRoot holds <function>/bootstrap for every function (make build's output).
	AssetRoot string
}

// Frontdesk is the synthesized stack and handles on what it holds (tests use them).
type Frontdesk struct {
	Stack    awscdk.Stack
	Stage    Stage
	Keys     Keys
	Tables   map[string]awsdynamodb.Table
	Queues   map[string]WorkQueue
	SweepDLQ awssqs.Queue
	Secrets  WhatsAppSecrets
	// LogDigestKey keys the digests of patient ids, contact keys and wamids in every
	// function's logs (one key per deployment, so one id has one digest everywhere).
	LogDigestKey awssecretsmanager.Secret
	Functions    map[string]*Function
	SenderESM    awslambda.EventSourceMapping
	API          *API
	Obs          *Observability
}

// WhatsAppSecrets are created by the stack with a generated placeholder; ops put
// the real values in after deploy (README deploy guide). No value is in code.
type WhatsAppSecrets struct {
	AccessToken, AppSecret, VerifyToken awssecretsmanager.Secret
}

// NewFrontdeskStack builds the whole system.
func NewFrontdeskStack(scope constructs.Construct, id string, props *StackProps) *Frontdesk {
	st := props.Stage
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	// Dashboards are left untagged: cfn-lint's resource schemas do not know
	// AWS::CloudWatch::Dashboard Tags yet and a tag there buys nothing.
	tagProps := &awscdk.TagProps{ExcludeResourceTypes: jsii.Strings("AWS::CloudWatch::Dashboard")}
	awscdk.Tags_Of(stack).Add(jsii.String("app"), jsii.String("frontdesk"), tagProps)
	awscdk.Tags_Of(stack).Add(jsii.String("stage"), jsii.String(st.Name), tagProps)

	f := &Frontdesk{Stack: stack, Stage: st, Functions: map[string]*Function{}}
	f.Keys = newKeys(stack, st)
	f.Tables = newTables(stack, st, f.Keys)
	newBackups(stack, st, f.Keys, f.Tables)
	f.Queues = newQueues(stack, st, f.Keys)
	f.Secrets = newWhatsAppSecrets(stack, st, f.Keys)
	f.LogDigestKey = awssecretsmanager.NewSecret(stack, jsii.String("LogDigestKey"), &awssecretsmanager.SecretProps{
		SecretName:    jsii.String("frontdesk/" + st.Name + "/log-digest-key"),
		Description:   jsii.String("Key of the HMAC digests of ids in logs (scripts/logdigest); generated, never filled by hand"),
		EncryptionKey: f.Keys.Secrets,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength: jsii.Number(48), ExcludePunctuation: jsii.Bool(true),
		},
		RemovalPolicy: st.RemovalPolicy(),
	})
	f.SweepDLQ = awssqs.NewQueue(stack, jsii.String("SweepDlq"), &awssqs.QueueProps{
		QueueName:           jsii.String(st.Prefix() + "sweep-dlq"),
		RetentionPeriod:     awscdk.Duration_Days(jsii.Number(14)),
		Encryption:          awssqs.QueueEncryption_KMS,
		EncryptionMasterKey: f.Keys.Messaging,
		EnforceSSL:          jsii.Bool(true),
		RemovalPolicy:       st.RemovalPolicy(),
	})

	f.newFunctions(props.AssetRoot)
	f.connectQueues()
	f.scheduleSweep()
	f.API = newAPI(stack, st, f.Keys, f.Functions[FnEHRAPI].Fn, f.Functions[FnWhatsAppWebhook].Fn)
	f.Obs = newObservability(stack, f)
	addSuppressions(f)

	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Value: f.API.Rest.Url(), Description: jsii.String("EHR API base URL (append v1/...)"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("WhatsAppWebhookUrl"), &awscdk.CfnOutputProps{
		Value:       jsii.String(*f.API.Rest.Url() + "webhooks/whatsapp"),
		Description: jsii.String("Callback URL to register with Meta"),
	})
	for name, s := range map[string]awssecretsmanager.Secret{
		"AccessTokenSecret": f.Secrets.AccessToken, "AppSecretSecret": f.Secrets.AppSecret, "VerifyTokenSecret": f.Secrets.VerifyToken,
	} {
		awscdk.NewCfnOutput(stack, jsii.String(name+"Name"), &awscdk.CfnOutputProps{Value: s.SecretName()})
	}
	return f
}

func newWhatsAppSecrets(scope constructs.Construct, st Stage, keys Keys) WhatsAppSecrets {
	secret := func(id, name, desc string) awssecretsmanager.Secret {
		return awssecretsmanager.NewSecret(scope, jsii.String(id), &awssecretsmanager.SecretProps{
			SecretName:    jsii.String("frontdesk/" + st.Name + "/whatsapp/" + name),
			Description:   jsii.String(desc),
			EncryptionKey: keys.Secrets,
			// A random placeholder: the secret exists (so ARNs and IAM are in place)
			// but holds nothing real until ops fill it.
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
				PasswordLength: jsii.Number(48), ExcludePunctuation: jsii.Bool(true),
			},
			RemovalPolicy: st.RemovalPolicy(),
		})
	}
	return WhatsAppSecrets{
		AccessToken: secret("WhatsAppAccessToken", "access-token",
			"WhatsApp Cloud API system-user access token (fill after deploy)"),
		AppSecret: secret("WhatsAppAppSecret", "app-secret",
			"Meta app secret: verifies X-Hub-Signature-256 on webhooks (fill after deploy)"),
		VerifyToken: secret("WhatsAppVerifyToken", "verify-token",
			"Webhook verify token registered with Meta (the generated value may be used as is)"),
	}
}

func (f *Frontdesk) newFunctions(assetRoot string) {
	st, k, t, q := f.Stage, f.Keys, f.Tables, f.Queues
	// Every function that builds the store gets the same shard count: a reminder
	// written with one count and swept with another would never be found.
	tablePrefix := map[string]string{platform.EnvTablePrefix: st.Prefix(), platform.EnvSweepShards: strconv.Itoa(SweepShards),
		platform.EnvLogDigestKey + "_SECRET_ARN": *f.LogDigestKey.SecretArn()}
	env := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	consumerTimeout := func(name string) time.Duration { return q[name].Def.ConsumerTimeout }
	inURL, outURL, ehrURL := *q[queue.Inbound].Queue.QueueUrl(), *q[queue.Outbound].Queue.QueueUrl(), *q[queue.EHROutbox].Queue.QueueUrl()

	specs := []struct {
		spec   FunctionSpec
		access func(a *Access)
	}{
		{FunctionSpec{Name: FnEHRAPI, Description: "EHR API: appointments in, FHIR and native JSON",
			Timeout: 10 * time.Second, MemoryMB: 512, Reserved: 20,
			Env: env(tablePrefix, EnvAPIStageName, st.Name)},
			func(a *Access) {
				a.ReadTable(t[dynamo.TableClinics], k.Data)
				a.WriteTable(t[dynamo.TableAppointments], k.Data, dynamo.IndexPatientUpcoming)
				a.WriteTable(t[dynamo.TablePatients], k.Data, dynamo.IndexPatientPhone)
				a.WriteTable(t[dynamo.TableIdempotency], k.Data)
				a.WriteTable(t[dynamo.TableSlots], k.Data, dynamo.IndexSlotStart)
				a.ReadClinicSecrets(st, k.Secrets)
			}},
		{FunctionSpec{Name: FnWhatsAppWebhook, Description: "WhatsApp webhook: verify, check signature, enqueue",
			Timeout: 10 * time.Second, MemoryMB: 256, Reserved: 20,
			Env: env(tablePrefix, platform.EnvInboundQueueURL, inURL, EnvAPIStageName, st.Name,
				platform.EnvWhatsAppAppSecretSecretARN, *f.Secrets.AppSecret.SecretArn(),
				platform.EnvWhatsAppVerifyTokenSecretARN, *f.Secrets.VerifyToken.SecretArn())},
			func(a *Access) {
				a.SendTo(q[queue.Inbound].Queue, k.Messaging)
				a.ReadSecret(f.Secrets.AppSecret, k.Secrets)
				a.ReadSecret(f.Secrets.VerifyToken, k.Secrets)
			}},
		{FunctionSpec{Name: FnReminderSweep, Description: "Every minute: enqueue due reminders",
			// One sweep at a time: overlapping sweeps would only contend on the same
			// conditional writes; the schedule fires every minute anyway.
			Timeout: 50 * time.Second, MemoryMB: 256, Reserved: 1, AsyncDLQ: f.SweepDLQ,
			Env: env(tablePrefix, platform.EnvOutboundQueueURL, outURL)},
			func(a *Access) {
				a.WriteTable(t[dynamo.TableAppointments], k.Data, dynamo.IndexDue, dynamo.IndexNextAttempt)
				a.ReadTable(t[dynamo.TableClinics], k.Data)      // each clinic's number and rate
				a.WriteTable(t[dynamo.TableIdempotency], k.Data) // the numbers' lines
				a.SendTo(q[queue.Outbound].Queue, k.Messaging)
			}},
		{FunctionSpec{Name: FnSender, Description: "Sends reminders through the WhatsApp Cloud API",
			Timeout: consumerTimeout(queue.Outbound), MemoryMB: 256, Reserved: SenderConcurrency,
			Env: env(tablePrefix, platform.EnvOutboundQueueURL, outURL, platform.EnvEHROutboxQueueURL, ehrURL,
				platform.EnvWhatsAppAccessTokenSecretARN, *f.Secrets.AccessToken.SecretArn(),
				platform.EnvWhatsAppAPIBaseURL, WhatsAppAPIBaseURL, platform.EnvWhatsAppAPIVersion, WhatsAppAPIVersion,
				platform.EnvMessagesPerSecond, strconv.Itoa(MessagesPerSecond),
				platform.EnvSenderConcurrency, strconv.Itoa(SenderConcurrency))},
			func(a *Access) {
				a.WriteTable(t[dynamo.TableAppointments], k.Data, dynamo.IndexPatientUpcoming)
				a.WriteTable(t[dynamo.TablePatients], k.Data, dynamo.IndexPatientPhone)
				a.WriteTable(t[dynamo.TableMessages], k.Data)
				a.WriteTable(t[dynamo.TableIdempotency], k.Data) // the numbers' send budget, prepared messages' claims
				a.ReadTable(t[dynamo.TableClinics], k.Data)
				a.ConsumeFrom(q[queue.Outbound].Queue, k.Messaging)
				a.SendTo(q[queue.Outbound].Queue, k.Messaging) // deferred jobs are requeued
				a.SendTo(q[queue.EHROutbox].Queue, k.Messaging)
				a.ReadSecret(f.Secrets.AccessToken, k.Secrets)
			}},
		{FunctionSpec{Name: FnInbound, Description: "Handles patient replies, keywords and statuses",
			Timeout: consumerTimeout(queue.Inbound), MemoryMB: 256, Reserved: 10,
			Env: env(tablePrefix, platform.EnvInboundQueueURL, inURL,
				platform.EnvEHROutboxQueueURL, ehrURL,
				platform.EnvWhatsAppAccessTokenSecretARN, *f.Secrets.AccessToken.SecretArn(),
				platform.EnvWhatsAppAPIBaseURL, WhatsAppAPIBaseURL, platform.EnvWhatsAppAPIVersion, WhatsAppAPIVersion)},
			func(a *Access) {
				a.ConsumeFrom(q[queue.Inbound].Queue, k.Messaging)
				a.WriteTable(t[dynamo.TableAppointments], k.Data, dynamo.IndexPatientUpcoming)
				a.WriteTable(t[dynamo.TablePatients], k.Data, dynamo.IndexPatientPhone)
				a.WriteTable(t[dynamo.TableMessages], k.Data)
				a.ReadTable(t[dynamo.TableClinics], k.Data, dynamo.IndexPhoneNumberID)
				a.WriteTable(t[dynamo.TableIdempotency], k.Data)
				a.SendTo(q[queue.EHROutbox].Queue, k.Messaging)
				a.ReadSecret(f.Secrets.AccessToken, k.Secrets)
			}},
		{FunctionSpec{Name: FnEHRNotifier, Description: "Delivers signed callbacks to clinics",
			Timeout: consumerTimeout(queue.EHROutbox), MemoryMB: 256, Reserved: 5,
			Env: env(tablePrefix, platform.EnvEHROutboxQueueURL, ehrURL)},
			func(a *Access) {
				a.ConsumeFrom(q[queue.EHROutbox].Queue, k.Messaging)
				a.ReadTable(t[dynamo.TableClinics], k.Data)
				a.ReadClinicSecrets(st, k.Secrets)
			}},
	}
	for _, s := range specs {
		a := NewAccess()
		s.access(a)
		a.ReadSecret(f.LogDigestKey, k.Secrets)
		f.Functions[s.spec.Name] = newFunction(f.Stack, st, k, assetRoot, s.spec, a)
	}
}

// queueConsumers maps each work queue to the function its event source mapping invokes.
var queueConsumers = map[string]string{
	queue.Inbound:   FnInbound,
	queue.Outbound:  FnSender,
	queue.EHROutbox: FnEHRNotifier,
}

func (f *Frontdesk) connectQueues() {
	for _, def := range queue.Queues() {
		fn := f.Functions[queueConsumers[def.Name]]
		props := &awslambda.EventSourceMappingProps{
			Target:         fn.Fn,
			EventSourceArn: f.Queues[def.Name].Queue.QueueArn(),
			BatchSize:      jsii.Number(float64(def.BatchSize)),
			// Failed items come back alone; the rest of the batch is deleted.
			ReportBatchItemFailures: jsii.Bool(true),
			// Polling never outruns the reserved concurrency, so SQS messages are not
			// throttled back into the queue (which would burn their receive count).
			MaxConcurrency: jsii.Number(float64(max(2, fn.Spec.Reserved))),
		}
		if def.BatchSize > 10 {
			props.MaxBatchingWindow = awscdk.Duration_Seconds(jsii.Number(1))
		}
		esm := awslambda.NewEventSourceMapping(f.Stack, jsii.String(logicalID(def.Name)+"Mapping"), props)
		if fn.Spec.Name == FnSender {
			f.SenderESM = esm
		}
	}

	// The sender stops consuming when the WhatsApp token has expired (every send
	// would fail): it disables its own mapping. The mapping's UUID cannot be put in
	// the function's environment (the mapping depends on the function: a cycle), so
	// the sender finds it with ListEventSourceMappings(FunctionName=itself), which
	// has no resource-level permissions, and may update only this one mapping.
	sender := f.Functions[FnSender]
	esmArn := f.Stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("lambda"), Resource: jsii.String("event-source-mapping"),
		ResourceName: f.SenderESM.EventSourceMappingId(), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	awsiam.NewManagedPolicy(f.Stack, jsii.String("SenderHaltPolicy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("Frontdesk sender: disable its own SQS mapping when the WhatsApp token expired"),
		Roles:       &[]awsiam.IRole{sender.Role},
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("UpdateOwnMapping"),
				Actions:   jsii.Strings("lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"),
				Resources: jsii.Strings(*esmArn),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("FindOwnMapping"),
				Actions:   jsii.Strings("lambda:ListEventSourceMappings"),
				Resources: jsii.Strings("*"),
			}),
		},
	})
}

// scheduleSweep runs the sweep every minute. A missed or failed run is caught up
// by the next (the due index holds everything still due), so retries are few and
// short; events that still fail land in the sweep DLQ (alarmed).
func (f *Frontdesk) scheduleSweep() {
	rule := awsevents.NewRule(f.Stack, jsii.String("SweepSchedule"), &awsevents.RuleProps{
		RuleName:    jsii.String(f.Stage.Prefix() + "sweep"),
		Description: jsii.String("Frontdesk reminder sweep, every minute"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(1))),
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(f.Functions[FnReminderSweep].Fn, &awseventstargets.LambdaFunctionProps{
		RetryAttempts:   jsii.Number(2),
		MaxEventAge:     awscdk.Duration_Minutes(jsii.Number(2)),
		DeadLetterQueue: f.SweepDLQ,
	}))
}
