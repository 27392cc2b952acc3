package dynamo_test

import (
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/storetest"
)

// inboundSuiteStore is a DynamoDB store on fresh tables (skipped, as every test
// here, when DynamoDB Local is not running).
func inboundSuiteStore(t *testing.T, clock platform.Clock) *dynamo.Store {
	client, names := localtest.Dynamo(t)
	return dynamo.NewStore(client, names, clock, shards)
}

func TestConformanceSlots(t *testing.T) { storetest.Slots(t, inboundSuiteStore) }

func TestConformanceIdentity(t *testing.T) { storetest.Identity(t, inboundSuiteStore) }

func TestConformanceNotices(t *testing.T) { storetest.Notices(t, inboundSuiteStore) }

func TestConformanceMetrics(t *testing.T) { storetest.Metrics(t, inboundSuiteStore) }

func TestConformanceWaitlist(t *testing.T) { storetest.Waitlist(t, inboundSuiteStore) }

func TestConformanceConversations(t *testing.T) { storetest.Conversations(t, inboundSuiteStore) }
