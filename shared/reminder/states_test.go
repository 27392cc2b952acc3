package reminder

import "testing"

func TestCanMove(t *testing.T) {
	cases := []struct {
		from, to State
		want     bool
	}{
		{StateScheduled, StateQueued, true},
		{StateQueued, StateSending, true},
		{StateSending, StateSent, true},
		{StateSent, StateDelivered, true},
		{StateDelivered, StateRead, true},
		{StateSending, StateDelivered, true}, // webhook overtook the sender's write
		{StateSent, StateRead, true},
		{StateSending, StateFailed, true},
		{StateSent, StateFailed, true},
		{StateDelivered, StateFailed, true},
		{StateScheduled, StateSkipped, true},
		{StateQueued, StateSkipped, true},
		{StateSending, StateCancelled, true},
		{StateScheduled, StateCancelled, true},

		{StateRead, StateDelivered, false}, // late delivered after read
		{StateRead, StateSent, false},
		{StateRead, StateFailed, false},
		{StateDelivered, StateSent, false},
		{StateSent, StateSending, false},
		{StateSending, StateQueued, false}, // only through ReleaseSend
		{StateQueued, StateScheduled, false},
		{StateScheduled, StateSending, false},
		{StateQueued, StateSent, false},
		{StateScheduled, StateScheduled, false},
		{StateFailed, StateRead, false},
		{StateSent, StateSkipped, false},
		{StateDelivered, StateCancelled, false},
		{StateCancelled, StateQueued, false},
		{StateSkipped, StateSending, false},
	}
	for _, c := range cases {
		if got := CanMove(c.from, c.to); got != c.want {
			t.Errorf("CanMove(%s, %s) = %v, want %v", c.from, c.to, got, c.want)
		}
	}
}

func TestAllowedFromReturnsACopy(t *testing.T) {
	AllowedFrom(StateRead)[0] = StateCancelled
	if CanMove(StateCancelled, StateRead) {
		t.Fatal("AllowedFrom leaked its table")
	}
}
