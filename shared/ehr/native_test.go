package ehr

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
)

var (
	testClinic = clinic.Clinic{ID: "main-street", Name: "Main Street Clinic", TimeZone: "America/Chicago", Country: "US", DefaultLanguage: "en-US"}
	testNow    = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// utc normalises every time in an event so reflect.DeepEqual compares instants,
// not the *time.Location a parser happened to attach.
func utc(ev Event) Event {
	ev.Appointment.Start = ev.Appointment.Start.UTC()
	ev.Appointment.UpdatedAt = ev.Appointment.UpdatedAt.UTC()
	ev.Patient.UpdatedAt = ev.Patient.UpdatedAt.UTC()
	if ev.Consent != nil {
		c := *ev.Consent
		c.At, c.RecordedAt = c.At.UTC(), c.RecordedAt.UTC()
		ev.Consent = &c
	}
	return ev
}

// pointers returns the sorted pointers of a *ValidationError, failing the test for
// any other error.
func pointers(t *testing.T, err error) []string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T), want *ValidationError", err, err)
	}
	var out []string
	for _, p := range ve.Problems {
		if p.Detail == "" {
			t.Errorf("problem at %q has no detail", p.Pointer)
		}
		out = append(out, p.Pointer)
	}
	sort.Strings(out)
	return out
}

func TestParseNativeFiles(t *testing.T) {
	consentAt := mustTime(t, "2025-03-01T10:00:00Z")
	tests := []struct {
		file string
		want Event
	}{
		{
			file: "native/valid-full.json",
			want: Event{
				Appointment: appointment.Appointment{
					ClinicID: "main-street", ID: "appt-1", Status: appointment.StatusBooked,
					Start: mustTime(t, "2025-03-14T14:30:00Z"), Duration: 30 * time.Minute,
					Location:     appointment.Location{Name: "Main Street Clinic", Address: "100 Main St, Springfield"},
					Practitioner: appointment.Practitioner{Display: "Dr. Ada Example"},
					PatientID:    "pat-1001", Version: 3, UpdatedAt: testNow,
				},
				Patient: appointment.Patient{ClinicID: "main-street", ID: "pat-1001", Phone: "+15550101", GivenName: "Alex", Language: "es-MX", UpdatedAt: testNow},
				Consent: &consent.Entry{
					ClinicID: "main-street", PatientID: "pat-1001", State: consent.OptedIn, At: consentAt,
					Source: "intake-form", Evidence: "form 17 signed at reception", RecordedAt: testNow,
					ID: ConsentID("main-street", "pat-1001", consentAt, consent.OptedIn, "intake-form"),
				},
			},
		},
		{
			// National number in the clinic's country, updatedAt instead of version,
			// clinic default language.
			file: "native/valid-minimal.json",
			want: Event{
				Appointment: appointment.Appointment{
					ClinicID: "main-street", ID: "appt-1", Status: appointment.StatusCancelled,
					Start: mustTime(t, "2025-03-14T14:30:00Z"), PatientID: "pat-1002",
					Version: mustTime(t, "2025-03-02T07:00:00.123Z").UnixMilli(), UpdatedAt: testNow,
				},
				Patient: appointment.Patient{ClinicID: "main-street", ID: "pat-1002", Phone: "+15550102", Language: "en-US", UpdatedAt: testNow},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := ParseNative(readTestdata(t, tc.file), testClinic, "appt-1", testNow)
			if err != nil {
				t.Fatalf("ParseNative: %v", err)
			}
			if g, w := utc(got), utc(tc.want); !reflect.DeepEqual(g, w) {
				t.Errorf("got  %+v\nwant %+v", g, w)
			}
			if err := got.Appointment.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestParseNativeReportsEveryProblem(t *testing.T) {
	_, err := ParseNative(readTestdata(t, "native/invalid-many.json"), testClinic, "appt-1", testNow)
	got := pointers(t, err)
	want := []string{"/Status", "/consent/at", "/consent/whatsapp", "/durationMinutes", "/location", "/patient/dob",
		"/patient/id", "/patient/language", "/patient/phone", "/start", "/status", "/version"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pointers\n got %q\nwant %q", got, want)
	}
	// Error messages go to logs and answers: never the phone number.
	if strings.Contains(err.Error(), `"12"`) {
		t.Errorf("error echoes the phone number: %v", err)
	}
}

// nativeBody returns a valid native body after mod changed it.
func nativeBody(t *testing.T, mod func(m map[string]any)) []byte {
	t.Helper()
	m := map[string]any{
		"status":  "booked",
		"start":   "2025-03-14T09:30:00-05:00",
		"patient": map[string]any{"id": "pat-1", "phone": "+15550101"},
		"version": 1,
	}
	if mod != nil {
		mod(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func patientOf(m map[string]any) map[string]any { return m["patient"].(map[string]any) }

func TestParseNativeRejects(t *testing.T) {
	tests := []struct {
		name     string
		body     []byte
		clinic   *clinic.Clinic
		apptID   string
		pointers []string
	}{
		{name: "empty body", body: []byte(" "), pointers: []string{""}},
		{name: "malformed", body: []byte(`{"status": "booked",`), pointers: []string{""}},
		{name: "trailing object", body: append(nativeBody(t, nil), []byte(`{}`)...), pointers: []string{""}},
		{name: "trailing garbage", body: append(nativeBody(t, nil), []byte(` x`)...), pointers: []string{""}},
		{name: "array", body: []byte(`[{"status":"booked"}]`), pointers: []string{""}},
		{name: "string", body: []byte(`"booked"`), pointers: []string{""}},
		{name: "duplicate key", body: []byte(`{"status":"booked","status":"cancelled","start":"2025-03-14T09:30:00Z","patient":{"id":"p","phone":"+15550101"},"version":1}`), pointers: []string{"/status"}},
		{name: "case-variant key", body: nativeBody(t, func(m map[string]any) { m["Start"] = "2025-03-15T09:30:00Z" }), pointers: []string{"/Start"}},
		{name: "unknown nested field", body: nativeBody(t, func(m map[string]any) { m["location"] = map[string]any{"name": "A", "floor": 2} }), pointers: []string{"/location/floor"}},
		{name: "pointer escaping", body: nativeBody(t, func(m map[string]any) { m["a/b~c"] = 1 }), pointers: []string{"/a~1b~0c"}},
		{name: "missing status", body: nativeBody(t, func(m map[string]any) { delete(m, "status") }), pointers: []string{"/status"}},
		{name: "null status", body: nativeBody(t, func(m map[string]any) { m["status"] = nil }), pointers: []string{"/status"}},
		{name: "status wrong type", body: nativeBody(t, func(m map[string]any) { m["status"] = 1 }), pointers: []string{"/status"}},
		{name: "unknown status", body: nativeBody(t, func(m map[string]any) { m["status"] = "confirmed" }), pointers: []string{"/status"}},
		{name: "missing start", body: nativeBody(t, func(m map[string]any) { delete(m, "start") }), pointers: []string{"/start"}},
		{name: "start without offset", body: nativeBody(t, func(m map[string]any) { m["start"] = "2025-03-14T09:30:00" }), pointers: []string{"/start"}},
		{name: "start date only", body: nativeBody(t, func(m map[string]any) { m["start"] = "2025-03-14" }), pointers: []string{"/start"}},
		{name: "duration zero", body: nativeBody(t, func(m map[string]any) { m["durationMinutes"] = 0 }), pointers: []string{"/durationMinutes"}},
		{name: "duration over a day", body: nativeBody(t, func(m map[string]any) { m["durationMinutes"] = 1441 }), pointers: []string{"/durationMinutes"}},
		{name: "duration fraction", body: nativeBody(t, func(m map[string]any) { m["durationMinutes"] = 1.5 }), pointers: []string{"/durationMinutes"}},
		{name: "duration string", body: nativeBody(t, func(m map[string]any) { m["durationMinutes"] = "30" }), pointers: []string{"/durationMinutes"}},
		{name: "missing patient", body: nativeBody(t, func(m map[string]any) { delete(m, "patient") }), pointers: []string{"/patient"}},
		{name: "patient not object", body: nativeBody(t, func(m map[string]any) { m["patient"] = "pat-1" }), pointers: []string{"/patient"}},
		{name: "missing phone", body: nativeBody(t, func(m map[string]any) { delete(patientOf(m), "phone") }), pointers: []string{"/patient/phone"}},
		{name: "missing patient id", body: nativeBody(t, func(m map[string]any) { delete(patientOf(m), "id") }), pointers: []string{"/patient/id"}},
		{name: "patient id with hash", body: nativeBody(t, func(m map[string]any) { patientOf(m)["id"] = "a#b" }), pointers: []string{"/patient/id"}},
		{name: "phone too short", body: nativeBody(t, func(m map[string]any) { patientOf(m)["phone"] = "+1555" }), pointers: []string{"/patient/phone"}},
		{name: "phone letters", body: nativeBody(t, func(m map[string]any) { patientOf(m)["phone"] = "call me" }), pointers: []string{"/patient/phone"}},
		{name: "phone unknown country code", body: nativeBody(t, func(m map[string]any) { patientOf(m)["phone"] = "+999123456789" }), pointers: []string{"/patient/phone"}},
		{name: "national phone without clinic country", clinic: &clinic.Clinic{ID: "x", DefaultLanguage: "en"}, body: nativeBody(t, func(m map[string]any) { patientOf(m)["phone"] = "555-0101" }), pointers: []string{"/patient/phone"}},
		{name: "language not BCP 47", body: nativeBody(t, func(m map[string]any) { patientOf(m)["language"] = "Spanish please" }), pointers: []string{"/patient/language"}},
		{name: "no version", body: nativeBody(t, func(m map[string]any) { delete(m, "version") }), pointers: []string{"/version"}},
		{name: "version and updatedAt", body: nativeBody(t, func(m map[string]any) { m["updatedAt"] = "2025-03-01T00:00:00Z" }), pointers: []string{"/updatedAt"}},
		{name: "version zero", body: nativeBody(t, func(m map[string]any) { m["version"] = 0 }), pointers: []string{"/version"}},
		{name: "version string", body: nativeBody(t, func(m map[string]any) { m["version"] = "3" }), pointers: []string{"/version"}},
		{name: "version too big", body: []byte(strings.Replace(string(nativeBody(t, nil)), `"version":1`, `"version":1e30`, 1)), pointers: []string{"/version"}},
		{name: "updatedAt no offset", body: nativeBody(t, func(m map[string]any) { delete(m, "version"); m["updatedAt"] = "2025-03-01T00:00:00" }), pointers: []string{"/updatedAt"}},
		{name: "consent future", body: nativeBody(t, func(m map[string]any) {
			m["consent"] = map[string]any{"whatsapp": "opted_in", "at": testNow.Add(time.Hour).Format(time.RFC3339)}
		}), pointers: []string{"/consent/at"}},
		{name: "consent missing at", body: nativeBody(t, func(m map[string]any) { m["consent"] = map[string]any{"whatsapp": "opted_out"} }), pointers: []string{"/consent/at"}},
		{name: "consent unknown field", body: nativeBody(t, func(m map[string]any) {
			m["consent"] = map[string]any{"whatsapp": "opted_out", "at": "2025-03-01T00:00:00Z", "channel": "sms"}
		}), pointers: []string{"/consent/channel"}},
		{name: "bad appointment id", apptID: "a/b", body: nativeBody(t, nil), pointers: []string{""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testClinic
			if tc.clinic != nil {
				c = *tc.clinic
			}
			id := "appt-1"
			if tc.apptID != "" {
				id = tc.apptID
			}
			ev, err := ParseNative(tc.body, c, id, testNow)
			if err == nil {
				t.Fatalf("accepted: %+v", ev)
			}
			if got := pointers(t, err); !reflect.DeepEqual(got, tc.pointers) {
				t.Errorf("pointers = %q, want %q (%v)", got, tc.pointers, err)
			}
		})
	}
}

func TestParseNativeAccepts(t *testing.T) {
	tests := []struct {
		name  string
		body  []byte
		check func(t *testing.T, ev Event)
	}{
		{name: "national with punctuation", body: nativeBody(t, func(m map[string]any) { patientOf(m)["phone"] = "(555) 0199" }), check: func(t *testing.T, ev Event) {
			if ev.Patient.Phone != "+15550199" {
				t.Errorf("phone = %q", ev.Patient.Phone)
			}
		}},
		{name: "real-format US number", body: nativeBody(t, func(m map[string]any) { patientOf(m)["phone"] = "+1 202-555-0101" }), check: func(t *testing.T, ev Event) {
			if ev.Patient.Phone != "+12025550101" {
				t.Errorf("phone = %q", ev.Patient.Phone)
			}
		}},
		{name: "language canonicalised", body: nativeBody(t, func(m map[string]any) { patientOf(m)["language"] = "es_mx" }), check: func(t *testing.T, ev Event) {
			if ev.Patient.Language != "es-MX" {
				t.Errorf("language = %q", ev.Patient.Language)
			}
		}},
		{name: "integral float duration", body: nativeBody(t, func(m map[string]any) { m["durationMinutes"] = 60.0 }), check: func(t *testing.T, ev Event) {
			if ev.Appointment.Duration != time.Hour {
				t.Errorf("duration = %v", ev.Appointment.Duration)
			}
		}},
		{name: "null optional fields", body: []byte(`{"status":"booked","start":"2025-03-14T09:30:00Z","patient":{"id":"p","phone":"+15550101","language":null},"location":null,"consent":null,"version":7}`), check: func(t *testing.T, ev Event) {
			if ev.Consent != nil || ev.Patient.Language != "en-US" || ev.Appointment.Version != 7 {
				t.Errorf("event = %+v", ev)
			}
		}},
		{name: "consent default source", body: nativeBody(t, func(m map[string]any) {
			m["consent"] = map[string]any{"whatsapp": "opted_out", "at": "2025-03-01T10:00:00+01:00"}
		}), check: func(t *testing.T, ev Event) {
			if ev.Consent == nil || ev.Consent.Source != consent.SourceEHR || ev.Consent.State != consent.OptedOut || ev.Consent.Validate() != nil {
				t.Fatalf("consent = %+v", ev.Consent)
			}
			if !ev.Consent.At.Equal(mustTime(t, "2025-03-01T09:00:00Z")) {
				t.Errorf("at = %v", ev.Consent.At)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := ParseNative(tc.body, testClinic, "appt-1", testNow)
			if err != nil {
				t.Fatalf("ParseNative: %v", err)
			}
			tc.check(t, ev)
		})
	}
}

func TestParseNativeEveryStatus(t *testing.T) {
	if len(appointment.Statuses) != 10 {
		t.Fatalf("FHIR R4 has 10 appointment status codes, domain lists %d", len(appointment.Statuses))
	}
	for _, st := range appointment.Statuses {
		t.Run(string(st), func(t *testing.T) {
			ev, err := ParseNative(nativeBody(t, func(m map[string]any) { m["status"] = string(st) }), testClinic, "appt-1", testNow)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Appointment.Status != st {
				t.Errorf("status = %q", ev.Appointment.Status)
			}
		})
	}
}

// A redelivered statement must dedupe in the ledger (same id) even though it
// arrives at a different time; a different statement must not.
func TestConsentIDDeterministic(t *testing.T) {
	body := nativeBody(t, func(m map[string]any) {
		m["consent"] = map[string]any{"whatsapp": "opted_in", "at": "2025-03-01T10:00:00Z", "source": "front-desk"}
	})
	first, err := ParseNative(body, testClinic, "appt-1", testNow)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseNative(body, testClinic, "appt-2", testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if first.Consent.ID != again.Consent.ID {
		t.Errorf("redelivery changed the consent id: %s vs %s", first.Consent.ID, again.Consent.ID)
	}
	at := mustTime(t, "2025-03-01T10:00:00Z")
	base := ConsentID("main-street", "pat-1", at, consent.OptedIn, "front-desk")
	if base != first.Consent.ID {
		t.Errorf("ConsentID = %s, parsed %s", base, first.Consent.ID)
	}
	for name, other := range map[string]string{
		"state":   ConsentID("main-street", "pat-1", at, consent.OptedOut, "front-desk"),
		"at":      ConsentID("main-street", "pat-1", at.Add(time.Second), consent.OptedIn, "front-desk"),
		"patient": ConsentID("main-street", "pat-2", at, consent.OptedIn, "front-desk"),
		"clinic":  ConsentID("other", "pat-1", at, consent.OptedIn, "front-desk"),
		"source":  ConsentID("main-street", "pat-1", at, consent.OptedIn, "ehr"),
		"shifted": ConsentID("main-street", "pat-", at, consent.OptedIn, "1front-desk"),
	} {
		if other == base {
			t.Errorf("changing %s kept the id", name)
		}
	}
}

func TestParseConsent(t *testing.T) {
	e, err := ParseConsent([]byte(`{"whatsapp":"opted_out","at":"2025-03-09T08:00:00-06:00","evidence":"called the front desk"}`), testClinic, "pat-1", testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := consent.Entry{ClinicID: "main-street", PatientID: "pat-1", State: consent.OptedOut, At: mustTime(t, "2025-03-09T14:00:00Z"),
		Source: consent.SourceAPI, Evidence: "called the front desk", RecordedAt: testNow}
	want.ID = ConsentID("main-street", "pat-1", want.At, want.State, want.Source)
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got  %+v\nwant %+v", e, want)
	}
	if err := e.Validate(); err != nil {
		t.Error(err)
	}

	_, err = ParseConsent([]byte(`{"whatsapp":"maybe","source":7,"extra":true}`), testClinic, "pat#1", testNow)
	got := pointers(t, err)
	if want := []string{"", "/at", "/extra", "/source", "/whatsapp"}; !reflect.DeepEqual(got, want) {
		t.Errorf("pointers = %q, want %q", got, want)
	}
}
