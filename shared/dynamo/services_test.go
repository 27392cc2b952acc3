package dynamo_test

import (
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/handoff"
	"github.com/frontdesk-health/frontdesk/shared/inbox"
	"github.com/frontdesk-health/frontdesk/shared/intake"
	"github.com/frontdesk-health/frontdesk/shared/notices"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
)

// The store is the adapter behind the services' storage interfaces, which the
// services declare without knowing it: these lines keep the two in step.
var (
	_ outreach.RecipientResolver = (*dynamo.Store)(nil)
	_ outreach.TemplateGate      = (*dynamo.Store)(nil)
	_ outreach.DueStore          = (*dynamo.Store)(nil)
	_ outreach.SendStore         = (*dynamo.Store)(nil)
	_ handoff.Store              = (*dynamo.Store)(nil)
	_ inbox.Store                = (*dynamo.Store)(nil)
	_ inbox.FeedbackStore        = (*dynamo.Store)(nil)
	_ notices.Store              = (*dynamo.Store)(nil)
	_ notices.TrackerStore       = (*dynamo.Store)(nil)
	_ notices.DueStore           = (*dynamo.Store)(nil)
	_ notices.ClinicReader       = (*dynamo.Store)(nil)
	_ intake.Store               = (*dynamo.Store)(nil)
	_ intake.SlotStore           = (*dynamo.Store)(nil)
)
