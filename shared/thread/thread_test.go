package thread

import (
	"strings"
	"testing"
	"time"
)

func TestReplyValidate(t *testing.T) {
	cases := []struct {
		name string
		r    Reply
		bad  []string
	}{
		{"fine", Reply{Text: "See you at 10:30", Author: "Sam"}, nil},
		{"fine with reopen", Reply{Text: "See you", Author: "Dr. Ana Ruiz", Template: TemplateReopen}, nil},
		{"4096 characters", Reply{Text: strings.Repeat("é", MaxTextLen), Author: "Sam"}, nil},
		{"4097 characters", Reply{Text: strings.Repeat("é", MaxTextLen+1), Author: "Sam"}, []string{"/text"}},
		{"blank text", Reply{Text: " \n ", Author: "Sam"}, []string{"/text"}},
		{"no author", Reply{Text: "hi"}, []string{"/author"}},
		{"author with a control character", Reply{Text: "hi", Author: "Sam\x1b[31m"}, []string{"/author"}},
		{"author too long", Reply{Text: "hi", Author: strings.Repeat("a", MaxAuthorLen+1)}, []string{"/author"}},
		{"unknown template", Reply{Text: "hi", Author: "Sam", Template: "promo"}, []string{"/template"}},
	}
	for _, tc := range cases {
		bad := tc.r.Validate()
		if len(bad) != len(tc.bad) {
			t.Errorf("%s: problems %v, want %v", tc.name, bad, tc.bad)
			continue
		}
		for _, p := range tc.bad {
			if bad[p] == nil {
				t.Errorf("%s: no problem at %s: %v", tc.name, p, bad)
			}
		}
	}
}

func TestWindowAndOptOut(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		c        Conversation
		now      time.Time
		inWindow bool
		mayReply bool
	}{
		{"never wrote", Conversation{}, at, false, true},
		{"wrote an hour ago", Conversation{LastInboundAt: at}, at.Add(time.Hour), true, true},
		{"wrote exactly 24 h ago", Conversation{LastInboundAt: at}, at.Add(ServiceWindow), false, true},
		{"STOP after the message", Conversation{LastInboundAt: at, OptedOutAt: at.Add(time.Minute)}, at.Add(time.Hour), true, false},
		{"wrote after the STOP", Conversation{LastInboundAt: at.Add(2 * time.Minute), OptedOutAt: at.Add(time.Minute)}, at.Add(time.Hour), true, true},
	}
	for _, tc := range cases {
		if got := tc.c.InWindow(tc.now); got != tc.inWindow {
			t.Errorf("%s: InWindow = %v", tc.name, got)
		}
		if got := tc.c.MayReply(); got != tc.mayReply {
			t.Errorf("%s: MayReply = %v", tc.name, got)
		}
	}
}

func TestStateFilter(t *testing.T) {
	for in, want := range map[string]string{"": "open", "open": "open", "closed": "closed", "all": "open,closed", "OPEN": "", "deleted": ""} {
		states, ok := ParseStateFilter(in)
		var got []string
		for _, s := range states {
			got = append(got, string(s))
		}
		if strings.Join(got, ",") != want || ok != (want != "") {
			t.Errorf("ParseStateFilter(%q) = %v %v, want %q", in, got, ok, want)
		}
	}
}
