package dynamo_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// The message log's items expire a retention after recording (DynamoDB's TTL
// attribute, in epoch seconds); the log's semantics are in the conformance suite.
func TestMessageExpiresAfterRetention(t *testing.T) {
	client, names := localtest.Dynamo(t)
	s := dynamo.NewStore(client, names, platform.NewFakeClock(t0), shards)
	ctx := ctxT(t)
	m := messagelog.Record{WAMID: "wamid.M1", Direction: messagelog.Outbound, ClinicID: "clinic-a", PatientID: "pat-1",
		AppointmentID: "a1", ReminderKind: "pre2h", Type: "template", Status: messagelog.StatusAccepted}
	if _, err := s.PutMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	raw, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(names.Messages), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "MSG#wamid.M1"}, "sk": &types.AttributeValueMemberS{Value: "M"}}})
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := raw.Item[dynamo.AttrExpiresAt].(*types.AttributeValueMemberN)
	if exp == nil || exp.Value != itoa(t0.Add(messagelog.Retention).Unix()) {
		t.Fatalf("expiresAt = %#v, want created + retention in epoch seconds", raw.Item[dynamo.AttrExpiresAt])
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A message stamped long ago (Meta retried it for days) is kept for the full
// retention from when it was recorded, so its wamid dedupe does not lapse at once.
func TestMessageRetentionRunsFromRecording(t *testing.T) {
	client, names := localtest.Dynamo(t)
	ctx := ctxT(t)
	s := dynamo.NewStore(client, names, platform.NewFakeClock(t0), shards)
	if _, err := s.PutMessage(ctx, messagelog.Record{WAMID: "wamid.OLD", Direction: messagelog.Inbound, ClinicID: "c1",
		Type: "text", Status: messagelog.StatusReceived, CreatedAt: t0.Add(-6 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	raw, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(names.Messages), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "MSG#wamid.OLD"}, "sk": &types.AttributeValueMemberS{Value: "M"}}})
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := raw.Item[dynamo.AttrExpiresAt].(*types.AttributeValueMemberN)
	if exp == nil || exp.Value != itoa(t0.Add(messagelog.Retention).Unix()) {
		t.Fatalf("expiresAt = %#v, want recording time + retention", raw.Item[dynamo.AttrExpiresAt])
	}
}
