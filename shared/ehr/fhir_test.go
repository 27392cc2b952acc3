package ehr

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/fault"
)

// eventSummary is what a test asserts about one parsed FHIR event.
type eventSummary struct {
	ID, Status   string
	Start        string // UTC RFC 3339
	Duration     time.Duration
	Version      int64
	Location     appointment.Location
	Practitioner string
	PatientID    string
	Phone        string
	GivenName    string
	Language     string
	Incomplete   bool
}

func summarize(t *testing.T, ev Event) eventSummary {
	t.Helper()
	if err := ev.Appointment.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if ev.Appointment.ClinicID != testClinic.ID || ev.Patient.ClinicID != testClinic.ID {
		t.Errorf("clinic ids = %q / %q", ev.Appointment.ClinicID, ev.Patient.ClinicID)
	}
	if ev.Appointment.PatientID != ev.Patient.ID {
		t.Errorf("appointment patient %q != patient %q", ev.Appointment.PatientID, ev.Patient.ID)
	}
	return eventSummary{
		ID: ev.Appointment.ID, Status: string(ev.Appointment.Status), Start: ev.Appointment.Start.UTC().Format(time.RFC3339),
		Duration: ev.Appointment.Duration, Version: ev.Appointment.Version, Location: ev.Appointment.Location,
		Practitioner: ev.Appointment.Practitioner.Display, PatientID: ev.Patient.ID, Phone: ev.Patient.Phone,
		GivenName: ev.Patient.GivenName, Language: ev.Patient.Language, Incomplete: ev.PatientIncomplete,
	}
}

func TestParseFHIRFiles(t *testing.T) {
	const sub = "https://ehr.example.org/fhir/Subscription/frontdesk-appointments"
	tests := []struct {
		file    string
		kind    Kind
		sub     string
		since   int64
		summary []eventSummary
	}{
		{
			// Contained Patient keyed by its usual identifier; mobile beats a better
			// ranked work phone; official name; preferred language; versionId wins
			// over lastUpdated.
			file: "appointment-example.json", kind: KindEvents,
			summary: []eventSummary{{
				ID: "example", Status: "booked", Start: "2025-03-14T14:00:00Z", Duration: 30 * time.Minute, Version: 3,
				Location: appointment.Location{Name: "South Wing, second floor"}, Practitioner: "Dr Adam Careful",
				PatientID: "MRN-12345", Phone: "+15550101", GivenName: "Alexandra", Language: "es-MX",
			}},
		},
		{
			// Only a reference to the patient: the stored patient is used. Version
			// from lastUpdated.
			file: "appointment-2docs.json", kind: KindEvents,
			summary: []eventSummary{{
				ID: "2docs", Status: "booked", Start: "2025-03-15T09:00:00Z", Duration: 2 * time.Hour,
				Version: mustTime(t, "2025-03-02T08:15:00.250Z").UnixMilli(), Practitioner: "Dr Adam Careful",
				PatientID: "example", Incomplete: true,
			}},
		},
		{
			// Contained Location resource; sms/phone by rank; national numbers;
			// minutesDuration; preferred communication given as text.
			file: "appointment-examplereq.json", kind: KindEvents,
			summary: []eventSummary{{
				ID: "examplereq", Status: "proposed", Start: "2025-03-20T13:00:00Z", Duration: 15 * time.Minute, Version: 1,
				Location:  appointment.Location{Name: "South Wing, second floor", Address: "Galapagosweg 91, Building A, Den Burg, 9105 PZ"},
				PatientID: "MRN-777", Phone: "+15550103", GivenName: "Sam", Language: "fr-CA",
			}},
		},
		{
			// urn:uuid references, Location and Practitioner resources, and a second
			// appointment referencing the same patient by Type/id.
			file: "bundle-transaction.json", kind: KindEvents,
			summary: []eventSummary{
				{
					ID: "appt-2001", Status: "booked", Start: "2025-04-01T13:00:00Z", Duration: 20 * time.Minute, Version: 12,
					Location:     appointment.Location{Name: "Main Street Clinic", Address: "100 Main St, Springfield"},
					Practitioner: "Dr Adam Careful", PatientID: "pat-2001", Phone: "+15550112", GivenName: "Jordan", Language: "pt-BR",
				},
				{
					ID: "appt-2002", Status: "cancelled", Start: "2025-04-08T13:00:00Z", Duration: 20 * time.Minute, Version: 2,
					PatientID: "pat-2001", Phone: "+15550112", GivenName: "Jordan", Language: "pt-BR",
				},
			},
		},
		{
			file: "bundle-batch.json", kind: KindEvents,
			summary: []eventSummary{{
				ID: "appt-3001", Status: "arrived", Start: "2025-03-03T10:15:00Z", Duration: 30 * time.Minute, Version: 4,
				Location: appointment.Location{Name: "Room 4"}, PatientID: "pat-3001", Phone: "+15550121", GivenName: "Casey", Language: "en-US",
			}},
		},
		{
			// Absolute references matched by fullUrl; an "old" number is skipped;
			// the official name wins over a nickname; other resource types ignored.
			file: "bundle-collection.json", kind: KindEvents,
			summary: []eventSummary{{
				ID: "appt-4001", Status: "checked-in", Start: "2025-03-05T09:30:00Z",
				Version: mustTime(t, "2025-03-05T08:59:59.001Z").UnixMilli(), Practitioner: "Dr Rivera",
				PatientID: "pat-4001", Phone: "+15550132", GivenName: "Robin", Language: "en-US",
			}},
		},
		{
			// A versioned reference resolves to the included Patient.
			file: "bundle-searchset.json", kind: KindEvents,
			summary: []eventSummary{{
				ID: "appt-5001", Status: "fulfilled", Start: "2025-03-06T18:00:00Z", Duration: 30 * time.Minute, Version: 9,
				PatientID: "pat-5001", Phone: "+15550141", GivenName: "Morgan", Language: "en-US",
			}},
		},
		{file: "notification-handshake.json", kind: KindHandshake, sub: sub, since: 0},
		{file: "notification-heartbeat.json", kind: KindHeartbeat, sub: sub, since: 2},
		{file: "notification-query-status.json", kind: KindQueryStatus, sub: sub, since: 310},
		{
			// Full-resource event notification; among mobiles the lowest rank wins.
			file: "notification-event.json", kind: KindEvents, sub: sub, since: 3,
			summary: []eventSummary{{
				ID: "appt-6001", Status: "noshow", Start: "2025-03-01T18:00:00Z", Duration: 15 * time.Minute, Version: 5,
				PatientID: "pat-6001", Phone: "+15550162", GivenName: "Riley", Language: "vi",
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			res, err := ParseFHIR(readTestdata(t, "fhir/"+tc.file), testClinic, testNow)
			if err != nil {
				t.Fatalf("ParseFHIR: %v", err)
			}
			if res.Kind != tc.kind || res.SubscriptionRef != tc.sub || res.EventsSinceStart != tc.since {
				t.Errorf("kind, subscription, since = %q, %q, %d; want %q, %q, %d", res.Kind, res.SubscriptionRef, res.EventsSinceStart, tc.kind, tc.sub, tc.since)
			}
			var got []eventSummary
			for _, ev := range res.Events {
				got = append(got, summarize(t, ev))
				if ev.Consent != nil {
					t.Errorf("FHIR event carries consent %+v", ev.Consent)
				}
			}
			if !reflect.DeepEqual(got, tc.summary) {
				t.Errorf("events\n got %+v\nwant %+v", got, tc.summary)
			}
		})
	}
}

// mutate decodes a testdata file, lets mod change it and encodes it again.
func mutate(t *testing.T, file string, mod func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readTestdata(t, "fhir/"+file), &m); err != nil {
		t.Fatal(err)
	}
	mod(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFHIREveryStatus(t *testing.T) {
	for _, st := range appointment.Statuses {
		t.Run(string(st), func(t *testing.T) {
			body := mutate(t, "appointment-example.json", func(m map[string]any) { m["status"] = string(st) })
			res, err := ParseFHIR(body, testClinic, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Events) != 1 || res.Events[0].Appointment.Status != st {
				t.Errorf("events = %+v", res.Events)
			}
		})
	}
}

// containedPatient builds an Appointment whose contained Patient has the given
// telecom and communication.
func containedPatient(t *testing.T, telecom, communication []any) []byte {
	t.Helper()
	return mutate(t, "appointment-example.json", func(m map[string]any) {
		p := m["contained"].([]any)[0].(map[string]any)
		p["telecom"] = telecom
		if communication == nil {
			delete(p, "communication")
		} else {
			p["communication"] = communication
		}
	})
}

func cp(system, value, use string, rank int) map[string]any {
	m := map[string]any{"system": system, "value": value}
	if use != "" {
		m["use"] = use
	}
	if rank > 0 {
		m["rank"] = rank
	}
	return m
}

func TestFHIRTelecomPreference(t *testing.T) {
	tests := []struct {
		name    string
		telecom []any
		want    string
	}{
		{"mobile beats rank", []any{cp("phone", "+15550100", "home", 1), cp("phone", "+15550101", "mobile", 3)}, "+15550101"},
		{"lowest rank among mobiles", []any{cp("phone", "+15550102", "mobile", 2), cp("sms", "+15550103", "mobile", 1)}, "+15550103"},
		{"ranked beats unranked", []any{cp("phone", "+15550104", "", 0), cp("phone", "+15550105", "", 5)}, "+15550105"},
		{"document order breaks ties", []any{cp("phone", "+15550106", "work", 0), cp("phone", "+15550107", "home", 0)}, "+15550106"},
		{"sms counts", []any{cp("email", "x@example.org", "", 1), cp("sms", "+15550108", "", 0)}, "+15550108"},
		{"old is skipped", []any{cp("phone", "+15550109", "old", 1), cp("phone", "+15550110", "home", 2)}, "+15550110"},
		{"fax and pager ignored", []any{cp("fax", "+15550111", "mobile", 1), cp("pager", "+15550112", "mobile", 1), cp("phone", "+15550113", "work", 0)}, "+15550113"},
		{"tel URI and national", []any{cp("phone", "tel:555-0114", "mobile", 0)}, "+15550114"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ParseFHIR(containedPatient(t, tc.telecom, nil), testClinic, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Events[0].Patient.Phone; got != tc.want {
				t.Errorf("phone = %q, want %q", got, tc.want)
			}
		})
	}
}

func lang(code, text string, preferred bool) map[string]any {
	l := map[string]any{}
	if code != "" {
		l["coding"] = []any{map[string]any{"system": "urn:ietf:bcp:47", "code": code}}
	}
	if text != "" {
		l["text"] = text
	}
	m := map[string]any{"language": l}
	if preferred {
		m["preferred"] = true
	}
	return m
}

func TestFHIRCommunicationLanguage(t *testing.T) {
	tests := []struct {
		name string
		comm []any
		want string
	}{
		{"none: clinic default", nil, "en-US"},
		{"first when none preferred", []any{lang("de", "", false), lang("fr", "", false)}, "de"},
		{"preferred wins", []any{lang("de", "", false), lang("pt-BR", "", true)}, "pt-BR"},
		{"text when no coding", []any{lang("", "es-419", true)}, "es-419"},
		{"unparseable falls through", []any{lang("", "Klingon dialect", true), lang("nl", "", false)}, "nl"},
		{"nothing parseable: default", []any{lang("", "Sign language", true)}, "en-US"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ParseFHIR(containedPatient(t, []any{cp("phone", "+15550101", "mobile", 0)}, tc.comm), testClinic, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Events[0].Patient.Language; got != tc.want {
				t.Errorf("language = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFHIRVersion(t *testing.T) {
	lastUpdated := "2025-03-01T16:02:11.153Z"
	tests := []struct {
		name string
		meta any
		want int64
	}{
		{"versionId", map[string]any{"versionId": "42", "lastUpdated": lastUpdated}, 42},
		{"non-integer versionId falls back", map[string]any{"versionId": "W/\"abc\"", "lastUpdated": lastUpdated}, mustTime(t, lastUpdated).UnixMilli()},
		{"lastUpdated only", map[string]any{"lastUpdated": lastUpdated}, mustTime(t, lastUpdated).UnixMilli()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ParseFHIR(mutate(t, "appointment-example.json", func(m map[string]any) { m["meta"] = tc.meta }), testClinic, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Events[0].Appointment.Version; got != tc.want {
				t.Errorf("version = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestParseFHIRRejects(t *testing.T) {
	file := func(name string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return readTestdata(t, "fhir/"+name) }
	}
	mod := func(name string, f func(m map[string]any)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return mutate(t, name, f) }
	}
	raw := func(s string) func(t *testing.T) []byte { return func(*testing.T) []byte { return []byte(s) } }
	entry := func(m map[string]any, i int) map[string]any {
		return m["entry"].([]any)[i].(map[string]any)
	}
	resourceOf := func(m map[string]any, i int) map[string]any { return entry(m, i)["resource"].(map[string]any) }

	tests := []struct {
		name     string
		body     func(t *testing.T) []byte
		pointers []string
	}{
		{"malformed JSON", file("invalid-malformed.json"), []string{""}},
		{"trailing data", raw(`{"resourceType":"Appointment"} {}`), []string{""}},
		{"not an object", raw(`[{"resourceType":"Appointment"}]`), []string{""}},
		{"resourceType not a string", raw(`{"resourceType":7}`), []string{"resourceType"}},
		{"no resourceType", raw(`{"id":"x"}`), []string{"resourceType"}},
		{"wrong resourceType", file("invalid-resourcetype.json"), []string{"resourceType"}},
		{"appointment without patient", file("invalid-no-patient.json"), []string{"Appointment.participant"}},
		{"unparseable phone", file("invalid-phone.json"), []string{"Appointment.contained[0].telecom[0].value"}},
		{"wrong types", file("invalid-types.json"), []string{"Appointment.minutesDuration", "Appointment.participant", "Appointment.start"}},
		{"start not a string", raw(`{"resourceType":"Appointment","id":"a","status":"booked","start":1}`), []string{"Appointment.start"}},
		{"id-only notification", file("invalid-notification-id-only.json"), []string{"Bundle.entry[1].resource"}},
		{"missing id", mod("appointment-example.json", func(m map[string]any) { delete(m, "id") }), []string{"Appointment.id"}},
		{"id with slash", mod("appointment-example.json", func(m map[string]any) { m["id"] = "a/b" }), []string{"Appointment.id"}},
		{"unknown status", mod("appointment-example.json", func(m map[string]any) { m["status"] = "confirmed" }), []string{"Appointment.status"}},
		{"missing status", mod("appointment-example.json", func(m map[string]any) { delete(m, "status") }), []string{"Appointment.status"}},
		{"missing start", mod("appointment-example.json", func(m map[string]any) { delete(m, "start") }), []string{"Appointment.start"}},
		{"start without offset", mod("appointment-example.json", func(m map[string]any) { m["start"] = "2025-03-14T09:00:00" }), []string{"Appointment.start"}},
		{"end before start", mod("appointment-example.json", func(m map[string]any) { m["end"] = "2025-03-14T08:00:00-05:00" }), []string{"Appointment.end"}},
		{"no version", mod("appointment-example.json", func(m map[string]any) { delete(m, "meta") }), []string{"Appointment.meta"}},
		{"bad lastUpdated", mod("appointment-2docs.json", func(m map[string]any) { m["meta"] = map[string]any{"lastUpdated": "yesterday"} }), []string{"Appointment.meta.lastUpdated"}},
		{"missing contained target", mod("appointment-example.json", func(m map[string]any) {
			m["participant"].([]any)[0].(map[string]any)["actor"] = map[string]any{"reference": "#nope"}
		}), []string{"Appointment.participant", "Appointment.participant[0].actor.reference"}},
		{"contained patient without identifier", mod("appointment-example.json", func(m map[string]any) {
			delete(m["contained"].([]any)[0].(map[string]any), "identifier")
		}), []string{"Appointment.contained[0].identifier"}},
		{"patient without phone", mod("appointment-example.json", func(m map[string]any) {
			m["contained"].([]any)[0].(map[string]any)["telecom"] = []any{cp("email", "a@example.org", "", 0)}
		}), []string{"Appointment.contained[0].telecom"}},
		{"two patients", mod("appointment-example.json", func(m map[string]any) {
			m["participant"] = append(m["participant"].([]any), map[string]any{"actor": map[string]any{"reference": "Patient/other"}})
		}), []string{"Appointment.participant[3].actor"}},
		{"bundle type document", mod("bundle-batch.json", func(m map[string]any) { m["type"] = "document" }), []string{"Bundle.type"}},
		{"bundle without type", mod("bundle-batch.json", func(m map[string]any) { delete(m, "type") }), []string{"Bundle.type"}},
		{"bundle without appointment", mod("bundle-batch.json", func(m map[string]any) { m["entry"] = m["entry"].([]any)[1:] }), []string{"Bundle.entry"}},
		{"bundle entry is not an array", raw(`{"resourceType":"Bundle","type":"batch","entry":{}}`), []string{"Bundle.entry"}},
		{"delete entry", mod("bundle-batch.json", func(m map[string]any) {
			m["entry"] = append(m["entry"].([]any), map[string]any{"request": map[string]any{"method": "DELETE", "url": "Appointment/appt-9"}})
		}), []string{"Bundle.entry[2].request.method"}},
		{"unresolved urn reference", mod("bundle-transaction.json", func(m map[string]any) {
			m["entry"] = m["entry"].([]any)[1:] // drop the Patient
			m["entry"] = m["entry"].([]any)[:3] // and the second appointment
		}), []string{"Bundle.entry[2].resource.participant", "Bundle.entry[2].resource.participant[0].actor.reference"}},
		{"phone in bundle patient", mod("bundle-batch.json", func(m map[string]any) {
			resourceOf(m, 1)["telecom"] = []any{cp("sms", "not a number", "", 0)}
		}), []string{"Bundle.entry[1].resource.telecom[0].value"}},
		{"appointment in bundle missing start", mod("bundle-transaction.json", func(m map[string]any) { delete(resourceOf(m, 3), "start") }), []string{"Bundle.entry[3].resource.start"}},
		{"history without parameters", mod("notification-event.json", func(m map[string]any) { m["entry"] = m["entry"].([]any)[1:] }), []string{"Bundle.entry[0].resource.resourceType"}},
		{"history with no entries", raw(`{"resourceType":"Bundle","type":"history","entry":[]}`), []string{"Bundle.entry"}},
		{"notification without type", mod("notification-heartbeat.json", func(m map[string]any) {
			p := resourceOf(m, 0)
			p["parameter"] = p["parameter"].([]any)[:3]
		}), []string{"Bundle.entry[0].resource.parameter"}},
		{"notification unknown type", mod("notification-heartbeat.json", func(m map[string]any) {
			resourceOf(m, 0)["parameter"].([]any)[3].(map[string]any)["valueCode"] = "poke"
		}), []string{"Bundle.entry[0].resource.parameter"}},
		{"notification bad counter", mod("notification-heartbeat.json", func(m map[string]any) {
			resourceOf(m, 0)["parameter"].([]any)[4].(map[string]any)["valueString"] = "many"
		}), []string{"Bundle.entry[0].resource.parameter[4]"}},
		{"event notification without content", mod("notification-event.json", func(m map[string]any) { m["entry"] = m["entry"].([]any)[:1] }), []string{"Bundle.entry"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ParseFHIR(tc.body(t), testClinic, testNow)
			if err == nil {
				t.Fatalf("accepted: %+v", res)
			}
			if got := pointers(t, err); !reflect.DeepEqual(got, tc.pointers) {
				t.Errorf("pointers = %q, want %q (%v)", got, tc.pointers, err)
			}
			// Whatever went wrong, the answer must be a valid OperationOutcome.
			var oo map[string]any
			if err := json.Unmarshal(OperationOutcome(err), &oo); err != nil || oo["resourceType"] != "OperationOutcome" {
				t.Errorf("OperationOutcome = %v, %v", oo, err)
			}
		})
	}
}

func TestOperationOutcome(t *testing.T) {
	type issue struct {
		Severity, Code, Diagnostics string
		Expression                  []string
	}
	tests := []struct {
		name string
		err  error
		want []issue
	}{
		{"validation", &ValidationError{Problems: []FieldProblem{{Pointer: "Appointment.start", Detail: "is required"}, {Detail: "malformed JSON"}}},
			[]issue{{"error", "invalid", "is required", []string{"Appointment.start"}}, {"error", "invalid", "malformed JSON", nil}}},
		{"signature", ErrBadSignature, []issue{{"error", "security", ErrBadSignature.Error(), nil}}},
		{"wrapped timestamp", errors.Join(errors.New("verify"), ErrTimestamp), []issue{{"error", "security", "verify\n" + ErrTimestamp.Error(), nil}}},
		{"not found", errors.Join(errors.New("clinic main-street"), fault.ErrNotFound), []issue{{"error", "not-found", "clinic main-street\nnot found", nil}}},
		{"other", errors.New("body over 256 KiB"), []issue{{"error", "processing", "body over 256 KiB", nil}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				ResourceType string
				Issue        []issue
			}
			if err := json.Unmarshal(OperationOutcome(tc.err), &got); err != nil {
				t.Fatal(err)
			}
			if got.ResourceType != "OperationOutcome" || !reflect.DeepEqual(got.Issue, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// A parse error must name the field, never echo a patient's phone number.
func TestFHIRErrorsDoNotEchoPhone(t *testing.T) {
	_, err := ParseFHIR(containedPatient(t, []any{cp("phone", "+1555 0101 99999 9", "mobile", 0)}, nil), testClinic, testNow)
	if err == nil {
		t.Fatal("accepted an impossible number")
	}
	if strings.Contains(err.Error(), "0101") || strings.Contains(string(OperationOutcome(err)), "0101") {
		t.Errorf("error echoes the number: %v", err)
	}
}

// A Bundle that only references a patient Frontdesk already knows is accepted with
// PatientIncomplete, like a lone Appointment.
func TestFHIRBundlePatientByReferenceOnly(t *testing.T) {
	body := mutate(t, "bundle-batch.json", func(m map[string]any) { m["entry"] = m["entry"].([]any)[:1] })
	res, err := ParseFHIR(body, testClinic, testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := Event{PatientIncomplete: true}
	got := res.Events[0]
	if !got.PatientIncomplete || got.Patient != (appointment.Patient{ClinicID: testClinic.ID, ID: "pat-3001"}) || got.Appointment.PatientID != "pat-3001" {
		t.Errorf("event = %+v, want patient reference only (%+v)", got, want)
	}
}
