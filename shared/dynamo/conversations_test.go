package dynamo_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/thread"
)

// After the clinic's retention the header expires; the contact's next hand-off
// starts a new conversation in place of the expired one, and only in its place.
func TestConversationAfterExpiry(t *testing.T) {
	client, names := localtest.Dynamo(t)
	s := dynamo.NewStore(client, names, platform.NewFakeClock(t0), 1)
	ctx := ctxT(t)
	at := time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC)
	old := thread.Conversation{ClinicID: "clinic-a", ID: "cnv_old", ContactKey: "+15550100180", State: thread.Closed, LastMessageAt: at}
	if err := s.CreateConversation(ctx, old, thread.DefaultRetention, ""); err != nil {
		t.Fatal(err)
	}
	// What DynamoDB's TTL does to the header.
	if _, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(names.Conversations),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "CONV#clinic-a#cnv_old"}, "sk": &types.AttributeValueMemberS{Value: "H"},
		}}); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.ConversationOfContact(ctx, "clinic-a", "+15550100180")
	if err != nil || found || got.ID != "cnv_old" {
		t.Fatalf("after expiry: %+v found %v, %v; want not found, naming the expired id", got, found, err)
	}
	fresh := thread.Conversation{ClinicID: "clinic-a", ID: "cnv_new", ContactKey: "+15550100180", State: thread.Open, LastMessageAt: at.Add(100 * 24 * time.Hour)}
	if err := s.CreateConversation(ctx, fresh, thread.DefaultRetention, "cnv_other"); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("replacing a conversation that is not the contact's: %v, want ErrConditionFailed", err)
	}
	if err := s.CreateConversation(ctx, fresh, thread.DefaultRetention, "cnv_old"); err != nil {
		t.Fatal(err)
	}
	if got, found, err := s.ConversationOfContact(ctx, "clinic-a", "+15550100180"); err != nil || !found || got.ID != "cnv_new" {
		t.Fatalf("after the new hand-off: %+v found %v, %v", got, found, err)
	}
}
