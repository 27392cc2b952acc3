package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// The EHR cancelling an appointment (native or FHIR) frees the published slot it
// occupied and starts waitlist offers for it: the slot it names, else the one busy
// slot at its start whose location and practitioner match. Nothing else is freed.
func TestEHRCancellationFreesItsSlot(t *testing.T) {
	const start = "2026-12-03T09:00:00-05:00"
	type busy struct{ id, location, practitioner string }
	nativeAppt := func(status string, version int, slotID string) []byte {
		body := map[string]any{"status": status, "start": start, "durationMinutes": 30,
			"location": map[string]any{"name": " main street clinic"}, "practitioner": map[string]any{"display": "Dr. Ana Example"},
			"patient": map[string]any{"id": "pat-cx", "phone": "+15550100143", "givenName": "Sam"}, "version": version}
		if slotID != "" {
			body["slotId"] = slotID
		}
		b, _ := json.Marshal(body)
		return b
	}
	fhirAppt := func(status string, version int, slotRef string) []byte {
		return []byte(fmt.Sprintf(`{"resourceType":"Appointment","id":"appt-cx","meta":{"versionId":"%d"},"status":%q,
		 "start":%q,"minutesDuration":30,"slot":[{"reference":%q}],
		 "contained":[{"resourceType":"Patient","id":"p1","identifier":[{"use":"usual","value":"pat-cx"}],
		   "telecom":[{"system":"phone","value":"+15550100143","use":"mobile"}]}],
		 "participant":[{"actor":{"reference":"#p1"}}]}`, version, status, start, slotRef))
	}
	for _, tc := range []struct {
		name  string
		slots []busy
		fhir  bool
		ref   string
		want  []string // slots freed
	}{
		{"native slotId", []busy{{"s-ref", "Elsewhere", "Dr. Other"}, {"s-same-start", "Main Street Clinic", "Dr. Ana Example"}}, false, "s-ref", []string{"s-ref"}},
		{"matched by start, location and practitioner", []busy{{"s-match", "Main Street Clinic", "dr. ana example"}, {"s-other", "Main Street Clinic", "Dr. Other"}},
			false, "", []string{"s-match"}},
		{"an unpublished slotId falls back to matching", []busy{{"s-match", "", ""}}, false, "s-unknown", []string{"s-match"}},
		{"no matching slot", []busy{{"s-other", "Main Street Clinic", "Dr. Other"}}, false, "", nil},
		{"two matching slots: neither", []busy{{"s-a", "", ""}, {"s-b", "Main Street Clinic", ""}}, false, "", nil},
		{"FHIR Appointment.slot", []busy{{"f-slot", "Elsewhere", ""}}, true, "Slot/f-slot", []string{"f-slot"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ctx := t.Context()
			for _, b := range tc.slots {
				body, _ := json.Marshal(map[string]any{"start": start, "durationMinutes": 30, "status": "busy", "version": 1,
					"location": map[string]any{"name": b.location}, "practitioner": map[string]any{"display": b.practitioner}})
				if b.location == "" {
					body = []byte(fmt.Sprintf(`{"start":%q,"durationMinutes":30,"status":"busy","version":1}`, start))
				}
				resp := h.signed(http.MethodPut, slotsPath+"/"+b.id, "application/json", "", body)
				expectStatus(t, resp, http.StatusCreated)
				readAll(resp)
			}
			send := func(status string, version int) {
				t.Helper()
				var resp *http.Response
				if tc.fhir {
					resp = h.signed(http.MethodPost, fhirPath, "application/fhir+json", "", fhirAppt(status, version, tc.ref))
				} else {
					resp = h.signed(http.MethodPut, "/v1/clinics/"+clinicID+"/appointments/appt-cx", "application/json", "", nativeAppt(status, version, tc.ref))
				}
				if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
					t.Fatalf("%s v%d: %d %s", status, version, resp.StatusCode, readAll(resp))
				}
				readAll(resp)
			}
			send("booked", 1)
			send("cancelled", 2)
			send("cancelled", 2) // a redelivery frees nothing more
			var freed []string
			for _, b := range tc.slots {
				sl, err := h.store.GetSlot(ctx, clinicID, b.id)
				if err != nil {
					t.Fatal(err)
				}
				if sl.Status == slot.Free {
					freed = append(freed, b.id)
				}
			}
			rs, err := h.store.DueReleases(ctx, clinicID, h.clock.Now().Add(time.Hour), 10)
			if err != nil {
				t.Fatal(err)
			}
			var waves []string
			for _, r := range rs {
				waves = append(waves, r.SlotID)
			}
			slices.Sort(freed)
			slices.Sort(waves)
			if !slices.Equal(freed, tc.want) || !slices.Equal(waves, tc.want) {
				t.Errorf("freed %v with waves due for %v, want %v", freed, waves, tc.want)
			}
		})
	}
}
