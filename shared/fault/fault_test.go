package fault_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/fault"
)

func TestCodesMatchThroughWrapsAndSentinelsStayDistinct(t *testing.T) {
	unknownPatient := fault.New(fault.NotFound, "unknown patient")
	noConversation := fault.New(fault.NotFound, "no such conversation")
	wrapped := fmt.Errorf("notices: create: %w", unknownPatient)

	if !errors.Is(wrapped, fault.ErrNotFound) {
		t.Error("a wrapped NotFound error does not match the NotFound sentinel")
	}
	if !errors.Is(wrapped, unknownPatient) {
		t.Error("a wrapped sentinel does not match itself")
	}
	if errors.Is(wrapped, noConversation) {
		t.Error("two sentinels of one code match each other: they must stay distinct")
	}
	if errors.Is(wrapped, fault.ErrConflict) {
		t.Error("a NotFound error matches the Conflict sentinel")
	}
	if got := fault.CodeOf(wrapped); got != fault.NotFound {
		t.Errorf("CodeOf = %q, want not_found", got)
	}
	if got := fault.CodeOf(errors.New("plain")); got != fault.Internal {
		t.Errorf("CodeOf(uncoded) = %q, want internal", got)
	}
	if got := fault.CodeOf(nil); got != "" {
		t.Errorf("CodeOf(nil) = %q, want empty", got)
	}
	if got := fault.Message(wrapped); got != "unknown patient" {
		t.Errorf("Message = %q", got)
	}
	op := fault.Wrap(fault.Unavailable, "save appointment c1/a1", errors.New("throttled"))
	if fault.Message(op) != "" || op.Error() != "save appointment c1/a1: unavailable: throttled" {
		t.Errorf("Wrap: message %q, text %q", fault.Message(op), op.Error())
	}
	if fault.Wrap(fault.Internal, "op", nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
}
