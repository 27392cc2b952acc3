package templatestate_test

import (
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/templatestate"
)

func TestBlocked(t *testing.T) {
	cases := []struct {
		status, category, want string
	}{
		{"", "", ""},
		{"APPROVED", "UTILITY", ""},
		{"FLAGGED", "UTILITY", ""},
		{"PAUSED", "UTILITY", templatestate.ReasonPaused},
		{"DISABLED", "", templatestate.ReasonDisabled},
		{"REJECTED", "UTILITY", templatestate.ReasonNotApproved},
		{"APPROVED", "MARKETING", templatestate.ReasonRecategorised},
		{"", "AUTHENTICATION", templatestate.ReasonRecategorised},
		{"PAUSED", "MARKETING", templatestate.ReasonPaused},
	}
	for _, tc := range cases {
		s := templatestate.State{Status: tc.status, Category: tc.category}
		if got := s.Blocked(); got != tc.want {
			t.Errorf("status %q category %q: %q, want %q", tc.status, tc.category, got, tc.want)
		}
		if s.Usable() != (tc.want == "") {
			t.Errorf("status %q category %q: usable %v", tc.status, tc.category, s.Usable())
		}
	}
}
