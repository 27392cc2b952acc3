package memstore_test

import (
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/memstore"
	"github.com/frontdesk-health/frontdesk/shared/notify"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/storetest"
)

// The in-memory store stands in for the DynamoDB store in service tests, so it
// must satisfy the same service interfaces.
var (
	_ outreach.DueStore          = (*memstore.Store)(nil)
	_ outreach.SendStore         = (*memstore.Store)(nil)
	_ outreach.ReapStore         = (*memstore.Store)(nil)
	_ outreach.RecipientResolver = (*memstore.Store)(nil)
	_ outreach.TemplateGate      = (*memstore.Store)(nil)
	_ outreach.PairPacer         = (*memstore.Store)(nil)
	_ outreach.NumberPacer       = (*memstore.Store)(nil)
	_ outreach.Claimer           = (*memstore.Store)(nil)
	_ outreach.ClinicReader      = (*memstore.Store)(nil)
	_ notify.Clinics             = (*memstore.Store)(nil)
)

func TestConformanceClinics(t *testing.T)      { storetest.Clinics(t, freshMem) }
func TestConformanceAppointments(t *testing.T) { storetest.Appointments(t, freshMem) }
func TestConformanceReminders(t *testing.T)    { storetest.Reminders(t, freshMem) }
func TestConformancePatients(t *testing.T)     { storetest.Patients(t, freshMem) }
func TestConformanceMessages(t *testing.T)     { storetest.Messages(t, freshMem) }
func TestConformanceIdempotency(t *testing.T)  { storetest.Idempotency(t, freshMem) }
func TestConformancePacer(t *testing.T)        { storetest.Pacer(t, freshMem) }
func TestConformanceTemplates(t *testing.T)    { storetest.Templates(t, freshMem) }
