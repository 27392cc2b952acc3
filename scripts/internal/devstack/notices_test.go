package devstack_test

import (
	"bytes"
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
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// postNotice POSTs a signed notice request and decodes the answer.
func (w *world) postNotice(t *testing.T, patientID, body string, wantStatus int) ehr.NoticeState {
	t.Helper()
	headers, err := ehr.SignHeaders(w.cfg.EHRWebhookSecret, "msg_"+platform.NewID(), time.Now(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, w.stack.APIURL+"/v1/clinics/"+devstack.DemoClinicID+"/patients/"+patientID+"/notices",
		bytes.NewReader([]byte(body)))
	for k, v := range headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != wantStatus {
		t.Fatalf("POST notice: HTTP %d, want %d: %s", resp.StatusCode, wantStatus, b)
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
	req, _ := http.NewRequest(http.MethodGet, w.stack.APIURL+"/v1/clinics/"+devstack.DemoClinicID+"/patients/"+patientID+"/notices/"+id, nil)
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
