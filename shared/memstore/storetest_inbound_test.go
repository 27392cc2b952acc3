package memstore_test

import (
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/memstore"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/storetest"
)

// freshMem is a new in-memory store on clock, as the conformance suite asks for.
func freshMem(_ *testing.T, clock platform.Clock) *memstore.Store { return memstore.New(clock, 4) }

func TestConformanceSlots(t *testing.T) { storetest.Slots(t, freshMem) }

func TestConformanceIdentity(t *testing.T) { storetest.Identity(t, freshMem) }

func TestConformanceNotices(t *testing.T) { storetest.Notices(t, freshMem) }

func TestConformanceMetrics(t *testing.T) { storetest.Metrics(t, freshMem) }

func TestConformanceWaitlist(t *testing.T) { storetest.Waitlist(t, freshMem) }
