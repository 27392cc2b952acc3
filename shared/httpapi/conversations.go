package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/handoff"
	"github.com/frontdesk-health/frontdesk/shared/idempotency"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/thread"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// Problem types of the conversation routes.
const (
	ProblemWindowClosed  = "https://frontdesk.dev/problems/window-closed"
	ProblemOptedOut      = "https://frontdesk.dev/problems/opted-out"
	ProblemReopenPending = "https://frontdesk.dev/problems/reopen-pending"
	ProblemBadCursor     = "https://frontdesk.dev/problems/invalid-cursor"
)

// Page sizes of the listings.
const (
	defaultPageSize = 50
	maxPageSize     = 100
	// maxAuditSpan bounds one audit query; a longer export is several queries.
	maxAuditSpan = 31 * 24 * time.Hour
)

// ConversationAPI serves the conversation and audit routes. Message text is PHI:
// these routes are the only way it leaves Frontdesk, and every read and reply is
// audited by the service.
type ConversationAPI struct {
	EHR     *EHRAPI // clinic lookup, token hashes, error mapping
	Service *handoff.Service
}

// ActorWriteToken is the audit actor of a clinic's write token.
const ActorWriteToken = "token:write"

// principalFromToken authenticates a bearer token against the clinic's tokens.
// Only the write token reads conversations (they hold names and reasons); the
// read token is 403. Any other token is 403 too: it may be another clinic's, and
// which clinic's it is must not matter to the answer.
func (a *ConversationAPI) principalFromToken(r *http.Request, c clinic.Clinic) (Principal, error) {
	presented, ok := ehr.BearerToken(r.Header)
	presented = strings.TrimSpace(presented)
	if !ok || presented == "" {
		return Principal{}, NewProblem(http.StatusUnauthorized, "Authorization: Bearer <clinic write token> is required")
	}
	writeHash, err := a.EHR.tokenHash(r, c, "write", c.WriteTokenHash, c.WriteTokenSecretRef)
	if err != nil {
		return Principal{}, err
	}
	readHash, err := a.EHR.tokenHash(r, c, "api", c.APITokenHash, c.APITokenSecretRef)
	if err != nil {
		return Principal{}, err
	}
	isWrite, isRead := ehr.TokenMatches(writeHash, presented), ehr.TokenMatches(readHash, presented)
	switch {
	case isWrite && writeHash != "":
		return Principal{Actor: ActorWriteToken, ClinicID: c.ID}, nil
	case isRead:
		return Principal{}, NewProblem(http.StatusForbidden, "this is the clinic's read token; conversations need the write token").
			WithType(ProblemTokenScope, "forbidden")
	}
	return Principal{}, NewProblem(http.StatusForbidden, "this token does not grant access to this clinic's conversations")
}

// authorized checks, in order and before any read of conversation data: the
// clinic id, the clinic, the credentials, the clinic authorization, and the
// conversation id when the route has one.
func (a *ConversationAPI) authorized(r *http.Request) (clinic.Clinic, Principal, error) {
	c, err := a.EHR.clinicFor(r)
	if err != nil {
		return c, Principal{}, err
	}
	p, err := a.principalFromToken(r, c)
	if err != nil {
		return c, p, err
	}
	if err := AuthorizeClinic(p, c.ID); err != nil {
		return c, p, err
	}
	if id := r.PathValue("conversationId"); r.Pattern != "" && strings.Contains(r.Pattern, "{conversationId}") && !handoff.ValidID(id) {
		return c, p, NewProblem(http.StatusNotFound, "unknown conversation")
	}
	return c, p, nil
}

func (a *ConversationAPI) fail(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	switch {
	case errors.As(err, &p):
	case errors.Is(err, thread.ErrNotFound):
		p = NewProblem(http.StatusNotFound, "unknown conversation")
	case errors.Is(err, thread.ErrBadCursor):
		p = badCursor()
	case errors.Is(err, thread.ErrWindowClosed):
		p = NewProblem(http.StatusConflict, "the patient last wrote more than 24 hours ago; WhatsApp allows only a template: "+
			`send {"template":"reopen","text":...} and the text follows the patient's answer`).WithType(ProblemWindowClosed, "business-rule")
	case errors.Is(err, thread.ErrOptedOut):
		p = NewProblem(http.StatusConflict, "the contact opted out of WhatsApp messages and has not written since").
			WithType(ProblemOptedOut, "business-rule")
	case errors.Is(err, thread.ErrReopenPending):
		p = NewProblem(http.StatusConflict, "a reopen template already waits for the patient's answer").
			WithType(ProblemReopenPending, "business-rule")
	default:
		var ge *whatsapp.APIError
		if errors.As(err, &ge) && !whatsapp.Classify(err).Retryable() {
			p = NewProblem(http.StatusBadGateway, fmt.Sprintf("the WhatsApp Cloud API refused the message (error %d); nothing was stored", ge.Code))
		} else {
			p = a.EHR.problemFor(r, err)
		}
	}
	WriteProblem(w, r, p)
}

func badCursor() *Problem {
	p := NewProblem(http.StatusBadRequest, "cursor is not one this listing handed out")
	p.Type = ProblemBadCursor
	return p
}

// Cursors are opaque to clients and checked here: the store's key, bound by a MAC
// under the deployment's digest key to the clinic and the listing it came from, so
// a cursor cannot be edited, or replayed on another clinic or listing.
type cursorBody struct {
	Step int    `json:"s,omitempty"` // which state of a state=all listing
	Key  string `json:"k,omitempty"`
}

func sealCursor(scope string, c cursorBody) string {
	b, _ := json.Marshal(c)
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + platform.Hash("cursor:"+scope+":"+payload)
}

func openCursor(scope, s string) (cursorBody, error) {
	var c cursorBody
	if s == "" {
		return c, nil
	}
	payload, mac, ok := strings.Cut(s, ".")
	if !ok || len(s) > 2048 || !hmac.Equal([]byte(mac), []byte(platform.Hash("cursor:"+scope+":"+payload))) {
		return c, badCursor()
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return c, badCursor()
	}
	return c, nil
}

func pageSize(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return defaultPageSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPageSize {
		return 0, NewProblem(http.StatusBadRequest, fmt.Sprintf("limit must be 1-%d", maxPageSize))
	}
	return n, nil
}

// ConversationView is a conversation as the API lists it.
type ConversationView struct {
	ID              string     `json:"id"`
	State           string     `json:"state"`
	PatientIDs      []string   `json:"patientIds"`
	GivenName       string     `json:"givenName,omitempty"`
	Reason          string     `json:"reason,omitempty"`
	Urgency         string     `json:"urgency,omitempty"`
	LastMessageAt   *time.Time `json:"lastMessageAt,omitempty"`
	UnreadCount     int        `json:"unreadCount"`
	WindowOpenUntil *time.Time `json:"windowOpenUntil,omitempty"`
	OpenedAt        *time.Time `json:"openedAt,omitempty"`
	ClosedAt        *time.Time `json:"closedAt,omitempty"`
	URL             string     `json:"url"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func (a *ConversationAPI) view(c thread.Conversation) ConversationView {
	ids := c.PatientIDs
	if ids == nil {
		ids = []string{}
	}
	return ConversationView{ID: c.ID, State: string(c.State), PatientIDs: ids, GivenName: c.GivenName, Reason: c.Reason,
		Urgency: c.Urgency, LastMessageAt: timePtr(c.LastMessageAt), UnreadCount: c.Unread,
		WindowOpenUntil: timePtr(c.WindowOpenUntil()), OpenedAt: timePtr(c.OpenedAt), ClosedAt: timePtr(c.ClosedAt),
		URL: a.Service.URL(c.ClinicID, c.ID)}
}

// MessageView is one message of a thread.
type MessageView struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	Direction  string    `json:"direction"`
	Author     string    `json:"author"`
	AuthorName string    `json:"authorName,omitempty"`
	Type       string    `json:"type"`
	Text       string    `json:"text,omitempty"`
	Choice     string    `json:"choice,omitempty"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
}

func messageView(m thread.Message) MessageView {
	return MessageView{ID: m.ID, At: m.At.UTC(), Direction: string(m.Direction), Author: string(m.Author), AuthorName: m.AuthorName,
		Type: m.Type, Text: m.Text, Choice: m.Choice, Status: m.Status, Reason: m.Reason}
}

func (a *ConversationAPI) listConversations(w http.ResponseWriter, r *http.Request) {
	c, p, err := a.authorized(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	filter := r.URL.Query().Get("state")
	states, ok := thread.ParseStateFilter(filter)
	if !ok {
		a.fail(w, r, NewProblem(http.StatusBadRequest, "state must be open, closed or all"))
		return
	}
	limit, err := pageSize(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	scope := c.ID + ":list:" + filter
	cur, err := openCursor(scope, r.URL.Query().Get("cursor"))
	if err == nil && (cur.Step < 0 || cur.Step >= len(states)) {
		err = badCursor()
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page, step, err := a.Service.List(r.Context(), c.ID, p.Actor, states, cur.Step, cur.Key, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := struct {
		Conversations []ConversationView `json:"conversations"`
		NextCursor    string             `json:"nextCursor,omitempty"`
	}{Conversations: []ConversationView{}}
	for _, conv := range page.Items {
		out.Conversations = append(out.Conversations, a.view(conv))
	}
	if page.Next != "" || step < len(states) {
		out.NextCursor = sealCursor(scope, cursorBody{Step: step, Key: page.Next})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *ConversationAPI) getMessages(w http.ResponseWriter, r *http.Request) {
	c, p, err := a.authorized(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	limit, err := pageSize(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	id := r.PathValue("conversationId")
	scope := c.ID + ":thread:" + id
	cur, err := openCursor(scope, r.URL.Query().Get("cursor"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	conv, page, err := a.Service.Thread(r.Context(), c, p.Actor, id, cur.Key, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := struct {
		Conversation ConversationView `json:"conversation"`
		Messages     []MessageView    `json:"messages"`
		NextCursor   string           `json:"nextCursor,omitempty"`
	}{Conversation: a.view(conv), Messages: []MessageView{}}
	for _, m := range page.Items {
		out.Messages = append(out.Messages, messageView(m))
	}
	if page.Next != "" {
		out.NextCursor = sealCursor(scope, cursorBody{Key: page.Next})
	}
	writeJSON(w, http.StatusOK, out)
}

// replyRequest is the body of a staff reply.
type replyRequest struct {
	Text     string `json:"text"`
	Author   string `json:"author"`
	Template string `json:"template,omitempty"`
}

func (a *ConversationAPI) postMessage(w http.ResponseWriter, r *http.Request) {
	c, p, err := a.authorized(r)
	if err == nil {
		err = requireContentType(r, mediaJSON)
	}
	var body []byte
	if err == nil {
		body, err = readBody(w, r)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req replyRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		a.fail(w, r, NewProblem(http.StatusBadRequest, `the body must be one JSON object {"text", "author", "template"?}`))
		return
	}
	reply := thread.Reply{Text: req.Text, Author: req.Author, Template: req.Template}
	if bad := reply.Validate(); len(bad) > 0 {
		prob := NewProblem(http.StatusBadRequest, "the request has invalid fields; see errors")
		for _, ptr := range []string{"/text", "/author", "/template"} {
			if e := bad[ptr]; e != nil {
				prob.Errors = append(prob.Errors, FieldProblem{Pointer: ptr, Detail: e.Error()})
			}
		}
		a.fail(w, r, prob)
		return
	}
	send := func() (int, []byte, error) {
		m, err := a.Service.Reply(r.Context(), c, p.Actor, r.PathValue("conversationId"), reply)
		if err != nil {
			return 0, nil, err
		}
		// Without the text: the client has it, and the answer is kept for replays.
		v := messageView(m)
		v.Text = ""
		out, err := json.Marshal(struct {
			Message MessageView `json:"message"`
		}{v})
		return http.StatusAccepted, out, err
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		status, out, err := send()
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.EHR.answer(w, status, mediaJSON, out)
		return
	}
	a.replyOnce(w, r, c, key, body, send)
}

// replyOnce sends a reply once per Idempotency-Key: a client that retries after a
// timeout gets the first answer instead of a second WhatsApp message. The key is
// bound to the request (route and body) like a webhook-id.
func (a *ConversationAPI) replyOnce(w http.ResponseWriter, r *http.Request, c clinic.Clinic, key string, body []byte, send func() (int, []byte, error)) {
	if len(key) > maxWebhookIDLen {
		a.fail(w, r, NewProblem(http.StatusBadRequest, fmt.Sprintf("Idempotency-Key must be at most %d characters", maxWebhookIDLen)))
		return
	}
	id := "conversation-reply:" + c.ID + ":" + key
	prev, err := a.EHR.Idempotency.ClaimRequest(r.Context(), id, fingerprint(r, body), IdempotencyLease)
	switch {
	case errors.Is(err, idempotency.ErrKeyReused):
		a.fail(w, r, NewProblem(http.StatusUnprocessableEntity, "this Idempotency-Key was already used for another request").
			WithType(ProblemIdempotencyKeyReused, "duplicate"))
		return
	case errors.Is(err, fault.ErrInProgress):
		a.fail(w, r, NewProblem(http.StatusConflict, "a request with this Idempotency-Key is being processed; retry later"))
		return
	case err != nil:
		a.fail(w, r, err)
		return
	case prev != nil:
		w.Header().Set("Idempotent-Replayed", "true")
		a.EHR.answer(w, prev.Status, prev.ContentType, prev.Body)
		return
	}
	status, out, err := send()
	if err != nil {
		if rerr := a.EHR.Idempotency.ReleaseIdempotency(context.WithoutCancel(r.Context()), id); rerr != nil {
			a.EHR.Log.Error("release idempotency key", "clinic", c.ID, "error", rerr)
		}
		a.fail(w, r, err)
		return
	}
	if err := a.EHR.Idempotency.CompleteIdempotency(context.WithoutCancel(r.Context()), id,
		idempotency.Response{Status: status, ContentType: mediaJSON, Body: out, Fingerprint: fingerprint(r, body)}, IdempotencyTTL); err != nil {
		a.EHR.Log.Error("complete idempotency key", "clinic", c.ID, "error", err)
	}
	a.EHR.answer(w, status, mediaJSON, out)
}

func (a *ConversationAPI) closeConversation(w http.ResponseWriter, r *http.Request) {
	c, p, err := a.authorized(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	conv, err := a.Service.Close(r.Context(), c, p.Actor, r.PathValue("conversationId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.view(conv))
}

func (a *ConversationAPI) getAudit(w http.ResponseWriter, r *http.Request) {
	c, _, err := a.authorized(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	now := a.EHR.Clock.Now()
	from, to := now.Add(-24*time.Hour), now
	var bad []FieldProblem
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				bad = append(bad, FieldProblem{Pointer: name, Detail: "must be an RFC 3339 time"})
				continue
			}
			*dst = t
		}
	}
	if len(bad) == 0 && (!to.After(from) || to.Sub(from) > maxAuditSpan) {
		bad = append(bad, FieldProblem{Pointer: "to", Detail: "must be after from, at most 31 days later"})
	}
	limit, err := pageSize(r)
	if err == nil && len(bad) > 0 {
		prob := NewProblem(http.StatusBadRequest, "from and to are invalid; see errors")
		prob.Errors = bad
		err = prob
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	scope := c.ID + ":audit:" + from.UTC().Format(time.RFC3339Nano) + ":" + to.UTC().Format(time.RFC3339Nano)
	cur, err := openCursor(scope, q.Get("cursor"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page, err := a.Service.Audit(r.Context(), c.ID, from, to, cur.Key, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	type entry struct {
		ID             string    `json:"id"`
		At             time.Time `json:"at"`
		Actor          string    `json:"actor"`
		Action         string    `json:"action"`
		ConversationID string    `json:"conversationId,omitempty"`
		MessageID      string    `json:"messageId,omitempty"`
	}
	out := struct {
		Entries    []entry `json:"entries"`
		NextCursor string  `json:"nextCursor,omitempty"`
	}{Entries: []entry{}}
	for _, e := range page.Items {
		out.Entries = append(out.Entries, entry{e.ID, e.At.UTC(), e.Actor, e.Action, e.ConversationID, e.MessageID})
	}
	if page.Next != "" {
		out.NextCursor = sealCursor(scope, cursorBody{Key: page.Next})
	}
	writeJSON(w, http.StatusOK, out)
}
