package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/httpapi"
)

const apptPath = "/v1/clinics/" + clinicID + "/appointments/appt-1"

func decode(t *testing.T, resp *http.Response) ehr.AppointmentState {
	t.Helper()
	var s ehr.AppointmentState
	if err := json.Unmarshal([]byte(readAll(resp)), &s); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return s
}

func withVersion(t *testing.T, body []byte, version int, start string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["version"] = version
	if start != "" {
		m["start"] = start
	}
	b, _ := json.Marshal(m)
	return b
}

func TestRoutesMatchOpenAPIDocument(t *testing.T) {
	doc, err := ehr.Routes()
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, r := range doc {
		documented = append(documented, r.String())
	}
	served := append([]string(nil), httpapi.Routes...)
	sort.Strings(documented)
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Fatalf("router and openapi.yaml disagree\nserved:\n%s\ndocumented:\n%s", strings.Join(served, "\n"), strings.Join(documented, "\n"))
	}
}

func TestPutThenGetAppointment(t *testing.T) {
	h := newHarness(t)
	body := fixture(t, "testdata/appointment-booked.json")
	resp := h.signed(http.MethodPut, apptPath, "application/json", "", body)
	expectStatus(t, resp, http.StatusCreated)
	created := decode(t, resp)
	if created.Status != "booked" || created.Version != 1 || created.Consent.State != "opted_in" {
		t.Fatalf("unexpected representation: %+v", created)
	}
	if len(created.Reminders) != 2 {
		t.Fatalf("want the 48 h and 2 h reminders scheduled, got %+v", created.Reminders)
	}

	expectStatus(t, h.get(apptPath, ""), http.StatusUnauthorized)
	expectStatus(t, h.get(apptPath, "wrong-token"), http.StatusUnauthorized)
	resp = h.get(apptPath, testToken)
	expectStatus(t, resp, http.StatusOK)
	got := decode(t, resp)
	if got.AppointmentID != "appt-1" || got.PatientID != "pat-100" || len(got.Reminders) != 2 {
		t.Fatalf("GET: %+v", got)
	}
	for _, r := range got.Reminders {
		if r.State != "scheduled" {
			t.Errorf("reminder %s state %s, want scheduled", r.Kind, r.State)
		}
	}
	expectStatus(t, h.get("/v1/clinics/"+clinicID+"/appointments/nope", testToken), http.StatusNotFound)

	// An update moves the plan and answers 200.
	moved := withVersion(t, body, 2, "2026-12-02T10:00:00-05:00")
	resp = h.signed(http.MethodPut, apptPath, "application/json", "", moved)
	expectStatus(t, resp, http.StatusOK)
	after := decode(t, resp)
	for _, r := range after.Reminders {
		if r.Kind == "pre48h" && !r.DueAt.Equal(time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)) {
			t.Errorf("48 h reminder due %s, want 48 h before the new start", r.DueAt)
		}
	}
}

func TestSameWebhookIDThreeTimesIsOneChange(t *testing.T) {
	h := newHarness(t)
	body := fixture(t, "testdata/appointment-booked.json")
	var answers []string
	for i := 0; i < 3; i++ {
		resp := h.signed(http.MethodPut, apptPath, "application/json", "msg_same", body)
		if i == 0 {
			expectStatus(t, resp, http.StatusCreated)
		} else {
			expectStatus(t, resp, http.StatusCreated) // answered as the first delivery was
			if resp.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("delivery %d was not a replay", i+1)
			}
		}
		answers = append(answers, readAll(resp))
	}
	if answers[0] != answers[1] || answers[1] != answers[2] {
		t.Fatalf("replays differ:\n%s\n%s", answers[0], answers[2])
	}
	got := decode(t, h.get(apptPath, testToken))
	if got.Version != 1 {
		t.Fatalf("version %d", got.Version)
	}
	if n := h.itemCounts()["idempotency"]; n != 1 {
		t.Fatalf("idempotency keys = %d, want 1", n)
	}
}

func TestVersionsOutOfOrderEndAtNewest(t *testing.T) {
	h := newHarness(t)
	body := fixture(t, "testdata/appointment-booked.json")
	starts := map[int]string{1: "2026-12-01T09:00:00-05:00", 2: "2026-12-01T10:00:00-05:00", 3: "2026-12-01T11:00:00-05:00"}
	for _, v := range []int{3, 1, 2} {
		resp := h.signed(http.MethodPut, apptPath, "application/json", "", withVersion(t, body, v, starts[v]))
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
			t.Fatalf("v%d: %d %s", v, resp.StatusCode, readAll(resp))
		}
		if st := decode(t, resp); v != 3 && !st.Stale {
			t.Errorf("v%d after v3 must be marked stale", v)
		}
	}
	got := decode(t, h.get(apptPath, testToken))
	want, _ := time.Parse(time.RFC3339, starts[3])
	if got.Version != 3 || !got.Start.Equal(want) {
		t.Fatalf("ended at version %d start %s, want 3 and %s", got.Version, got.Start, want)
	}
}

func TestHostileInputsStoreNothing(t *testing.T) {
	h := newHarness(t)
	good := fixture(t, "testdata/appointment-booked.json")
	baseline := h.itemCounts()

	mutate := func(f func(m map[string]any)) []byte {
		var m map[string]any
		_ = json.Unmarshal(good, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	send := func(path, ct string, body []byte, hdr func(http.Header)) *http.Response {
		h.seq++
		headers, _ := ehr.SignHeaders(testSecret, "msg_h"+string(rune('a'+h.seq)), h.clock.Now(), body)
		req, _ := http.NewRequest(http.MethodPut, h.srv.URL+path, bytes.NewReader(body))
		for k, v := range headers {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", ct)
		if hdr != nil {
			hdr(req.Header)
		}
		return h.do(req)
	}
	huge := bytes.Repeat([]byte("a"), 10<<20)
	cases := []struct {
		name    string
		path    string
		ct      string
		body    []byte
		hdr     func(http.Header)
		status  int
		pointer string
	}{
		{"wrong signature", apptPath, "application/json", good, func(h http.Header) { h.Set("webhook-signature", "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") }, 401, ""},
		{"missing signature", apptPath, "application/json", good, func(h http.Header) { h.Del("webhook-signature") }, 401, ""},
		{"stale timestamp", apptPath, "application/json", good, func(hd http.Header) {
			old, _ := ehr.SignHeaders(testSecret, "msg_old", h.clock.Now().Add(-6*time.Minute), good)
			for k, v := range old {
				hd[k] = v
			}
		}, 401, ""},
		{"malformed JSON", apptPath, "application/json", []byte(`{"status": "booked",`), nil, 400, ""},
		{"wrong types", apptPath, "application/json", mutate(func(m map[string]any) { m["durationMinutes"] = "thirty"; m["version"] = "one" }), nil, 400, "/durationMinutes"},
		{"10 MB body", apptPath, "application/json", huge, nil, 413, ""},
		{"unknown clinic", "/v1/clinics/no-such-clinic/appointments/appt-1", "application/json", good, nil, 404, ""},
		{"unparseable phone", apptPath, "application/json", mutate(func(m map[string]any) { m["patient"].(map[string]any)["phone"] = "call me maybe" }), nil, 400, "/patient/phone"},
		{"appointment without patient", apptPath, "application/json", mutate(func(m map[string]any) { delete(m, "patient") }), nil, 400, "/patient"},
		{"unknown status", apptPath, "application/json", mutate(func(m map[string]any) { m["status"] = "maybe" }), nil, 400, "/status"},
		{"wrong content type", apptPath, "text/plain", good, nil, 415, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := send(tc.path, tc.ct, tc.body, tc.hdr)
			expectStatus(t, resp, tc.status)
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q, want problem JSON", ct)
			}
			var p httpapi.Problem
			if err := json.Unmarshal([]byte(readAll(resp)), &p); err != nil || p.Status != tc.status || p.Type == "" {
				t.Fatalf("problem body %+v, %v", p, err)
			}
			if tc.pointer != "" {
				found := false
				for _, e := range p.Errors {
					found = found || e.Pointer == tc.pointer
				}
				if !found {
					t.Errorf("no error points at %s: %+v", tc.pointer, p.Errors)
				}
			}
			if after := h.itemCounts(); !equalCounts(after, baseline) {
				t.Fatalf("a %d stored something: before %v after %v", tc.status, baseline, after)
			}
		})
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestConsentLedger(t *testing.T) {
	h := newHarness(t)
	path := "/v1/clinics/" + clinicID + "/patients/pat-9/consent"
	in := []byte(`{"whatsapp":"opted_in","at":"2026-11-01T10:00:00Z","source":"front-desk","evidence":"verbal, logged by staff"}`)
	out := []byte(`{"whatsapp":"opted_out","at":"2026-11-10T10:00:00Z","source":"phone-call"}`)
	expectStatus(t, h.signed(http.MethodPut, path, "application/json", "", in), http.StatusOK)
	expectStatus(t, h.signed(http.MethodPut, path, "application/json", "", out), http.StatusOK)
	expectStatus(t, h.signed(http.MethodPut, path, "application/json", "", in), http.StatusOK) // a retry of the older entry
	resp := h.get(path, testToken)
	expectStatus(t, resp, http.StatusOK)
	var st ehr.ConsentState
	if err := json.Unmarshal([]byte(readAll(resp)), &st); err != nil {
		t.Fatal(err)
	}
	if st.State != "opted_out" || len(st.History) != 2 {
		t.Fatalf("consent %s with %d entries, want opted_out with 2 (append-only, deduplicated)", st.State, len(st.History))
	}
	expectStatus(t, h.signed(http.MethodPut, path, "application/json", "", []byte(`{"whatsapp":"maybe"}`)), http.StatusBadRequest)
}

func TestUnknownRouteAndMethodAreProblems(t *testing.T) {
	h := newHarness(t)
	resp := h.get("/nope", "")
	expectStatus(t, resp, http.StatusNotFound)
	req, _ := http.NewRequest(http.MethodDelete, h.srv.URL+apptPath, nil)
	resp = h.do(req)
	expectStatus(t, resp, http.StatusMethodNotAllowed)
	if resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	resp = h.get("/openapi.yaml", "")
	expectStatus(t, resp, http.StatusOK)
	if !strings.Contains(readAll(resp), "openapi: 3.1") {
		t.Fatal("openapi.yaml is not served")
	}
}

// A delivery whose processing died (Lambda timeout, crash) holds its webhook-id only
// for a short lease: the EHR's retry is refused with 409 while it might still be
// running, then processed, not blocked for the whole day.
func TestCrashedDeliveryBlocksRetriesOnlyForTheLease(t *testing.T) {
	h := newHarness(t)
	body := fixture(t, "testdata/appointment-booked.json")
	// What a crashed first attempt leaves behind: its in-progress claim.
	if _, err := h.store.ClaimIdempotency(context.Background(), "ehr:"+clinicID+":msg_crashed", httpapi.IdempotencyLease); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, h.signed(http.MethodPut, apptPath, "application/json", "msg_crashed", body), http.StatusConflict)
	h.clock.Advance(httpapi.IdempotencyLease + time.Second)
	expectStatus(t, h.signed(http.MethodPut, apptPath, "application/json", "msg_crashed", body), http.StatusCreated)
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	h := newHarness(t)
	expectStatus(t, h.signed(http.MethodPut, apptPath, "application/json", "", fixture(t, "testdata/appointment-booked.json")), http.StatusCreated)
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+apptPath, nil)
	req.Header.Set("Authorization", "bearer "+testToken)
	expectStatus(t, h.do(req), http.StatusOK)
}

// An event older than the stored one must not roll the patient's contact back.
func TestStaleEventKeepsNewerPatientContact(t *testing.T) {
	h := newHarness(t)
	body := fixture(t, "testdata/appointment-booked.json")
	withPhone := func(version int, phone string) []byte {
		var m map[string]any
		_ = json.Unmarshal(withVersion(t, body, version, ""), &m)
		m["patient"].(map[string]any)["phone"] = phone
		b, _ := json.Marshal(m)
		return b
	}
	expectStatus(t, h.signed(http.MethodPut, apptPath, "application/json", "", withPhone(2, "+12025550172")), http.StatusCreated)
	resp := h.signed(http.MethodPut, apptPath, "application/json", "", withPhone(1, "+12025550173"))
	expectStatus(t, resp, http.StatusOK)
	if !decode(t, resp).Stale {
		t.Fatal("the older event must be answered as stale")
	}
	p, err := h.store.GetPatient(context.Background(), clinicID, "pat-100")
	if err != nil || p.Phone != "+12025550172" {
		t.Fatalf("patient phone %q (%v), want the newer event's +12025550172", p.Phone, err)
	}
}
