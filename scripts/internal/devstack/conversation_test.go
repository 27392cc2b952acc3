package devstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/httpapi"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/thread"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// The conversation tests: a hand-off becomes a conversation staff can list, read,
// answer and close through the API with the clinic's write token, and nothing of it
// leaks to other credentials, callbacks, alerts or logs.

type convView struct {
	ID              string   `json:"id"`
	State           string   `json:"state"`
	PatientIDs      []string `json:"patientIds"`
	GivenName       string   `json:"givenName"`
	Reason          string   `json:"reason"`
	Urgency         string   `json:"urgency"`
	UnreadCount     int      `json:"unreadCount"`
	WindowOpenUntil string   `json:"windowOpenUntil"`
	LastMessageAt   string   `json:"lastMessageAt"`
}

type msgView struct {
	ID, Direction, Author, AuthorName, Type, Text, Choice, Status string
}

// api calls a route with a bearer token and returns the status and body.
func (w *world) api(t *testing.T, method, path, token string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, w.stack.APIURL+path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// openAPISchema compiles one component schema of the served OpenAPI document.
func openAPISchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	var doc any
	if err := yaml.Unmarshal(ehr.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(doc)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("openapi.json", inst); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("openapi.json#/components/schemas/" + name)
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return sch
}

// matchesSchema fails unless body is valid against the document's schema name.
func matchesSchema(t *testing.T, name string, body []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v: %s", name, err, body)
	}
	if err := openAPISchema(t, name).Validate(v); err != nil {
		t.Errorf("the answer does not match the OpenAPI schema %s: %v\n%s", name, err, body)
	}
}

// responseSchemas names the schema of each conversation route's 2xx answer.
func responseSchema(method, path string) string {
	switch {
	case strings.Contains(path, "/audit"):
		return "AuditTrail"
	case strings.HasSuffix(path, "/close"):
		return "Conversation"
	case strings.Contains(path, "/messages") && method == http.MethodGet:
		return "ConversationThread"
	case strings.Contains(path, "/conversations?") || strings.HasSuffix(path, "/conversations"):
		return "ConversationList"
	}
	return ""
}

func (w *world) apiJSON(t *testing.T, method, path string, body []byte, wantStatus int, into any) {
	t.Helper()
	code, b := w.api(t, method, path, w.cfg.EHRWriteToken, body)
	if code != wantStatus {
		t.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, code, wantStatus, b)
	}
	if name := responseSchema(method, path); name != "" && code < 300 {
		matchesSchema(t, name, b)
	} else if code >= 400 {
		matchesSchema(t, "Problem", b)
	}
	if into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("%s %s: decode: %v: %s", method, path, err, b)
		}
	}
}

const clinicPath = "/v1/clinics/" + devstack.DemoClinicID

func (w *world) conversations(t *testing.T, state string) []convView {
	t.Helper()
	var out struct {
		Conversations []convView `json:"conversations"`
		NextCursor    string     `json:"nextCursor"`
	}
	var all []convView
	cursor := ""
	for range 50 {
		w.apiJSON(t, http.MethodGet, clinicPath+"/conversations?state="+state+"&limit=100&cursor="+url.QueryEscape(cursor), nil, http.StatusOK, &out)
		all = append(all, out.Conversations...)
		if out.NextCursor == "" {
			break
		}
		cursor, out.Conversations, out.NextCursor = out.NextCursor, nil, ""
	}
	return all
}

func (w *world) conversationOf(t *testing.T, patientID string) (convView, bool) {
	for _, c := range w.conversations(t, "all") {
		if slices.Contains(c.PatientIDs, patientID) {
			return c, true
		}
	}
	return convView{}, false
}

func (w *world) thread(t *testing.T, id string) []msgView {
	t.Helper()
	var out struct {
		Messages []msgView `json:"messages"`
	}
	w.apiJSON(t, http.MethodGet, clinicPath+"/conversations/"+id+"/messages", nil, http.StatusOK, &out)
	return out.Messages
}

// inboundAt is inboundMessage with the message's own time.
func (w *world) inboundAt(waID string, msg map[string]any, at time.Time) []byte {
	body := w.inboundMessage(waID, msg)
	return bytes.Replace(body, []byte(`"timestamp":"`+strconv.FormatInt(time.Now().Unix(), 10)+`"`),
		[]byte(`"timestamp":"`+strconv.FormatInt(at.Unix(), 10)+`"`), 1)
}

// A patient's free text is listed and readable with its text; a staff reply inside
// the window reaches the Graph API stand-in (which validates it against Meta's
// spec) with exactly that text; reads and the reply are audited; close moves it.
func TestConversationFreeTextReplyAndAudit(t *testing.T) {
	w := stackFor(t)
	offset := w.logs.Len()
	w.dumpOnFailure(t, offset)
	p := patientSpec{id: "pat-conv-1", phone: "+15550100131", givenName: "Avery"}
	w.book(t, "appt-conv-1", p, 72*time.Hour)
	question := "Can I come 30 minutes later?"
	wamid := "wamid.systestconv" + platform.NewID()
	start := time.Now().UTC()
	if code := w.postWebhook(t, w.inboundMessage(strings.TrimPrefix(p.phone, "+"),
		map[string]any{"id": wamid, "type": "text", "text": map[string]string{"body": question}})); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	var conv convView
	eventually(t, waitTimeout, "the conversation in the open list", func() (bool, string) {
		for _, c := range w.conversations(t, "open") {
			if slices.Contains(c.PatientIDs, p.id) {
				conv = c
				return true, ""
			}
		}
		return false, "not listed"
	})
	if conv.GivenName != "Avery" || conv.Reason != "free_text" || conv.Urgency != thread.Normal || conv.UnreadCount != 1 || conv.State != "open" {
		t.Errorf("listed %+v", conv)
	}
	if until, err := time.Parse(time.RFC3339, conv.WindowOpenUntil); err != nil || until.Before(start.Add(23*time.Hour)) {
		t.Errorf("windowOpenUntil %q, want about 24 h after the message", conv.WindowOpenUntil)
	}
	eventually(t, waitTimeout, "the patient's text and the hand-off answer in the thread", func() (bool, string) {
		msgs := w.thread(t, conv.ID)
		return len(msgs) >= 2 && msgs[0].Text == question && msgs[0].Author == "patient" && msgs[1].Author == "frontdesk",
			fmt.Sprintf("%+v", msgs)
	})
	eventually(t, waitTimeout, "conversation.escalated with the conversation's id and URL", func() (bool, string) {
		events, _ := w.callback.snapshot()
		for _, e := range events {
			if e.Type == clinic.EventConversationEscalated && e.Data["conversationId"] == conv.ID {
				b := e.Raw
				matchesSchema(t, "ConversationEscalated", b)
				if strings.Contains(string(b), question) || strings.Contains(string(b), "Avery") {
					t.Fatalf("the callback carries the text or the name: %s", b)
				}
				if u, _ := e.Data["conversationUrl"].(string); !strings.HasSuffix(u, clinicPath+"/conversations/"+conv.ID) {
					t.Fatalf("conversationUrl %q", u)
				}
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events", len(events))
	})

	answer := "Yes, 10:30 works. See you then!"
	before := len(w.stack.Stub.Sent())
	var posted struct {
		Message msgView `json:"message"`
	}
	w.apiJSON(t, http.MethodPost, clinicPath+"/conversations/"+conv.ID+"/messages",
		[]byte(`{"text":"`+answer+`","author":"Jordan at the desk"}`), http.StatusAccepted, &posted)
	// Queued: the sender sends it from the outbound queue; the thread follows.
	if posted.Message.Status != thread.StatusQueued || posted.Message.Author != "staff" {
		t.Errorf("posted %+v", posted.Message)
	}
	// A client retrying with its Idempotency-Key gets the first answer and sends nothing more.
	second := "And parking is free after 10."
	for i := range 2 {
		req, _ := http.NewRequest(http.MethodPost, w.stack.APIURL+clinicPath+"/conversations/"+conv.ID+"/messages",
			strings.NewReader(`{"text":"`+second+`","author":"Jordan at the desk"}`))
		req.Header.Set("Authorization", "Bearer "+w.cfg.EHRWriteToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "retry-"+conv.ID)
		resp, err := w.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || (i == 1) != (resp.Header.Get("Idempotent-Replayed") == "true") {
			t.Fatalf("keyed reply %d: HTTP %d, replayed %q", i, resp.StatusCode, resp.Header.Get("Idempotent-Replayed"))
		}
	}
	var sent []whatsapptest.Recorded
	eventually(t, waitTimeout, "both replies at the stand-in", func() (bool, string) {
		sent = w.stack.Stub.Sent()[before:]
		got := sentTexts(sent, p.phone)
		return len(got) >= 2, fmt.Sprintf("%q", got)
	})
	// The keyed replay queued nothing: exactly the two texts, once each.
	if got := sentTexts(sent, p.phone); len(got) != 2 || !slices.Contains(got, answer) || !slices.Contains(got, second) {
		t.Fatalf("the stand-in got %q, want exactly %q and %q once", got, answer, second)
	}
	for _, r := range sent {
		if r.Invalid || r.HTTPStatus != http.StatusOK {
			t.Fatalf("the reply failed Meta's spec or was refused: %+v", r)
		}
	}
	eventually(t, waitTimeout, "Meta's statuses on the reply in the thread", func() (bool, string) {
		for _, m := range w.thread(t, conv.ID) {
			if m.ID == posted.Message.ID {
				return m.Status == "read", m.Status
			}
		}
		return false, "missing"
	})
	var stored msgView
	for _, m := range w.thread(t, conv.ID) {
		if m.ID == posted.Message.ID {
			stored = m
		}
	}
	if stored.Text != answer || stored.Author != "staff" || stored.AuthorName != "Jordan at the desk" {
		t.Errorf("the reply in the thread: %+v", stored)
	}
	if c, _ := w.conversationOf(t, p.id); c.UnreadCount != 0 {
		t.Errorf("unread after reading: %d", c.UnreadCount)
	}

	var audit struct {
		Entries []struct{ Actor, Action, ConversationID, MessageID string } `json:"entries"`
	}
	w.apiJSON(t, http.MethodGet, "/v1/clinics/"+devstack.DemoClinicID+"/audit?from="+url.QueryEscape(start.Add(-time.Minute).Format(time.RFC3339)),
		nil, http.StatusOK, &audit)
	reads, replies, postedAudited := 0, 0, false
	for _, e := range audit.Entries {
		if e.ConversationID != conv.ID {
			continue
		}
		if e.Actor != httpapi.ActorWriteToken {
			t.Errorf("audit actor %q", e.Actor)
		}
		switch e.Action {
		case thread.AuditRead:
			reads++
		case thread.AuditReply:
			replies++
			postedAudited = postedAudited || e.MessageID == posted.Message.ID
		}
	}
	// Two replies: the first, and the keyed one (its replay sent and audited nothing).
	if reads < 2 || replies != 2 || !postedAudited {
		t.Errorf("audit has %d reads and %d replies of the conversation (first reply audited: %v), want >= 2 and 2", reads, replies, postedAudited)
	}

	var closed convView
	w.apiJSON(t, http.MethodPost, clinicPath+"/conversations/"+conv.ID+"/close", nil, http.StatusOK, &closed)
	if closed.State != "closed" {
		t.Fatalf("closed %+v", closed)
	}
	for _, c := range w.conversations(t, "open") {
		if c.ID == conv.ID {
			t.Fatal("a closed conversation is still in the open list")
		}
	}
	// The patient's next message that needs a person reopens it.
	if code := w.postWebhook(t, w.inboundMessage(strings.TrimPrefix(p.phone, "+"),
		map[string]any{"type": "text", "text": map[string]string{"body": "One more question about parking"}})); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	eventually(t, waitTimeout, "the conversation reopened", func() (bool, string) {
		c, _ := w.conversationOf(t, p.id)
		return c.ID == conv.ID && c.State == "open", fmt.Sprintf("%+v", c)
	})
	w.waitDrained(t, "ehr-outbox", offset)
	w.assertLogsClean(t, offset, question, answer, second, "Avery", "Jordan at the desk", "One more question about parking", wamid)
}

// Outside the 24-hour window a reply is 409 window-closed; with the reopen template
// the template goes out, and the stored text follows the patient's tap.
func TestConversationReplyOutsideTheWindow(t *testing.T) {
	w := stackFor(t)
	offset := w.logs.Len()
	w.dumpOnFailure(t, offset)
	p := patientSpec{id: "pat-conv-2", phone: "+15550100132", givenName: "Blake"}
	w.book(t, "appt-conv-2", p, 72*time.Hour)
	old := "Is the lab open on Saturday?"
	if code := w.postWebhook(t, w.inboundAt(strings.TrimPrefix(p.phone, "+"),
		map[string]any{"type": "text", "text": map[string]string{"body": old}}, time.Now().Add(-25*time.Hour))); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	var conv convView
	eventually(t, waitTimeout, "the conversation", func() (bool, string) {
		var ok bool
		conv, ok = w.conversationOf(t, p.id)
		return ok, "not listed"
	})
	w.waitDrained(t, "inbound", offset)
	path := clinicPath + "/conversations/" + conv.ID + "/messages"
	staffText := "Yes, 8:00 to 12:00 on Saturdays."
	code, b := w.api(t, http.MethodPost, path, w.cfg.EHRWriteToken, []byte(`{"text":"`+staffText+`","author":"Sam"}`))
	if code != http.StatusConflict || !strings.Contains(string(b), httpapi.ProblemWindowClosed) {
		t.Fatalf("reply outside the window: HTTP %d %s, want 409 window-closed", code, b)
	}
	before := len(w.stack.Stub.Sent())
	var posted struct {
		Message msgView `json:"message"`
	}
	w.apiJSON(t, http.MethodPost, path, []byte(`{"template":"reopen","text":"`+staffText+`","author":"Sam"}`), http.StatusAccepted, &posted)
	if posted.Message.Status != thread.StatusPending {
		t.Fatalf("posted %+v, want pending", posted.Message)
	}
	var tpls []whatsapptest.Recorded
	eventually(t, waitTimeout, "the reopen template at the stand-in", func() (bool, string) {
		tpls = templatesTo(w.stack.Stub.Sent()[before:], p.phone)
		return len(tpls) >= 1, fmt.Sprintf("%d templates", len(tpls))
	})
	if len(tpls) != 1 || tpls[0].Template != "frontdesk_reopen" || tpls[0].Invalid {
		t.Fatalf("templates sent %+v, want one frontdesk_reopen", tpls)
	}
	if got := sentTexts(w.stack.Stub.Sent()[before:], p.phone); len(got) != 0 {
		t.Fatalf("text sent before the patient answered: %q", got)
	}
	payload := quickReplyPayloads(t, tpls[0].Body)[0]
	if code := w.postWebhook(t, w.inboundMessage(strings.TrimPrefix(p.phone, "+"), map[string]any{"type": "button",
		"button": map[string]string{"payload": payload, "text": "See reply"}})); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	eventually(t, waitTimeout, "the staff text after the tap", func() (bool, string) {
		got := sentTexts(w.stack.Stub.Sent()[before:], p.phone)
		return len(got) == 1 && got[0] == staffText, fmt.Sprintf("%q", got)
	})
	eventually(t, waitTimeout, "the stored text marked sent", func() (bool, string) {
		for _, m := range w.thread(t, conv.ID) {
			if m.ID == posted.Message.ID {
				// Sent; Meta's statuses then move it on.
				sent := slices.Contains([]string{thread.StatusAccepted, "sent", "delivered", "read"}, m.Status)
				return sent && m.Text == staffText, fmt.Sprintf("%+v", m)
			}
		}
		return false, "missing"
	})
	w.waitDrained(t, "inbound", offset)
	w.assertLogsClean(t, offset, old, staffText, "Blake")
}

// An unknown number's emergency opens an urgent conversation at the top of the list
// and publishes an alert with no patient data.
func TestUnknownNumberEmergencyIsUrgentAtTheTop(t *testing.T) {
	w := stackFor(t)
	offset := w.logs.Len()
	w.dumpOnFailure(t, offset)
	phone := "+15550100133"
	text := "my husband has chest pain"
	alertsBefore := len(w.stack.Alerts())
	if code := w.postWebhook(t, w.inboundMessage(strings.TrimPrefix(phone, "+"),
		map[string]any{"type": "text", "text": map[string]string{"body": text}})); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	var top convView
	eventually(t, waitTimeout, "an urgent conversation at the top", func() (bool, string) {
		list := w.conversations(t, "open")
		if len(list) == 0 {
			return false, "empty"
		}
		top = list[0]
		msgs := w.thread(t, top.ID)
		return len(msgs) > 0 && msgs[0].Text == text, fmt.Sprintf("top %+v", top)
	})
	if top.Urgency != thread.Urgent || top.Reason != "emergency" || len(top.PatientIDs) != 0 {
		t.Errorf("top %+v", top)
	}
	eventually(t, waitTimeout, "the alert", func() (bool, string) {
		for _, a := range w.stack.Alerts()[alertsBefore:] {
			if a.ConversationID == top.ID {
				b, _ := json.Marshal(a)
				if strings.Contains(string(b), "5550100133") || strings.Contains(string(b), "chest") {
					t.Fatalf("the alert carries patient data: %s", b)
				}
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d alerts", len(w.stack.Alerts()))
	})
	w.waitDrained(t, "ehr-outbox", offset)
	w.assertLogsClean(t, offset, text)
}

// The read token and other clinics' tokens get 403 on every conversation route and
// nothing of the clinic; hostile requests store nothing.
func TestConversationRoutesRefuseOtherCredentialsAndStoreNothing(t *testing.T) {
	w := stackFor(t)
	offset := w.logs.Len()
	w.dumpOnFailure(t, offset)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	demo, err := w.stack.Store.GetClinic(ctx, devstack.DemoClinicID)
	if err != nil {
		t.Fatal(err)
	}
	// Another clinic, with its own number and WABA and no callback URL: it shares
	// nothing with the demo clinic (a shared WABA would also give it the demo's
	// template lifecycle callbacks).
	b := demo
	b.ID, b.PhoneNumberID, b.WABAID, b.CallbackURL = "conv-clinic-b", "100000000000077", "200000000000077", ""
	b.APITokenHash, b.APITokenSecretRef = ehr.HashToken("clinic-b-read-token"), ""
	b.WriteTokenHash, b.WriteTokenSecretRef = ehr.HashToken("clinic-b-write-token"), ""
	if err := w.stack.Store.PutClinic(ctx, b); err != nil {
		t.Fatal(err)
	}
	bConv := thread.Conversation{ClinicID: b.ID, ID: "cnv_" + strings.Repeat("b", 32), ContactKey: "+15550100134",
		State: thread.Open, Urgency: thread.Urgent, Reason: "emergency", LastMessageAt: time.Now().UTC()}
	if err := w.stack.Store.CreateConversation(ctx, bConv, thread.DefaultRetention, ""); err != nil {
		t.Fatal(err)
	}
	// One of A's conversations to aim at.
	p := patientSpec{id: "pat-conv-4", phone: "+15550100135", givenName: "Casey"}
	w.book(t, "appt-conv-4", p, 72*time.Hour)
	if code := w.postWebhook(t, w.inboundMessage(strings.TrimPrefix(p.phone, "+"),
		map[string]any{"type": "text", "text": map[string]string{"body": "Do you take walk-ins?"}})); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	var aConv convView
	eventually(t, waitTimeout, "A's conversation", func() (bool, string) {
		var ok bool
		aConv, ok = w.conversationOf(t, p.id)
		return ok, ""
	})
	w.waitDrained(t, "inbound", offset)
	w.waitDrained(t, "ehr-outbox", offset)

	bPath := "/v1/clinics/" + b.ID
	routes := func(base, id string) [][2]string {
		return [][2]string{
			{http.MethodGet, base + "/conversations"},
			{http.MethodGet, base + "/conversations/" + id + "/messages"},
			{http.MethodPost, base + "/conversations/" + id + "/messages"},
			{http.MethodPost, base + "/conversations/" + id + "/close"},
			{http.MethodGet, base + "/audit"},
		}
	}
	reply := []byte(`{"text":"hello","author":"Sam"}`)
	threadCursor := w.threadCursor(t, aConv.ID)
	before := w.countItems(t)
	for _, tc := range []struct {
		name, token string
		routes      [][2]string
		status      int
		problem     string
	}{
		{"A's read token on A", w.cfg.EHRAPIToken, routes(clinicPath, aConv.ID), http.StatusForbidden, httpapi.ProblemTokenScope},
		{"A's write token on B", w.cfg.EHRWriteToken, routes(bPath, bConv.ID), http.StatusForbidden, ""},
		{"B's write token on A", "clinic-b-write-token", routes(clinicPath, aConv.ID), http.StatusForbidden, ""},
		{"B's token with A's id under B", "clinic-b-write-token", routes(bPath, aConv.ID)[1:4], http.StatusNotFound, ""},
		{"no token", "", routes(clinicPath, aConv.ID), http.StatusUnauthorized, ""},
	} {
		for _, r := range tc.routes {
			var body []byte
			if strings.HasSuffix(r[1], "/messages") && r[0] == http.MethodPost {
				body = reply
			}
			code, got := w.api(t, r[0], r[1], tc.token, body)
			matchesSchema(t, "Problem", got)
			if code != tc.status || !strings.Contains(string(got), `"type"`) || (tc.problem != "" && !strings.Contains(string(got), tc.problem)) {
				t.Errorf("%s: %s %s: HTTP %d %s, want %d problem %s", tc.name, r[0], r[1], code, got, tc.status, tc.problem)
			}
			for _, leak := range []string{"patientIds", "emergency", "Casey", "givenName", `"messages":`} {
				if strings.Contains(string(got), leak) {
					t.Errorf("%s: %s %s answered %s", tc.name, r[0], r[1], got)
				}
			}
		}
	}
	aPath := clinicPath + "/conversations/" + aConv.ID + "/messages"
	for _, tc := range []struct {
		name, method, path string
		body               []byte
		status             int
		problem            string
	}{
		{"bad cursor", http.MethodGet, clinicPath + "/conversations?cursor=eyJrIjoiIn0.0000", nil, http.StatusBadRequest, httpapi.ProblemBadCursor},
		{"thread cursor on the list", http.MethodGet, clinicPath + "/conversations?cursor=" + url.QueryEscape(threadCursor), nil, http.StatusBadRequest, httpapi.ProblemBadCursor},
		{"bad state", http.MethodGet, clinicPath + "/conversations?state=deleted", nil, http.StatusBadRequest, ""},
		{"huge text", http.MethodPost, aPath, []byte(`{"text":"` + strings.Repeat("x", 5000) + `","author":"Sam"}`), http.StatusBadRequest, ""},
		{"over 256 KiB", http.MethodPost, aPath, []byte(`{"text":"` + strings.Repeat("x", 300<<10) + `","author":"Sam"}`), http.StatusRequestEntityTooLarge, ""},
		{"no author", http.MethodPost, aPath, []byte(`{"text":"hi"}`), http.StatusBadRequest, ""},
		{"unknown field", http.MethodPost, aPath, []byte(`{"text":"hi","author":"Sam","to":"+15550100199"}`), http.StatusBadRequest, ""},
		{"other template", http.MethodPost, aPath, []byte(`{"text":"hi","author":"Sam","template":"promo"}`), http.StatusBadRequest, ""},
		{"not JSON", http.MethodPost, aPath, []byte(`text=hi`), http.StatusBadRequest, ""},
		{"malformed id", http.MethodGet, clinicPath + "/conversations/cnv_XYZ/messages", nil, http.StatusNotFound, ""},
		{"unknown id", http.MethodPost, clinicPath + "/conversations/cnv_" + strings.Repeat("0", 32) + "/messages", reply, http.StatusNotFound, ""},
		{"B's id under A", http.MethodGet, clinicPath + "/conversations/" + bConv.ID + "/messages", nil, http.StatusNotFound, ""},
		{"audit over 31 days", http.MethodGet, clinicPath + "/audit?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", nil, http.StatusBadRequest, ""},
	} {
		code, got := w.api(t, tc.method, tc.path, w.cfg.EHRWriteToken, tc.body)
		matchesSchema(t, "Problem", got)
		if code != tc.status || (tc.problem != "" && !strings.Contains(string(got), tc.problem)) {
			t.Errorf("%s: HTTP %d %s, want %d %s", tc.name, code, got, tc.status, tc.problem)
		}
	}
	if after := w.countItems(t); !maps2Equal(before, after) {
		t.Errorf("items before %v, after %v: a refused request stored something", before, after)
	}
	w.assertLogsClean(t, offset, "Casey", "Do you take walk-ins?")
}

// threadCursor returns a valid cursor of a thread listing (one message a page).
func (w *world) threadCursor(t *testing.T, id string) string {
	t.Helper()
	var out struct {
		NextCursor string `json:"nextCursor"`
	}
	w.apiJSON(t, http.MethodGet, clinicPath+"/conversations/"+id+"/messages?limit=1", nil, http.StatusOK, &out)
	if out.NextCursor == "" {
		t.Fatal("no cursor on a one-message page")
	}
	return out.NextCursor
}

// countItems counts every item of every table of the stack.
func (w *world) countItems(t *testing.T) map[string]int {
	t.Helper()
	db := w.stack.Local.DynamoClient()
	out := map[string]int{}
	names := []string{"appointments", "patients", "messages", "clinics", "idempotency", "conversations", "audit"}
	for _, n := range names {
		var start map[string]ddbtypes.AttributeValue
		for {
			res, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(w.cfg.TablePrefix + n), ExclusiveStartKey: start})
			if err != nil {
				t.Fatalf("scan %s: %v", n, err)
			}
			out[n] += len(res.Items)
			if len(res.LastEvaluatedKey) == 0 {
				break
			}
			start = res.LastEvaluatedKey
		}
	}
	return out
}

func maps2Equal(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
