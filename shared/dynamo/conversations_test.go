package dynamo_test

import (
	"errors"
	"fmt"
	"slices"
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

// The inbox lists urgent conversations first, then newest first, one state at a
// time, in pages whose cursors work only for the listing that handed them out.
func TestInboxOrderAndCursors(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	base := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	convs := []struct {
		id, urgency string
		state       thread.State
		last        time.Duration
	}{
		{"cnv_old_normal", thread.Normal, thread.Open, 1 * time.Minute},
		{"cnv_new_normal", thread.Normal, thread.Open, 3 * time.Minute},
		{"cnv_old_urgent", thread.Urgent, thread.Open, 0},
		{"cnv_mid_normal", thread.Normal, thread.Open, 2 * time.Minute},
		{"cnv_closed", thread.Urgent, thread.Closed, 5 * time.Minute},
	}
	for i, c := range convs {
		conv := thread.Conversation{ClinicID: "clinic-a", ID: c.id, ContactKey: fmt.Sprintf("+1555010016%d", i), State: c.state,
			Urgency: c.urgency, LastMessageAt: base.Add(c.last)}
		if err := s.CreateConversation(ctx, conv, thread.DefaultRetention, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Another clinic's conversation never shows.
	if err := s.CreateConversation(ctx, thread.Conversation{ClinicID: "clinic-b", ID: "cnv_b", ContactKey: "+15550100169",
		State: thread.Open, Urgency: thread.Urgent, LastMessageAt: base.Add(time.Hour)}, thread.DefaultRetention, ""); err != nil {
		t.Fatal(err)
	}
	var got []string
	cursor, pages := "", 0
	for {
		items, next, err := s.ListConversations(ctx, "clinic-a", thread.Open, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range items {
			got = append(got, c.ID)
		}
		pages++
		if next == "" || pages > 5 {
			break
		}
		cursor = next
	}
	want := []string{"cnv_old_urgent", "cnv_new_normal", "cnv_mid_normal", "cnv_old_normal"}
	if !slices.Equal(got, want) {
		t.Fatalf("open list = %v, want %v", got, want)
	}
	_, next, err := s.ListConversations(ctx, "clinic-a", thread.Open, "", 1)
	if err != nil || next == "" {
		t.Fatalf("first page: next %q, %v", next, err)
	}
	for name, cur := range map[string]string{
		"another clinic":  next,
		"garbage":         "not-a-cursor",
		"another listing": next,
	} {
		clinicID, st := "clinic-b", thread.Open
		if name == "another listing" {
			clinicID, st = "clinic-a", thread.Closed
		}
		if name == "garbage" {
			clinicID = "clinic-a"
		}
		if _, _, err := s.ListConversations(ctx, clinicID, st, cur, 5); !errors.Is(err, dynamo.ErrBadCursor) {
			t.Errorf("%s: err = %v, want ErrBadCursor", name, err)
		}
	}
	// One contact, one conversation: a second creation loses.
	err = s.CreateConversation(ctx, thread.Conversation{ClinicID: "clinic-a", ID: "cnv_dup", ContactKey: "+15550100160",
		State: thread.Open}, thread.DefaultRetention, "")
	if !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("second conversation for a contact: %v, want ErrConditionFailed", err)
	}
	if _, err := s.GetConversation(ctx, "clinic-b", "cnv_old_urgent"); !errors.Is(err, thread.ErrNotFound) {
		t.Fatalf("clinic B reading clinic A's conversation: %v, want ErrNotFound", err)
	}
}

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
