package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const fhirPath = "/v1/clinics/" + clinicID + "/fhir"

func fhirFixture(t *testing.T, name string) []byte {
	return fixture(t, "../ehr/testdata/fhir/"+name+".json")
}

type outcome struct {
	ResourceType string `json:"resourceType"`
	Issue        []struct {
		Severity    string `json:"severity"`
		Code        string `json:"code"`
		Diagnostics string `json:"diagnostics"`
	} `json:"issue"`
}

func decodeOutcome(t *testing.T, resp *http.Response) outcome {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/fhir+json" {
		t.Fatalf("content type %q, want application/fhir+json", ct)
	}
	var o outcome
	if err := json.Unmarshal([]byte(readAll(resp)), &o); err != nil || o.ResourceType != "OperationOutcome" || len(o.Issue) == 0 {
		t.Fatalf("not an OperationOutcome: %v %s", err, readAll(resp))
	}
	return o
}

func (h *harness) bearerPost(path, contentType, token string, body []byte) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.do(req)
}

func TestFHIRBundleThenNotificationsThroughTheRouter(t *testing.T) {
	h := newHarness(t)

	// A transaction Bundle, signed: both appointments land, with their patients.
	resp := h.signed(http.MethodPost, fhirPath, "application/fhir+json", "", fhirFixture(t, "bundle-transaction"))
	expectStatus(t, resp, http.StatusOK)
	o := decodeOutcome(t, resp)
	if len(o.Issue) != 2 || !strings.Contains(o.Issue[0].Diagnostics+o.Issue[1].Diagnostics, "created") {
		t.Fatalf("outcome %+v, want two appointments created", o)
	}
	for id, status := range map[string]string{"appt-2001": "booked", "appt-2002": "cancelled"} {
		got := decode(t, h.get("/v1/clinics/"+clinicID+"/appointments/"+id, testToken))
		if string(got.Status) != status || got.PatientID == "" {
			t.Errorf("%s: %+v, want status %s with its patient", id, got, status)
		}
	}

	// The same Bundle again, sent by a FHIR server with the clinic's bearer token
	// instead of a signature: the versions are not newer, so nothing changes.
	resp = h.bearerPost(fhirPath, "application/fhir+json", testToken, fhirFixture(t, "bundle-transaction"))
	expectStatus(t, resp, http.StatusOK)
	if o := decodeOutcome(t, resp); !strings.Contains(o.Issue[0].Diagnostics, "stale") {
		t.Fatalf("redelivered bundle: %+v, want stale", o)
	}

	// Backport handshake and heartbeat are acknowledged and store nothing.
	before := h.itemCounts()
	for _, f := range []string{"notification-handshake", "notification-heartbeat"} {
		resp := h.bearerPost(fhirPath, "application/fhir+json", testToken, fhirFixture(t, f))
		expectStatus(t, resp, http.StatusOK)
		if o := decodeOutcome(t, resp); o.Issue[0].Severity != "information" {
			t.Errorf("%s: %+v", f, o)
		}
	}
	if after := h.itemCounts(); !equalCounts(before, after) {
		t.Fatalf("handshake/heartbeat stored something: %v -> %v", before, after)
	}

	// An event notification with full resources is applied like a Bundle.
	resp = h.bearerPost(fhirPath, "application/fhir+json", testToken, fhirFixture(t, "notification-event"))
	expectStatus(t, resp, http.StatusOK)
	if got := decode(t, h.get("/v1/clinics/"+clinicID+"/appointments/appt-6001", testToken)); got.Status != "noshow" {
		t.Fatalf("event notification not applied: %+v", got)
	}
}

func TestFHIRErrorsAreOperationOutcomesAndStoreNothing(t *testing.T) {
	h := newHarness(t)
	baseline := h.itemCounts()
	cases := []struct {
		name   string
		send   func() *http.Response
		status int
	}{
		{"no credentials", func() *http.Response {
			return h.bearerPost(fhirPath, "application/fhir+json", "", fhirFixture(t, "bundle-transaction"))
		}, 401},
		{"wrong token", func() *http.Response {
			return h.bearerPost(fhirPath, "application/fhir+json", "not-the-token", fhirFixture(t, "bundle-transaction"))
		}, 401},
		{"appointment without patient", func() *http.Response {
			return h.signed(http.MethodPost, fhirPath, "application/fhir+json", "", fhirFixture(t, "invalid-no-patient"))
		}, 400},
		{"unparseable phone", func() *http.Response {
			return h.signed(http.MethodPost, fhirPath, "application/fhir+json", "", fhirFixture(t, "invalid-phone"))
		}, 400},
		{"malformed", func() *http.Response {
			return h.signed(http.MethodPost, fhirPath, "application/fhir+json", "", fhirFixture(t, "invalid-malformed"))
		}, 400},
		{"wrong content type", func() *http.Response {
			return h.bearerPost(fhirPath, "application/xml", testToken, []byte("<Bundle/>"))
		}, 415},
		{"unknown clinic", func() *http.Response {
			return h.bearerPost("/v1/clinics/nope/fhir", "application/fhir+json", testToken, fhirFixture(t, "bundle-transaction"))
		}, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := tc.send()
			expectStatus(t, resp, tc.status)
			if o := decodeOutcome(t, resp); o.Issue[0].Severity != "error" {
				t.Errorf("severity %q, want error", o.Issue[0].Severity)
			}
			if after := h.itemCounts(); !equalCounts(after, baseline) {
				t.Fatalf("a %d stored something: %v -> %v", tc.status, baseline, after)
			}
		})
	}
}

// A Bundle whose second appointment references a patient Frontdesk has never seen
// is refused whole: the first appointment is not stored either.
func TestFHIRBundleWithUnknownPatientStoresNothing(t *testing.T) {
	h := newHarness(t)
	baseline := h.itemCounts()
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[
	 {"fullUrl":"urn:uuid:p1","resource":{"resourceType":"Patient","id":"pat-known","meta":{"versionId":"1"},
	   "name":[{"given":["Robin"]}],"telecom":[{"system":"phone","value":"+12025550171","use":"mobile"}]}},
	 {"resource":{"resourceType":"Appointment","id":"appt-a","meta":{"versionId":"1"},"status":"booked",
	   "start":"2026-12-10T10:00:00-05:00","end":"2026-12-10T10:30:00-05:00",
	   "participant":[{"actor":{"reference":"urn:uuid:p1"},"status":"accepted"}]}},
	 {"resource":{"resourceType":"Appointment","id":"appt-b","meta":{"versionId":"1"},"status":"booked",
	   "start":"2026-12-11T10:00:00-05:00","end":"2026-12-11T10:30:00-05:00",
	   "participant":[{"actor":{"reference":"Patient/never-seen"},"status":"accepted"}]}}]}`
	resp := h.signed(http.MethodPost, fhirPath, "application/fhir+json", "", []byte(bundle))
	expectStatus(t, resp, http.StatusUnprocessableEntity)
	decodeOutcome(t, resp)
	if after := h.itemCounts(); !equalCounts(after, baseline) {
		t.Fatalf("a 422 stored part of the bundle: %v -> %v", baseline, after)
	}
}
