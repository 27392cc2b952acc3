package dynamo_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Many concurrent takers on one number's window get exactly ceiling slots; other
// windows and other numbers are counted apart.
func TestTakeSendSlotHoldsTheCeilingAcrossTakers(t *testing.T) {
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
