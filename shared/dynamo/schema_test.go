package dynamo_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
)

func TestCreateTablesMatchesDefinitions(t *testing.T) {
	client := localtest.DynamoClient(t)
	prefix := localtest.Prefix()
	ctx := context.Background()
	if err := dynamo.CreateTables(ctx, client, prefix); err != nil {
		t.Fatal(err)
	}
	names := dynamo.NamesWithPrefix(prefix)
	physical := map[string]string{
		dynamo.TableAppointments: names.Appointments, dynamo.TablePatients: names.Patients,
		dynamo.TableMessages: names.Messages, dynamo.TableClinics: names.Clinics, dynamo.TableIdempotency: names.Idempotency,
		dynamo.TableConversations: names.Conversations, dynamo.TableAudit: names.Audit,
		dynamo.TableSlots: names.Slots, dynamo.TableMetrics: names.Metrics,
	}
	for _, def := range dynamo.Tables() {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(physical[def.Name])})
		if err != nil {
			t.Fatalf("describe %s: %v", def.Name, err)
		}
		if got := aws.ToString(out.Table.KeySchema[0].AttributeName); got != def.PK.Name {
			t.Errorf("%s: partition key %s, want %s", def.Name, got, def.PK.Name)
		}
		if len(out.Table.GlobalSecondaryIndexes) != len(def.Indexes) {
			t.Errorf("%s: %d indexes, want %d", def.Name, len(out.Table.GlobalSecondaryIndexes), len(def.Indexes))
		}
		ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(physical[def.Name])})
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if ttl.TimeToLiveDescription != nil && ttl.TimeToLiveDescription.TimeToLiveStatus == "ENABLED" {
			got = aws.ToString(ttl.TimeToLiveDescription.AttributeName)
		}
		if got != def.TTLAttribute {
			t.Errorf("%s: ttl %q, want %q", def.Name, got, def.TTLAttribute)
		}
	}
}
