package notice

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// TestNoticeCarriesNothingButAllowedValues renders every kind in every language and
// checks each body parameter: its name is one of clinic, date, time, place, given
// name or contact, and its text is the clinic's name, the patient's given name, a
// date, or the clinic's portal link or phone; nothing else reaches the message.
func TestNoticeCarriesNothingButAllowedValues(t *testing.T) {
	loc, _ := time.LoadLocation("America/New_York")
	visit := time.Date(2026, 11, 30, 15, 0, 0, 0, loc)
	for _, kind := range Kinds {
		for _, lang := range reminder.Languages {
			n := Notice{ClinicID: "clinica-sol", ID: ID("clinica-sol", "w1"), PatientID: "pat-1", Kind: kind,
				DueDate: "2027-03-01", AppointmentID: "appt-diabetes-review-7"}
			v, err := Vars(n, "Maria", "Clinica Sol", "https://portal.example.org", loc, lang, visit)
			if err != nil {
				t.Fatalf("%s/%s: %v", kind, lang, err)
			}
			tp, err := reminder.TemplateNamed(kind.Template(), lang, "")
			if err != nil || tp.Language != lang {
				t.Fatalf("%s/%s: template %v (%s)", kind, lang, err, tp.Language)
			}
			params, buttons := reminder.Render(tp, v)
			if len(buttons) != 0 {
				t.Errorf("%s/%s: %d buttons, notices have none", kind, lang, len(buttons))
			}
			allowedText := []string{"Maria", "Clinica Sol", "https://portal.example.org", v.Date}
			for _, p := range params {
				if !slices.Contains(reminder.AllowedVariables, p.Name) {
					t.Errorf("%s/%s: parameter %q is not allowed", kind, lang, p.Name)
				}
				if !slices.Contains(allowedText, p.Text) || p.Text == "" {
					t.Errorf("%s/%s: parameter %s=%q is none of the allowed values", kind, lang, p.Name, p.Text)
				}
				for _, leak := range []string{"pat-1", "appt-", "diabetes", n.ID} {
					if strings.Contains(p.Text, leak) {
						t.Errorf("%s/%s: parameter %s carries %q", kind, lang, p.Name, leak)
					}
				}
			}
			if kind == KindFeedback && (strings.Contains(tp.Body, "http") || slices.Contains(tp.Variables(), reminder.VarContact)) {
				t.Errorf("%s/%s: the feedback question must be link-free", kind, lang)
			}
		}
	}
}

func TestIDsAreStable(t *testing.T) {
	first, again := RecallID("c1", "a1"), RecallID("c1", "a1")
	if first != again || RecallID("c1", "a1") == RecallID("c2", "a1") ||
		RecallID("c1", "a1") == FeedbackID("c1", "a1") || ID("c1", "a", "b") == ID("c1", "ab") {
		t.Fatal("ids must be stable per input and distinct across inputs")
	}
}

func TestParseScore(t *testing.T) {
	cases := []struct {
		in    string
		score int
		ok    bool
	}{
		{"5", 5, true}, {" 1 ", 1, true}, {"3.", 3, true}, {"4!", 4, true},
		{"0", 0, false}, {"6", 0, false}, {"10", 0, false}, {"5 stars", 0, false}, {"", 0, false}, {"five", 0, false}, {"٣", 0, false},
	}
	for _, tc := range cases {
		got, ok := ParseScore(tc.in)
		if got != tc.score || ok != tc.ok {
			t.Errorf("ParseScore(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.score, tc.ok)
		}
	}
	for s := MinScore; s <= MaxScore; s++ {
		nid, got, ok := ParseListReply(ListRowID("ntc_abc", s))
		if !ok || got != s || nid != "ntc_abc" {
			t.Errorf("list row %d: %s %d %v", s, nid, got, ok)
		}
		if Low(s) != (s <= 2) {
			t.Errorf("Low(%d)", s)
		}
	}
	for _, bad := range []string{"fb:ntc_abc:6", "fb:ntc_abc:", "fb:x:3", "confirm:1", "fb:ntc_abc:33"} {
		if _, _, ok := ParseListReply(bad); ok {
			t.Errorf("ParseListReply(%q) accepted", bad)
		}
	}
}

func TestDueDateValid(t *testing.T) {
	loc, _ := time.LoadLocation("America/New_York")
	// 02:00 UTC on Dec 1 is still Nov 30 in New York.
	now := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	cases := []struct {
		in, want string
	}{
		{"2026-11-30", ""},
		{"2026-11-29", "past"},
		{"2028-11-30", ""},
		{"2028-12-01", "two years"},
		{"2026-02-30", "YYYY-MM-DD"},
		{"tomorrow", "YYYY-MM-DD"},
	}
	for _, tc := range cases {
		got := DueDateValid(tc.in, now, loc)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("DueDateValid(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPending(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	n := Notice{Kind: KindFeedback, State: StateSent, UpdatedAt: at}
	if !n.Pending(at.Add(time.Hour)) || n.Pending(at.Add(QuestionOpenFor)) {
		t.Error("a sent question is pending for QuestionOpenFor")
	}
	for _, st := range []State{StateQueued, StateFailed, StateAnswered} {
		n.State = st
		if n.Pending(at) {
			t.Errorf("%s counts as pending", st)
		}
	}
	n.State, n.Kind = StateSent, KindLabReady
	if n.Pending(at) {
		t.Error("a lab notice is no question")
	}
}
