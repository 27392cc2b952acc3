package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

const (
	testWABA  = "1029384756"
	testToken = "test-token"
)

func TestBuildDefinition(t *testing.T) {
	tp, err := reminder.TemplateFor(reminder.KindDayBefore, "en", "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(BuildDefinition(tp))
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
	if def := BuildDefinition(fu); len(def.Components) != 1 || def.Components[0].Type != "BODY" {
		t.Errorf("follow-up components: %+v", def.Components)
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

// newStandIn starts the Graph API stand-in with appointment_followup/es already
// registered, and returns it with a client for arranging and inspecting its state.
func newStandIn(t *testing.T) (*whatsapptest.Server, *whatsapp.Client) {
	t.Helper()
	srv := whatsapptest.NewServer(t, whatsapptest.Config{AccessToken: testToken, AppSecret: "test-app-secret"})
	c := &whatsapp.Client{BaseURL: srv.URL, HTTP: srv.Client(), Token: func(context.Context) (string, error) { return testToken, nil }}
	fu, err := reminder.TemplateFor(reminder.KindFollowUp, "es", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitTemplate(context.Background(), testWABA, BuildDefinition(fu)); err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func TestRunStatusThenSubmit(t *testing.T) {
	srv, c := newStandIn(t)
	// A trailing slash, as people paste base URLs, must not break the path.
	env := map[string]string{"WHATSAPP_API_BASE_URL": srv.URL + "/", "WHATSAPP_ACCESS_TOKEN": testToken}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()

	// Before -submit only the pre-registered template exists: -status must fail and
	// name every missing one, and not the one that is registered.
	var out bytes.Buffer
	err := run(ctx, []string{"-waba", testWABA, "-status"}, getenv, &out)
	for _, want := range []string{"appointment_followup         es     APPROVED", "frontdesk_reopen             pt_BR  MISSING"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status output lacks %q:\n%s", want, out.String())
		}
	}
	if err == nil || !strings.Contains(err.Error(), "frontdesk_reopen/pt_BR MISSING") || !strings.Contains(err.Error(), "appointment_reminder_2h/es MISSING") ||
		strings.Contains(err.Error(), "appointment_followup/es") {
		t.Errorf("err = %v, want the missing templates (and not the registered one)", err)
	}

	out.Reset()
	err = run(ctx, []string{"-waba", testWABA, "-submit", "-status"}, getenv, &out)
	if err != nil {
		t.Errorf("submit+status: %v\n%s", err, out.String())
	}
	ours := reminder.Templates()
	if got := srv.Stats().TemplatesSubmitted; got != len(ours) {
		t.Errorf("stand-in registered %d templates, want %d (one before the run, the rest by it)", got, len(ours))
	}
	text := out.String()
	for _, want := range []string{"appointment_followup         es     EXISTS", "appointment_reminder_48h     en_US  APPROVED",
		"frontdesk_reopen             pt_BR  APPROVED"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}

	// What the stand-in registered is exactly what BuildDefinition produced.
	registered, err := c.ListTemplates(ctx, testWABA, "")
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]whatsapp.TemplateInfo{}
	for _, r := range registered {
		byKey[r.Name+"/"+r.Language] = r
	}
	for _, tp := range ours {
		r, ok := byKey[tp.Name+"/"+tp.Language]
		want := BuildDefinition(tp)
		if !ok || r.Category != "UTILITY" || r.ParameterFormat != "NAMED" || r.MessageSendTTL != want.MessageSendTTLSeconds ||
			r.MessageSendTTL == 0 || !reflect.DeepEqual(r.Components, want.Components) {
			t.Errorf("%s/%s registered as %+v, want %+v", tp.Name, tp.Language, r, want)
		}
	}
}

func TestReport(t *testing.T) {
	ours := reminder.Templates()
	var registered []whatsapp.TemplateInfo
	for _, tp := range ours {
		st := "APPROVED"
		switch tp.Name + "/" + tp.Language {
		case "frontdesk_reopen/pt_BR":
			continue // never registered
		case "appointment_reminder_2h/es":
			st = "REJECTED"
		case "appointment_reminder_2h/en_US":
			st = "PAUSED"
		case "appointment_reminder_48h/es":
			st = "DISABLED"
		case "appointment_followup/en_US":
			st = "PENDING"
		case "appointment_followup/es":
			st = "IN_APPEAL"
		}
		category := "UTILITY"
		if tp.Name+"/"+tp.Language == "appointment_reminder_48h/pt_BR" {
			category = "MARKETING" // Meta re-categorised it after approval
		}
		registered = append(registered, whatsapp.TemplateInfo{Name: tp.Name, Language: tp.Language, Status: st, Category: category})
	}
	lines, problems := Report(ours, registered)
	if len(lines) != len(ours) {
		t.Errorf("%d lines for %d templates", len(lines), len(ours))
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{"frontdesk_reopen             pt_BR  MISSING", "appointment_reminder_2h      es     REJECTED",
		"appointment_followup         en_US  PENDING", "appointment_reminder_48h     en_US  APPROVED",
		"appointment_reminder_48h     pt_BR  APPROVED  category MARKETING (submitted as UTILITY)"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	// Templates still in review can be sent once approved; only these cannot.
	want := []string{"appointment_reminder_2h/en_US PAUSED", "appointment_reminder_2h/es REJECTED",
		"appointment_reminder_48h/es DISABLED", "appointment_reminder_48h/pt_BR CATEGORY MARKETING", "frontdesk_reopen/pt_BR MISSING"}
	if !reflect.DeepEqual(problems, want) {
		t.Errorf("problems = %q, want %q", problems, want)
	}
}

func TestRunErrors(t *testing.T) {
	srv, _ := newStandIn(t)
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no waba", []string{"-submit"}, nil, "-waba is required"},
		{"no token", []string{"-waba", testWABA, "-status"}, map[string]string{"WHATSAPP_API_BASE_URL": srv.URL}, "WHATSAPP_ACCESS_TOKEN is required"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := run(context.Background(), c.args, func(k string) string { return c.env[k] }, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}

	// An expired token is Graph's HTTP 401 / code 190, and must surface as such for
	// -status and for -submit (where it must not be mistaken for "already exists").
	badToken := map[string]string{"WHATSAPP_API_BASE_URL": srv.URL, "WHATSAPP_ACCESS_TOKEN": "expired"}
	for _, args := range [][]string{{"-waba", testWABA, "-status"}, {"-waba", testWABA, "-submit"}} {
		var out bytes.Buffer
		err := run(context.Background(), args, func(k string) string { return badToken[k] }, &out)
		var apiErr *whatsapp.APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatus != 401 || apiErr.Code != 190 {
			t.Errorf("%v: err = %v, want HTTP 401 code 190", args, err)
		}
		if strings.Contains(out.String(), "EXISTS") {
			t.Errorf("%v: a rejected token reported as EXISTS:\n%s", args, out.String())
		}
	}
}

func TestRunDryRun(t *testing.T) {
	var out bytes.Buffer
	// No token, no server: a dry run must not touch the network.
	if err := run(context.Background(), []string{"-waba", testWABA}, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	header, body, _ := strings.Cut(out.String(), "\n")
	if !strings.Contains(header, "/v23.0/1029384756/message_templates") {
		t.Errorf("header %q", header)
	}
	var defs []whatsapp.TemplateDefinition
	if err := json.Unmarshal([]byte(body), &defs); err != nil || len(defs) != len(reminder.Templates()) {
		t.Fatalf("dry run printed %d definitions, %v", len(defs), err)
	}
	if !strings.Contains(body, "Olá") || strings.Contains(body, `\u00`) {
		t.Error("dry run escaped non-ASCII text")
	}
}

func TestAlreadyExists(t *testing.T) {
	// The stand-in answers with the subcode only; Meta's wording alone must count too.
	cases := []struct {
		err  error
		want bool
	}{
		{&whatsapp.APIError{HTTPStatus: 400, Code: 100, Subcode: 2388024, Message: "(#100) Invalid parameter"}, true},
		{&whatsapp.APIError{HTTPStatus: 400, Code: 100, Message: "Content in this language Already Exists"}, true},
		{&whatsapp.APIError{HTTPStatus: 400, Code: 100, Message: "(#100) Invalid parameter"}, false},
		{&whatsapp.APIError{HTTPStatus: 401, Code: 190, Subcode: 463, Message: "Error validating access token"}, false},
		{errors.New("template already exists"), false}, // not a Graph answer: a transport failure is never "done"
		{nil, false},
	}
	for _, c := range cases {
		if got := alreadyExists(c.err); got != c.want {
			t.Errorf("alreadyExists(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
