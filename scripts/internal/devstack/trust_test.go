package devstack_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/conversation"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// The trust tests: what reaches a number, and what the clinic is told, when the
// sender is unknown, has said STOP, or answers an old reminder. Each ends with a log
// check: nothing the stack logged while it ran names a number, a name, a message
// text, a wamid, a plain patient id or contact key.

const demoClinicName = "Demo Family Clinic"

// sentTexts returns the bodies of the free-form and interactive messages to e164.
func sentTexts(recs []whatsapptest.Recorded, e164 string) []string {
	var out []string
	for _, r := range recs {
		if got := to(r); got != e164 && got != strings.TrimPrefix(e164, "+") {
			continue
		}
		var m struct {
			Text        *struct{ Body string }                `json:"text"`
			Interactive *struct{ Body struct{ Text string } } `json:"interactive"`
		}
		_ = json.Unmarshal(r.Body, &m)
		switch {
		case m.Text != nil:
			out = append(out, m.Text.Body)
		case m.Interactive != nil:
			out = append(out, m.Interactive.Body.Text)
		}
	}
	return out
}

func templatesTo(recs []whatsapptest.Recorded, e164 string) []whatsapptest.Recorded {
	var out []whatsapptest.Recorded
	for _, r := range recs {
		if got := to(r); (got == e164 || got == strings.TrimPrefix(e164, "+")) && r.Type == "template" {
			out = append(out, r)
		}
	}
	return out
}

// putAppointment PUTs an appointment event with the patient's consent stated at
// consentAt, and returns the answer.
func (w *world) putAppointment(t *testing.T, apptID string, p patientSpec, start, consentAt time.Time, wantStatus int) ehr.AppointmentState {
	t.Helper()
	now := time.Now().UTC()
	body, _ := json.Marshal(map[string]any{
		"status": "booked", "start": start.UTC().Truncate(time.Minute).Format(time.RFC3339), "durationMinutes": 30,
		"location":  map[string]string{"name": demoClinicName, "address": "100 Example Ave, Springfield"},
		"patient":   map[string]string{"id": p.id, "phone": p.phone, "givenName": p.givenName, "language": "en-US"},
		"consent":   map[string]string{"whatsapp": "opted_in", "at": consentAt.UTC().Format(time.RFC3339Nano), "source": "front-desk"},
		"updatedAt": now.Format(time.RFC3339Nano),
	})
	var st ehr.AppointmentState
	w.signedPUT(t, "/appointments/"+apptID, body, wantStatus, &st)
	return st
}

// putConsent PUTs a statement on the consent endpoint.
func (w *world) putConsent(t *testing.T, patientID string, stmt map[string]string, wantStatus int) ehr.ConsentState {
	t.Helper()
	body, _ := json.Marshal(stmt)
	var st ehr.ConsentState
	w.signedPUT(t, "/patients/"+patientID+"/consent", body, wantStatus, &st)
	return st
}

func (w *world) signedPUT(t *testing.T, path string, body []byte, wantStatus int, into any) {
	t.Helper()
	code, b := w.signedEHR(t, http.MethodPut, "/v1/clinics/"+devstack.DemoClinicID+path, time.Now(), body)
	if code != wantStatus {
		t.Fatalf("PUT %s: HTTP %d, want %d: %s", path, code, wantStatus, b)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("PUT %s: decode: %v: %s", path, err, b)
	}
}

// assertLogsClean fails when a log line since offset holds any of the secrets or a
// test phone number in any formatting.
func (w *world) assertLogsClean(t *testing.T, offset int, secrets ...string) {
	t.Helper()
	phone := regexp.MustCompile(`5550100\d\d\d`)
	lines := linesSince(w.logs, offset)
	if len(lines) == 0 {
		t.Fatal("no log lines to check")
	}
	for _, l := range lines {
		b, _ := json.Marshal(l)
		line := string(b)
		if m := phone.FindString(line); m != "" {
			t.Errorf("a log line holds a phone number (%s): %s", m, line)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(line, s) {
				t.Errorf("a log line holds %q: %s", s, line)
			}
		}
	}
}

// Unknown numbers writing an emergency phrase in each supported language get the
// safety text in that language and the clinic an urgent escalation.
func TestEmergencyFromUnknownNumbersInEachLanguage(t *testing.T) {
	w := stackFor(t)
	offset := w.logs.Len()
	w.dumpOnFailure(t, offset)
	cases := []struct {
		lang, phone, text string
	}{
		{"en", "+15550100191", "Please help, my father can't breathe"},
		{"es", "+15550100192", "mi esposa tiene dolor en el pecho"},
		{"pt", "+15550100193", "minha filha não consegue respirar"},
	}
	secrets := []string{}
	for _, c := range cases {
		wamid := "wamid.HBgL" + strings.TrimPrefix(c.phone, "+") + "SAFETY" + platform.NewID()
		secrets = append(secrets, wamid, c.text)
		msg := w.inboundMessage(strings.TrimPrefix(c.phone, "+"), map[string]any{"id": wamid, "type": "text", "text": map[string]string{"body": c.text}})
		if code := w.postWebhook(t, msg); code != http.StatusOK {
			t.Fatalf("%s: webhook answered %d", c.lang, code)
		}
		want := conversation.RepliesFor(c.lang, "en-US").Safety(demoClinicName, "911")
		eventually(t, waitTimeout, c.lang+" safety text to "+c.phone, func() (bool, string) {
			got := sentTexts(w.stack.Stub.Sent(), c.phone)
			return len(got) == 1 && got[0] == want, fmt.Sprintf("sent %q", got)
		})
		eventually(t, waitTimeout, "an urgent escalation for the "+c.lang+" message", func() (bool, string) {
			events, _ := w.callback.snapshot()
			for _, e := range events {
				if e.Type == clinic.EventConversationEscalated && e.Data["messageId"] == messagelog.ID(wamid) {
					if e.Data["urgency"] != "urgent" || e.Data["reason"] != "emergency" {
						t.Fatalf("escalation %+v, want urgent emergency", e.Data)
					}
					return true, ""
				}
			}
			return false, fmt.Sprintf("%d events", len(events))
		})
	}
	w.waitDrained(t, "ehr-outbox", offset)
	w.assertLogsClean(t, offset, secrets...)
}

// An unknown number's STOP holds for a patient the EHR books on that number later,
// even with an opt-in embedded in the booking: nothing is sent but the one
// acknowledgement.
func TestStopFromUnknownNumberHoldsForPatientsAddedLater(t *testing.T) {
	w := stackFor(t)
	offset := w.logs.Len()
	w.dumpOnFailure(t, offset)
	p := patientSpec{id: "systest-trust-later-patient", phone: "+15550100194", givenName: "Quinn"}
	apptID := "systest-trust-later-appt"
	wamid := "wamid.HBgL15550100194STOP" + platform.NewID()
	stop := w.inboundMessage("15550100194", map[string]any{"id": wamid, "type": "text", "text": map[string]string{"body": "STOP"}})
	if code := w.postWebhook(t, stop); code != http.StatusOK {
		t.Fatalf("STOP webhook answered %d", code)
	}
	ack := conversation.RepliesFor("en-US", "en-US").OptedOut(demoClinicName)
	eventually(t, waitTimeout, "the one STOP acknowledgement", func() (bool, string) {
		got := sentTexts(w.stack.Stub.Sent(), p.phone)
		return len(got) == 1 && got[0] == ack, fmt.Sprintf("sent %q", got)
	})

	st := w.putAppointment(t, apptID, p, time.Now().Add(47*time.Hour), time.Now(), http.StatusCreated)
	if st.Consent.State != consent.OptedOut {
		t.Errorf("booking answer: consent %s, want opted_out (the number said STOP)", st.Consent.State)
	}
	eventually(t, waitTimeout, "the 48 h reminder to be skipped", func() (bool, string) {
		r, ok := reminderOf(w.appointment(t, apptID), string(reminder.KindDayBefore))
		if ok && (r.State == reminder.StateSent || r.State == reminder.StateDelivered) {
			t.Fatalf("the reminder went out to a number that said STOP: %+v", r)
		}
		return ok && r.State == reminder.StateSkipped, fmt.Sprintf("found=%v state=%q reason=%q", ok, r.State, r.Reason)
	})
	if n := len(templatesTo(w.stack.Stub.Sent(), p.phone)); n != 0 {
		t.Errorf("%d templates to the number, want none", n)
	}
	w.waitDrained(t, "outbound", offset)
	w.assertLogsClean(t, offset, wamid, p.givenName, p.id, "Quinn")
}

// A STOP, then appointment updates that carry opted_in at the current time: nothing
// is sent and the answer says the statement was not applied. A consent statement
// with evidence lifts the opt-out and the next reminder goes out.
func TestStopOutlivesEmbeddedOptInUntilEvidence(t *testing.T) {
	w := stackFor(t)
	offset := w.logs.Len()
	w.dumpOnFailure(t, offset)
	p := patientSpec{id: "systest-trust-stop-patient", phone: "+15550100195", givenName: "Morgan"}
	apptID := "systest-trust-stop-appt"
	w.putAppointment(t, apptID, p, time.Now().Add(100*time.Hour), time.Now().Add(-time.Hour), http.StatusCreated)

	wamid := "wamid.HBgL15550100195STOP" + platform.NewID()
	stop := w.inboundMessage("15550100195", map[string]any{"id": wamid, "type": "text", "text": map[string]string{"body": "STOP"}})
	if code := w.postWebhook(t, stop); code != http.StatusOK {
		t.Fatalf("STOP webhook answered %d", code)
	}
	eventually(t, waitTimeout, "the opt-out to be recorded", func() (bool, string) {
		st := w.appointment(t, apptID).Consent.State
		return st == consent.OptedOut, string(st)
	})

	// The EHR resends its opt-in with every update; the last one makes the 48 h
	// reminder due at once.
	for i, start := range []time.Duration{99 * time.Hour, 47 * time.Hour} {
		st := w.putAppointment(t, apptID, p, time.Now().Add(start), time.Now(), http.StatusOK)
		if st.Consent.State != consent.OptedOut {
			t.Fatalf("update %d: consent %s, want opted_out", i, st.Consent.State)
		}
		last := st.Consent.History[len(st.Consent.History)-1]
		if last.State != consent.OptedIn || last.NotApplied != consent.NotAppliedEmbedded {
			t.Fatalf("update %d: newest ledger entry %+v, want the opt-in kept as not applied", i, last)
		}
	}
	eventually(t, waitTimeout, "the 48 h reminder to be skipped", func() (bool, string) {
		r, ok := reminderOf(w.appointment(t, apptID), string(reminder.KindDayBefore))
		if ok && (r.State == reminder.StateSent || r.State == reminder.StateDelivered) {
			t.Fatalf("the reminder went out after STOP: %+v", r)
		}
		return ok && r.State == reminder.StateSkipped, fmt.Sprintf("found=%v state=%q reason=%q", ok, r.State, r.Reason)
	})
	if n := len(templatesTo(w.stack.Stub.Sent(), p.phone)); n != 0 {
		t.Fatalf("%d templates after STOP, want none", n)
	}

	// Without evidence the consent endpoint cannot lift a WhatsApp STOP either.
	st := w.putConsent(t, p.id, map[string]string{"whatsapp": "opted_in", "at": time.Now().UTC().Format(time.RFC3339Nano)}, http.StatusOK)
	if st.State != consent.OptedOut {
		t.Fatalf("consent without evidence: state %s, want opted_out", st.State)
	}
	st = w.putConsent(t, p.id, map[string]string{"whatsapp": "opted_in", "at": time.Now().UTC().Format(time.RFC3339Nano),
		"source": "front-desk", "evidence": "signed consent form 2026-12-01"}, http.StatusOK)
	if st.State != consent.OptedIn {
		t.Fatalf("consent with evidence: state %s, want opted_in", st.State)
	}
	// The clinic moves the visit again: the new 48 h reminder goes out.
	w.putAppointment(t, apptID, p, time.Now().Add(46*time.Hour), time.Now().Add(-2*time.Hour), http.StatusOK)
	eventually(t, waitTimeout, "the 48 h reminder after the evidence", func() (bool, string) {
		n := len(templatesTo(w.stack.Stub.Sent(), p.phone))
		return n == 1, fmt.Sprintf("%d templates", n)
	})
	w.waitDrained(t, "outbound", offset)
	w.assertLogsClean(t, offset, wamid, p.givenName, p.id)
}

// A Confirm tapped on the reminder for the appointment's earlier time, after the
// clinic moved it, leaves it unconfirmed, tells the patient the current time and
// tells the clinic nothing.
func TestOldGenerationConfirmAfterMove(t *testing.T) {
	w := stackFor(t)
	offset := w.logs.Len()
	w.dumpOnFailure(t, offset)
	p := patientSpec{id: "systest-trust-move-patient", phone: "+15550100196", givenName: "Avery"}
	apptID := "systest-trust-move-appt"
	w.putAppointment(t, apptID, p, time.Now().Add(47*time.Hour), time.Now().Add(-time.Hour), http.StatusCreated)
	var first whatsapptest.Recorded
	eventually(t, waitTimeout, "the first 48 h reminder", func() (bool, string) {
		recs := templatesTo(w.stack.Stub.Sent(), p.phone)
		if len(recs) > 0 {
			first = recs[0]
		}
		return len(recs) == 1, fmt.Sprintf("%d templates", len(recs))
	})
	var oldConfirm string
	for _, pl := range quickReplyPayloads(t, first.Body) {
		if bp, _ := reminder.ParseButtonPayload(pl); bp.Action == reminder.ActionConfirm {
			oldConfirm = pl
		}
	}

	newStart := time.Now().Add(46 * time.Hour).UTC().Truncate(time.Minute)
	w.putAppointment(t, apptID, p, newStart, time.Now().Add(-time.Hour), http.StatusOK)
	eventually(t, waitTimeout, "the reminder for the new time", func() (bool, string) {
		n := len(templatesTo(w.stack.Stub.Sent(), p.phone))
		return n == 2, fmt.Sprintf("%d templates", n)
	})

	tapID := "wamid.HBgL15550100196TAP" + platform.NewID()
	tap := w.inboundMessage("15550100196", map[string]any{"id": tapID, "type": "button",
		"button":  map[string]string{"payload": oldConfirm, "text": "Confirm"},
		"context": map[string]string{"from": "15550100000", "id": first.WAMID}})
	if code := w.postWebhook(t, tap); code != http.StatusOK {
		t.Fatalf("tap webhook answered %d", code)
	}
	clinicLoc, _ := time.LoadLocation("America/New_York")
	want := conversation.RepliesFor("en-US", "en-US").Moved(demoClinicName,
		reminder.FormatDate(newStart, clinicLoc, reminder.LangEnglish), reminder.FormatTime(newStart, clinicLoc, reminder.LangEnglish))
	eventually(t, waitTimeout, "the patient to be told the current time", func() (bool, string) {
		got := sentTexts(w.stack.Stub.Sent(), p.phone)
		return len(got) == 1 && got[0] == want, fmt.Sprintf("sent %q", got)
	})
	w.waitDrained(t, "ehr-outbox", offset)
	if st := w.appointment(t, apptID); st.Response != nil {
		t.Errorf("response %+v, want none", st.Response)
	}
	events, _ := w.callback.snapshot()
	for _, e := range events {
		if e.Data["appointmentId"] == apptID && e.Type == clinic.EventAppointmentConfirmed {
			t.Errorf("the clinic was told %s for a time the patient never saw", e.Type)
		}
	}
	w.assertLogsClean(t, offset, tapID, first.WAMID, p.givenName, p.id)
	// The tap is still findable in the logs, by its keyed digest.
	if !bytes.Contains(w.logs.Since(offset), []byte(platform.Hash(tapID))) {
		t.Error("no log line carries the tap's digest")
	}
}
