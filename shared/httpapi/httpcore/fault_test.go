package httpcore_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/httpapi/httpcore"
)

// Every domain error code has exactly the HTTP status the API documents.
func TestEachFaultCodeMapsToItsStatus(t *testing.T) {
	want := map[fault.Code]int{
		fault.Invalid:       http.StatusBadRequest,
		fault.Unauthorized:  http.StatusUnauthorized,
		fault.Forbidden:     http.StatusForbidden,
		fault.NotFound:      http.StatusNotFound,
		fault.Conflict:      http.StatusConflict,
		fault.InProgress:    http.StatusConflict,
		fault.Unprocessable: http.StatusUnprocessableEntity,
		fault.Unavailable:   http.StatusServiceUnavailable,
		fault.Internal:      http.StatusInternalServerError,
	}
	if len(want) != len(fault.Codes()) {
		t.Fatalf("the table covers %d codes, the domain has %d", len(want), len(fault.Codes()))
	}
	for _, c := range fault.Codes() {
		got, ok := want[c]
		if !ok {
			t.Errorf("code %q has no expected status in this table", c)
			continue
		}
		if s := httpcore.StatusOf(c); s != got {
			t.Errorf("StatusOf(%q) = %d, want %d", c, s, got)
		}
	}
	if s := httpcore.StatusOf("no-such-code"); s != http.StatusInternalServerError {
		t.Errorf("an unknown code maps to %d, want 500", s)
	}
}

func TestFaultProblemAnswersClientErrorsOnly(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		wantOK     bool
		wantStatus int
		wantDetail string
	}{
		{"coded, wrapped twice", fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", fault.New(fault.NotFound, "unknown patient"))), true, 404, "unknown patient"},
		{"sentinel only", fault.ErrConflict, true, 409, "Conflict"},
		{"operation-wrapped cause keeps its text out", fault.Wrap(fault.Unprocessable, "save", errors.New("secret internals")), true, 422, "Unprocessable Entity"},
		{"unavailable is a 5xx: not answered here", fault.Wrap(fault.Unavailable, "save", errors.New("x")), false, 0, ""},
		{"uncoded is internal", errors.New("boom"), false, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, ok := httpcore.FaultProblem(c.err)
			if ok != c.wantOK {
				t.Fatalf("ok = %v, want %v", ok, c.wantOK)
			}
			if !ok {
				return
			}
			if p.Status != c.wantStatus || p.Detail != c.wantDetail {
				t.Errorf("problem = %d %q, want %d %q", p.Status, p.Detail, c.wantStatus, c.wantDetail)
			}
		})
	}
}
