package memstore_test

import (
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/handoff"
	"github.com/frontdesk-health/frontdesk/shared/inbox"
	"github.com/frontdesk-health/frontdesk/shared/intake"
	"github.com/frontdesk-health/frontdesk/shared/memstore"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/storetest"
	"github.com/frontdesk-health/frontdesk/shared/waitlist"
)

// The inbox's and intake's stores, and those of the services the inbox wires in
// (hand-offs, the slot desk and waves, feedback, metrics), are all the in-memory
// store.
var (
	_ handoff.Store           = (*memstore.Store)(nil)
	_ inbox.Store             = (*memstore.Store)(nil)
	_ inbox.IdentityStore     = (*memstore.Store)(nil)
	_ inbox.TemplateStore     = (*memstore.Store)(nil)
	_ inbox.FeedbackStore     = (*memstore.Store)(nil)
	_ intake.Store            = (*memstore.Store)(nil)
	_ intake.SlotStore        = (*memstore.Store)(nil)
	_ waitlist.Store          = (*memstore.Store)(nil)
	_ waitlist.WaveStore      = (*memstore.Store)(nil)
	_ waitlist.RecipientStore = (*memstore.Store)(nil)
	_ metrics.Store           = (*memstore.Store)(nil)
	_ storetest.SlotStore     = (*memstore.Store)(nil)
	_ storetest.WaitlistStore = (*memstore.Store)(nil)
)

// freshMem is a new in-memory store on clock, as the conformance suite asks for.
func freshMem(_ *testing.T, clock platform.Clock) *memstore.Store { return memstore.New(clock, 4) }

func TestConformanceSlots(t *testing.T) { storetest.Slots(t, freshMem) }

func TestConformanceIdentity(t *testing.T) { storetest.Identity(t, freshMem) }

func TestConformanceNotices(t *testing.T) { storetest.Notices(t, freshMem) }

func TestConformanceMetrics(t *testing.T) { storetest.Metrics(t, freshMem) }

func TestConformanceWaitlist(t *testing.T) { storetest.Waitlist(t, freshMem) }

func TestConformanceConversations(t *testing.T) { storetest.Conversations(t, freshMem) }
