package apptest

import (
	"context"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/app/ehrapi"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/intake"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// The world the events/ envelopes describe (see events/README.md). Every value is
// invented; the phone numbers are in the +1 202 555 01xx fictional range.
const (
	ClinicID        = "demo-clinic"
	PhoneNumberID   = "100000000000042" // metadata.phone_number_id in the webhook envelopes
	WABAID          = "200000000000042" // entry[].id
	DisplayPhone    = "12025550100"
	PatientID       = "pat-events-1"
	PatientPhone    = "+12025550143"
	PatientWaID     = "12025550143"
	AppointmentID   = "appt-events-1"
	AppointmentPath = "/v1/clinics/" + ClinicID + "/appointments/" + AppointmentID

	// EHRSecret is the clinic's Standard Webhooks secret; the clinic names it as
	// env:EHRSecretEnv and Start sets that variable.
	EHRSecret    = "whsec_ZnJvbnRkZXNrLWV2ZW50cy1kZW1vLXNlY3JldC0wMQ=="
	EHRSecretEnv = "FRONTDESK_DEMO_EHR_SECRET"
	// APIToken is the bearer token in apigw-get-appointment.json.
	APIToken = "fd_demo_events_token_7Qm2Xw9Lp4Rt"
	// WriteToken is the clinic's bearer token for FHIR pushes.
	WriteToken = "fd_demo_events_write_token_3Vn8Kd5Qs1Wz"

	// WhatsApp app configuration; VerifyToken is the hub.verify_token in
	// apigw-webhook-verify.json. The X-Hub-Signature-256 stored in
	// apigw-webhook-message.json is NOT made with AppSecret: tests re-sign.
	AccessToken  = "fd-demo-graph-access-token"
	AppSecret    = "fd-demo-app-secret"
	VerifyToken  = "fd-demo-verify-token-4Kx8"
	GraphVersion = fnspec.WhatsAppAPIVersion
)

// DemoClinic is the clinic of the envelopes. It has no quiet hours: the tests run
// the sender and the sweep on the wall clock, and quiet hours would make them
// depend on the time of day. callbackURL may be empty.
func DemoClinic(callbackURL string) clinic.Clinic {
	return clinic.Clinic{
		ID: ClinicID, Name: "Demo Family Clinic", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: PhoneNumberID, WABAID: WABAID, DefaultLanguage: "en-US",
		Hours:            clinic.Hours{Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, Open: "08:00", Close: "17:00"},
		ReminderPolicy:   reminder.DefaultPolicy(),
		EmergencyNumber:  "911",
		CallbackURL:      callbackURL,
		WebhookSecretRef: "env:" + EHRSecretEnv,
		APITokenHash:     ehr.HashToken(APIToken),
		WriteTokenHash:   ehr.HashToken(WriteToken),
	}
}

// PutClinic validates and stores c.
func (s *Stack) PutClinic(t *testing.T, c clinic.Clinic) {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("apptest: clinic %s: %v", c.ID, err)
	}
	if err := s.Store.PutClinic(context.Background(), c); err != nil {
		t.Fatalf("apptest: put clinic: %v", err)
	}
}

// Book applies a native-JSON appointment body (the body of
// apigw-put-appointment.json) for AppointmentID the way the EHR API does: patient,
// consent, appointment and reminder plan. A non-zero start replaces the body's
// start, for tests that need the visit at a time relative to the wall clock.
func (s *Stack) Book(t *testing.T, c clinic.Clinic, body []byte, start time.Time) intake.Result {
	t.Helper()
	clock := platform.SystemClock{}
	ev, err := ehr.ParseNative(body, c, AppointmentID, clock.Now())
	if err != nil {
		t.Fatalf("apptest: parse appointment body: %v", err)
	}
	if !start.IsZero() {
		ev.Appointment.Start = start
	}
	svc := ehrapi.Intake(s.Store, clock, platform.NewLogger(testWriter{t}, nil))
	res, err := svc.Apply(context.Background(), c, ev)
	if err != nil {
		t.Fatalf("apptest: book appointment: %v", err)
	}
	return res
}

// testWriter sends seeding logs to the test log, shown only on failure or -v.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
