package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

func TestBuildCreateRequest(t *testing.T) {
	tp, err := reminder.TemplateFor(reminder.KindDayBefore, "en", "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(BuildCreateRequest(tp))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"appointment_reminder_48h","language":"en_US","category":"UTILITY","parameter_format":"NAMED",` +
		`"message_send_ttl_seconds":43200,"components":[{"type":"BODY","text":` + mustJSON(t, tp.Body) +
		`,"example":{"body_text_named_params":[{"param_name":"given_name","example":"Maria"},` +
		`{"param_name":"clinic","example":"Sunrise Family Clinic"},{"param_name":"date","example":"Tuesday, March 10"},` +
		`{"param_name":"time","example":"3:30 PM"},{"param_name":"place","example":"12 Main St, Suite 4"}]}},` +
		`{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Confirm"},{"type":"QUICK_REPLY","text":"Reschedule"},` +
		`{"type":"QUICK_REPLY","text":"Cancel"}]}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// A template without buttons sends no BUTTONS component (Meta rejects an empty one).
	fu, _ := reminder.TemplateFor(reminder.KindFollowUp, "es", "")
	if req := BuildCreateRequest(fu); len(req.Components) != 1 || req.Components[0].Type != "BODY" {
		t.Errorf("follow-up components: %+v", req.Components)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fakeGraph answers the template endpoints like Graph does, records what it got.
type fakeGraph struct {
	t        *testing.T
	mu       sync.Mutex
	created  []CreateRequest
	existing map[string]bool // name/language already registered
	listed   []TemplateStatus
}

func (f *fakeGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer test-token" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"fbtrace_id":"Axyz"}}`)
		return
	}
	if r.URL.Path != "/v23.0/1029384756/message_templates" {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Method {
	case http.MethodPost:
		var req CreateRequest
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":{"message":"bad body: %v","code":100}}`, err)
			return
		}
		if f.existing[req.Name+"/"+req.Language] {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"message":"Content in this language already exists","type":"OAuthException","code":100,"error_subcode":2388024}}`)
			return
		}
		f.created = append(f.created, req)
		fmt.Fprintf(w, `{"id":"%d","status":"PENDING","category":"UTILITY"}`, 1000+len(f.created))
	case http.MethodGet:
		if got := r.URL.Query().Get("fields"); got != "name,language,status" {
			f.t.Errorf("fields = %q", got)
		}
		// Two pages, cursor-based, like Graph.
		page, next := f.listed[:2], `,"paging":{"cursors":{"after":"MjQZD"},"next":"https://graph.example/next"}`
		if r.URL.Query().Get("after") == "MjQZD" {
			page, next = f.listed[2:], `,"paging":{"cursors":{"before":"MjQZD"}}`
		}
		b, _ := json.Marshal(page)
		fmt.Fprintf(w, `{"data":%s%s}`, b, next)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func TestRunSubmitAndStatus(t *testing.T) {
	fg := &fakeGraph{t: t, existing: map[string]bool{"appointment_followup/es": true}}
	for _, tp := range reminder.Templates() {
		st := "APPROVED"
		switch tp.Name + "/" + tp.Language {
		case "frontdesk_reopen/pt_BR":
			continue // never registered
		case "appointment_reminder_2h/es":
			st = "REJECTED"
		case "appointment_followup/en_US":
			st = "PENDING"
		}
		fg.listed = append(fg.listed, TemplateStatus{Name: tp.Name, Language: tp.Language, Status: st})
	}
	srv := httptest.NewServer(fg)
	defer srv.Close()
	env := map[string]string{"WHATSAPP_API_BASE_URL": srv.URL + "/", "WHATSAPP_ACCESS_TOKEN": "test-token"}
	var out bytes.Buffer
	err := run(context.Background(), []string{"-waba", "1029384756", "-submit", "-status"}, func(k string) string { return env[k] }, &out)

	if n := len(reminder.Templates()); len(fg.created) != n-1 {
		t.Errorf("created %d templates, want %d (one already existed)", len(fg.created), n-1)
	}
	for _, c := range fg.created {
		if c.Category != "UTILITY" || c.ParameterFormat != "NAMED" || c.MessageSendTTLSeconds == 0 || c.Components[0].Type != "BODY" {
			t.Errorf("request %+v", c)
		}
	}
	text := out.String()
	for _, want := range []string{"appointment_followup         es     EXISTS", "frontdesk_reopen             pt_BR  MISSING",
		"appointment_reminder_2h      es     REJECTED", "appointment_reminder_48h     en_US  APPROVED"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "frontdesk_reopen/pt_BR MISSING") || !strings.Contains(err.Error(), "appointment_reminder_2h/es REJECTED") ||
		strings.Contains(err.Error(), "appointment_followup/en_US") {
		t.Errorf("err = %v, want the missing and rejected templates (and not the pending one)", err)
	}
}

func TestRunErrors(t *testing.T) {
	srv := httptest.NewServer(&fakeGraph{t: t})
	defer srv.Close()
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no waba", []string{"-submit"}, nil, "-waba is required"},
		{"no token", []string{"-waba", "1029384756", "-status"}, map[string]string{"WHATSAPP_API_BASE_URL": srv.URL}, "WHATSAPP_ACCESS_TOKEN is required"},
		{"bad token", []string{"-waba", "1029384756", "-status"}, map[string]string{"WHATSAPP_API_BASE_URL": srv.URL, "WHATSAPP_ACCESS_TOKEN": "expired"}, "HTTP 401 code 190"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := run(context.Background(), c.args, func(k string) string { return c.env[k] }, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestRunDryRun(t *testing.T) {
	var out bytes.Buffer
	// No token, no server: a dry run must not touch the network.
	if err := run(context.Background(), []string{"-waba", "1029384756"}, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	header, body, _ := strings.Cut(out.String(), "\n")
	if !strings.Contains(header, "/v23.0/1029384756/message_templates") {
		t.Errorf("header %q", header)
	}
	var reqs []CreateRequest
	if err := json.Unmarshal([]byte(body), &reqs); err != nil || len(reqs) != len(reminder.Templates()) {
		t.Fatalf("dry run printed %d requests, %v", len(reqs), err)
	}
	if !strings.Contains(body, "Olá") || strings.Contains(body, `\u00`) {
		t.Error("dry run escaped non-ASCII text")
	}
}
