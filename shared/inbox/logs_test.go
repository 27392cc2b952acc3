package inbox

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// phiPatterns are the personal data a log line or clinic event must never carry:
// the test phone numbers (any formatting), the patients' and contacts' names.
var phiPatterns = []*regexp.Regexp{
	regexp.MustCompile(`5550100(10[0-9]|1[5-9][0-9])`),
	regexp.MustCompile(`\b(Jane|Lucía|Ana|Emily|Zed|Roe|Ortega|Souza|Stranger)\b`),
}

// assertNoPHI fails when out contains a phone number, a name, or the text of any
// message in the given webhook bodies.
func assertNoPHI(t *testing.T, what string, out []byte, bodies ...[]byte) {
	t.Helper()
	for _, re := range phiPatterns {
		if m := re.Find(out); m != nil {
			t.Errorf("%s contain %q", what, m)
		}
	}
	for _, text := range messageTexts(bodies...) {
		if strings.Contains(string(out), text) {
			t.Errorf("%s contain the message text %q", what, text)
		}
	}
}

// messageTexts returns what patients wrote in the bodies (texts of 8+ characters or several words,
// captions, names and addresses), i.e. what must stay out of logs and events.
func messageTexts(bodies ...[]byte) []string {
	var out []string
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(k, e)
			}
		case []any:
			for _, e := range x {
				walk(key, e)
			}
		case string:
			switch key {
			case "body", "caption", "filename", "address", "formatted_name":
				// Short keywords ("cancel", "STOP") are also Frontdesk's own vocabulary
				// (event types); longer texts are unmistakably the patient's.
				if len([]rune(x)) >= 8 || strings.Contains(x, " ") {
					out = append(out, x)
				}
			}
		}
	}
	for _, b := range bodies {
		var v any
		_ = json.Unmarshal(b, &v)
		walk("", v)
	}
	return out
}

// A whole conversation through the handler: every log line is JSON, has the stable
// keys, and carries no phone number, name or message text.
func TestLogsCarryNoPHI(t *testing.T) {
	w := newWorld(t)
	conversation := []string{
		"button_confirm_en", "keyword_cancel_es", "interactive_reschedule_es", "stop_pt", "emergency_en",
		"free_text_en", "type_image", "type_contacts", "type_location", "unknown_sender", "status_read", "status_failed",
	}
	var bodies [][]byte
	for _, f := range conversation {
		b := fixture(t, f)
		bodies = append(bodies, b)
		w.failNextSends(0)
		if f == "free_text_en" {
			// An error path too: Graph errors must not leak what was sent.
			w.failNextSends(1)
			w.deliver(b)
		}
		if n := w.deliver(b); n != 0 {
			t.Fatalf("%s: %d failures", f, n)
		}
	}
	logs := w.logs.String()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) < len(conversation) {
		t.Fatalf("only %d log lines", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", l)
		}
		if m["msg"] == "" || m["level"] == "" {
			t.Errorf("log line without msg/level: %s", l)
		}
	}
	assertNoPHI(t, "logs", []byte(logs), bodies...)
	// What was sent to the patients did carry their number (to): make sure the
	// check above could have failed.
	if len(w.sentMessages()) == 0 || !phiPatterns[0].MatchString(w.sentMessages()[0].To) {
		t.Fatal("the PHI check has nothing to catch: test fixtures changed?")
	}
}
