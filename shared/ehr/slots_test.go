package ehr

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

const validSlotBody = `{"start":"2025-03-14T09:30:00-05:00","durationMinutes":30,"status":"free",
 "location":{"name":"  Main Street Clinic "},"practitioner":{"display":"Dr. Ana Example"},"visitType":"FOLLOWUP","version":4}`

func TestParseNativeSlotAccepts(t *testing.T) {
	start := time.Date(2025, 3, 14, 14, 30, 0, 0, time.UTC)
	cases := []struct {
		name string
		body string
		want slot.Slot
	}{
		{"every field", validSlotBody, slot.Slot{ClinicID: testClinic.ID, ID: "slot-1", Start: start, Duration: 30 * time.Minute,
			Status: slot.Free, Location: "Main Street Clinic", Practitioner: "Dr. Ana Example", VisitType: "FOLLOWUP", Version: 4, UpdatedAt: testNow}},
		{"minimal, busy, updatedAt", `{"start":"2025-03-14T14:30:00Z","durationMinutes":15,"status":"busy","updatedAt":"2025-03-10T12:04:00Z"}`,
			slot.Slot{ClinicID: testClinic.ID, ID: "slot-1", Start: start, Duration: 15 * time.Minute, Status: slot.Busy,
				Version: time.Date(2025, 3, 10, 12, 4, 0, 0, time.UTC).UnixMilli(), UpdatedAt: testNow}},
		{"nulls are absent", `{"start":"2025-03-14T14:30:00Z","durationMinutes":15,"status":"free","location":null,"visitType":null,"version":1}`,
			slot.Slot{ClinicID: testClinic.ID, ID: "slot-1", Start: start, Duration: 15 * time.Minute, Status: slot.Free, Version: 1, UpdatedAt: testNow}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := ParseNativeSlot([]byte(tc.body), testClinic, "slot-1", testNow)
			if err != nil {
				t.Fatal(err)
			}
			ev.Slot.Start = ev.Slot.Start.UTC()
			if !reflect.DeepEqual(ev.Slot, tc.want) {
				t.Errorf("slot\n got %+v\nwant %+v", ev.Slot, tc.want)
			}
			if ev.Orderings != (Orderings{}) {
				t.Errorf("native event has FHIR orderings %+v", ev.Orderings)
			}
			if err := ev.Slot.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestParseNativeSlotRejects(t *testing.T) {
	cases := []struct {
		name   string
		slotID string
		body   string
		want   []string
	}{
		{"bad status", "s1", `{"start":"2025-03-14T14:30:00Z","durationMinutes":15,"status":"busy-tentative","version":1}`, []string{"/status"}},
		{"negative duration", "s1", `{"start":"2025-03-14T14:30:00Z","durationMinutes":-15,"status":"free","version":1}`, []string{"/durationMinutes"}},
		{"duration over a day", "s1", `{"start":"2025-03-14T14:30:00Z","durationMinutes":1441,"status":"free","version":1}`, []string{"/durationMinutes"}},
		{"duration missing", "s1", `{"start":"2025-03-14T14:30:00Z","status":"free","version":1}`, []string{"/durationMinutes"}},
		{"updatedAt far ahead", "s1", `{"start":"2025-03-14T14:30:00Z","durationMinutes":15,"status":"free","updatedAt":"9999-01-01T00:00:00Z"}`, []string{"/updatedAt"}},
		{"version over 2^53-1", "s1", `{"start":"2025-03-14T14:30:00Z","durationMinutes":15,"status":"free","version":9007199254740992}`, []string{"/version"}},
		{"no version", "s1", `{"start":"2025-03-14T14:30:00Z","durationMinutes":15,"status":"free"}`, []string{"/version"}},
		{"start without offset", "s1", `{"start":"2025-03-14T14:30:00","durationMinutes":15,"status":"free","version":1}`, []string{"/start"}},
		{"visitType with spaces around", "s1", `{"start":"2025-03-14T14:30:00Z","durationMinutes":15,"status":"free","visitType":" NEW","version":1}`, []string{"/visitType"}},
		{"unknown and address fields", "s1", `{"start":"2025-03-14T14:30:00Z","durationMinutes":15,"status":"free","patient":{},"location":{"name":"A","address":"B"},"version":1}`,
			[]string{"/location/address", "/patient"}},
		{"bad path id", "s#1", `{"start":"2025-03-14T14:30:00Z","durationMinutes":15,"status":"free","version":1}`, []string{""}},
		{"everything at once", "s1", `{"durationMinutes":"x","status":7}`, []string{"/durationMinutes", "/start", "/status", "/version"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseNativeSlot([]byte(tc.body), testClinic, tc.slotID, testNow)
			if got := pointers(t, err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("pointers %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
}

func TestParseNativeVisitTypeAndWaitlist(t *testing.T) {
	base := string(readTestdata(t, "native/valid-minimal.json"))
	with := func(extra string) []byte {
		return []byte(strings.Replace(base, "{", "{"+extra+",", 1))
	}
	yes, no := true, false
	cases := []struct {
		name      string
		body      []byte
		visitType string
		waitlist  *bool
		bad       string
	}{
		{"neither", []byte(base), "", nil, ""},
		{"both", with(`"visitType":"FOLLOWUP","waitlist":true`), "FOLLOWUP", &yes, ""},
		{"waitlist false", with(`"waitlist":false`), "", &no, ""},
		{"waitlist as a string", with(`"waitlist":"yes"`), "", nil, "/waitlist"},
		{"visitType too long", with(`"visitType":"` + strings.Repeat("x", 65) + `"`), "", nil, "/visitType"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := ParseNative(tc.body, testClinic, "appt-1", testNow)
			if tc.bad != "" {
				if got := pointers(t, err); !reflect.DeepEqual(got, []string{tc.bad}) {
					t.Errorf("pointers %q, want %q", got, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Appointment.VisitType != tc.visitType || !reflect.DeepEqual(ev.Waitlist, tc.waitlist) ||
				ev.Appointment.Waitlist != (tc.waitlist != nil && *tc.waitlist) {
				t.Errorf("visitType %q waitlist %v/%v, want %q %v", ev.Appointment.VisitType, ev.Waitlist, ev.Appointment.Waitlist, tc.visitType, tc.waitlist)
			}
		})
	}
}

func TestParseFHIRSlotBundle(t *testing.T) {
	res, err := ParseFHIR(readTestdata(t, "fhir/bundle-slots.json"), testClinic, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 0 || len(res.Slots) != 2 {
		t.Fatalf("%d events, %d slots; want 0 and 2", len(res.Events), len(res.Slots))
	}
	want := []slot.Slot{
		{ClinicID: testClinic.ID, ID: "slot-901", Start: time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC), Duration: 30 * time.Minute,
			Status: slot.Free, Location: "Demo Family Clinic", Practitioner: "Dr. Ana Example", VisitType: "124",
			Version: 3, OrderingKey: OrderVersionID, UpdatedAt: testNow},
		{ClinicID: testClinic.ID, ID: "slot-902", Start: time.Date(2026, 12, 3, 14, 30, 0, 0, time.UTC), Duration: 45 * time.Minute,
			Status: slot.Busy, Location: "Demo Family Clinic", Practitioner: "Dr. Ana Example", VisitType: "FOLLOWUP",
			Version: 1, OrderingKey: OrderVersionID, UpdatedAt: testNow},
	}
	for i, ev := range res.Slots {
		ev.Slot.Start = ev.Slot.Start.UTC()
		if !reflect.DeepEqual(ev.Slot, want[i]) {
			t.Errorf("slot %d\n got %+v\nwant %+v", i, ev.Slot, want[i])
		}
	}
}

func TestParseFHIRLoneSlotAndNotification(t *testing.T) {
	lone := `{"resourceType":"Slot","id":"slot-5","meta":{"lastUpdated":"2025-03-10T11:00:00Z"},
	 "contained":[{"resourceType":"Schedule","id":"s","actor":[{"reference":"Location/loc-9","display":"Harbor Clinic"}]}],
	 "schedule":{"reference":"#s"},"status":"free","appointmentType":{"coding":[{"code":"ROUTINE"}]},
	 "start":"2025-03-20T09:00:00Z","end":"2025-03-20T09:20:00Z"}`
	res, err := ParseFHIR([]byte(lone), testClinic, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Slots) != 1 {
		t.Fatalf("slots %+v", res.Slots)
	}
	s := res.Slots[0].Slot
	if s.Location != "Harbor Clinic" || s.VisitType != "ROUTINE" || s.OrderingKey != OrderLastUpdated ||
		s.Version != time.Date(2025, 3, 10, 11, 0, 0, 0, time.UTC).UnixMilli() || s.Duration != 20*time.Minute {
		t.Errorf("lone slot %+v", s)
	}

	var note map[string]any
	if err := json.Unmarshal(readTestdata(t, "fhir/notification-event.json"), &note); err != nil {
		t.Fatal(err)
	}
	var bundle map[string]any
	if err := json.Unmarshal(readTestdata(t, "fhir/bundle-slots.json"), &bundle); err != nil {
		t.Fatal(err)
	}
	entries := note["entry"].([]any)[:1]
	note["entry"] = append(entries, bundle["entry"].([]any)...)
	body, _ := json.Marshal(note)
	res, err = ParseFHIR(body, testClinic, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != KindEvents || len(res.Slots) != 2 || len(res.Events) != 0 {
		t.Errorf("notification: kind %s, %d slots, %d events", res.Kind, len(res.Slots), len(res.Events))
	}
}

func TestParseFHIRSlotRejects(t *testing.T) {
	slotWith := func(fields string) string {
		return `{"resourceType":"Slot","id":"slot-5","meta":{"versionId":"1"},
		 "contained":[{"resourceType":"Schedule","id":"s","actor":[{"display":"Dr. Bo Sample","reference":"Practitioner/p1"}]}],
		 "schedule":{"reference":"#s"},` + fields + `}`
	}
	cases := []struct {
		name string
		body string
		want []string
	}{
		{"schedule only referenced", `{"resourceType":"Slot","id":"slot-5","meta":{"versionId":"1"},"schedule":{"reference":"Schedule/s9"},
			"status":"free","start":"2025-03-20T09:00:00Z","end":"2025-03-20T09:20:00Z"}`, []string{"Slot.schedule.reference"}},
		{"no schedule", `{"resourceType":"Slot","id":"slot-5","meta":{"versionId":"1"},
			"status":"free","start":"2025-03-20T09:00:00Z","end":"2025-03-20T09:20:00Z"}`, []string{"Slot.schedule"}},
		{"unknown status", slotWith(`"status":"open","start":"2025-03-20T09:00:00Z","end":"2025-03-20T09:20:00Z"`), []string{"Slot.status"}},
		{"end before start", slotWith(`"status":"free","start":"2025-03-20T09:00:00Z","end":"2025-03-20T08:00:00Z"`), []string{"Slot.end"}},
		{"no end", slotWith(`"status":"free","start":"2025-03-20T09:00:00Z"`), []string{"Slot.end"}},
		{"bad visit type code", slotWith(`"status":"free","serviceType":[{"coding":[{"code":"two  spaces"}]}],"start":"2025-03-20T09:00:00Z","end":"2025-03-20T09:20:00Z"`),
			[]string{"Slot.serviceType[0].coding[0].code"}},
		{"lastUpdated far ahead", strings.Replace(slotWith(`"status":"free","start":"2025-03-20T09:00:00Z","end":"2025-03-20T09:20:00Z"`),
			`{"versionId":"1"}`, `{"lastUpdated":"2025-03-10T13:00:00Z"}`, 1), []string{"Slot.meta.lastUpdated"}},
		{"no meta", strings.Replace(slotWith(`"status":"free","start":"2025-03-20T09:00:00Z","end":"2025-03-20T09:20:00Z"`),
			`"meta":{"versionId":"1"},`, ``, 1), []string{"Slot.meta"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFHIR([]byte(tc.body), testClinic, testNow)
			if got := pointers(t, err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("pointers %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
}

func TestParseFHIRAppointmentVisitTypeAndWaitlist(t *testing.T) {
	appt := func(extra string) string {
		return `{"resourceType":"Appointment","id":"appt-9","meta":{"versionId":"2"},"status":"booked",
		 "start":"2025-03-20T09:00:00Z","minutesDuration":20,` + extra + `
		 "contained":[{"resourceType":"Patient","id":"p","identifier":[{"use":"usual","value":"pat-9"}],
		   "telecom":[{"system":"phone","value":"+15550100143","use":"mobile"}]}],
		 "participant":[{"actor":{"reference":"#p"}}]}`
	}
	ext := func(v string) string {
		return `"extension":[{"url":"` + WaitlistExtensionURL + `",` + v + `}],`
	}
	yes, no := true, false
	cases := []struct {
		name      string
		body      string
		visitType string
		waitlist  *bool
		bad       string
	}{
		{"none", appt(""), "", nil, ""},
		{"serviceType wins over appointmentType", appt(`"serviceType":[{"text":"no code"},{"coding":[{"code":"FOLLOWUP"}]}],"appointmentType":{"coding":[{"code":"ROUTINE"}]},`), "FOLLOWUP", nil, ""},
		{"appointmentType alone", appt(`"appointmentType":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0276","code":"ROUTINE"}]},`), "ROUTINE", nil, ""},
		{"waitlist true", appt(ext(`"valueBoolean":true`)), "", &yes, ""},
		{"waitlist false", appt(ext(`"valueBoolean":false`)), "", &no, ""},
		{"other extensions are ignored", appt(`"extension":[{"url":"http://example.org/x","valueString":"y"}],`), "", nil, ""},
		{"waitlist without a value", appt(ext(`"valueString":"true"`)), "", nil, "Appointment.extension[0].valueBoolean"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ParseFHIR([]byte(tc.body), testClinic, testNow)
			if tc.bad != "" {
				if got := pointers(t, err); !reflect.DeepEqual(got, []string{tc.bad}) {
					t.Errorf("pointers %q, want %q", got, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ev := res.Events[0]
			if ev.Appointment.VisitType != tc.visitType || !reflect.DeepEqual(ev.Waitlist, tc.waitlist) {
				t.Errorf("visitType %q waitlist %v, want %q %v", ev.Appointment.VisitType, ev.Waitlist, tc.visitType, tc.waitlist)
			}
		})
	}
}

func TestSlotOrderAgainst(t *testing.T) {
	fhirEv := SlotEvent{Slot: slot.Slot{ID: "s1", Version: 7, OrderingKey: OrderVersionID},
		Orderings: Orderings{VersionID: 7, LastUpdated: 1_741_600_000_000}}
	cases := []struct {
		name    string
		ev      SlotEvent
		stored  slot.Slot
		version int64
		key     string
		err     error
	}{
		{"keeps the stored lastUpdated key", fhirEv, slot.Slot{OrderingKey: OrderLastUpdated, Version: 1_741_000_000_000}, 1_741_600_000_000, OrderLastUpdated, nil},
		{"keeps the stored versionId key", fhirEv, slot.Slot{OrderingKey: OrderVersionID, Version: 6}, 7, OrderVersionID, nil},
		{"native stored slot: key by scale", fhirEv, slot.Slot{Version: 1_741_000_000_000}, 1_741_600_000_000, OrderLastUpdated, nil},
		{"missing the stored key", SlotEvent{Slot: slot.Slot{ID: "s1"}, Orderings: Orderings{VersionID: 7}},
			slot.Slot{OrderingKey: OrderLastUpdated, Version: 5}, 0, "", ErrOrderingKeyChanged},
		{"native event unchanged", SlotEvent{Slot: slot.Slot{ID: "s1", Version: 3}}, slot.Slot{OrderingKey: OrderLastUpdated, Version: 5}, 3, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.ev.OrderAgainst(tc.stored)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err == nil && (got.Slot.Version != tc.version || got.Slot.OrderingKey != tc.key) {
				t.Errorf("version %d key %q, want %d %q", got.Slot.Version, got.Slot.OrderingKey, tc.version, tc.key)
			}
		})
	}
}

func TestSlotBodiesMatchSchema(t *testing.T) {
	native := schemaFor(t, "NativeSlot")
	for _, body := range []string{validSlotBody, `{"start":"2025-03-14T14:30:00Z","durationMinutes":15,"status":"busy","updatedAt":"2025-03-10T12:04:00Z"}`} {
		if err := validateJSON(t, native, []byte(body)); err != nil {
			t.Errorf("%s: %v", body, err)
		}
		if _, err := ParseNativeSlot([]byte(body), testClinic, "s1", testNow); err != nil {
			t.Errorf("the schema accepts what the parser refuses: %v", err)
		}
	}
	for _, body := range []string{
		`{"start":"2025-03-14T14:30:00Z","durationMinutes":15,"status":"busy-tentative","version":1}`,
		`{"start":"2025-03-14T14:30:00Z","durationMinutes":-1,"status":"free","version":1}`,
		`{"start":"2025-03-14T14:30:00Z","durationMinutes":15,"status":"free","visitType":" x","version":1}`,
		`{"start":"2025-03-14T14:30:00Z","durationMinutes":15,"status":"free"}`,
	} {
		if err := validateJSON(t, native, []byte(body)); err == nil {
			t.Errorf("the schema accepts %s", body)
		}
		if _, err := ParseNativeSlot([]byte(body), testClinic, "s1", testNow); err == nil {
			t.Errorf("the parser accepts %s", body)
		}
	}

	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	full := slot.Slot{ClinicID: "main-street", ID: "slot-1", Start: at, Duration: 30 * time.Minute, Status: slot.Free,
		Location: "Main Street Clinic", Practitioner: "Dr. Ada Example", VisitType: "FOLLOWUP", Version: 3, OrderingKey: OrderVersionID, UpdatedAt: at}
	bare := slot.Slot{ClinicID: "main-street", ID: "slot-2", Start: at, Duration: time.Minute, Status: slot.Busy, Version: 1}
	appt := NewAppointmentState(appointment.Appointment{ClinicID: "c", ID: "a", Status: appointment.StatusBooked, Start: at,
		PatientID: "p", VisitType: "FOLLOWUP", Waitlist: true}, nil, nil, false)
	tests := []struct {
		schema string
		value  any
	}{
		{"SlotAnswer", SlotAnswer{SlotState: NewSlotState(full), Stale: true}},
		{"SlotAnswer", SlotAnswer{SlotState: NewSlotState(bare)}},
		{"SlotList", SlotList{ClinicID: "main-street", From: at, To: at.Add(time.Hour), Slots: []SlotState{NewSlotState(full), NewSlotState(bare)}, Next: "abc"}},
		{"SlotList", SlotList{ClinicID: "main-street", From: at, To: at.Add(time.Hour), Slots: []SlotState{}}},
		{"AppointmentState", appt},
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
	if b, _ := json.Marshal(appt); !strings.Contains(string(b), `"visitType":"FOLLOWUP"`) || !strings.Contains(string(b), `"waitlist":true`) {
		t.Errorf("appointment state %s lacks visitType or waitlist", b)
	}
}
