package messagelog

import "testing"

func TestStatusOnlyMovesForward(t *testing.T) {
	cases := []struct {
		from, to Status
		want     bool
	}{
		{StatusAccepted, StatusSent, true},
		{StatusSent, StatusDelivered, true},
		{StatusAccepted, StatusRead, true}, // delivered can be skipped
		{StatusDelivered, StatusRead, true},
		{StatusRead, StatusDelivered, false}, // a late delivered keeps read
		{StatusRead, StatusSent, false},
		{StatusDelivered, StatusFailed, true}, // failed can follow delivered
		{StatusRead, StatusFailed, false},
		{StatusFailed, StatusRead, false},
		{StatusSent, StatusSent, false},
	}
	for _, c := range cases {
		if got := CanAdvance(c.from, c.to); got != c.want {
			t.Errorf("%s -> %s = %v, want %v", c.from, c.to, got, c.want)
		}
	}
}
