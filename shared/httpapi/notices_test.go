package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/clinic/clinictest"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/notice"
	"github.com/frontdesk-health/frontdesk/shared/notices"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

// recordingOutbox stands in for the outbound queue: the notice's own tests check
// what the service hands to it.
type recordingOutbox struct {
	mu    sync.Mutex
	sends []notices.Send
}

func (o *recordingOutbox) EnqueueNotice(_ context.Context, s notices.Send) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sends = append(o.sends, s)
	return nil
}

func noticeHarness(t *testing.T) (*secHarness, *recordingOutbox, *clinictest.Recorder) {
	h := newSecHarness(t)
	// 14:00 UTC is 09:00 in New York: outside the clinic's quiet hours (21:00-08:00).
	h.clock.Advance(2 * time.Hour)
	return h, h.outbox, h.events
}

// TestNoticeInQuietHoursWaits: at 07:00 local a notice is accepted, stored queued
// until the quiet hours end at 08:00 (the minute's dispatch hands it on then), and
// not put on the outbound path now.
func TestNoticeInQuietHoursWaits(t *testing.T) {
	h := newSecHarness(t) // 12:00 UTC: 07:00 in New York
	expectStatus(t, h.do(h.signedNow("PUT", "/v1/clinics/"+clinicID+"/appointments/appt-1", "application/json", "", nativeBody(t, nil))), 201)
	resp := h.do(h.signedNow("POST", "/v1/clinics/"+clinicID+"/patients/pat-100/notices", "application/json", "", []byte(`{"kind":"document_ready"}`)))
	expectStatus(t, resp, 202)
	n := decodeNotice(t, resp)
	if n.State != notice.StateQueued || n.NotBefore == nil || !n.NotBefore.Equal(mustTime(t, "2026-11-22T13:00:00Z")) {
		t.Fatalf("notice: %+v", n)
	}
	if len(h.outbox.sends) != 0 {
		t.Fatalf("%d sends in quiet hours", len(h.outbox.sends))
	}
}

func patientFor(lang string) appointment.Patient {
	return appointment.Patient{ClinicID: "c1", ID: "p1", Phone: "+15550100143", GivenName: "Maria", Language: lang}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func decodeNotice(t *testing.T, resp *http.Response) ehr.NoticeState {
	t.Helper()
	var n ehr.NoticeState
	if err := json.Unmarshal([]byte(readAll(resp)), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNoticeAcceptedOnceAndSentAsItsTemplate: a lab_ready request is accepted,
// handed to the outbound path as the Spanish utility template (the patient's
// es-MX) with the clinic's portal and nothing from the request, replayed by
// webhook-id without a second send, and readable with the read token.
func TestNoticeAcceptedOnceAndSentAsItsTemplate(t *testing.T) {
	h, out, _ := noticeHarness(t)
	expectStatus(t, h.do(h.signedNow("PUT", "/v1/clinics/"+clinicID+"/appointments/appt-1", "application/json", "", nativeBody(t, nil))), 201)
	path := "/v1/clinics/" + clinicID + "/patients/pat-100/notices"
	first := h.do(h.signedNow("POST", path, "application/json", "msg_notice_1", []byte(`{"kind":"lab_ready"}`)))
	expectStatus(t, first, 202)
	n := decodeNotice(t, first)
	if n.State != notice.StateQueued || n.Kind != notice.KindLabReady || !ehr.ValidNoticeID(n.NoticeID) || n.Source != notice.SourceAPI {
		t.Fatalf("answer: %+v", n)
	}
	again := h.do(h.signedNow("POST", path, "application/json", "msg_notice_1", []byte(`{"kind":"lab_ready"}`)))
	expectStatus(t, again, 202)
	if again.Header.Get("Idempotent-Replayed") != "true" || decodeNotice(t, again).NoticeID != n.NoticeID {
		t.Fatal("a repeated webhook-id must replay the first answer")
	}
	if len(out.sends) != 1 {
		t.Fatalf("%d sends enqueued, want 1", len(out.sends))
	}
	s := out.sends[0]
	if s.Notice.ID != n.NoticeID || s.ContactKey != "+12025550143" || s.ExpiresAt.IsZero() {
		t.Fatalf("send: %+v", s)
	}
	b, err := json.Marshal(s.Message)
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	for _, want := range []string{`"notice_lab_ready"`, `"es"`, `"Ana"`, `"Test Clinic"`, `"https://portal.example.org"`} {
		if !strings.Contains(body, want) {
			t.Errorf("message lacks %s: %s", want, body)
		}
	}
	if whatsappspec.SpecAvailable() {
		if err := whatsappspec.RequireSpec(t).ValidateMessage(b); err != nil {
			t.Errorf("Meta's spec rejects the notice: %v\n%s", err, body)
		}
	}
	got := h.get(path+"/"+n.NoticeID, testToken)
	expectStatus(t, got, 200)
	if g := decodeNotice(t, got); g.NoticeID != n.NoticeID || g.State != notice.StateQueued {
		t.Fatalf("GET: %+v", g)
	}
	expectStatus(t, h.get("/v1/clinics/"+clinicID+"/patients/pat-other/notices/"+n.NoticeID, testToken), 404)
}

// TestNoticeEveryKindValidatesAgainstMetasSpec composes every kind in every
// language and validates the send against the Message schema of Meta's spec.
func TestNoticeEveryKindValidatesAgainstMetasSpec(t *testing.T) {
	v := whatsappspec.RequireSpec(t)
	c := clinic.Clinic{ID: "c1", Name: "Clinica Sol", TimeZone: "America/New_York", DefaultLanguage: "en_US", Phone: "+1 555 0100"}
	visit := mustTime(t, "2026-11-30T15:00:00-05:00")
	for _, kind := range notice.Kinds {
		for _, lang := range reminder.Languages {
			p := patientFor(lang)
			m, err := notices.Compose(c, p, notice.Notice{ClinicID: "c1", ID: "ntc_x", Kind: kind, DueDate: "2027-03-01", AppointmentID: "a1"}, visit)
			if err != nil {
				t.Fatalf("%s/%s: %v", kind, lang, err)
			}
			b, _ := json.Marshal(m)
			if err := v.ValidateMessage(b); err != nil {
				t.Errorf("%s/%s: %v\n%s", kind, lang, err, b)
			}
		}
	}
}

// TestNoticeToAnOptedOutPatientFails: stored as failed with its reason, the clinic
// told with message.failed naming the notice, nothing enqueued.
func TestNoticeToAnOptedOutPatientFails(t *testing.T) {
	h, out, evs := noticeHarness(t)
	expectStatus(t, h.do(h.signedNow("PUT", "/v1/clinics/"+clinicID+"/appointments/appt-1", "application/json", "", nativeBody(t, nil))), 201)
	optOut := `{"whatsapp":"opted_out","at":"2026-11-22T11:00:00Z","source":"front-desk"}`
	expectStatus(t, h.do(h.signedNow("PUT", "/v1/clinics/"+clinicID+"/patients/pat-100/consent", "application/json", "", []byte(optOut))), 200)
	ledger, _ := h.store.ConsentLedger(context.Background(), clinicID, "pat-100")
	if consent.Current(ledger) != consent.OptedOut {
		t.Fatalf("setup: consent %v", consent.Current(ledger))
	}
	resp := h.do(h.signedNow("POST", "/v1/clinics/"+clinicID+"/patients/pat-100/notices", "application/json", "",
		[]byte(`{"kind":"recall_due","dueDate":"2027-02-01"}`)))
	expectStatus(t, resp, 202)
	n := decodeNotice(t, resp)
	if n.State != notice.StateFailed || n.Reason != notices.ReasonOptedOut || n.DueDate != "2027-02-01" {
		t.Fatalf("answer: %+v", n)
	}
	if len(out.sends) != 0 {
		t.Fatalf("%d sends to an opted-out patient", len(out.sends))
	}
	// Exactly these fields: ids, the kind and the reason, nothing more.
	want := clinic.MessageFailed{NoticeID: n.NoticeID, PatientID: "pat-100", NoticeKind: "recall_due", Reason: notices.ReasonOptedOut}
	if got := evs.Events(); len(got) != 1 || got[0].Type != clinic.EventMessageFailed || got[0].Data != clinic.Data(want) {
		t.Fatalf("events: %+v", got)
	}
}

// TestFulfilledVisitSchedulesRecallAndFeedback: a fulfilled diabetes-review visit
// schedules its recall (90 days after the visit's local date, sent 14 days before
// at 10:00 local) and its feedback question (3 h after the visit's end), each
// once however often the EHR repeats the update; a booked visit schedules nothing.
func TestFulfilledVisitSchedulesRecallAndFeedback(t *testing.T) {
	h, out, _ := noticeHarness(t)
	path := "/v1/clinics/" + clinicID + "/appointments/appt-r1"
	start := "2026-11-21T10:00:00-05:00"
	booked := nativeBody(t, map[string]any{"start": start, "visitType": "diabetes-review", "version": 1})
	expectStatus(t, h.do(h.signedNow("PUT", path, "application/json", "", booked)), 201)
	recallID, feedbackID := notice.RecallID(clinicID, "appt-r1"), notice.FeedbackID(clinicID, "appt-r1")
	expectStatus(t, h.get("/v1/clinics/"+clinicID+"/patients/pat-100/notices/"+recallID, testToken), 404)
	for v := 2; v <= 3; v++ { // the EHR repeats itself
		done := nativeBody(t, map[string]any{"start": start, "visitType": "diabetes-review", "status": "fulfilled", "version": v})
		expectStatus(t, h.do(h.signedNow("PUT", path, "application/json", "", done)), 200)
	}
	ny, _ := time.LoadLocation("America/New_York")
	recall := decodeNotice(t, h.get("/v1/clinics/"+clinicID+"/patients/pat-100/notices/"+recallID, testToken))
	if recall.Kind != notice.KindRecallDue || recall.Source != notice.SourceRecall || recall.DueDate != "2027-02-19" ||
		recall.NotBefore == nil || !recall.NotBefore.Equal(time.Date(2027, 2, 5, 10, 0, 0, 0, ny)) || recall.State != notice.StateQueued {
		t.Fatalf("recall: %+v", recall)
	}
	fb := decodeNotice(t, h.get("/v1/clinics/"+clinicID+"/patients/pat-100/notices/"+feedbackID, testToken))
	// The visit ended at 15:30 UTC on Nov 21; the question was due 3 h later, before
	// the EHR reported the visit (the clock says Nov 22), so it goes out at once.
	if fb.Kind != notice.KindFeedback || fb.AppointmentID != "appt-r1" || fb.NotBefore == nil ||
		!fb.NotBefore.Equal(mustTime(t, "2026-11-21T18:30:00Z")) {
		t.Fatalf("feedback: %+v", fb)
	}
	var sentFeedback int
	for _, s := range out.sends {
		if s.Notice.ID == recallID {
			t.Error("the recall was sent before its time")
		}
		if s.Notice.ID == feedbackID {
			sentFeedback++
		}
	}
	if sentFeedback < 1 {
		t.Fatalf("the overdue feedback question was not handed on: %d sends", len(out.sends))
	}
}
