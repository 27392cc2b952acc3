package whatsapp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// Every error code Meta documents for the Cloud API, with the class it must get.
func TestAPIErrorClass(t *testing.T) {
	cases := []struct {
		code, http int
		want       whatsapp.Class
	}{
		{130429, 400, whatsapp.ClassThroughput},
		{131056, 400, whatsapp.ClassPairRate},
		{4, 400, whatsapp.ClassRateLimited},
		{4, 429, whatsapp.ClassRateLimited},
		{80007, 400, whatsapp.ClassRateLimited},
		{131048, 400, whatsapp.ClassQuality},
		{131047, 400, whatsapp.ClassOutsideWindow},
		{131026, 400, whatsapp.ClassUndeliverable},
		{131049, 400, whatsapp.ClassPermanent},
		{131050, 400, whatsapp.ClassPermanent},
		{131051, 400, whatsapp.ClassPermanent},
		{132000, 400, whatsapp.ClassTemplate},
		{132001, 400, whatsapp.ClassTemplate},
		{132015, 400, whatsapp.ClassTemplate},
		{132016, 400, whatsapp.ClassTemplate},
		{131053, 400, whatsapp.ClassRetryable},
		{131000, 500, whatsapp.ClassRetryable},
		{131016, 503, whatsapp.ClassRetryable},
		{2, 500, whatsapp.ClassRetryable},
		{368, 403, whatsapp.ClassPolicyBlock},
		{131031, 400, whatsapp.ClassPolicyBlock},
		{190, 401, whatsapp.ClassAuth},
		{190, 400, whatsapp.ClassAuth},
		// HTTP status decides when the code is not in the table.
		{0, 401, whatsapp.ClassAuth},
		{131051, 401, whatsapp.ClassAuth}, // a 401 is never the message's fault
		{0, 502, whatsapp.ClassRetryable},
		{999999, 500, whatsapp.ClassRetryable},
		{0, 429, whatsapp.ClassRateLimited},
		{1, 400, whatsapp.ClassRetryable},
		{100, 400, whatsapp.ClassPermanent},
		{131009, 400, whatsapp.ClassPermanent},
		{131051, 500, whatsapp.ClassPermanent}, // a known permanent code wins over 5xx
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d_http%d", tc.code, tc.http), func(t *testing.T) {
			e := &whatsapp.APIError{Op: "send", HTTPStatus: tc.http, Code: tc.code}
			if got := e.Class(); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			wrapped := fmt.Errorf("sender: %w", e)
			if got := whatsapp.Classify(wrapped); got != tc.want {
				t.Fatalf("Classify(wrapped) = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestClassifyNonAPIErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want whatsapp.Class
	}{
		{"deadline", fmt.Errorf("whatsapp: send: %w", context.DeadlineExceeded), whatsapp.ClassRetryable},
		{"canceled", context.Canceled, whatsapp.ClassRetryable},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, whatsapp.ClassRetryable},
		{"invalid message", fmt.Errorf("x: %w", whatsapp.ErrInvalidMessage), whatsapp.ClassPermanent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := whatsapp.Classify(tc.err); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestClassRetryableAndNames(t *testing.T) {
	retryable := map[whatsapp.Class]bool{
		whatsapp.ClassRetryable: true, whatsapp.ClassThroughput: true, whatsapp.ClassPairRate: true, whatsapp.ClassRateLimited: true,
	}
	seen := map[string]bool{}
	for c := whatsapp.ClassPermanent; c <= whatsapp.ClassUndeliverable; c++ {
		if c.Retryable() != retryable[c] {
			t.Errorf("%v.Retryable() = %v", c, c.Retryable())
		}
		if seen[c.String()] {
			t.Errorf("duplicate name %q", c)
		}
		seen[c.String()] = true
	}
}

func TestAPIErrorMessageHasNoSecrets(t *testing.T) {
	e := &whatsapp.APIError{Op: "send", HTTPStatus: 400, Code: 131047, Message: "Re-engagement message", Details: "more than 24 hours", FBTraceID: "Az8"}
	want := "whatsapp: send: graph error 131047 (HTTP 400, outside_window): Re-engagement message: more than 24 hours [fbtrace_id Az8]"
	if e.Error() != want {
		t.Fatalf("got %q", e.Error())
	}
}
