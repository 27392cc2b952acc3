package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// PacerStore spaces sends per WhatsApp number.
type PacerStore interface {
	TakeSendSlot(ctx context.Context, phoneNumberID string, window time.Time, ceiling int) (bool, error)
	TakeQueueSlots(ctx context.Context, phoneNumberID string, now time.Time, spacing time.Duration, n int) (time.Time, error)
}

// Pacer asserts per-number pacing: a window's ceiling holds across
// concurrent takers, and queue lines hand out consecutive places per number.
func Pacer[S PacerStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	open := func(t *testing.T) (PacerStore, *platform.FakeClock) {
		clock := platform.NewFakeClock(t0)
		return newStore(t, clock), clock
	}
	t.Run("takeSendSlotHoldsTheCeilingAcrossTakers", func(t *testing.T) { takeSendSlotHoldsTheCeilingAcrossTakers(t, open) })
	t.Run("takeQueueSlotsLinesJobsUp", func(t *testing.T) { takeQueueSlotsLinesJobsUp(t, open) })
}

// Many concurrent takers on one number's window get exactly ceiling slots; other
// windows and other numbers are counted apart.
func takeSendSlotHoldsTheCeilingAcrossTakers(t *testing.T, newStore func(*testing.T) (PacerStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	w := t0.Truncate(250 * time.Millisecond)
	cases := []struct {
		name    string
		number  string
		window  time.Time
		ceiling int
		takers  int
		want    int64
	}{
		{"full window refuses the rest", "100000000000001", w, 20, 50, 20},
		{"the next window is fresh", "100000000000001", w.Add(250 * time.Millisecond), 20, 30, 20},
		{"another number has its own budget", "100000000000002", w, 20, 25, 20},
		{"a lower ceiling admits nothing into a window already past it", "100000000000002", w, 10, 5, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, c.takers)
			for range c.takers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := s.TakeSendSlot(ctx, c.number, c.window, c.ceiling)
					if err != nil {
						errs <- err
					}
					if ok {
						got.Add(1)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if got.Load() != c.want {
				t.Fatalf("%d slots taken, want %d", got.Load(), c.want)
			}
		})
	}
}

// A number's line hands out consecutive places spacing apart, starts again from
// now once it has drained, and is kept per number.
func takeQueueSlotsLinesJobsUp(t *testing.T, newStore func(*testing.T) (PacerStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	const gap = 10 * time.Millisecond
	steps := []struct {
		name   string
		number string
		now    time.Time
		n      int
		want   time.Time
	}{
		{"empty line: the first place is a gap after now", "100000000000001", t0, 5, t0.Add(gap)},
		{"the next job queues behind the five", "100000000000001", t0, 1, t0.Add(6 * gap)},
		{"another number has its own line", "100000000000002", t0, 1, t0.Add(gap)},
		{"later, but the line is still long", "100000000000001", t0.Add(3 * gap), 2, t0.Add(7 * gap)},
		{"once drained, the line starts from now", "100000000000001", t0.Add(time.Second), 1, t0.Add(time.Second + gap)},
	}
	for _, st := range steps {
		got, err := s.TakeQueueSlots(ctx, st.number, st.now, gap, st.n)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !got.Equal(st.want) {
			t.Errorf("%s: first place %s, want %s", st.name, got.Sub(t0), st.want.Sub(t0))
		}
	}
}
