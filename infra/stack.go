package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// The values every function and the stack agree on live in shared/fnspec, which
// the functions and the benchmarks read too; these names keep the stack's code and
// tests readable.
const (
	MessagesPerSecond  = fnspec.MessagesPerSecond
	SenderConcurrency  = fnspec.SenderConcurrency
	SweepShards        = fnspec.SweepShards
	WhatsAppAPIBaseURL = fnspec.WhatsAppAPIBaseURL
	WhatsAppAPIVersion = fnspec.WhatsAppAPIVersion
	EnvAPIStageName    = fnspec.EnvAPIStageName
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
	Console      *ConsoleAuth
	Obs          *Observability
	// ConversationAlerts receives urgent conversations (no patient data); each
	// clinic's on-call subscription filters on the clinicId message attribute.
	ConversationAlerts awssns.Topic
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

	f.ConversationAlerts = awssns.NewTopic(stack, jsii.String("ConversationAlertTopic"), &awssns.TopicProps{
		TopicName:   jsii.String(st.Prefix() + "conversation-alerts"),
		DisplayName: jsii.String("Frontdesk " + st.Name + " urgent conversations"),
		MasterKey:   f.Keys.Messaging,
		EnforceSSL:  jsii.Bool(true),
	})
	awscdk.NewCfnOutput(stack, jsii.String("ConversationAlertTopicArn"), &awscdk.CfnOutputProps{
		Value:       f.ConversationAlerts.TopicArn(),
		Description: jsii.String("Subscribe each clinic's on-call address with a filter policy on clinicId"),
	})

	f.newFunctions(props.AssetRoot)
	f.connectQueues()
	f.scheduleSweep()
	f.API = newAPI(stack, st, f.Keys, f.Functions[FnEHRAPI].Fn, f.Functions[FnWhatsAppWebhook].Fn)
	f.Console = f.newConsoleAuth(consoleClinics(contextString(stack, CtxConsoleClinics)), contextString(stack, CtxConsoleDomainPrefix))
	f.Obs = newObservability(stack, f)
	addSuppressions(f)

	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Value: f.API.Rest.Url(), Description: jsii.String("EHR API base URL (append v1/...)"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("WhatsAppWebhookUrl"), &awscdk.CfnOutputProps{
		Value:       jsii.String(*f.API.Rest.Url() + "webhooks/whatsapp"),
		Description: jsii.String("Callback URL to register with Meta"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("ConsoleUrl"), &awscdk.CfnOutputProps{
		Value: awscdk.Fn_Join(jsii.String(""), &[]*string{f.consoleBaseURL(), jsii.String("/console/")}), Description: jsii.String("Front-desk console"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("StaffUserPoolId"), &awscdk.CfnOutputProps{
		Value: f.Console.Pool.UserPoolId(), Description: jsii.String("Cognito user pool of clinic staff (add users and clinic:<id> groups here)"),
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
	consumerTimeout := func(name string) time.Duration { return q[name].Def.ConsumerTimeout }
	// Every variable a function reads (fnspec names them) gets its value here. Every
	// function that builds the store gets the same shard count: a reminder written
	// with one count and swept with another would never be found.
	values := map[string]string{
		platform.EnvTablePrefix:                  st.Prefix(),
		platform.EnvSweepShards:                  strconv.Itoa(SweepShards),
		platform.EnvInboundQueueURL:              *q[queue.Inbound].Queue.QueueUrl(),
		platform.EnvOutboundQueueURL:             *q[queue.Outbound].Queue.QueueUrl(),
		platform.EnvEHROutboxQueueURL:            *q[queue.EHROutbox].Queue.QueueUrl(),
		EnvAPIStageName:                          st.Name,
		platform.EnvWhatsAppAppSecretSecretARN:   *f.Secrets.AppSecret.SecretArn(),
		platform.EnvWhatsAppVerifyTokenSecretARN: *f.Secrets.VerifyToken.SecretArn(),
		platform.EnvWhatsAppAccessTokenSecretARN: *f.Secrets.AccessToken.SecretArn(),
		platform.EnvWhatsAppAPIBaseURL:           WhatsAppAPIBaseURL,
		platform.EnvWhatsAppAPIVersion:           WhatsAppAPIVersion,
		platform.EnvMessagesPerSecond:            strconv.Itoa(MessagesPerSecond),
		platform.EnvSenderConcurrency:            strconv.Itoa(SenderConcurrency),
		fnspec.EnvLogDigestKeySecretARN:          *f.LogDigestKey.SecretArn(),
		platform.EnvConversationAlertTopicARN:    *f.ConversationAlerts.TopicArn(),
	}

	access := map[string]func(a *Access){
		FnEHRAPI: func(a *Access) {
			// Notices are sent from the request (until they ride the outbound queue):
			// the Graph API token, the message log, and message.failed to the clinic.
			a.WriteTable(t[dynamo.TableMessages], k.Data)
			a.SendTo(q[queue.EHROutbox].Queue, k.Messaging)
			a.ReadSecret(f.Secrets.AccessToken, k.Secrets)
			a.ReadTable(t[dynamo.TableClinics], k.Data)
			a.WriteTable(t[dynamo.TableAppointments], k.Data, dynamo.IndexPatientUpcoming)
			a.WriteTable(t[dynamo.TablePatients], k.Data, dynamo.IndexPatientPhone)
			a.WriteTable(t[dynamo.TableIdempotency], k.Data)
			a.WriteTable(t[dynamo.TableSlots], k.Data, dynamo.IndexSlotStart)
			a.WriteTable(t[dynamo.TableMetrics], k.Data)
			a.ReadClinicSecrets(st, k.Secrets)
			// Staff replies: the conversation record, its audit trail, the message
			// log for their statuses, and the Graph API token to send them.
			a.WriteTable(t[dynamo.TableConversations], k.Data, dynamo.IndexInbox)
			a.WriteTable(t[dynamo.TableAudit], k.Data)
			a.WriteTable(t[dynamo.TableMessages], k.Data)
			a.ReadSecret(f.Secrets.AccessToken, k.Secrets)
			// Notices and staff replies ride the outbound queue.
			a.SendTo(q[queue.Outbound].Queue, k.Messaging)
		},
		FnWhatsAppWebhook: func(a *Access) {
			a.SendTo(q[queue.Inbound].Queue, k.Messaging)
			a.ReadSecret(f.Secrets.AppSecret, k.Secrets)
			a.ReadSecret(f.Secrets.VerifyToken, k.Secrets)
		},
		FnReminderSweep: func(a *Access) {
			a.WriteTable(t[dynamo.TableAppointments], k.Data, dynamo.IndexDue, dynamo.IndexNextAttempt)
			a.ReadTable(t[dynamo.TableClinics], k.Data)      // each clinic's number and rate
			a.WriteTable(t[dynamo.TableIdempotency], k.Data) // the numbers' lines
			a.SendTo(q[queue.Outbound].Queue, k.Messaging)
			// Due notices: the patient, consent and number re-read at dispatch, the
			// notice's state, and message.failed when it cannot be sent.
			a.WriteTable(t[dynamo.TablePatients], k.Data)
			// The waitlist step: every clinic (a paged scan), lapsed holds and due
			// waves, the waiters' consent, slot metrics, callbacks for lapsed holds.
			a.ScanTable(t[dynamo.TableClinics], k.Data)
			a.WriteTable(t[dynamo.TableSlots], k.Data, dynamo.IndexSlotFree)
			a.WriteTable(t[dynamo.TableMetrics], k.Data)
			a.SendTo(q[queue.EHROutbox].Queue, k.Messaging)
		},
		FnSender: func(a *Access) {
			a.WriteTable(t[dynamo.TableAppointments], k.Data, dynamo.IndexPatientUpcoming)
			a.WriteTable(t[dynamo.TablePatients], k.Data, dynamo.IndexPatientPhone)
			a.WriteTable(t[dynamo.TableMessages], k.Data)
			a.WriteTable(t[dynamo.TableIdempotency], k.Data) // the numbers' send budget, prepared messages' claims
			a.ReadTable(t[dynamo.TableClinics], k.Data)
			a.ConsumeFrom(q[queue.Outbound].Queue, k.Messaging)
			a.SendTo(q[queue.Outbound].Queue, k.Messaging) // deferred jobs are requeued
			a.SendTo(q[queue.EHROutbox].Queue, k.Messaging)
			a.ReadSecret(f.Secrets.AccessToken, k.Secrets)
			// Staff replies' thread messages follow their jobs.
			a.WriteTable(t[dynamo.TableConversations], k.Data)
		},
		FnInbound: func(a *Access) {
			a.ConsumeFrom(q[queue.Inbound].Queue, k.Messaging)
			a.WriteTable(t[dynamo.TableConversations], k.Data)
			a.PublishTo(f.ConversationAlerts, k.Messaging)
			a.WriteTable(t[dynamo.TableAppointments], k.Data, dynamo.IndexPatientUpcoming)
			a.WriteTable(t[dynamo.TablePatients], k.Data, dynamo.IndexPatientPhone)
			a.WriteTable(t[dynamo.TableMessages], k.Data)
			// Writes: template states Meta reports (TEMPLATE# items).
			a.WriteTable(t[dynamo.TableClinics], k.Data, dynamo.IndexPhoneNumberID)
			a.WriteTable(t[dynamo.TableIdempotency], k.Data)
			a.WriteTable(t[dynamo.TableMetrics], k.Data)
			a.SendTo(q[queue.EHROutbox].Queue, k.Messaging)
			a.ReadSecret(f.Secrets.AccessToken, k.Secrets)
			// A staff text that waited for the patient goes out as a staff_reply job.
			a.SendTo(q[queue.Outbound].Queue, k.Messaging)
			// The reschedule list (free slots) and holds on a chosen slot.
			a.WriteTable(t[dynamo.TableSlots], k.Data, dynamo.IndexSlotFree)
		},
		FnEHRNotifier: func(a *Access) {
			a.ConsumeFrom(q[queue.EHROutbox].Queue, k.Messaging)
			a.ReadTable(t[dynamo.TableClinics], k.Data)
			a.ReadClinicSecrets(st, k.Secrets)
		},
	}
	for _, s := range fnspec.Specs() {
		spec := FunctionSpec{Name: s.Name, Description: s.Description, Timeout: s.Timeout, MemoryMB: s.MemoryMB,
			Reserved: s.Reserved, Env: map[string]string{}}
		for q, fn := range queueConsumers {
			if fn == s.Name && spec.Timeout == 0 {
				spec.Timeout = consumerTimeout(q)
			}
		}
		if spec.Timeout <= 0 {
			panic("infra: no timeout for " + s.Name)
		}
		for _, name := range append(append([]string(nil), fnspec.Common...), s.Env...) {
			v, ok := values[name]
			if !ok {
				panic(fmt.Sprintf("infra: no value for %s, which %s reads", name, s.Name))
			}
			spec.Env[name] = v
		}
		if s.Name == FnReminderSweep {
			spec.AsyncDLQ = f.SweepDLQ
		}
		grant, ok := access[s.Name]
		if !ok {
			panic("infra: no permissions declared for " + s.Name)
		}
		a := NewAccess()
		grant(a)
		a.ReadSecret(f.LogDigestKey, k.Secrets)
		f.Functions[s.Name] = newFunction(f.Stack, st, k, assetRoot, spec, a)
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
