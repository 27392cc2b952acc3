package ehr

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

func TestOpenAPIDocument(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	// Every $ref must point at something, or tools render an empty schema.
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if k == "$ref" {
					ref, _ := c.(string)
					if !resolves(doc, ref) {
						t.Errorf("%s: $ref %q does not resolve", at, ref)
					}
					continue
				}
				walk(c, at+"/"+k)
			}
		case []any:
			for _, c := range v {
				walk(c, at)
			}
		}
	}
	walk(doc, "")
}

func resolves(doc map[string]any, ref string) bool {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var cur any = doc
	for _, part := range strings.Split(ptr, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]; !ok {
			return false
		}
	}
	return true
}

func TestRoutes(t *testing.T) {
	got, err := Routes()
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{
		{"GET", "/healthz"},
		{"GET", "/openapi.yaml"},
		{"POST", "/v1/clinics/{clinicId}/fhir"},
		{"GET", "/v1/clinics/{clinicId}/appointments/{appointmentId}"},
		{"PUT", "/v1/clinics/{clinicId}/appointments/{appointmentId}"},
		{"GET", "/v1/clinics/{clinicId}/patients/{patientId}/consent"},
		{"PUT", "/v1/clinics/{clinicId}/patients/{patientId}/consent"},
		{"PUT", "/v1/clinics/{clinicId}/slots/{slotId}"},
		{"GET", "/v1/clinics/{clinicId}/slots"},
		{"GET", "/v1/clinics/{clinicId}/metrics"},
		{"POST", "/v1/clinics/{clinicId}/patients/{patientId}/notices"},
		{"GET", "/v1/clinics/{clinicId}/patients/{patientId}/notices/{noticeId}"},
		{"GET", "/webhooks/whatsapp"},
		{"POST", "/webhooks/whatsapp"},
		{"GET", "/v1/clinics/{clinicId}/conversations"},
		{"GET", "/v1/clinics/{clinicId}/conversations/{conversationId}/messages"},
		{"POST", "/v1/clinics/{clinicId}/conversations/{conversationId}/messages"},
		{"POST", "/v1/clinics/{clinicId}/conversations/{conversationId}/close"},
		{"GET", "/v1/clinics/{clinicId}/audit"},
	}
	if !reflect.DeepEqual(sortRoutes(got), sortRoutes(want)) {
		t.Errorf("routes\n got %v\nwant %v", got, want)
	}
}

func sortRoutes(r []Route) map[string]bool {
	m := map[string]bool{}
	for _, x := range r {
		m[x.String()] = true
	}
	return m
}

// schemaFor compiles one of the document's component schemas, so the bodies this
// package parses and builds are checked against what the document promises.
func schemaFor(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	var doc any
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("openapi.json", inst); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("openapi.json#/components/schemas/" + name)
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return s
}

func validateJSON(t *testing.T, s *jsonschema.Schema, b []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(v)
}

func TestNativeTestdataMatchesSchema(t *testing.T) {
	s := schemaFor(t, "NativeAppointment")
	for _, f := range []string{"native/valid-full.json", "native/valid-minimal.json"} {
		if err := validateJSON(t, s, readTestdata(t, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if err := validateJSON(t, s, readTestdata(t, "native/invalid-many.json")); err == nil {
		t.Error("invalid-many.json passes the schema")
	}
	if err := validateJSON(t, schemaFor(t, "ConsentRequest"), []byte(`{"whatsapp":"opted_out","at":"2025-03-01T00:00:00Z"}`)); err != nil {
		t.Error(err)
	}
}

func TestAnswersMatchSchema(t *testing.T) {
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	ledger := []consent.Entry{
		{ClinicID: "main-street", PatientID: "pat-1", ID: "b", State: consent.OptedOut, At: at.Add(time.Hour), Source: consent.SourceWhatsApp, RecordedAt: at.Add(time.Hour)},
		{ClinicID: "main-street", PatientID: "pat-1", ID: "a", State: consent.OptedIn, At: at, Source: consent.SourceEHR, Evidence: "form", RecordedAt: at},
	}
	a := appointment.Appointment{ClinicID: "main-street", ID: "appt-1", Status: appointment.StatusBooked, Start: at.Add(72 * time.Hour),
		Duration: 30 * time.Minute, Location: appointment.Location{Name: "Main Street Clinic"}, PatientID: "pat-1", Version: 3,
		Response: appointment.ResponseConfirmed, RespondedAt: at.Add(2 * time.Hour), UpdatedAt: at}
	reminders := []reminder.Reminder{
		{Kind: reminder.KindSameDay, DueAt: at.Add(70 * time.Hour), State: reminder.StateScheduled},
		{Kind: reminder.KindDayBefore, DueAt: at.Add(24 * time.Hour), State: reminder.StateFailed, Reason: "undeliverable", ErrorCode: 131026},
	}
	state := NewAppointmentState(a, reminders, ledger, true)
	if state.Reminders[0].Kind != reminder.KindDayBefore || state.Consent.State != consent.OptedOut || state.Consent.History[0].ID != "a" {
		t.Errorf("state = %+v", state)
	}
	empty := NewAppointmentState(appointment.Appointment{ClinicID: "c", ID: "a", Status: appointment.StatusBooked, Start: at, PatientID: "p"}, nil, nil, false)

	tests := []struct {
		schema string
		value  any
	}{
		{"AppointmentState", state},
		{"AppointmentState", empty},
		{"ConsentState", NewConsentState("main-street", "pat-1", ledger)},
		{"ConsentState", NewConsentState("main-street", "pat-1", nil)},
		{"Problem", NewProblem(400, "/v1/clinics/main-street/appointments/a", &ValidationError{Problems: []FieldProblem{{Pointer: "/start", Detail: "is required"}}})},
		{"Problem", NewProblem(401, "/v1/clinics/main-street/fhir", ErrBadSignature)},
		{"OperationOutcome", json.RawMessage(OperationOutcome(&ValidationError{Problems: []FieldProblem{{Pointer: "Appointment.start", Detail: "is required"}}}))},
		{"OperationOutcome", json.RawMessage(OperationOutcome(errors.New("x")))},
		{"MetricsReport", metricsReport(t)},
	}
	for _, tc := range tests {
		b, err := json.Marshal(tc.value)
		if err != nil {
			t.Fatal(err)
		}
		if err := validateJSON(t, schemaFor(t, tc.schema), b); err != nil {
			t.Errorf("%s %s: %v", tc.schema, b, err)
		}
	}
}

// metricsReport is a report with every kind of number in it, as GET .../metrics
// answers it (the report with the clinic id and zone).
func metricsReport(t *testing.T) json.RawMessage {
	t.Helper()
	q, err := metrics.ParseQuery("2026-10-30", "2026-11-03", "week")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC)
	var days []metrics.DayCounts
	fb, _ := metrics.Feedback("c", "America/New_York", "fb-1", 4, at)
	for _, facts := range [][]metrics.Fact{
		metrics.ReminderStatus("c", "America/New_York", "w1", "a1", "", "read", at),
		metrics.Answer("c", "America/New_York", "a1", appointment.ResponseConfirmed, at),
		metrics.Priced("c", "America/New_York", "w1", "utility", true, at),
		metrics.HandOffAnswered("c", "America/New_York", "h1", at, at.Add(200*time.Hour)),
		metrics.HandOffAnswered("c", "America/New_York", "h2", at, at.Add(3*time.Minute)),
		fb,
	} {
		for _, f := range facts {
			days = append(days, metrics.DayCounts{Day: f.Day, Counts: f.Add})
		}
	}
	b, err := json.Marshal(struct {
		ClinicID string `json:"clinicId"`
		TimeZone string `json:"timeZone"`
		metrics.Report
	}{"c", "America/New_York", metrics.Summarise(q, days, metrics.DefaultRateCard())})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
