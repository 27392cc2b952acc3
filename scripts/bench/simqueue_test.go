package main

import (
	"fmt"
	"testing"
)

// A quiet clinic's few messages are received within a turn on the fair model,
// but only after the busy clinic's whole line on the FIFO one.
func TestSimQueueServesGroupsInTurn(t *testing.T) {
	cases := []struct {
		name string
		fifo bool
		// receives (of up to 10) until all of B's 3 messages were taken
		wantReceives int
		// A's messages taken before B's last one
		wantABefore int
	}{
		{"fair queue model", false, 1, 3},
		{"strict FIFO", true, 4, 30},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			benchFIFO = c.fifo
			t.Cleanup(func() { benchFIFO = false })
			q := newSimQueue(0)
			for i := range 30 {
				q.put(fmt.Appendf(nil, "a%d", i), "clinic-a", 0)
			}
			for i := range 3 {
				q.put(fmt.Appendf(nil, "b%d", i), "clinic-b", 0)
			}
			stop := make(chan struct{})
			var order []string
			receives, bLeft := 0, 3
			for bLeft > 0 {
				batch, ok := q.receive(stop)
				if !ok || len(batch) == 0 || len(batch) > 10 {
					t.Fatalf("receive %d: %d records, ok %v", receives+1, len(batch), ok)
				}
				receives++
				for _, r := range batch {
					order = append(order, r.Body)
					if r.Attributes[attrGroup] == "clinic-b" {
						bLeft--
						if bLeft == 0 {
							break
						}
					}
				}
			}
			aBefore := 0
			for _, b := range order {
				if b[0] == 'a' {
					aBefore++
				}
			}
			if receives != c.wantReceives || aBefore != c.wantABefore {
				t.Fatalf("B's messages all taken after %d receives and %d of A's (order %v), want %d and %d",
					receives, aBefore, order, c.wantReceives, c.wantABefore)
			}
			// Within a group the order is kept.
			if want := []string{"a0", "b0", "a1", "b1", "a2", "b2"}; !c.fifo && fmt.Sprint(order[:6]) != fmt.Sprint(want) {
				t.Fatalf("order %v, want %v first", order, want)
			}
		})
	}
}
