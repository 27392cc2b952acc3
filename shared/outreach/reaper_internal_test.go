package outreach

import (
	"testing"
	"time"
)

func TestReapSpacingDoublesAndIsCapped(t *testing.T) {
	g := DefaultReapGrace
	cases := []struct {
		reaps int
		want  time.Duration
	}{
		{0, 0}, {1, g}, {2, 3 * g}, {3, 7 * g}, {4, 15 * g}, {6, 63 * g}, {7, maxReapSpacing}, {50, maxReapSpacing},
	}
	for _, c := range cases {
		if got := reapSpacing(c.reaps, g); got != c.want {
			t.Errorf("reapSpacing(%d) = %v, want %v", c.reaps, got, c.want)
		}
	}
}

// A deferred job travels as one delayed SQS message per hop: no backoff may exceed
// SQS's longest delay.
func TestDefaultBackoffFitsOneSQSDelay(t *testing.T) {
	for attempt := 1; attempt <= 20; attempt++ {
		for range 200 {
			if d := DefaultBackoff(attempt); d > MaxRequeueDelay || d < DefaultPairGap {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v]", attempt, d, DefaultPairGap, MaxRequeueDelay)
			}
		}
	}
}
