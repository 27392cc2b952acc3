package reminder

import "testing"

func TestRecallInterval(t *testing.T) {
	plan := RecallAfter{"diabetes-review": "90d", "dental": "26w"}
	cases := []struct {
		visitType string
		days      int
		ok        bool
	}{
		{"diabetes-review", 90, true},
		{"dental", 182, true},
		{"flu-shot", 0, false},
		{"", 0, false},
	}
	for _, tc := range cases {
		days, ok := plan.Interval(tc.visitType)
		if days != tc.days || ok != tc.ok {
			t.Errorf("Interval(%q) = %d, %v; want %d, %v", tc.visitType, days, ok, tc.days, tc.ok)
		}
	}
}
