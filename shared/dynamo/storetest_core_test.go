package dynamo_test

import (
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/storetest"
)

// The conformance suite on DynamoDB Local: the same assertions the in-memory store
// passes (storetest), so service tests on that store speak for this one.
func TestConformanceClinics(t *testing.T)      { storetest.Clinics(t, inboundSuiteStore) }
func TestConformanceAppointments(t *testing.T) { storetest.Appointments(t, inboundSuiteStore) }
func TestConformanceReminders(t *testing.T)    { storetest.Reminders(t, inboundSuiteStore) }
func TestConformancePatients(t *testing.T)     { storetest.Patients(t, inboundSuiteStore) }
func TestConformanceMessages(t *testing.T)     { storetest.Messages(t, inboundSuiteStore) }
func TestConformanceIdempotency(t *testing.T)  { storetest.Idempotency(t, inboundSuiteStore) }
func TestConformancePacer(t *testing.T)        { storetest.Pacer(t, inboundSuiteStore) }
func TestConformanceTemplates(t *testing.T)    { storetest.Templates(t, inboundSuiteStore) }
