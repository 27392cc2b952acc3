package notice

import (
	"testing"
	"time"
)

func TestRecallPlan(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	cases := []struct {
		name      string
		end       time.Time
		days      int
		due       string
		notBefore time.Time
	}{
		// 90 days from Feb 20 crosses the March DST change: still 10:00 local.
		{"across DST", time.Date(2026, 2, 20, 15, 0, 0, 0, ny), 90, "2026-05-21", time.Date(2026, 5, 7, 10, 0, 0, 0, ny)},
		// A visit ending at 23:30 local is still that local date (04:30 UTC the next day).
		{"late visit counts its local date", time.Date(2026, 6, 1, 23, 30, 0, 0, ny), 30, "2026-07-01", time.Date(2026, 6, 17, 10, 0, 0, 0, ny)},
		{"shorter than the lead: at the visit's end", time.Date(2026, 6, 1, 15, 0, 0, 0, ny), 7, "2026-06-08", time.Date(2026, 6, 1, 15, 0, 0, 0, ny)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			due, nb := RecallPlan(tc.end, tc.days, ny)
			if due != tc.due || !nb.Equal(tc.notBefore) {
				t.Fatalf("RecallPlan = %s, %s; want %s, %s", due, nb.In(ny), tc.due, tc.notBefore)
			}
		})
	}
}
