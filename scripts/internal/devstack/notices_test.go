package devstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/notice"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// postNotice POSTs a signed notice request to the demo clinic and decodes the answer.
func (w *world) postNotice(t *testing.T, patientID, body string, wantStatus int) ehr.NoticeState {
	t.Helper()
	return w.postNoticeTo(t, devstack.DemoClinicID, patientID, body, wantStatus)
}

func (w *world) postNoticeTo(t *testing.T, clinicID, patientID, body string, wantStatus int) ehr.NoticeState {
	t.Helper()
	code, b := w.signedEHR(t, http.MethodPost, "/v1/clinics/"+clinicID+"/patients/"+patientID+"/notices", time.Now(), []byte(body))
	if code != wantStatus {
		t.Fatalf("POST notice: HTTP %d, want %d: %s", code, wantStatus, b)
	}
	var n ehr.NoticeState
	if wantStatus < 300 {
		if err := json.Unmarshal(b, &n); err != nil {
			t.Fatalf("decode: %v: %s", err, b)
		}
	}
	return n
}

func (w *world) getNotice(t *testing.T, patientID, id string) ehr.NoticeState {
	t.Helper()
	return w.getNoticeOf(t, devstack.DemoClinicID, patientID, id)
}

func (w *world) getNoticeOf(t *testing.T, clinicID, patientID, id string) ehr.NoticeState {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.stack.APIURL+"/v1/clinics/"+clinicID+"/patients/"+patientID+"/notices/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+w.cfg.EHRAPIToken)
	resp, err := w.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var n ehr.NoticeState
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &n) != nil {
		t.Fatalf("GET notice: HTTP %d: %s", resp.StatusCode, b)
	}
	return n
}

// A lab_ready notice and a feedback question through the running stack: each is
// sent once as its utility template, valid against Meta's spec, carrying only the
// given name, the clinic, a date and the clinic's portal; GET shows them sent; the
// patient's bare "1" answers the question, which reaches the clinic's callback as
// feedback.received and, being low, as a hand-off to staff.
func TestNoticeAndFeedbackThroughTheStack(t *testing.T) {
	w := stackFor(t)
	w.dumpOnFailure(t, w.logs.Len())
	patient := patientSpec{id: "systest-notice-patient", phone: "+15550100188", givenName: "Noa"}
	waID := strings.TrimPrefix(patient.phone, "+")
	apptID := "systest-notice-appt"
	w.book(t, apptID, patient, 72*time.Hour)
	before := countSendsTo(w.stack.Stub.Sent(), patient.phone)

	lab := w.postNotice(t, patient.id, `{"kind":"lab_ready"}`, http.StatusAccepted)
	fb := w.postNotice(t, patient.id, `{"kind":"feedback","appointmentId":"`+apptID+`"}`, http.StatusAccepted)
	w.postNotice(t, patient.id, `{"kind":"lab_ready","testName":"HbA1c"}`, http.StatusBadRequest)

	var sends []whatsapptest.Recorded
	eventually(t, waitTimeout, "both notices at the Graph API stand-in", func() (bool, string) {
		sends = sends[:0]
		for _, r := range w.stack.Stub.Sent() {
			if to(r) == patient.phone || to(r) == waID {
				sends = append(sends, r)
			}
		}
		return len(sends) == before+2, fmt.Sprintf("%d sends to the patient", len(sends))
	})
	templates := map[string]bool{}
	for _, r := range sends[before:] {
		if !r.Accepted() {
			t.Fatalf("the stand-in refused a notice: HTTP %d code %d %s", r.HTTPStatus, r.Code, r.Body)
		}
		if err := whatsappspec.ValidateMessage(r.Body); err != nil {
			t.Errorf("a notice does not match Meta's Message schema: %v\n%s", err, r.Body)
		}
		templates[r.Template] = true
		for _, p := range bodyParams(t, r.Body) {
			switch p {
			case patient.givenName, "Demo Family Clinic", "https://portal.example.org/demo-clinic":
			default:
				if !strings.Contains(p, ",") { // the visit's date, e.g. "Friday, December 4"
					t.Errorf("notice parameter %q is none of given name, clinic, date or portal", p)
				}
			}
		}
	}
	if !templates["notice_lab_ready"] || !templates["feedback_request"] {
		t.Fatalf("templates sent: %v", templates)
	}
	// The sender marks them sent; the stand-in's statuses then move them on.
	eventually(t, waitTimeout, "the lab notice read, the question at least sent", func() (bool, string) {
		labSt, fbSt := w.getNotice(t, patient.id, lab.NoticeID).State, w.getNotice(t, patient.id, fb.NoticeID).State
		fbOut := fbSt == notice.StateSent || fbSt == notice.StateDelivered || fbSt == notice.StateRead
		return labSt == notice.StateRead && fbOut, fmt.Sprintf("lab %s, question %s", labSt, fbSt)
	})

	if code := w.postWebhook(t, w.inboundMessage(waID, map[string]any{"type": "text", "text": map[string]string{"body": "1"}})); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	eventually(t, waitTimeout, "feedback.received and the hand-off at the clinic's callback", func() (bool, string) {
		events, _ := w.callback.snapshot()
		var got, handOff bool
		for _, e := range events {
			if e.Type == clinic.EventFeedbackReceived && e.Data["noticeId"] == fb.NoticeID && e.Data["score"] == float64(1) {
				got = true
			}
			if e.Type == clinic.EventConversationEscalated && e.Data["patientId"] == patient.id && e.Data["reason"] == "low_feedback" {
				handOff = true
			}
		}
		return got && handOff, fmt.Sprintf("feedback.received %v, hand-off %v", got, handOff)
	})
	if st := w.getNotice(t, patient.id, fb.NoticeID); st.State != notice.StateAnswered || st.Score != 1 {
		t.Errorf("question after the answer: %+v", st)
	}
}

// bookAt PUTs a booked visit of p at clinicID, signed with the demo clinic's secret
// (which the test's clinics share), with the patient's opt-in.
func (w *world) bookAt(t *testing.T, clinicID, apptID string, p patientSpec, in time.Duration) {
	t.Helper()
	now := time.Now().UTC()
	body, _ := json.Marshal(map[string]any{
		"status": "booked", "start": now.Add(in).Truncate(time.Minute).Format(time.RFC3339), "durationMinutes": 30,
		"location":  map[string]string{"name": "Quiet Street Clinic", "address": "200 Example Ave, Springfield"},
		"patient":   map[string]string{"id": p.id, "phone": p.phone, "givenName": p.givenName, "language": "en-US"},
		"consent":   map[string]string{"whatsapp": "opted_in", "at": now.Add(-time.Hour).Format(time.RFC3339), "source": "systest", "evidence": "intake form"},
		"updatedAt": now.Format(time.RFC3339Nano),
	})
	code, b := w.signedEHR(t, http.MethodPut, "/v1/clinics/"+clinicID+"/appointments/"+apptID, now, body)
	if code != http.StatusCreated {
		t.Fatalf("book %s at %s: HTTP %d: %s", apptID, clinicID, code, b)
	}
}

// sendsTo returns the stand-in's recorded sends to phone.
func (w *world) sendsTo(phone string) []whatsapptest.Recorded {
	var out []whatsapptest.Recorded
	for _, r := range w.stack.Stub.Sent() {
		if to(r) == phone || to(r) == strings.TrimPrefix(phone, "+") {
			out = append(out, r)
		}
	}
	return out
}

// A notice the EHR sends during the clinic's quiet hours is accepted, held, and
// sent by the stack's notice dispatch (after its sweep) once they end, not before.
// The dev stack runs on the wall clock, so the test puts a clinic (the demo
// clinic's file under another id and a WhatsApp number no other test uses: inbound
// webhooks are routed by it) whose quiet hours began a minute ago and end at the
// next minute boundary at least 20 s away.
func TestNoticeInQuietHoursGoesOutWhenTheyEnd(t *testing.T) {
	w := stackFor(t)
	w.dumpOnFailure(t, w.logs.Len())
	ctx := context.Background()
	demo, err := w.stack.Store.GetClinic(ctx, devstack.DemoClinicID)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := demo.Location()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	minute := now.Truncate(time.Minute)
	end := minute.Add(time.Minute)
	if end.Sub(now) < 20*time.Second {
		end = end.Add(time.Minute)
	}
	c := demo
	c.ID, c.Name, c.PhoneNumberID = "systest-quiet-notices", "Quiet Street Clinic", "100000000000179"
	c.QuietHours = reminder.QuietHours{Start: minute.Add(-time.Minute).Format("15:04"), End: end.Format("15:04")}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := w.stack.Store.PutClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	patient := patientSpec{id: "systest-quiet-notice-patient", phone: "+15550100189", givenName: "Ola"}
	w.bookAt(t, c.ID, "systest-quiet-notice-appt", patient, 72*time.Hour)

	n := w.postNoticeTo(t, c.ID, patient.id, `{"kind":"rx_ready"}`, http.StatusAccepted)
	if n.State != notice.StateQueued || n.NotBefore == nil || !n.NotBefore.Equal(end) {
		t.Fatalf("accepted in quiet hours %s-%s: %+v, want queued until %s", c.QuietHours.Start, c.QuietHours.End, n, end.UTC())
	}
	if sends := w.sendsTo(patient.phone); len(sends) != 0 {
		t.Fatalf("%d sends in quiet hours", len(sends))
	}
	var sends []whatsapptest.Recorded
	eventually(t, time.Until(end)+waitTimeout, "the notice at the Graph API stand-in after quiet hours", func() (bool, string) {
		sends = w.sendsTo(patient.phone)
		return len(sends) > 0, fmt.Sprintf("%d sends, quiet hours end in %s", len(sends), time.Until(end).Round(time.Second))
	})
	r := sends[0]
	if len(sends) != 1 || r.Template != "notice_rx_ready" || !r.Accepted() || r.At.Before(end) {
		t.Fatalf("sends %d: %s at %s (quiet hours end %s), HTTP %d", len(sends), r.Template, r.At, end, r.HTTPStatus)
	}
	if err := whatsappspec.ValidateMessage(r.Body); err != nil {
		t.Errorf("the notice does not match Meta's Message schema: %v\n%s", err, r.Body)
	}
	for _, p := range bodyParams(t, r.Body) {
		if p != patient.givenName && p != c.Name && p != c.PortalURL {
			t.Errorf("notice parameter %q is none of given name, clinic or portal", p)
		}
	}
	eventually(t, waitTimeout, "the notice's state", func() (bool, string) {
		st := w.getNoticeOf(t, c.ID, patient.id, n.NoticeID)
		return st.State == notice.StateSent || st.State == notice.StateDelivered || st.State == notice.StateRead, string(st.State)
	})
}

// Inside the 24-hour window (the patient wrote first) the feedback question goes
// as an interactive list, valid against Meta's spec, whose rows name the question;
// the patient's choice reaches the clinic as feedback.received with its score,
// once, and the question shows it answered.
func TestFeedbackListInsideTheWindowThroughTheStack(t *testing.T) {
	w := stackFor(t)
	w.dumpOnFailure(t, w.logs.Len())
	patient := patientSpec{id: "systest-feedback-list-patient", phone: "+15550100190", givenName: "Ines"}
	waID := strings.TrimPrefix(patient.phone, "+")
	apptID := "systest-feedback-list-appt"
	w.book(t, apptID, patient, 72*time.Hour)
	if code := w.postWebhook(t, w.inboundMessage(waID, map[string]any{"type": "text", "text": map[string]string{"body": "help"}})); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	eventually(t, waitTimeout, "the answer to the patient's message (the window is open)", func() (bool, string) {
		n := len(w.sendsTo(patient.phone))
		return n >= 1, fmt.Sprintf("%d sends", n)
	})
	before := len(w.sendsTo(patient.phone))

	fb := w.postNotice(t, patient.id, `{"kind":"feedback","appointmentId":"`+apptID+`"}`, http.StatusAccepted)
	var list whatsapptest.Recorded
	eventually(t, waitTimeout, "the feedback list at the Graph API stand-in", func() (bool, string) {
		sends := w.sendsTo(patient.phone)
		if len(sends) <= before {
			return false, fmt.Sprintf("%d sends", len(sends))
		}
		list = sends[before]
		return true, ""
	})
	if !list.Accepted() || list.Type != "interactive" {
		t.Fatalf("the feedback question: type %q template %q HTTP %d %s", list.Type, list.Template, list.HTTPStatus, list.Body)
	}
	if err := whatsappspec.ValidateMessage(list.Body); err != nil {
		t.Fatalf("the list does not match Meta's Message schema: %v\n%s", err, list.Body)
	}
	var m struct {
		Interactive struct {
			Type   string `json:"type"`
			Action struct {
				Sections []struct {
					Rows []struct {
						ID    string `json:"id"`
						Title string `json:"title"`
					} `json:"rows"`
				} `json:"sections"`
			} `json:"action"`
		} `json:"interactive"`
	}
	if err := json.Unmarshal(list.Body, &m); err != nil || m.Interactive.Type != "list" || len(m.Interactive.Action.Sections) != 1 {
		t.Fatalf("not a one-section list (%v): %s", err, list.Body)
	}
	rows := m.Interactive.Action.Sections[0].Rows
	var four struct{ ID, Title string }
	for _, r := range rows {
		nid, score, ok := notice.ParseListReply(r.ID)
		if !ok || nid != fb.NoticeID {
			t.Fatalf("row %+v does not name the question %s", r, fb.NoticeID)
		}
		if score == 4 {
			four.ID, four.Title = r.ID, r.Title
		}
	}
	if len(rows) != 5 || four.ID == "" {
		t.Fatalf("rows: %+v", rows)
	}

	reply := map[string]any{"type": "interactive", "interactive": map[string]any{"type": "list_reply",
		"list_reply": map[string]string{"id": four.ID, "title": four.Title}}}
	body := w.inboundMessage(waID, reply)
	for range 2 { // Meta redelivers
		if code := w.postWebhook(t, body); code != http.StatusOK {
			t.Fatalf("webhook answered %d", code)
		}
	}
	eventually(t, waitTimeout, "feedback.received at the clinic's callback", func() (bool, string) {
		st := w.getNotice(t, patient.id, fb.NoticeID)
		return st.State == notice.StateAnswered, string(st.State)
	})
	eventually(t, waitTimeout, "feedback.received at the clinic's callback", func() (bool, string) {
		events, _ := w.callback.snapshot()
		got := 0
		for _, e := range events {
			if e.Type == clinic.EventFeedbackReceived && e.Data["noticeId"] == fb.NoticeID {
				got++
				if e.Data["score"] != float64(4) {
					t.Fatalf("feedback.received: %v", e.Data)
				}
			}
		}
		return got == 1, fmt.Sprintf("%d feedback.received", got)
	})
	if st := w.getNotice(t, patient.id, fb.NoticeID); st.Score != 4 {
		t.Errorf("question after the answer: %+v", st)
	}
}

// bodyParams returns the text of a template send's body parameters.
func bodyParams(t *testing.T, body []byte) []string {
	t.Helper()
	var m struct {
		Template struct {
			Components []struct {
				Type       string `json:"type"`
				Parameters []struct {
					Text string `json:"text"`
				} `json:"parameters"`
			} `json:"components"`
		} `json:"template"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range m.Template.Components {
		if c.Type == "body" {
			for _, p := range c.Parameters {
				out = append(out, p.Text)
			}
		}
	}
	return out
}
