package whatsapp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestListMessageLimits(t *testing.T) {
	rows := func(n int) []ListRow {
		var out []ListRow
		for i := range n {
			out = append(out, ListRow{ID: fmt.Sprintf("r%d", i), Title: fmt.Sprintf("Row %d", i)})
		}
		return out
	}
	cases := []struct {
		name     string
		body     string
		button   string
		sections []ListSection
		ok       bool
	}{
		{"ten rows", "Pick one", "See times", []ListSection{{Rows: rows(10)}}, true},
		{"eleven rows", "Pick one", "See times", []ListSection{{Rows: rows(11)}}, false},
		{"empty body", " ", "See times", []ListSection{{Rows: rows(1)}}, false},
		{"long button", "Pick one", strings.Repeat("b", 21), []ListSection{{Rows: rows(1)}}, false},
		{"no sections", "Pick one", "See times", nil, false},
		{"two untitled sections", "Pick one", "See times", []ListSection{{Rows: rows(1)}, {Rows: []ListRow{{ID: "x", Title: "X"}}}}, false},
		{"repeated id", "Pick one", "See times", []ListSection{{Rows: []ListRow{{ID: "a", Title: "A"}, {ID: "a", Title: "B"}}}}, false},
		{"long title", "Pick one", "See times", []ListSection{{Rows: []ListRow{{ID: "a", Title: strings.Repeat("t", 25)}}}}, false},
		{"long description", "Pick one", "See times", []ListSection{{Rows: []ListRow{{ID: "a", Title: "A", Description: strings.Repeat("d", 73)}}}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ListMessage("15550100143", c.body, c.button, c.sections)
			if c.ok != (err == nil) {
				t.Fatalf("err %v, want ok=%v", err, c.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("err %v is not ErrInvalidMessage", err)
			}
			if c.ok && (m.Interactive.Type != "list" || m.Interactive.Action.Button != c.button || m.Interactive.Action.Buttons != nil) {
				t.Fatalf("message %+v", m.Interactive)
			}
		})
	}
}
