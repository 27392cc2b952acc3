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

// Messages come back oldest first in pages; a redelivered message is not added
// twice; a stale header save loses.
func TestThreadMessagesAndRevisions(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	conv := thread.Conversation{ClinicID: "clinic-a", ID: "cnv_t", ContactKey: "+15550100170", State: thread.Open, LastMessageAt: at}
	if err := s.CreateConversation(ctx, conv, thread.DefaultRetention, ""); err != nil {
		t.Fatal(err)
	}
	for i := 5; i >= 1; i-- { // stored out of order
		m := thread.Message{ConversationID: "cnv_t", ID: fmt.Sprintf("msg_%d", i), At: at.Add(time.Duration(i) * time.Second),
			Direction: thread.Inbound, Author: thread.Patient, Type: "text", Text: fmt.Sprintf("text %d", i), Status: thread.StatusReceived}
		if added, err := s.AppendThreadMessage(ctx, "clinic-a", m, thread.DefaultRetention); err != nil || !added {
			t.Fatalf("append %d: %v %v", i, added, err)
		}
		if i == 3 {
			if added, err := s.AppendThreadMessage(ctx, "clinic-a", m, thread.DefaultRetention); err != nil || added {
				t.Fatalf("redelivered append: added %v, %v", added, err)
			}
		}
	}
	var texts []string
	cursor := ""
	for range 10 {
		items, next, err := s.ThreadMessages(ctx, "clinic-a", "cnv_t", cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range items {
			texts = append(texts, m.Text)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if want := []string{"text 1", "text 2", "text 3", "text 4", "text 5"}; !slices.Equal(texts, want) {
		t.Fatalf("thread = %v, want %v", texts, want)
	}
	got, err := s.GetConversation(ctx, "clinic-a", "cnv_t")
	if err != nil {
		t.Fatal(err)
	}
	stale := got
	got.Unread = 4
	if err := s.SaveConversation(ctx, got, thread.DefaultRetention); err != nil {
		t.Fatal(err)
	}
	stale.Unread = 9
	if err := s.SaveConversation(ctx, stale, thread.DefaultRetention); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("stale save: %v, want ErrConditionFailed", err)
	}
}

func TestAuditTrailByTime(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for i := range 4 {
		e := thread.AuditEntry{ClinicID: "clinic-a", ID: fmt.Sprintf("a%d", i), At: at.Add(time.Duration(i) * time.Hour),
			Actor: "token:write", Action: thread.AuditRead, ConversationID: "cnv_x"}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendAudit(ctx, thread.AuditEntry{ClinicID: "clinic-b", ID: "b", At: at.Add(time.Hour), Actor: "x", Action: thread.AuditRead}); err != nil {
		t.Fatal(err)
	}
	items, _, err := s.AuditTrail(ctx, "clinic-a", at.Add(time.Hour), at.Add(3*time.Hour), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range items {
		ids = append(ids, e.ID)
	}
	if want := []string{"a1", "a2"}; !slices.Equal(ids, want) {
		t.Fatalf("audit [1h, 3h) = %v, want %v", ids, want)
	}
}

// Meta's statuses move a sent thread message forward only, and only for its clinic.
func TestAdvanceThreadMessageForwardOnly(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	m := thread.Message{ConversationID: "cnv_s", ID: "msg_s", At: at, Direction: thread.Outbound, Author: thread.Staff,
		Type: "text", Text: "reply", Status: thread.StatusAccepted, WAMID: "wamid.s1"}
	if _, err := s.AppendThreadMessage(ctx, "clinic-a", m, thread.DefaultRetention); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		clinicID, wamid, status string
		moved                   bool
		want                    string
	}{
		{"clinic-a", "wamid.s1", "sent", true, "sent"},
		{"clinic-b", "wamid.s1", "read", false, "sent"},
		{"clinic-a", "wamid.unknown", "read", false, "sent"},
		{"clinic-a", "wamid.s1", "read", true, "read"},
		{"clinic-a", "wamid.s1", "delivered", false, "read"},
		{"clinic-a", "wamid.s1", "deleted", false, "read"},
	}
	for _, st := range steps {
		moved, err := s.AdvanceThreadMessage(ctx, st.clinicID, st.wamid, st.status)
		if err != nil || moved != st.moved {
			t.Fatalf("%+v: moved %v, %v", st, moved, err)
		}
		msgs, _, err := s.ThreadMessages(ctx, "clinic-a", "cnv_s", "", 10)
		if err != nil || len(msgs) != 1 || msgs[0].Status != st.want {
			t.Fatalf("%+v: thread %+v, %v", st, msgs, err)
		}
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
