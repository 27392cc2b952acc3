package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/handoff"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/thread"
)

// ConversationStore is the storage of conversations the hand-off service, the
// console and the conversation API share.
type ConversationStore = handoff.ConversationStore

// Conversations asserts the inbox order and its cursors (refused for another
// clinic or listing), one conversation per contact, thread pages oldest first,
// revisions, forward-only statuses by wamid and the audit trail by time.
func Conversations[S ConversationStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	t.Run("inbox order and cursors", func(t *testing.T) { inboxOrderAndCursors(t, newStore) })
	t.Run("one conversation per contact", func(t *testing.T) { oneConversationPerContact(t, newStore) })
	t.Run("thread messages and revisions", func(t *testing.T) { threadMessagesAndRevisions(t, newStore) })
	t.Run("audit trail by time", func(t *testing.T) { auditTrailByTime(t, newStore) })
	t.Run("statuses move a thread message forward only", func(t *testing.T) { advanceThreadMessageForwardOnly(t, newStore) })
}

// The inbox lists urgent conversations first, then newest first, one state at a
// time, in pages whose cursors work only for the listing that handed them out.
func inboxOrderAndCursors[S ConversationStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
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
	closed, _, err := s.ListConversations(ctx, "clinic-a", thread.Closed, "", 10)
	if err != nil || len(closed) != 1 || closed[0].ID != "cnv_closed" || closed[0].Urgency != thread.Urgent {
		t.Fatalf("closed list = %+v, %v", closed, err)
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
		if items, _, err := s.ListConversations(ctx, clinicID, st, cur, 5); !errors.Is(err, thread.ErrBadCursor) {
			t.Errorf("%s: %d items and %v, want thread.ErrBadCursor", name, len(items), err)
		}
	}
	if _, err := s.GetConversation(ctx, "clinic-b", "cnv_old_urgent"); !errors.Is(err, thread.ErrNotFound) || !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("clinic B reading clinic A's conversation: %v, want ErrNotFound", err)
	}
}

// One contact, one conversation: a second creation loses; a new one replaces the
// contact's conversation only when it names it.
func oneConversationPerContact[S ConversationStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
	at := time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC)
	if _, found, err := s.ConversationOfContact(ctx, "clinic-a", "+15550100180"); err != nil || found {
		t.Fatalf("before any: found %v, %v", found, err)
	}
	old := thread.Conversation{ClinicID: "clinic-a", ID: "cnv_old", ContactKey: "+15550100180", State: thread.Closed, LastMessageAt: at,
		PatientIDs: []string{"pat-1"}, Reason: "free_text", Urgency: thread.Normal}
	if err := s.CreateConversation(ctx, old, thread.DefaultRetention, ""); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.ConversationOfContact(ctx, "clinic-a", "+15550100180")
	if err != nil || !found || got.ID != "cnv_old" || got.Revision != 1 || !slices.Equal(got.PatientIDs, []string{"pat-1"}) ||
		!got.LastMessageAt.Equal(at) || got.Reason != "free_text" {
		t.Fatalf("the contact's conversation: %+v found %v, %v", got, found, err)
	}
	dup := thread.Conversation{ClinicID: "clinic-a", ID: "cnv_dup", ContactKey: "+15550100180", State: thread.Open}
	if err := s.CreateConversation(ctx, dup, thread.DefaultRetention, ""); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("second conversation for a contact: %v, want ErrConflict", err)
	}
	fresh := thread.Conversation{ClinicID: "clinic-a", ID: "cnv_new", ContactKey: "+15550100180", State: thread.Open, LastMessageAt: at.Add(100 * 24 * time.Hour)}
	if err := s.CreateConversation(ctx, fresh, thread.DefaultRetention, "cnv_other"); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("replacing a conversation that is not the contact's: %v, want ErrConflict", err)
	}
	if err := s.CreateConversation(ctx, fresh, thread.DefaultRetention, "cnv_old"); err != nil {
		t.Fatal(err)
	}
	if got, found, err := s.ConversationOfContact(ctx, "clinic-a", "+15550100180"); err != nil || !found || got.ID != "cnv_new" {
		t.Fatalf("after the new hand-off: %+v found %v, %v", got, found, err)
	}
	// An id already used is not created again, for any contact.
	again := thread.Conversation{ClinicID: "clinic-a", ID: "cnv_new", ContactKey: "+15550100181", State: thread.Open}
	if err := s.CreateConversation(ctx, again, thread.DefaultRetention, ""); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("a conversation id used twice: %v, want ErrConflict", err)
	}
	if _, found, _ := s.ConversationOfContact(ctx, "clinic-a", "+15550100181"); found {
		t.Fatal("a refused creation linked the contact")
	}
}

// Messages come back oldest first in pages; a redelivered message is not added
// twice; a stale header save loses; a pending staff text is kept with the header.
func threadMessagesAndRevisions[S ConversationStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
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
			if m.ConversationID != "cnv_t" || m.Author != thread.Patient || m.Status != thread.StatusReceived {
				t.Fatalf("message %+v", m)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if want := []string{"text 1", "text 2", "text 3", "text 4", "text 5"}; !slices.Equal(texts, want) {
		t.Fatalf("thread = %v, want %v", texts, want)
	}
	// A thread's cursor reads only that thread.
	_, next, err := s.ThreadMessages(ctx, "clinic-a", "cnv_t", "", 1)
	if err != nil || next == "" {
		t.Fatalf("first page: %q %v", next, err)
	}
	if _, _, err := s.ThreadMessages(ctx, "clinic-a", "cnv_other", next, 2); err == nil {
		t.Error("another thread accepted the cursor")
	}
	got, err := s.GetConversation(ctx, "clinic-a", "cnv_t")
	if err != nil {
		t.Fatal(err)
	}
	stale := got
	got.Unread = 4
	got.Pending = &thread.Message{ID: "msg_p", At: at.Add(time.Minute), AuthorName: "Dana Demo", Text: "We can see you at 3"}
	if err := s.SaveConversation(ctx, got, thread.DefaultRetention); err != nil {
		t.Fatal(err)
	}
	stale.Unread = 9
	if err := s.SaveConversation(ctx, stale, thread.DefaultRetention); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("stale save: %v, want ErrConflict", err)
	}
	saved, err := s.GetConversation(ctx, "clinic-a", "cnv_t")
	if err != nil || saved.Unread != 4 || saved.Revision != got.Revision+1 || saved.Pending == nil ||
		saved.Pending.ID != "msg_p" || saved.Pending.Text != "We can see you at 3" || saved.Pending.Status != thread.StatusPending ||
		saved.Pending.Author != thread.Staff || saved.Pending.ConversationID != "cnv_t" || !saved.Pending.At.Equal(at.Add(time.Minute)) {
		t.Fatalf("saved %+v (pending %+v) %v", saved, saved.Pending, err)
	}
	ghost := thread.Conversation{ClinicID: "clinic-a", ID: "cnv_ghost", ContactKey: "+15550100171", State: thread.Open}
	if err := s.SaveConversation(ctx, ghost, thread.DefaultRetention); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("saving a conversation never created: %v, want ErrConflict", err)
	}
}

func auditTrailByTime[S ConversationStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
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
	// Pages of one cover the whole day in order.
	ids = nil
	cursor := ""
	for range 10 {
		page, next, err := s.AuditTrail(ctx, "clinic-a", at, at.Add(24*time.Hour), cursor, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			ids = append(ids, e.ID)
			if e.Actor != "token:write" || e.ConversationID != "cnv_x" {
				t.Fatalf("entry %+v", e)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if want := []string{"a0", "a1", "a2", "a3"}; !slices.Equal(ids, want) {
		t.Fatalf("audit in pages = %v, want %v", ids, want)
	}
}

// Meta's statuses move a sent thread message forward only, and only for its clinic.
func advanceThreadMessageForwardOnly[S ConversationStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
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
	// A pending staff text that went out gets its wamid, and Meta's statuses then find it.
	p := thread.Message{ConversationID: "cnv_s", ID: "msg_p", At: at.Add(time.Minute), Direction: thread.Outbound, Author: thread.Staff,
		Type: "text", Text: "later", Status: thread.StatusPending}
	if _, err := s.AppendThreadMessage(ctx, "clinic-a", p, thread.DefaultRetention); err != nil {
		t.Fatal(err)
	}
	if moved, _ := s.AdvanceThreadMessage(ctx, "clinic-a", "wamid.p1", "sent"); moved {
		t.Fatal("a status moved a message before it had its wamid")
	}
	p.Status, p.WAMID = thread.StatusAccepted, "wamid.p1"
	if err := s.MarkThreadMessage(ctx, "clinic-a", p); err != nil {
		t.Fatal(err)
	}
	if moved, err := s.AdvanceThreadMessage(ctx, "clinic-a", "wamid.p1", "delivered"); err != nil || !moved {
		t.Fatalf("status of the marked message: %v %v", moved, err)
	}
	msgs, _, err := s.ThreadMessages(ctx, "clinic-a", "cnv_s", "", 10)
	if err != nil || len(msgs) != 2 || msgs[1].Status != "delivered" || msgs[1].WAMID != "wamid.p1" {
		t.Fatalf("thread after marking %+v %v", msgs, err)
	}
	ghost := thread.Message{ConversationID: "cnv_s", ID: "msg_none", At: at.Add(time.Hour), Status: thread.StatusAccepted}
	if err := s.MarkThreadMessage(ctx, "clinic-a", ghost); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("marking a message never stored: %v, want ErrConflict", err)
	}
}
