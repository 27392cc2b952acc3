package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/thread"
)

// The conversations table: a conversation's header (pk CONV#<clinic>#<id>, sk H)
// and its messages (same pk, sk M#<unix ns>#<message id>, so a query returns the
// thread oldest first), and a pointer from the contact to its conversation (pk
// CCONV#<clinic>#<contact key>, sk P) so one contact has one conversation. The
// header carries the inbox index's keys: <clinic>#<state> and
// <1 urgent | 0 normal>#<last message time>#<id>, read newest first.
const (
	prefixConversation = "CONV#"
	prefixContactConv  = "CCONV#"
	prefixAudit        = "AUDIT#"
	prefixThreadWAMID  = "TWAMID#" // a sent thread message by wamid, for Meta's statuses
	skConvHeader       = "H"
	skConvMessage      = "M#"
	skContactConv      = "P"

	// AuditRetention keeps the access log as long as HIPAA keeps documentation.
	AuditRetention = 7 * 365 * 24 * time.Hour
)

// ErrBadCursor is returned for a pagination cursor this store did not hand out for
// this clinic and listing; it is thread.ErrBadCursor.
var ErrBadCursor = fmt.Errorf("dynamo: %w", thread.ErrBadCursor)

func conversationPK(clinicID, id string) string { return prefixConversation + clinicID + "#" + id }

func messageSK(at time.Time, id string) string {
	return fmt.Sprintf("%s%019d#%s", skConvMessage, unixNanos(at), id)
}

func inboxKey(clinicID string, st thread.State) string { return clinicID + "#" + string(st) }

func inboxSort(c thread.Conversation) string {
	u := "0"
	if c.State == thread.Open && c.Urgency == thread.Urgent {
		u = "1"
	}
	return u + "#" + formatSortable(c.LastMessageAt) + "#" + c.ID
}

type conversationItem struct {
	PK            string       `dynamodbav:"pk"`
	SK            string       `dynamodbav:"sk"`
	InboxKey      string       `dynamodbav:"inboxKey"`
	InboxSort     string       `dynamodbav:"inboxSort"`
	ClinicID      string       `dynamodbav:"clinicId"`
	ID            string       `dynamodbav:"conversationId"`
	ContactKey    string       `dynamodbav:"contactKey"`
	ReplyTo       string       `dynamodbav:"replyTo,omitempty"`
	Language      string       `dynamodbav:"language,omitempty"`
	PatientIDs    []string     `dynamodbav:"patientIds,omitempty"`
	GivenName     string       `dynamodbav:"givenName,omitempty"`
	Reason        string       `dynamodbav:"reason,omitempty"`
	Urgency       string       `dynamodbav:"urgency,omitempty"`
	State         thread.State `dynamodbav:"state"`
	OpenedAt      time.Time    `dynamodbav:"openedAt,omitempty"`
	AnsweredAt    time.Time    `dynamodbav:"answeredAt,omitempty"`
	ClosedAt      time.Time    `dynamodbav:"closedAt,omitempty"`
	LastMessageAt time.Time    `dynamodbav:"lastMessageAt,omitempty"`
	LastInboundAt time.Time    `dynamodbav:"lastInboundAt,omitempty"`
	OptedOutAt    time.Time    `dynamodbav:"optedOutAt,omitempty"`
	Unread        int          `dynamodbav:"unread"`
	PendingID     string       `dynamodbav:"pendingId,omitempty"`
	PendingAt     time.Time    `dynamodbav:"pendingAt,omitempty"`
	PendingText   string       `dynamodbav:"pendingText,omitempty"`
	PendingAuthor string       `dynamodbav:"pendingAuthor,omitempty"`
	Revision      int          `dynamodbav:"revision"`
	ExpiresAt     int64        `dynamodbav:"expiresAt,omitempty"`
}

func (it conversationItem) domain() thread.Conversation {
	c := thread.Conversation{
		ClinicID: it.ClinicID, ID: it.ID, ContactKey: it.ContactKey, ReplyTo: it.ReplyTo, Language: it.Language, PatientIDs: it.PatientIDs, GivenName: it.GivenName,
		Reason: it.Reason, Urgency: it.Urgency, State: it.State, OpenedAt: it.OpenedAt, AnsweredAt: it.AnsweredAt, ClosedAt: it.ClosedAt,
		LastMessageAt: it.LastMessageAt, LastInboundAt: it.LastInboundAt, OptedOutAt: it.OptedOutAt, Unread: it.Unread,
		Revision: it.Revision,
	}
	if it.PendingID != "" {
		c.Pending = &thread.Message{ConversationID: it.ID, ID: it.PendingID, At: it.PendingAt, Direction: thread.Outbound,
			Author: thread.Staff, AuthorName: it.PendingAuthor, Type: "text", Text: it.PendingText, Status: thread.StatusPending}
	}
	return c
}

type threadMessageItem struct {
	PK         string            `dynamodbav:"pk"`
	SK         string            `dynamodbav:"sk"`
	ID         string            `dynamodbav:"messageId"`
	At         time.Time         `dynamodbav:"at"`
	Direction  thread.Direction  `dynamodbav:"direction"`
	Author     thread.AuthorKind `dynamodbav:"author"`
	AuthorName string            `dynamodbav:"authorName,omitempty"`
	Type       string            `dynamodbav:"type"`
	Text       string            `dynamodbav:"text,omitempty"`
	Choice     string            `dynamodbav:"choice,omitempty"`
	Status     string            `dynamodbav:"status"`
	WAMID      string            `dynamodbav:"wamid,omitempty"`
	ExpiresAt  int64             `dynamodbav:"expiresAt,omitempty"`
	Reason     string            `dynamodbav:"reason,omitempty"`
}

func convOp(verb, clinicID, id string) string {
	return fmt.Sprintf("%s conversation %s/%s", verb, clinicID, id)
}

// ConversationOfContact returns the contact's conversation; found is false when the
// contact never had one, or when its conversation expired (then only the returned
// ID is set: pass it to CreateConversation as the one the new conversation replaces).
func (s *Store) ConversationOfContact(ctx context.Context, clinicID, contactKey string) (thread.Conversation, bool, error) {
	var ptr struct {
		ID string `dynamodbav:"conversationId"`
	}
	op := fmt.Sprintf("conversation of contact %s/%s", clinicID, platform.Hash(contactKey))
	ok, err := s.getItem(ctx, s.names.Conversations, prefixContactConv+clinicID+"#"+contactKey, skContactConv, &ptr)
	if err != nil {
		return thread.Conversation{}, false, wrap(op, err)
	}
	if !ok {
		return thread.Conversation{}, false, nil
	}
	c, err := s.GetConversation(ctx, clinicID, ptr.ID)
	if errors.Is(err, thread.ErrNotFound) {
		return thread.Conversation{ID: ptr.ID}, false, nil // expired after the clinic's retention
	}
	return c, err == nil, err
}

// GetConversation reads a conversation's header; thread.ErrNotFound when the clinic
// has no such conversation.
func (s *Store) GetConversation(ctx context.Context, clinicID, id string) (thread.Conversation, error) {
	var it conversationItem
	ok, err := s.getItem(ctx, s.names.Conversations, conversationPK(clinicID, id), skConvHeader, &it)
	if err != nil {
		return thread.Conversation{}, wrap(convOp("get", clinicID, id), err)
	}
	if !ok || it.ClinicID != clinicID {
		return thread.Conversation{}, &fault.Error{Code: fault.NotFound, Op: "dynamo: " + convOp("get", clinicID, id), Err: thread.ErrNotFound}
	}
	return it.domain(), nil
}

func (s *Store) conversationItem(c thread.Conversation, retention time.Duration) (map[string]types.AttributeValue, error) {
	it := conversationItem{
		PK: conversationPK(c.ClinicID, c.ID), SK: skConvHeader, InboxKey: inboxKey(c.ClinicID, c.State), InboxSort: inboxSort(c),
		ClinicID: c.ClinicID, ID: c.ID, ContactKey: c.ContactKey, ReplyTo: c.ReplyTo, Language: c.Language, PatientIDs: c.PatientIDs, GivenName: c.GivenName,
		Reason: c.Reason, Urgency: c.Urgency, State: c.State, OpenedAt: c.OpenedAt, AnsweredAt: c.AnsweredAt, ClosedAt: c.ClosedAt,
		LastMessageAt: c.LastMessageAt, LastInboundAt: c.LastInboundAt, OptedOutAt: c.OptedOutAt, Unread: c.Unread,
		Revision: c.Revision + 1, ExpiresAt: c.LastMessageAt.Add(retention).Unix(),
	}
	if p := c.Pending; p != nil {
		it.PendingID, it.PendingAt, it.PendingText, it.PendingAuthor = p.ID, p.At, p.Text, p.AuthorName
	}
	return marshal(it)
}

// CreateConversation stores a new conversation and makes it the contact's one,
// replacing the expired conversation replaces ("" for none). It fails with
// ErrConditionFailed when the contact got a conversation concurrently.
func (s *Store) CreateConversation(ctx context.Context, c thread.Conversation, retention time.Duration, replaces string) error {
	op := convOp("create", c.ClinicID, c.ID)
	item, err := s.conversationItem(c, retention)
	if err != nil {
		return wrap(op, err)
	}
	ptr, err := marshal(map[string]any{
		AttrPK: prefixContactConv + c.ClinicID + "#" + c.ContactKey, AttrSK: skContactConv, "conversationId": c.ID,
	})
	if err != nil {
		return wrap(op, err)
	}
	notExists, err := expression.NewBuilder().WithCondition(nPK.AttributeNotExists()).Build()
	if err != nil {
		return wrap(op, err)
	}
	ptrCond := nPK.AttributeNotExists()
	if replaces != "" {
		ptrCond = ptrCond.Or(expression.Name("conversationId").Equal(expression.Value(replaces)))
	}
	replaceable, err := expression.NewBuilder().WithCondition(ptrCond).Build()
	if err != nil {
		return wrap(op, err)
	}
	put := func(item map[string]types.AttributeValue, ex expression.Expression) types.TransactWriteItem {
		return types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(s.names.Conversations), Item: item, ConditionExpression: ex.Condition(),
			ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		}}
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		put(ptr, replaceable), put(item, notExists)}})
	return wrap(op, err)
}

// SaveConversation replaces the header when nobody saved it since it was read
// (ErrConditionFailed otherwise: re-read and apply again).
func (s *Store) SaveConversation(ctx context.Context, c thread.Conversation, retention time.Duration) error {
	op := convOp("save", c.ClinicID, c.ID)
	item, err := s.conversationItem(c, retention)
	if err != nil {
		return wrap(op, err)
	}
	return wrap(op, s.put(ctx, s.names.Conversations, item, condPtr(expression.Name("revision").Equal(expression.Value(c.Revision)))))
}

// AppendThreadMessage adds a message to a conversation; added is false when it was
// there already (a redelivered webhook).
func (s *Store) AppendThreadMessage(ctx context.Context, clinicID string, m thread.Message, retention time.Duration) (bool, error) {
	op := convOp("append message to", clinicID, m.ConversationID)
	item, err := marshal(threadMessageItem{
		PK: conversationPK(clinicID, m.ConversationID), SK: messageSK(m.At, m.ID), ID: m.ID, At: m.At.UTC(),
		Direction: m.Direction, Author: m.Author, AuthorName: m.AuthorName, Type: m.Type, Text: m.Text, Choice: m.Choice,
		Status: m.Status, WAMID: m.WAMID, ExpiresAt: m.At.Add(retention).Unix(), Reason: m.Reason,
	})
	if err != nil {
		return false, wrap(op, err)
	}
	if err := s.linkWAMID(ctx, clinicID, m, retention); err != nil {
		return false, wrap(op, err)
	}
	err = s.put(ctx, s.names.Conversations, item, condPtr(nPK.AttributeNotExists()))
	if conditionFailed(err) {
		return false, nil
	}
	return err == nil, wrap(op, err)
}

// linkWAMID lets a status for the message's wamid find it.
func (s *Store) linkWAMID(ctx context.Context, clinicID string, m thread.Message, retention time.Duration) error {
	if m.WAMID == "" {
		return nil
	}
	if retention <= 0 {
		retention = thread.DefaultRetention
	}
	item, err := marshal(map[string]any{AttrPK: prefixThreadWAMID + m.WAMID, AttrSK: skContactConv, "clinicId": clinicID,
		"conversationId": m.ConversationID, "messageSk": messageSK(m.At, m.ID), AttrExpiresAt: m.At.Add(retention).Unix()})
	if err != nil {
		return err
	}
	return s.put(ctx, s.names.Conversations, item, nil)
}

// threadStatusBefore lists, for each status Meta reports, the statuses a message may
// move to it from: moves are forward-only, so a late "delivered" after "read"
// changes nothing.
var threadStatusBefore = map[string][]string{
	"sent":      {thread.StatusAccepted},
	"delivered": {thread.StatusAccepted, "sent"},
	"read":      {thread.StatusAccepted, "sent", "delivered"},
	"failed":    {thread.StatusAccepted, "sent", "delivered"},
}

// AdvanceThreadMessage moves the thread message sent as wamid to status; moved is
// false when no thread holds it, it belongs to another clinic, or it is further.
func (s *Store) AdvanceThreadMessage(ctx context.Context, clinicID, wamid, status string) (bool, error) {
	op := "advance thread message " + platform.Hash(wamid) + " of " + clinicID
	before, ok := threadStatusBefore[status]
	if !ok {
		return false, nil
	}
	var link struct {
		ClinicID       string `dynamodbav:"clinicId"`
		ConversationID string `dynamodbav:"conversationId"`
		MessageSK      string `dynamodbav:"messageSk"`
	}
	found, err := s.getItem(ctx, s.names.Conversations, prefixThreadWAMID+wamid, skContactConv, &link)
	if err != nil {
		return false, wrap(op, err)
	}
	if !found || link.ClinicID != clinicID {
		return false, nil
	}
	vals := make([]expression.OperandBuilder, 0, len(before))
	for _, b := range before {
		vals = append(vals, expression.Value(b))
	}
	cond := nPK.AttributeExists().And(expression.Name("status").In(vals[0], vals[1:]...))
	err = s.update(ctx, s.names.Conversations, conversationPK(clinicID, link.ConversationID), link.MessageSK,
		expression.Set(expression.Name("status"), expression.Value(status)), &cond)
	if conditionFailed(err) {
		return false, nil
	}
	return err == nil, wrap(op, err)
}

// MarkThreadMessage sets a stored message's status and wamid (a pending staff text
// that went out).
func (s *Store) MarkThreadMessage(ctx context.Context, clinicID string, m thread.Message) error {
	op := convOp("mark message in", clinicID, m.ConversationID)
	if err := s.linkWAMID(ctx, clinicID, m, 0); err != nil {
		return wrap(op, err)
	}
	upd := expression.Set(expression.Name("status"), expression.Value(m.Status))
	if m.WAMID != "" {
		upd = upd.Set(expression.Name("wamid"), expression.Value(m.WAMID))
	}
	if m.Reason != "" {
		upd = upd.Set(expression.Name("reason"), expression.Value(m.Reason))
	}
	return wrap(op, s.update(ctx, s.names.Conversations, conversationPK(clinicID, m.ConversationID), messageSK(m.At, m.ID), upd,
		condPtr(nPK.AttributeExists())))
}

// ThreadMessages returns up to limit messages, oldest first, after the cursor, and
// the cursor of the next page ("" at the end).
func (s *Store) ThreadMessages(ctx context.Context, clinicID, conversationID, cursor string, limit int) ([]thread.Message, string, error) {
	op := convOp("read messages of", clinicID, conversationID)
	pk := conversationPK(clinicID, conversationID)
	in, err := keyQuery(s.names.Conversations, "", partitionPrefix(pk, skConvMessage), true)
	if err != nil {
		return nil, "", wrap(op, err)
	}
	items, next, err := s.page(ctx, in, cursor, limit, func(k map[string]string) bool {
		return len(k) == 2 && k[AttrPK] == pk && strings.HasPrefix(k[AttrSK], skConvMessage)
	})
	if err != nil {
		return nil, "", fmt.Errorf("dynamo: %s: %w", op, err)
	}
	out := make([]thread.Message, 0, len(items))
	for _, raw := range items {
		var it threadMessageItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, "", wrap(op, err)
		}
		out = append(out, thread.Message{ConversationID: conversationID, ID: it.ID, At: it.At, Direction: it.Direction,
			Author: it.Author, AuthorName: it.AuthorName, Type: it.Type, Text: it.Text, Choice: it.Choice, Status: it.Status, WAMID: it.WAMID, Reason: it.Reason})
	}
	return out, next, nil
}

// ListConversations returns a clinic's conversations in one state, urgent first,
// then by newest message, up to limit after the cursor.
func (s *Store) ListConversations(ctx context.Context, clinicID string, st thread.State, cursor string, limit int) ([]thread.Conversation, string, error) {
	op := fmt.Sprintf("list %s conversations of %s", st, clinicID)
	key := inboxKey(clinicID, st)
	in, err := keyQuery(s.names.Conversations, IndexInbox, expression.Key(AttrInboxKey).Equal(expression.Value(key)), false)
	if err != nil {
		return nil, "", wrap(op, err)
	}
	in.ScanIndexForward = aws.Bool(false)
	items, next, err := s.page(ctx, in, cursor, limit, func(k map[string]string) bool {
		return len(k) == 4 && k[AttrInboxKey] == key && strings.HasPrefix(k[AttrPK], prefixConversation+clinicID+"#") && k[AttrSK] == skConvHeader
	})
	if err != nil {
		return nil, "", fmt.Errorf("dynamo: %s: %w", op, err)
	}
	out := make([]thread.Conversation, 0, len(items))
	for _, raw := range items {
		var it conversationItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, "", wrap(op, err)
		}
		out = append(out, it.domain())
	}
	return out, next, nil
}

type auditItem struct {
	PK             string    `dynamodbav:"pk"`
	SK             string    `dynamodbav:"sk"`
	ClinicID       string    `dynamodbav:"clinicId"`
	ID             string    `dynamodbav:"auditId"`
	At             time.Time `dynamodbav:"at"`
	Actor          string    `dynamodbav:"actor"`
	Action         string    `dynamodbav:"action"`
	ConversationID string    `dynamodbav:"conversationId,omitempty"`
	MessageID      string    `dynamodbav:"messageId,omitempty"`
	ExpiresAt      int64     `dynamodbav:"expiresAt"`
}

// AppendAudit records one access.
func (s *Store) AppendAudit(ctx context.Context, e thread.AuditEntry) error {
	item, err := marshal(auditItem{
		PK: prefixAudit + e.ClinicID, SK: formatSortable(e.At) + "#" + e.ID, ClinicID: e.ClinicID, ID: e.ID, At: e.At.UTC(),
		Actor: e.Actor, Action: e.Action, ConversationID: e.ConversationID, MessageID: e.MessageID,
		ExpiresAt: e.At.Add(AuditRetention).Unix(),
	})
	if err == nil {
		err = s.put(ctx, s.names.Audit, item, condPtr(nPK.AttributeNotExists()))
	}
	return wrap("append audit entry for "+e.ClinicID, err)
}

// AuditTrail returns a clinic's audit entries with from <= at < to, oldest first.
func (s *Store) AuditTrail(ctx context.Context, clinicID string, from, to time.Time, cursor string, limit int) ([]thread.AuditEntry, string, error) {
	op := "read audit trail of " + clinicID
	pk := prefixAudit + clinicID
	in, err := keyQuery(s.names.Audit, "", expression.Key(AttrPK).Equal(expression.Value(pk)).
		And(expression.Key(AttrSK).Between(expression.Value(formatSortable(from)), expression.Value(formatSortable(to.Add(-time.Nanosecond))+"#~"))), true)
	if err != nil {
		return nil, "", wrap(op, err)
	}
	items, next, err := s.page(ctx, in, cursor, limit, func(k map[string]string) bool { return len(k) == 2 && k[AttrPK] == pk })
	if err != nil {
		return nil, "", fmt.Errorf("dynamo: %s: %w", op, err)
	}
	out := make([]thread.AuditEntry, 0, len(items))
	for _, raw := range items {
		var it auditItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, "", wrap(op, err)
		}
		out = append(out, thread.AuditEntry{ClinicID: it.ClinicID, ID: it.ID, At: it.At, Actor: it.Actor, Action: it.Action,
			ConversationID: it.ConversationID, MessageID: it.MessageID})
	}
	return out, next, nil
}

// page runs one page of a query. The cursor is the previous page's last key, as
// JSON of its string attributes; valid says whether a decoded key belongs to this
// query (a key of another clinic or listing is ErrBadCursor, never a read of it).
// Callers that hand cursors to clients sign them as well.
func (s *Store) page(ctx context.Context, in *dynamodb.QueryInput, cursor string, limit int, valid func(map[string]string) bool) ([]map[string]types.AttributeValue, string, error) {
	if limit < 1 {
		limit = 1
	}
	in.Limit = aws.Int32(int32(limit))
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		var k map[string]string
		if err == nil {
			err = json.Unmarshal(raw, &k)
		}
		if err != nil || !valid(k) {
			return nil, "", ErrBadCursor
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{}
		for name, v := range k {
			in.ExclusiveStartKey[name] = &types.AttributeValueMemberS{Value: v}
		}
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out.LastEvaluatedKey) > 0 {
		k := map[string]string{}
		for name, v := range out.LastEvaluatedKey {
			sv, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				return nil, "", fmt.Errorf("key attribute %s is not a string", name)
			}
			k[name] = sv.Value
		}
		b, _ := json.Marshal(k)
		next = base64.RawURLEncoding.EncodeToString(b)
	}
	return out.Items, next, nil
}
