package memstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/thread"
)

// Conversations (staff hand-offs): a header per conversation, its messages in
// time order, one conversation per contact, a link from a sent message's wamid to
// it for Meta's statuses, and the audit trail of reads and replies.
//
// As in the DynamoDB store, nothing here expires by the clock: there the clinic's
// retention is a TTL that deletes items, never a filter on reads.
const (
	tblConversations = "conversations"
	tblContactConv   = "contact-conversations"
	tblThreadMsgs    = "thread-messages"
	tblThreadWAMIDs  = "thread-wamids"
	tblAudit         = "audit"
)

// ErrBadCursor is returned for a pagination cursor this store did not hand out
// for this clinic and listing: thread.ErrBadCursor, and invalid input.
var ErrBadCursor = fmt.Errorf("%w: %w", invalid("read page", "bad cursor"), thread.ErrBadCursor)

type wamidLink struct {
	clinicID, conversationID, msgKey string
}

func convOp(verb, clinicID, id string) string {
	return fmt.Sprintf("%s conversation %s/%s", verb, clinicID, id)
}

func msgKey(clinicID, conversationID string, at time.Time, id string) string {
	return key(clinicID, conversationID, fmt.Sprintf("%019d", nanos(at)), id)
}

// inboxSort orders a state's list newest first with urgent open ones on top, as
// the DynamoDB store's inbox index does.
func inboxSort(c thread.Conversation) string {
	u := "0"
	if c.State == thread.Open && c.Urgency == thread.Urgent {
		u = "1"
	}
	return u + "#" + sortable(c.LastMessageAt) + "#" + c.ID
}

// stored is a conversation as a round trip through the DynamoDB store returns it:
// UTC times, its own slices, and a pending staff text with only what is kept.
func storedConversation(c thread.Conversation) thread.Conversation {
	c.OpenedAt, c.AnsweredAt, c.ClosedAt = utc(c.OpenedAt), utc(c.AnsweredAt), utc(c.ClosedAt)
	c.LastMessageAt, c.LastInboundAt, c.OptedOutAt = utc(c.LastMessageAt), utc(c.LastInboundAt), utc(c.OptedOutAt)
	c.PatientIDs = slices.Clone(c.PatientIDs)
	if len(c.PatientIDs) == 0 {
		c.PatientIDs = nil
	}
	if p := c.Pending; p != nil && p.ID != "" {
		c.Pending = &thread.Message{ConversationID: c.ID, ID: p.ID, At: utc(p.At), Direction: thread.Outbound,
			Author: thread.Staff, AuthorName: p.AuthorName, Type: "text", Text: p.Text, Status: thread.StatusPending}
	} else {
		c.Pending = nil
	}
	return c
}

func viewConversation(c thread.Conversation) thread.Conversation {
	c.PatientIDs = slices.Clone(c.PatientIDs)
	if c.Pending != nil {
		p := *c.Pending
		c.Pending = &p
	}
	return c
}

// ConversationOfContact returns the contact's conversation; found is false when the
// contact never had one, or when its conversation is gone (then only the returned
// ID is set: pass it to CreateConversation as the one the new one replaces).
func (s *Store) ConversationOfContact(_ context.Context, clinicID, contactKey string) (thread.Conversation, bool, error) {
	defer s.lock()()
	id, ok := get[string](s, tblContactConv, key(clinicID, contactKey))
	if !ok {
		return thread.Conversation{}, false, nil
	}
	c, ok := get[thread.Conversation](s, tblConversations, key(clinicID, id))
	if !ok {
		return thread.Conversation{ID: id}, false, nil
	}
	return viewConversation(c), true, nil
}

// GetConversation reads a conversation's header; thread.ErrNotFound when the
// clinic has no such conversation.
func (s *Store) GetConversation(_ context.Context, clinicID, id string) (thread.Conversation, error) {
	defer s.lock()()
	c, ok := get[thread.Conversation](s, tblConversations, key(clinicID, id))
	if !ok {
		return thread.Conversation{}, &fault.Error{Code: fault.NotFound, Op: "memstore: " + convOp("get", clinicID, id), Err: thread.ErrNotFound}
	}
	return viewConversation(c), nil
}

// CreateConversation stores a new conversation and makes it the contact's one,
// replacing the conversation replaces ("" for none). fault.ErrConflict when the
// contact has another conversation or the id is taken.
func (s *Store) CreateConversation(_ context.Context, c thread.Conversation, _ time.Duration, replaces string) error {
	defer s.lock()()
	ck, hk := key(c.ClinicID, c.ContactKey), key(c.ClinicID, c.ID)
	cur, hasPtr := get[string](s, tblContactConv, ck)
	_, hasHeader := get[thread.Conversation](s, tblConversations, hk)
	if (hasPtr && (replaces == "" || cur != replaces)) || hasHeader {
		return conflict(convOp("create", c.ClinicID, c.ID))
	}
	c = storedConversation(c)
	c.Revision++
	put(s, tblContactConv, ck, c.ID)
	put(s, tblConversations, hk, c)
	return nil
}

// SaveConversation replaces the header when nobody saved it since it was read
// (fault.ErrConflict otherwise, or when it does not exist: re-read and apply again).
func (s *Store) SaveConversation(_ context.Context, c thread.Conversation, _ time.Duration) error {
	defer s.lock()()
	hk := key(c.ClinicID, c.ID)
	cur, ok := get[thread.Conversation](s, tblConversations, hk)
	if !ok || cur.Revision != c.Revision {
		return conflict(convOp("save", c.ClinicID, c.ID))
	}
	c = storedConversation(c)
	c.Revision++
	put(s, tblConversations, hk, c)
	return nil
}

// AppendThreadMessage adds a message to a conversation; added is false when it was
// there already (a redelivered webhook).
func (s *Store) AppendThreadMessage(_ context.Context, clinicID string, m thread.Message, _ time.Duration) (bool, error) {
	defer s.lock()()
	m.At = utc(m.At)
	k := msgKey(clinicID, m.ConversationID, m.At, m.ID)
	s.linkWAMID(clinicID, m, k)
	if _, ok := get[thread.Message](s, tblThreadMsgs, k); ok {
		return false, nil
	}
	put(s, tblThreadMsgs, k, m)
	return true, nil
}

// linkWAMID lets a status for the message's wamid find it; the caller holds the lock.
func (s *Store) linkWAMID(clinicID string, m thread.Message, k string) {
	if m.WAMID == "" {
		return
	}
	put(s, tblThreadWAMIDs, key(m.WAMID), wamidLink{clinicID: clinicID, conversationID: m.ConversationID, msgKey: k})
}

// threadStatusBefore lists, for each status Meta reports, the statuses a message
// may move to it from: moves are forward-only.
var threadStatusBefore = map[string][]string{
	"sent":      {thread.StatusAccepted},
	"delivered": {thread.StatusAccepted, "sent"},
	"read":      {thread.StatusAccepted, "sent", "delivered"},
	"failed":    {thread.StatusAccepted, "sent", "delivered"},
}

// AdvanceThreadMessage moves the thread message sent as wamid to status; moved is
// false when no thread holds it, it belongs to another clinic, or it is further.
func (s *Store) AdvanceThreadMessage(_ context.Context, clinicID, wamid, status string) (bool, error) {
	before, ok := threadStatusBefore[status]
	if !ok {
		return false, nil
	}
	defer s.lock()()
	link, ok := get[wamidLink](s, tblThreadWAMIDs, key(wamid))
	if !ok || link.clinicID != clinicID {
		return false, nil
	}
	m, ok := get[thread.Message](s, tblThreadMsgs, link.msgKey)
	if !ok || !slices.Contains(before, m.Status) {
		return false, nil
	}
	m.Status = status
	put(s, tblThreadMsgs, link.msgKey, m)
	return true, nil
}

// MarkThreadMessage sets a stored message's status and wamid (a pending staff text
// that went out); fault.ErrConflict when the message is not stored.
func (s *Store) MarkThreadMessage(_ context.Context, clinicID string, m thread.Message) error {
	defer s.lock()()
	k := msgKey(clinicID, m.ConversationID, m.At, m.ID)
	s.linkWAMID(clinicID, m, k)
	cur, ok := get[thread.Message](s, tblThreadMsgs, k)
	if !ok {
		return conflict(convOp("mark message in", clinicID, m.ConversationID))
	}
	cur.Status = m.Status
	if m.WAMID != "" {
		cur.WAMID = m.WAMID
	}
	put(s, tblThreadMsgs, k, cur)
	return nil
}

// pageCursor is this store's cursor: the listing it belongs to and the last key
// handed out.
type pageCursor struct {
	Scope string `json:"s"`
	After string `json:"a"`
}

func encodeCursor(scope, after string) string {
	b, _ := json.Marshal(pageCursor{Scope: scope, After: after}) // two strings always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(cursor, scope string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	var c pageCursor
	if err == nil {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil || c.Scope != scope || c.After == "" {
		return "", ErrBadCursor
	}
	return c.After, nil
}

// page cuts one page of keys (in listing order) after the cursor's key; a full
// page names a next cursor even when nothing follows it, as a DynamoDB query
// stopped by its limit does.
func page(keys []string, scope, cursor string, limit int, after func(k, cur string) bool) ([]string, string, error) {
	cur, err := decodeCursor(cursor, scope)
	if err != nil {
		return nil, "", err
	}
	if limit < 1 {
		limit = 1
	}
	if cur != "" {
		i := 0
		for i < len(keys) && !after(keys[i], cur) {
			i++
		}
		keys = keys[i:]
	}
	if len(keys) > limit {
		keys = keys[:limit]
	}
	next := ""
	if len(keys) == limit {
		next = encodeCursor(scope, keys[len(keys)-1])
	}
	return keys, next, nil
}

// ThreadMessages returns up to limit messages, oldest first, after the cursor, and
// the cursor of the next page ("" at the end).
func (s *Store) ThreadMessages(_ context.Context, clinicID, conversationID, cursor string, limit int) ([]thread.Message, string, error) {
	defer s.lock()()
	prefix := key(clinicID, conversationID)
	var keys []string
	for k := range s.table(tblThreadMsgs) {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	keys, next, err := page(keys, "thread:"+prefix, cursor, limit, func(k, cur string) bool { return k > cur })
	if err != nil {
		return nil, "", fmt.Errorf("memstore: %s: %w", convOp("read messages of", clinicID, conversationID), err)
	}
	out := make([]thread.Message, 0, len(keys))
	for _, k := range keys {
		m, _ := get[thread.Message](s, tblThreadMsgs, k)
		m.ConversationID = conversationID
		out = append(out, m)
	}
	return out, next, nil
}

// ListConversations returns a clinic's conversations in one state, urgent first,
// then by newest message, up to limit after the cursor.
func (s *Store) ListConversations(_ context.Context, clinicID string, st thread.State, cursor string, limit int) ([]thread.Conversation, string, error) {
	defer s.lock()()
	byKey := map[string]thread.Conversation{}
	var keys []string
	for _, c := range scan[thread.Conversation](s, tblConversations, key(clinicID)) {
		if c.State != st {
			continue
		}
		k := inboxSort(c)
		byKey[k] = c
		keys = append(keys, k)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	keys, next, err := page(keys, "inbox:"+clinicID+"#"+string(st), cursor, limit, func(k, cur string) bool { return k < cur })
	if err != nil {
		return nil, "", fmt.Errorf("memstore: list %s conversations of %s: %w", st, clinicID, err)
	}
	out := make([]thread.Conversation, 0, len(keys))
	for _, k := range keys {
		out = append(out, viewConversation(byKey[k]))
	}
	return out, next, nil
}

// AppendAudit records one access; the same entry (time and id) twice is
// fault.ErrConflict, as the DynamoDB store's conditional put reports it.
func (s *Store) AppendAudit(_ context.Context, e thread.AuditEntry) error {
	defer s.lock()()
	e.At = utc(e.At)
	k := key(e.ClinicID, sortable(e.At), e.ID)
	if _, ok := get[thread.AuditEntry](s, tblAudit, k); ok {
		return conflict("append audit entry for " + e.ClinicID)
	}
	put(s, tblAudit, k, e)
	return nil
}

// AuditTrail returns a clinic's audit entries with from <= at < to, oldest first.
func (s *Store) AuditTrail(_ context.Context, clinicID string, from, to time.Time, cursor string, limit int) ([]thread.AuditEntry, string, error) {
	defer s.lock()()
	lo, hi := key(clinicID, sortable(from)), key(clinicID, sortable(to))
	var keys []string
	for k := range s.table(tblAudit) {
		if strings.HasPrefix(k, key(clinicID)) && k >= lo && k < hi {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	keys, next, err := page(keys, "audit:"+clinicID, cursor, limit, func(k, cur string) bool { return k > cur })
	if err != nil {
		return nil, "", fmt.Errorf("memstore: read audit trail of %s: %w", clinicID, err)
	}
	out := make([]thread.AuditEntry, 0, len(keys))
	for _, k := range keys {
		e, _ := get[thread.AuditEntry](s, tblAudit, k)
		out = append(out, e)
	}
	return out, next, nil
}
