package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// Keys are the customer-managed KMS keys, one per kind of data so a key policy
// (and a revocation) can be scoped: patient data, messages in flight, logs, secrets.
type Keys struct {
	Data, Messaging, Logs, Secrets awskms.Key
}

func newKeys(scope constructs.Construct, st Stage) Keys {
	key := func(id, purpose string) awskms.Key {
		return awskms.NewKey(scope, jsii.String(id+"Key"), &awskms.KeyProps{
			Alias:             jsii.String("alias/" + st.Prefix() + purpose),
			Description:       jsii.String("Frontdesk " + st.Name + ": " + purpose),
			EnableKeyRotation: jsii.Bool(true),
			PendingWindow:     awscdk.Duration_Days(jsii.Number(st.KeyPendingWindow.Hours() / 24)),
			RemovalPolicy:     st.RemovalPolicy(),
		})
	}
	k := Keys{
		Data:      key("Data", "data"),
		Messaging: key("Messaging", "messaging"),
		Logs:      key("Logs", "logs"),
		Secrets:   key("Secrets", "secrets"),
	}
	region, account := awscdk.Aws_REGION(), awscdk.Aws_ACCOUNT_ID()

	// CloudWatch Logs encrypts log groups with the key only when the key policy lets
	// the regional service principal use it for this account's log groups.
	k.Logs.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchLogsUseForThisAccountsLogGroups"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("logs."+*region+".amazonaws.com"), nil)},
		Actions: jsii.Strings("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
			"kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"),
		Resources: jsii.Strings("*"), // in a key policy "*" means this key
		Conditions: &map[string]any{"ArnLike": map[string]any{
			"kms:EncryptionContext:aws:logs:arn": "arn:" + *awscdk.Aws_PARTITION() + ":logs:" + *region + ":" + *account + ":log-group:*",
		}},
	}), jsii.Bool(false))

	// CloudWatch alarms publish to the KMS-encrypted alarm topic and EventBridge
	// delivers failed sweep events to the KMS-encrypted sweep DLQ; both services
	// need the messaging key, limited to this account's resources.
	for _, svc := range []string{"cloudwatch.amazonaws.com", "events.amazonaws.com"} {
		k.Messaging.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(svc), nil)},
			Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": *account}},
		}), jsii.Bool(false))
	}
	return k
}

// newTables declares every table from shared/dynamo.Tables(): the same keys,
// indexes and TTL attributes the local stack creates.
func newTables(scope constructs.Construct, st Stage, keys Keys) map[string]awsdynamodb.Table {
	attr := func(k dynamo.Key) *awsdynamodb.Attribute {
		t := awsdynamodb.AttributeType_STRING
		switch k.Type {
		case dynamo.String:
		case dynamo.Number:
			t = awsdynamodb.AttributeType_NUMBER
		default:
			panic(fmt.Sprintf("infra: attribute %s has unsupported type %q", k.Name, k.Type))
		}
		return &awsdynamodb.Attribute{Name: jsii.String(k.Name), Type: t}
	}
	tables := map[string]awsdynamodb.Table{}
	for _, def := range dynamo.Tables() {
		props := &awsdynamodb.TableProps{
			TableName:    jsii.String(st.Prefix() + def.Name),
			PartitionKey: attr(def.PK),
			BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
			PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
				PointInTimeRecoveryEnabled: jsii.Bool(true),
				RecoveryPeriodInDays:       jsii.Number(float64(st.PITRDays)),
			},
			Encryption:         awsdynamodb.TableEncryption_CUSTOMER_MANAGED,
			EncryptionKey:      keys.Data,
			DeletionProtection: jsii.Bool(st.Retain),
			RemovalPolicy:      st.RemovalPolicy(),
		}
		if def.SK != nil {
			props.SortKey = attr(*def.SK)
		}
		if def.TTLAttribute != "" {
			props.TimeToLiveAttribute = jsii.String(def.TTLAttribute)
		}
		t := awsdynamodb.NewTable(scope, jsii.String(logicalID(def.Name)+"Table"), props)
		for _, ix := range def.Indexes {
			gsi := &awsdynamodb.GlobalSecondaryIndexProps{
				IndexName:      jsii.String(ix.Name),
				PartitionKey:   attr(ix.PK),
				ProjectionType: awsdynamodb.ProjectionType_ALL,
			}
			if ix.SK != nil {
				gsi.SortKey = attr(*ix.SK)
			}
			if ix.KeysOnly {
				gsi.ProjectionType = awsdynamodb.ProjectionType_KEYS_ONLY
			}
			t.AddGlobalSecondaryIndex(gsi)
		}
		tables[def.Name] = t
	}
	return tables
}

// newBackups puts every table in an AWS Backup plan: PITR covers at most 35 days
// of operator error; the plan keeps copies beyond that in an encrypted vault.
func newBackups(scope constructs.Construct, st Stage, keys Keys, tables map[string]awsdynamodb.Table) awsbackup.BackupPlan {
	vault := awsbackup.NewBackupVault(scope, jsii.String("BackupVault"), &awsbackup.BackupVaultProps{
		BackupVaultName: jsii.String(st.Prefix() + "backups"),
		EncryptionKey:   keys.Data,
		RemovalPolicy:   st.RemovalPolicy(),
	})
	rules := []awsbackup.BackupPlanRule{
		awsbackup.NewBackupPlanRule(&awsbackup.BackupPlanRuleProps{
			RuleName:           jsii.String("Daily"),
			ScheduleExpression: awsevents.Schedule_Cron(&awsevents.CronOptions{Hour: jsii.String("3"), Minute: jsii.String("0")}),
			DeleteAfter:        awscdk.Duration_Days(jsii.Number(float64(st.BackupDays))),
		}),
	}
	if st.MonthlyBackupYears > 0 {
		rules = append(rules, awsbackup.NewBackupPlanRule(&awsbackup.BackupPlanRuleProps{
			RuleName:           jsii.String("Monthly"),
			ScheduleExpression: awsevents.Schedule_Cron(&awsevents.CronOptions{Day: jsii.String("1"), Hour: jsii.String("4"), Minute: jsii.String("0")}),
			DeleteAfter:        awscdk.Duration_Days(jsii.Number(float64(365 * st.MonthlyBackupYears))),
		}))
	}
	plan := awsbackup.NewBackupPlan(scope, jsii.String("BackupPlan"), &awsbackup.BackupPlanProps{
		BackupPlanName:  jsii.String(st.Prefix() + "tables"),
		BackupVault:     vault,
		BackupPlanRules: &rules,
	})
	var resources []awsbackup.BackupResource
	for _, def := range dynamo.Tables() {
		resources = append(resources, awsbackup.BackupResource_FromDynamoDbTable(tables[def.Name]))
	}
	plan.AddSelection(jsii.String("Tables"), &awsbackup.BackupSelectionOptions{Resources: &resources})
	return plan
}

// WorkQueue is a work queue, its DLQ and the shared definition both came from.
type WorkQueue struct {
	Def   queue.Queue
	Queue awssqs.Queue
	DLQ   awssqs.Queue
}

// newQueues declares every queue from shared/queue.Queues(): visibility,
// retention and the redrive policy match what the local stack creates.
func newQueues(scope constructs.Construct, st Stage, keys Keys) map[string]WorkQueue {
	out := map[string]WorkQueue{}
	for _, def := range queue.Queues() {
		dlq := awssqs.NewQueue(scope, jsii.String(logicalID(def.DLQName())), &awssqs.QueueProps{
			QueueName:           jsii.String(st.Prefix() + def.DLQName()),
			RetentionPeriod:     awscdk.Duration_Seconds(jsii.Number(def.DLQRetention.Seconds())),
			Encryption:          awssqs.QueueEncryption_KMS,
			EncryptionMasterKey: keys.Messaging,
			EnforceSSL:          jsii.Bool(true),
			RemovalPolicy:       st.RemovalPolicy(),
		})
		work := awssqs.NewQueue(scope, jsii.String(logicalID(def.Name)+"Queue"), &awssqs.QueueProps{
			QueueName:           jsii.String(st.Prefix() + def.Name),
			VisibilityTimeout:   awscdk.Duration_Seconds(jsii.Number(def.VisibilityTimeout.Seconds())),
			RetentionPeriod:     awscdk.Duration_Seconds(jsii.Number(def.Retention.Seconds())),
			Encryption:          awssqs.QueueEncryption_KMS,
			EncryptionMasterKey: keys.Messaging,
			EnforceSSL:          jsii.Bool(true),
			DeadLetterQueue:     &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(float64(def.MaxReceiveCount))},
			RemovalPolicy:       st.RemovalPolicy(),
		})
		out[def.Name] = WorkQueue{Def: def, Queue: work, DLQ: dlq}
	}
	return out
}

// logicalID turns "ehr-outbox-dlq" into "EhrOutboxDlq" for construct ids.
func logicalID(name string) string {
	b := []byte{}
	up := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '-' || c == '_' || c == '.' || c == '/' {
			up = true
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		b = append(b, c)
	}
	return string(b)
}
