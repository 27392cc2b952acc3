package whatsappspec_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

// The send examples of Meta's spec that correspond to what Frontdesk sends: a
// template with text parameters, interactive reply buttons, and text.
var frontdeskKinds = []string{
	"Send Message Template Text",
	"Send Message Template Interactive", // quick-reply buttons at index "0" and "1"
	"Send Test Message",                 // no recipient_type, no language policy
	"Send Reply Button",
	"Send Text Message",
	"Send Reply to Text Message",
}

func requireSpec(t *testing.T) *whatsappspec.Spec {
	t.Helper()
	whatsappspec.RequireSpec(t)
	s, err := whatsappspec.DefaultSpec()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sendExamples(t *testing.T, s *whatsappspec.Spec) map[string]json.RawMessage {
	t.Helper()
	ex, err := s.RequestExamples(whatsappspec.MessagesPath)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]json.RawMessage{}
	for _, e := range ex {
		out[e.Name] = e.JSON
	}
	for _, name := range frontdeskKinds {
		if _, ok := out[name]; !ok {
			t.Fatalf("spec has no send example %q", name)
		}
	}
	return out
}

var (
	strictOnce sync.Once
	strict     *whatsappspec.Validator
	strictErr  error
)

// strictValidator compiles the spec without patches.
func strictValidator(t *testing.T, s *whatsappspec.Spec) *whatsappspec.Validator {
	t.Helper()
	strictOnce.Do(func() {
		doc, err := s.Document()
		if err != nil {
			strictErr = err
			return
		}
		strict, strictErr = whatsappspec.NewValidator(doc)
	})
	if strictErr != nil {
		t.Fatal(strictErr)
	}
	return strict
}

// Unpatched, Meta's own examples fail Meta's own schema: this is why the patches exist.
func TestStrictSpecRejectsMetasOwnExamples(t *testing.T) {
	s := requireSpec(t)
	v := strictValidator(t, s)
	examples := sendExamples(t, s)
	for _, name := range frontdeskKinds {
		if err := v.ValidateMessage(examples[name]); err == nil {
			t.Errorf("%s: unpatched spec accepted it; the patches may no longer be needed", name)
		}
	}
	failing := 0
	for _, b := range examples {
		if v.ValidateMessage(b) != nil {
			failing++
		}
	}
	t.Logf("unpatched: %d of %d send examples fail", failing, len(examples))
}

func TestPatchedSpecAcceptsMetasExamplesForWhatFrontdeskSends(t *testing.T) {
	s := requireSpec(t)
	v := whatsappspec.RequireSpec(t)
	examples := sendExamples(t, s)
	for _, name := range frontdeskKinds {
		t.Run(name, func(t *testing.T) {
			if err := v.ValidateMessage(examples[name]); err != nil {
				t.Fatalf("patched validator rejects Meta's example: %v", err)
			}
		})
	}
}

// Each patch on its own: without it, a specific Meta example still fails; with all
// patches but this one, the example fails for the reason the patch addresses.
func TestEachPatchIsNeeded(t *testing.T) {
	s := requireSpec(t)
	examples := sendExamples(t, s)
	cases := []struct {
		patch   string
		example string
		wantErr string // part of the error without the patch
	}{
		{"allof-additional-properties", "Send Text Message", "additional properties"},
		{"language-policy-optional", "Send Test Message", "policy"},
		{"button-index-pattern", "Send Message Template Interactive", "/index"},
		{"recipient-type-optional", "Send Test Message", "recipient_type"},
	}
	for _, tc := range cases {
		t.Run(tc.patch, func(t *testing.T) {
			doc, err := s.Document()
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range whatsappspec.Patches() {
				if p.Name == tc.patch {
					found = true
					continue
				}
				if _, err := p.Apply(doc); err != nil {
					t.Fatalf("patch %s: %v", p.Name, err)
				}
			}
			if !found {
				t.Fatalf("no patch named %s", tc.patch)
			}
			v, err := whatsappspec.NewValidator(doc)
			if err != nil {
				t.Fatal(err)
			}
			err = v.ValidateMessage(examples[tc.example])
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("without %s, %q: got %v, want an error mentioning %q", tc.patch, tc.example, err, tc.wantErr)
			}
		})
	}
}

// Patches fail loudly when the defect they fix is not there (the spec changed).
func TestPatchesRefuseAnAlreadyPatchedDocument(t *testing.T) {
	s := requireSpec(t)
	doc, err := s.Document()
	if err != nil {
		t.Fatal(err)
	}
	if err := whatsappspec.ApplyPatches(doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range whatsappspec.Patches() {
		if n, err := p.Apply(doc); err == nil {
			t.Errorf("patch %s changed %d places in an already patched document", p.Name, n)
		}
	}
}

func TestPatchUnits(t *testing.T) {
	obj := func(s string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	cases := []struct {
		name  string
		patch func(map[string]any) (int, error)
		in    string
		want  string
		fails bool
	}{
		{
			name:  "allOf additionalProperties moves to the parent",
			patch: whatsappspec.PatchAllOfAdditionalProperties,
			in:    `{"X":{"allOf":[{"$ref":"#/b"},{"type":"object","additionalProperties":false}]}}`,
			want:  `{"X":{"allOf":[{"$ref":"#/b"},{"type":"object"}],"unevaluatedProperties":false}}`,
		},
		{
			name:  "additionalProperties true is left alone",
			patch: whatsappspec.PatchAllOfAdditionalProperties,
			in:    `{"X":{"allOf":[{"additionalProperties":true}]}}`,
			fails: true,
		},
		{
			name:  "language policy no longer required",
			patch: whatsappspec.PatchLanguagePolicyOptional,
			in:    `{"components":{"schemas":{"TemplateObject":{"properties":{"language":{"$ref":"#/components/schemas/L"}}},"L":{"required":["policy","code"]}}}}`,
			want:  `{"components":{"schemas":{"TemplateObject":{"properties":{"language":{"$ref":"#/components/schemas/L"}}},"L":{"required":["code"]}}}}`,
		},
		{
			name:  "button index pattern",
			patch: whatsappspec.PatchButtonIndexPattern,
			in:    `{"B":{"properties":{"index":{"type":"string","pattern":"^[2-6, 11-14]$"}}}}`,
			want:  `{"B":{"properties":{"index":{"type":"string","pattern":"^[0-9]$"}}}}`,
		},
		{
			name:  "recipient_type optional",
			patch: whatsappspec.PatchRecipientTypeOptional,
			in:    `{"components":{"schemas":{"BaseMessageProperties":{"required":["messaging_product","recipient_type","to"]}}}}`,
			want:  `{"components":{"schemas":{"BaseMessageProperties":{"required":["messaging_product","to"]}}}}`,
		},
		{
			name:  "recipient_type patch on a fixed spec fails",
			patch: whatsappspec.PatchRecipientTypeOptional,
			in:    `{"components":{"schemas":{"BaseMessageProperties":{"required":["to"]}}}}`,
			fails: true,
		},
		{
			name:  "messaging_product restricted",
			patch: whatsappspec.PatchMessagingProductWhatsApp,
			in:    `{"components":{"schemas":{"BaseMessageProperties":{"properties":{"messaging_product":{"type":"string"}}}}}}`,
			want:  `{"components":{"schemas":{"BaseMessageProperties":{"properties":{"messaging_product":{"enum":["whatsapp"],"type":"string"}}}}}}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := obj(tc.in)
			_, err := tc.patch(doc)
			if tc.fails {
				if err == nil {
					t.Fatal("patch succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(doc)
			want, _ := json.Marshal(obj(tc.want))
			if string(got) != string(want) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestMalformedSendsFail(t *testing.T) {
	v := whatsappspec.RequireSpec(t)
	valid := `{"messaging_product":"whatsapp","recipient_type":"individual","to":"15550100","type":"text","text":{"body":"hi"}}`
	if err := v.ValidateMessage([]byte(valid)); err != nil {
		t.Fatalf("baseline rejected: %v", err)
	}
	fourButtons := `{"messaging_product":"whatsapp","to":"15550100","type":"interactive","interactive":{"type":"button","body":{"text":"x"},"action":{"buttons":[` +
		`{"type":"reply","reply":{"id":"a","title":"A"}},{"type":"reply","reply":{"id":"b","title":"B"}},` +
		`{"type":"reply","reply":{"id":"c","title":"C"}},{"type":"reply","reply":{"id":"d","title":"D"}}]}}}`
	cases := []struct {
		name, body, wantErr string
	}{
		{"missing to", `{"messaging_product":"whatsapp","type":"text","text":{"body":"hi"}}`, "'to'"},
		{"unknown type", `{"messaging_product":"whatsapp","to":"15550100","type":"fax","fax":{}}`, `type "fax"`},
		{"missing type", `{"messaging_product":"whatsapp","to":"15550100","text":{"body":"hi"}}`, `"type"`},
		{"four reply buttons", fourButtons, "/interactive/action"},
		{"button title too long", `{"messaging_product":"whatsapp","to":"15550100","type":"interactive","interactive":{"type":"button","body":{"text":"x"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"012345678901234567890"}}]}}}`, "title"},
		{"template without name", `{"messaging_product":"whatsapp","to":"15550100","type":"template","template":{"language":{"code":"en_US"}}}`, "'name'"},
		{"template index out of range", `{"messaging_product":"whatsapp","to":"15550100","type":"template","template":{"name":"t","language":{"code":"en_US"},"components":[{"type":"button","sub_type":"quick_reply","index":"10","parameters":[{"type":"payload","payload":"p"}]}]}}`, "/index"},
		{"wrong messaging_product", `{"messaging_product":"sms","to":"15550100","type":"text","text":{"body":"hi"}}`, "messaging_product"},
		{"unknown top-level property", `{"messaging_product":"whatsapp","to":"15550100","type":"text","text":{"body":"hi"},"priority":"high"}`, "/priority"},
		{"not JSON", `{"messaging_product":`, "not JSON"},
		{"array", `[]`, `"type"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := v.ValidateMessage([]byte(tc.body))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, whatsappspec.ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestBuilderOutputValidates(t *testing.T) {
	v := whatsappspec.RequireSpec(t)
	must := func(m whatsapp.Message, err error) whatsapp.Message {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	cases := map[string]whatsapp.Message{
		"template named": must(whatsapp.TemplateMessage("+15550100", "appointment_reminder_48h", "en_US",
			[]whatsapp.TemplateParam{{Name: "clinic_name", Text: "Clínica Sol"}, {Name: "date", Text: "Tue 3 March"}},
			[]string{"c:appt-1:confirm", "c:appt-1:reschedule", "c:appt-1:cancel"})),
		"template positional": must(whatsapp.TemplateMessage("15550101", "appointment_reminder_2h", "pt_BR",
			[]whatsapp.TemplateParam{{Text: "Clínica Sol"}, {Text: "14:30"}}, nil)),
		"template no params": must(whatsapp.TemplateMessage("15550102", "follow_up", "es", nil, nil)),
		"template ten buttons": must(whatsapp.TemplateMessage("15550103", "t", "en_US", nil,
			[]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"})),
		"reply buttons": must(whatsapp.ReplyButtonsMessage("15550104", "Your visit is Tuesday at 14:30.", []whatsapp.ReplyButton{
			{ID: "confirm:appt-1", Title: "Confirm"}, {ID: "reschedule:appt-1", Title: "Reschedule"}, {ID: "cancel:appt-1", Title: "Cancel"},
		})),
		"text":          must(whatsapp.TextMessage("15550105", "Thanks, see you Tuesday.")),
		"text in reply": must(whatsapp.TextMessage("15550106", "Noted.")).InReplyTo("wamid.HBgLMTU1NTAxMDYVAgARGBI="),
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.ValidateMessage(b); err != nil {
				t.Fatalf("%s\n%v", b, err)
			}
		})
	}
}

func TestWebhookExamples(t *testing.T) {
	ex := whatsappspec.RequireWebhookExamples(t)
	var names []string
	for _, e := range ex {
		names = append(names, e.Name)
		if !json.Valid(e.JSON) {
			t.Errorf("%s: invalid JSON", e.Name)
		}
		if _, err := whatsapp.ParseNotification(e.JSON); err != nil {
			t.Errorf("%s: %v", e.Name, err)
		}
	}
	// The spec holds 16 webhook examples; text, button and interactive ones are the
	// ones Frontdesk acts on.
	for _, want := range []string{"Text Message", "Button Message", "Interactive Button Reply Message", "Unsupported Message", "System Message"} {
		if !slices.Contains(names, want) {
			t.Errorf("missing example %q in %v", want, names)
		}
	}
	if len(ex) < 16 {
		t.Errorf("got %d webhook examples, want at least 16", len(ex))
	}
}

func TestSpecPath(t *testing.T) {
	t.Run("env wins", func(t *testing.T) {
		t.Setenv(whatsappspec.EnvSpec, "/somewhere/spec.yaml")
		if got := whatsappspec.SpecPath(); got != "/somewhere/spec.yaml" {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("default beside the repository", func(t *testing.T) {
		t.Setenv(whatsappspec.EnvSpec, "")
		got := whatsappspec.SpecPath()
		if filepath.Base(got) != whatsappspec.SpecFileName {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("missing file skips with instructions", func(t *testing.T) {
		t.Setenv(whatsappspec.EnvSpec, filepath.Join(t.TempDir(), "absent.yaml"))
		msg := whatsappspec.SkipMessage(whatsappspec.SpecPath())
		for _, want := range []string{"make openapi-spec", whatsappspec.EnvSpec} {
			if !strings.Contains(msg, want) {
				t.Errorf("skip message %q lacks %q", msg, want)
			}
		}
		if whatsappspec.SpecAvailable() {
			t.Error("SpecAvailable true for a missing file")
		}
		rec := &skipRecorder{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); whatsappspec.RequireSpec(rec) }()
		<-done
		if !strings.Contains(rec.skipped, "make openapi-spec") {
			t.Errorf("RequireSpec did not skip with instructions; skipped=%q", rec.skipped)
		}
	})
}

// Load converts YAML features the spec relies on: numeric map keys (HTTP statuses),
// unquoted dates, floats and aliases.
func TestLoadConvertsYAML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spec.yaml")
	yml := "paths:\n  /x:\n    post:\n      responses:\n        200:\n          description: ok\n" +
		"      requestBody:\n        content:\n          application/json:\n            examples:\n" +
		"              A:\n                value: &v\n                  day: 2024-01-02\n                  lat: 37.5\n                  n: 16505551234\n                  ok: true\n" +
		"              B:\n                value: *v\n"
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := whatsappspec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := s.Examples("/x")
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 2 {
		t.Fatalf("got %d examples", len(ex))
	}
	want := `{"day":"2024-01-02","lat":37.5,"n":16505551234,"ok":true}`
	for _, e := range ex {
		if string(e.JSON) != want {
			t.Errorf("%s: got %s, want %s", e.Name, e.JSON, want)
		}
	}
	if !strings.Contains(string(s.JSON()), `"200":{"description":"ok"}`) {
		t.Errorf("numeric key not converted: %s", s.JSON())
	}
}

// skipRecorder captures a Skip instead of skipping the real test.
type skipRecorder struct {
	testing.TB
	skipped string
}

func (r *skipRecorder) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}

// A template send by BSUID (`recipient`, no `to`) validates once patched; without the
// recipient-bsuid patch v23 rejects it; a send with neither is still refused.
func TestRecipientBSUIDSends(t *testing.T) {
	s := requireSpec(t)
	byBSUID := []byte(`{"messaging_product":"whatsapp","recipient_type":"individual","recipient":"US.13491208655302741918","type":"template",
		"template":{"name":"frontdesk_reminder_48h","language":{"policy":"deterministic","code":"en_US"}}}`)
	neither := []byte(`{"messaging_product":"whatsapp","recipient_type":"individual","type":"template",
		"template":{"name":"frontdesk_reminder_48h","language":{"policy":"deterministic","code":"en_US"}}}`)
	badBSUID := []byte(`{"messaging_product":"whatsapp","recipient_type":"individual","recipient":"+15550100143","type":"template",
		"template":{"name":"frontdesk_reminder_48h","language":{"policy":"deterministic","code":"en_US"}}}`)
	v := whatsappspec.RequireSpec(t)
	if err := v.ValidateMessage(byBSUID); err != nil {
		t.Fatalf("patched validator rejects a send by recipient: %v", err)
	}
	for name, body := range map[string][]byte{"neither to nor recipient": neither, "a number in recipient": badBSUID} {
		if err := v.ValidateMessage(body); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	doc, err := s.Document()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range whatsappspec.Patches() {
		if p.Name == "recipient-bsuid" {
			continue
		}
		if _, err := p.Apply(doc); err != nil {
			t.Fatal(err)
		}
	}
	unpatched, err := whatsappspec.NewValidator(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := unpatched.ValidateMessage(byBSUID); err == nil {
		t.Fatal("without recipient-bsuid, v23 accepts a send without `to`: the patch is not needed")
	}
}
