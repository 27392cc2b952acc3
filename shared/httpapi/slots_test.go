package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

const slotsPath = "/v1/clinics/" + clinicID + "/slots"

func slotBody(start string, status string, version int) []byte {
	return []byte(fmt.Sprintf(`{"start":%q,"durationMinutes":30,"status":%q,"location":{"name":"Main Street Clinic"},
	 "practitioner":{"display":"Dr. Ana Example"},"visitType":"FOLLOWUP","version":%d}`, start, status, version))
}

func decodeSlot(t *testing.T, resp *http.Response) ehr.SlotAnswer {
	t.Helper()
	var s ehr.SlotAnswer
	if err := json.Unmarshal([]byte(readAll(resp)), &s); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return s
}

func (h *harness) listSlots(t *testing.T, query string) ehr.SlotList {
	t.Helper()
	resp := h.get(slotsPath+"?"+query, testToken)
	expectStatus(t, resp, http.StatusOK)
	var l ehr.SlotList
	if err := json.Unmarshal([]byte(readAll(resp)), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func window(from, to string) string {
	return "from=" + url.QueryEscape(from) + "&to=" + url.QueryEscape(to)
}

func TestPutSlotCreatesUpdatesAndOrders(t *testing.T) {
	h := newHarness(t)
	path := slotsPath + "/slot-1"

	resp := h.signed(http.MethodPut, path, "application/json", "msg_slot_1", slotBody("2026-12-03T09:00:00-05:00", "free", 2))
	expectStatus(t, resp, http.StatusCreated)
	got := decodeSlot(t, resp)
	if got.SlotID != "slot-1" || got.Status != "free" || got.DurationMinutes != 30 || got.Stale || got.VisitType != "FOLLOWUP" ||
		got.Location == nil || got.Location.Name != "Main Street Clinic" || !got.Start.Equal(time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)) {
		t.Fatalf("created %+v", got)
	}

	// The same delivery again is answered as the first and changes nothing.
	resp = h.signed(http.MethodPut, path, "application/json", "msg_slot_1", slotBody("2026-12-03T09:00:00-05:00", "free", 2))
	expectStatus(t, resp, http.StatusCreated)
	if resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("a repeated webhook-id was not replayed")
	}

	// Newer: applied (200). Older or equal: 200 stale, the stored slot unchanged.
	resp = h.signed(http.MethodPut, path, "application/json", "", slotBody("2026-12-03T09:00:00-05:00", "busy", 3))
	expectStatus(t, resp, http.StatusOK)
	if got := decodeSlot(t, resp); got.Status != "busy" || got.Stale || got.Version != 3 {
		t.Fatalf("update %+v", got)
	}
	for _, v := range []int{3, 1} {
		resp = h.signed(http.MethodPut, path, "application/json", "", slotBody("2026-12-03T09:00:00-05:00", "free", v))
		expectStatus(t, resp, http.StatusOK)
		if got := decodeSlot(t, resp); !got.Stale || got.Status != "busy" || got.Version != 3 {
			t.Fatalf("version %d: %+v, want stale with the stored busy slot", v, got)
		}
	}
	l := h.listSlots(t, window("2026-12-03T00:00:00Z", "2026-12-04T00:00:00Z"))
	if len(l.Slots) != 1 || l.Slots[0].Status != "busy" || l.Slots[0].Version != 3 {
		t.Fatalf("list %+v", l)
	}
}

func TestListSlotsInStartOrderWithPages(t *testing.T) {
	h := newHarness(t)
	// Published out of order, plus one the day after the window.
	for i, start := range []string{"2026-12-03T15:00:00Z", "2026-12-03T09:00:00Z", "2026-12-03T12:00:00Z", "2026-12-03T10:30:00Z", "2026-12-04T09:00:00Z"} {
		resp := h.signed(http.MethodPut, fmt.Sprintf("%s/slot-%d", slotsPath, i), "application/json", "", slotBody(start, "free", 1))
		expectStatus(t, resp, http.StatusCreated)
	}
	var starts []string
	q := window("2026-12-03T00:00:00Z", "2026-12-04T00:00:00Z") + "&limit=2"
	pages := 0
	for {
		l := h.listSlots(t, q)
		pages++
		for _, s := range l.Slots {
			starts = append(starts, s.Start.Format("15:04"))
		}
		if l.Next == "" {
			break
		}
		q = window("2026-12-03T00:00:00Z", "2026-12-04T00:00:00Z") + "&limit=2&cursor=" + url.QueryEscape(l.Next)
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if got := strings.Join(starts, " "); got != "09:00 10:30 12:00 15:00" || pages < 2 {
		t.Fatalf("starts %q in %d pages, want 09:00 10:30 12:00 15:00 in 2 or 3", got, pages)
	}
	// Offsets are honoured (05:00-05:00 is 10:00Z) and to is excluded: 10:30 only.
	if l := h.listSlots(t, window("2026-12-03T05:00:00-05:00", "2026-12-03T07:00:00-05:00")); len(l.Slots) != 1 {
		t.Fatalf("window with offsets: %d slots, want 1 (10:30; 12:00 is at to)", len(l.Slots))
	}
}

func TestListSlotsRefusesBadQueries(t *testing.T) {
	h := newHarness(t)
	good := window("2026-12-03T00:00:00Z", "2026-12-04T00:00:00Z")
	cases := []struct {
		name   string
		query  string
		token  string
		status int
	}{
		{"no token", good, "", 401},
		{"wrong token", good, "nope", 401},
		{"no window", "", testToken, 400},
		{"only from", "from=2026-12-03T00:00:00Z", testToken, 400},
		{"window over 31 days", window("2026-12-01T00:00:00Z", "2027-01-01T00:00:01Z"), testToken, 400},
		{"to before from", window("2026-12-04T00:00:00Z", "2026-12-03T00:00:00Z"), testToken, 400},
		{"no offset", window("2026-12-03T00:00:00", "2026-12-04T00:00:00Z"), testToken, 400},
		{"limit 0", good + "&limit=0", testToken, 400},
		{"limit 501", good + "&limit=501", testToken, 400},
		{"forged cursor", good + "&cursor=not-base64!", testToken, 400},
		{"cursor outside the window", good + "&cursor=MjAyNi0xMi0wOVQwMDowMDowMFogc2xvdC0x", testToken, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.get(slotsPath+"?"+tc.query, tc.token)
			expectStatus(t, resp, tc.status)
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
		})
	}
	if l := h.listSlots(t, window("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")); len(l.Slots) != 0 || l.Slots == nil {
		t.Fatalf("exactly 31 days: %+v, want an empty list", l)
	}
}

func TestFHIRSlotsThroughTheRouter(t *testing.T) {
	h := newHarness(t)
	resp := h.signed(http.MethodPost, fhirPath, "application/fhir+json", "", fhirFixture(t, "bundle-slots"))
	expectStatus(t, resp, http.StatusOK)
	o := decodeOutcome(t, resp)
	if len(o.Issue) != 2 || !strings.Contains(o.Issue[0].Diagnostics, "Slot/slot-901: created") {
		t.Fatalf("outcome %+v", o)
	}
	l := h.listSlots(t, window("2026-12-03T00:00:00Z", "2026-12-04T00:00:00Z"))
	if len(l.Slots) != 2 {
		t.Fatalf("slots %+v", l.Slots)
	}
	first := l.Slots[0]
	if first.SlotID != "slot-901" || first.Status != "free" || first.VisitType != "124" || first.OrderingKey != "versionId" ||
		first.Practitioner == nil || first.Practitioner.Display != "Dr. Ana Example" || first.Location == nil || first.Location.Name != "Demo Family Clinic" {
		t.Fatalf("slot-901 %+v", first)
	}
	if l.Slots[1].Status != "busy" {
		t.Fatalf("busy-tentative stored as %q, want busy", l.Slots[1].Status)
	}

	// A Subscriptions Backport event-notification carrying the same slots, newer.
	var note, bundle map[string]any
	if err := json.Unmarshal(fhirFixture(t, "notification-event"), &note); err != nil {
		t.Fatal(err)
	}
	newer := strings.Replace(string(fhirFixture(t, "bundle-slots")), `"meta": { "versionId": "3" }`, `"meta": { "versionId": "4" }`, 1)
	newer = strings.Replace(newer, `"status": "free"`, `"status": "busy-unavailable"`, 1)
	if err := json.Unmarshal([]byte(newer), &bundle); err != nil {
		t.Fatal(err)
	}
	note["entry"] = append(note["entry"].([]any)[:1], bundle["entry"].([]any)...)
	body, _ := json.Marshal(note)
	resp = h.bearerPost(fhirPath, "application/fhir+json", testToken, body)
	expectStatus(t, resp, http.StatusOK)
	if o := decodeOutcome(t, resp); !strings.Contains(o.Issue[0].Diagnostics, "Slot/slot-901: updated") {
		t.Fatalf("notification: %+v", o)
	}
	if l := h.listSlots(t, window("2026-12-03T00:00:00Z", "2026-12-04T00:00:00Z")); l.Slots[0].Status != "busy" || l.Slots[0].Version != 4 {
		t.Fatalf("after the notification: %+v", l.Slots[0])
	}

	// Again: stale. Then a notification that lacks the slot's key is refused whole.
	resp = h.signed(http.MethodPost, fhirPath, "application/fhir+json", "", fhirFixture(t, "bundle-slots"))
	expectStatus(t, resp, http.StatusOK)
	if o := decodeOutcome(t, resp); !strings.Contains(o.Issue[0].Diagnostics, "stale") {
		t.Fatalf("redelivered: %+v", o)
	}
	baseline := h.itemCounts()
	rekeyed := strings.Replace(string(fhirFixture(t, "bundle-slots")), `"meta": { "versionId": "3" }`, `"meta": { "lastUpdated": "2026-11-22T11:00:00Z" }`, 1)
	resp = h.signed(http.MethodPost, fhirPath, "application/fhir+json", "", []byte(rekeyed))
	expectStatus(t, resp, http.StatusUnprocessableEntity)
	if after := h.itemCounts(); !equalCounts(after, baseline) {
		t.Fatalf("a 422 stored something: %v -> %v", baseline, after)
	}
}

func TestAppointmentVisitTypeAndWaitlistRoundTrip(t *testing.T) {
	h := newHarness(t)
	base := fixture(t, "testdata/appointment-booked.json")
	put := func(version int, extra string) ehr.AppointmentState {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(base, &m); err != nil {
			t.Fatal(err)
		}
		m["version"] = version
		if extra != "" {
			var e map[string]any
			if err := json.Unmarshal([]byte(extra), &e); err != nil {
				t.Fatal(err)
			}
			for k, v := range e {
				m[k] = v
			}
		}
		b, _ := json.Marshal(m)
		resp := h.signed(http.MethodPut, apptPath, "application/json", "", b)
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
			t.Fatalf("status %d: %s", resp.StatusCode, readAll(resp))
		}
		return decode(t, h.get(apptPath, testToken))
	}
	steps := []struct {
		name      string
		version   int
		extra     string
		visitType string
		waitlist  bool
	}{
		{"joins the waitlist", 1, `{"visitType":"FOLLOWUP","waitlist":true}`, "FOLLOWUP", true},
		{"an update without the flag keeps it", 2, `{"visitType":"FOLLOWUP"}`, "FOLLOWUP", true},
		{"false takes the patient off", 3, `{"waitlist":false}`, "", false},
	}
	for _, st := range steps {
		got := put(st.version, st.extra)
		if got.VisitType != st.visitType || got.Waitlist != st.waitlist {
			t.Fatalf("%s: visitType %q waitlist %v, want %q %v", st.name, got.VisitType, got.Waitlist, st.visitType, st.waitlist)
		}
	}

	// FHIR: serviceType and the waitlist extension.
	body := fmt.Sprintf(`{"resourceType":"Appointment","id":"appt-f9","meta":{"versionId":"1"},"status":"booked",
	 "start":"2026-12-03T10:00:00-05:00","minutesDuration":30,"serviceType":[{"coding":[{"code":"NEW"}]}],
	 "extension":[{"url":%q,"valueBoolean":true}],
	 "contained":[{"resourceType":"Patient","id":"p1","identifier":[{"use":"usual","value":"pat-f9"}],
	   "telecom":[{"system":"phone","value":"+15550100143","use":"mobile"}]}],
	 "participant":[{"actor":{"reference":"#p1"}}]}`, ehr.WaitlistExtensionURL)
	resp := h.signed(http.MethodPost, fhirPath, "application/fhir+json", "", []byte(body))
	expectStatus(t, resp, http.StatusOK)
	if got := decode(t, h.get("/v1/clinics/"+clinicID+"/appointments/appt-f9", testToken)); got.VisitType != "NEW" || !got.Waitlist {
		t.Fatalf("FHIR appointment: visitType %q waitlist %v", got.VisitType, got.Waitlist)
	}
}

// A published slot that turns free starts waitlist offers, once however often
// the EHR says so; a slot published free, or busy again, starts none.
func TestFreedSlotStartsWaitlistOffers(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	due := func() []string {
		t.Helper()
		rs, err := h.store.DueReleases(ctx, clinicID, h.clock.Now().Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.SlotID)
		}
		return ids
	}
	start := "2026-12-03T09:00:00-05:00"
	steps := []struct {
		slotID, status string
		version        int
		want           string
	}{
		{"born-free", "free", 1, "[]"},
		{"freed", "busy", 1, "[]"},
		{"freed", "free", 2, "[freed]"},
		{"freed", "free", 3, "[freed]"}, // free again: the running release is kept
		{"freed", "busy", 4, "[freed]"}, // the waves see it busy and stop
	}
	for i, st := range steps {
		resp := h.signed(http.MethodPut, slotsPath+"/"+st.slotID, "application/json", "", slotBody(start, st.status, st.version))
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			t.Fatalf("step %d: %d %s", i, resp.StatusCode, readAll(resp))
		}
		readAll(resp)
		if got := fmt.Sprint(due()); got != st.want {
			t.Fatalf("step %d (%s %s): due releases %s, want %s", i, st.slotID, st.status, got, st.want)
		}
	}
}

// The EHR's waitlist flag puts a booked appointment on the clinic's waitlist,
// keeps its first join time across updates, and takes it off with false or a
// cancellation.
func TestWaitlistFlagKeepsTheClinicsWaitlist(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	put := func(id, status string, waitlist *bool, version int) {
		t.Helper()
		body := map[string]any{"status": status, "start": "2026-12-10T09:00:00-05:00", "durationMinutes": 30,
			"patient": map[string]any{"id": "pat-wl", "phone": "+15550100143", "givenName": "Sam"}, "version": version}
		if waitlist != nil {
			body["waitlist"] = *waitlist
		}
		b, _ := json.Marshal(body)
		resp := h.signed(http.MethodPut, "/v1/clinics/"+clinicID+"/appointments/"+id, "application/json", "", b)
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			t.Fatalf("%s v%d: %d %s", id, version, resp.StatusCode, readAll(resp))
		}
		readAll(resp)
	}
	on := func() map[string]time.Time {
		t.Helper()
		w, err := h.store.ClinicWaitlist(ctx, clinicID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]time.Time{}
		for _, e := range w.Entries {
			out[e.AppointmentID] = e.JoinedAt
		}
		return out
	}
	yes, no := true, false
	put("wl-1", "booked", &yes, 1)
	put("wl-2", "booked", nil, 1)
	first := on()
	if _, ok := first["wl-1"]; !ok || len(first) != 1 {
		t.Fatalf("waitlist %v, want wl-1 only", first)
	}
	h.clock.Advance(time.Hour)
	put("wl-1", "booked", nil, 2) // no flag: the stored one stands, and so does the place
	if got := on(); !got["wl-1"].Equal(first["wl-1"]) {
		t.Fatalf("join time moved: %v -> %v", first["wl-1"], got["wl-1"])
	}
	put("wl-1", "booked", &no, 3)
	if got := on(); len(got) != 0 {
		t.Fatalf("after waitlist false: %v", got)
	}
	put("wl-2", "booked", &yes, 2)
	put("wl-2", "cancelled", nil, 3)
	if got := on(); len(got) != 0 {
		t.Fatalf("after the EHR cancelled: %v", got)
	}

	// A patient's own join (on WhatsApp) is left by the EHR's false or cancellation too.
	for i, step := range []struct {
		status string
		flag   *bool
	}{{"booked", &no}, {"cancelled", nil}} {
		id := fmt.Sprintf("wl-patient-%d", i)
		put(id, "booked", nil, 1)
		if err := h.store.JoinWaitlist(ctx, clinicID, slot.Entry{AppointmentID: id, PatientID: "pat-wl", JoinedAt: h.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		put(id, "booked", nil, 2) // no flag: the patient's join stands
		if _, ok := on()[id]; !ok {
			t.Fatalf("%s: an update without the flag took the patient's join off", id)
		}
		put(id, step.status, step.flag, 3)
		if _, ok := on()[id]; ok {
			t.Fatalf("%s: still on the waitlist after %s", id, step.status)
		}
	}
}
