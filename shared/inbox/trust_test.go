package inbox

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/conversation"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

var trustSeq atomic.Int64

// message builds a one-message webhook from waID to the clinic, written at the
// world clock's time minus a few seconds (as if the queue delivered it promptly).
func (w *world) message(waID string, msg map[string]any) []byte {
	msg["from"] = waID
	msg["id"] = "wamid.HBgL" + waID + "TRUST" + strconv.FormatInt(trustSeq.Add(1), 10)
	msg["timestamp"] = strconv.FormatInt(w.clock.Now().Add(-5*time.Second).Unix(), 10)
	body, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": "206555010001", "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]string{"display_phone_number": "15550100000", "phone_number_id": phoneNumberID},
			"contacts":          []any{map[string]any{"profile": map[string]string{"name": "Zed Stranger"}, "wa_id": waID}},
			"messages":          []any{msg},
		}}},
	}}})
	return body
}

func textMsg(body string) map[string]any {
	return map[string]any{"type": "text", "text": map[string]string{"body": body}}
}

// escalations returns the conversation.escalated events published so far.
func (w *world) escalations() []clinic.Event {
	var out []clinic.Event
	for _, e := range w.events.Events() {
		if e.Type == clinic.EventConversationEscalated {
			out = append(out, e)
		}
	}
	return out
}

// safetyText is the safety answer in lang for the test clinic.
func safetyText(lang string) string {
	c := testClinic()
	return conversation.RepliesFor(lang, c.DefaultLanguage).Safety(c.Name, c.EmergencyNumber)
}

// An emergency from any sender gets the fixed safety text in the language it was
// written in and an urgent escalation: unknown numbers, a number two patients share,
// a quick reply's text and an interactive reply's title.
func TestSafetyAnswerFromAnySender(t *testing.T) {
	cases := []struct {
		name, waID string
		msg        map[string]any
		lang       string
	}{
		{"unknown number, English", "15550100171", textMsg("Please help, I can't breathe"), "en"},
		{"unknown number, Spanish", "15550100172", textMsg("mi mamá tiene dolor en el pecho"), "es"},
		{"unknown number, Portuguese", "15550100173", textMsg("meu pai não consegue respirar"), "pt"},
		{"unknown Mexican number in 521 form", "5215550100174", textMsg("me duele el pecho"), "es"},
		{"unclear language: the clinic's default", "15550100175", textMsg("stroke? ictus?"), "en"},
		{"known English patient writing Spanish", "15550100101", textMsg("no puedo respirar"), "es"},
		{"known Spanish patient, unclear language: the clinic's default", "15550100102", textMsg("stroke? ictus?"), "en"},
		{"shared family number", "15550100181", textMsg("my son is having a seizure"), "en"},
		{"a foreign quick reply's text", "15550100176", map[string]any{"type": "button",
			"button": map[string]string{"payload": "some-other-integration", "text": "chest pain"}}, "en"},
		{"an interactive reply's title", "15550100177", map[string]any{"type": "interactive",
			"interactive": map[string]any{"type": "button_reply", "button_reply": map[string]string{"id": "x-1", "title": "Dor no peito"}}}, "pt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			for _, id := range []string{"pat-fam-1", "pat-fam-2"} {
				if err := w.store.PutPatient(ctx, appointment.Patient{ClinicID: clinicID, ID: id, Phone: "+15550100181", GivenName: "Emily", Language: "es-MX"}); err != nil {
					t.Fatal(err)
				}
			}
			if n := w.deliver(w.message(c.waID, c.msg)); n != 0 {
				t.Fatalf("%d failures\n%s", n, w.logs.String())
			}
			sent := w.sentMessages()
			if len(sent) != 1 || sent[0].Text == nil || sent[0].Text.Body != safetyText(c.lang) {
				t.Fatalf("sent %+v, want only the %s safety text", sent, c.lang)
			}
			esc := w.escalations()
			if len(esc) != 1 || esc[0].Field("urgency") != UrgencyUrgent || esc[0].Field("reason") != ReasonEmergency {
				t.Fatalf("escalations %+v, want one urgent emergency", esc)
			}
			if esc[0].Field("wamid") != nil {
				t.Error("the escalation carries the wamid (it embeds the phone number)")
			}
			if id, _ := esc[0].Field("messageId").(string); !strings.HasPrefix(id, "msg_") {
				t.Errorf("escalation messageId %q, want Frontdesk's message id", id)
			}
		})
	}
}

// At most one safety answer per number per 10 minutes (each is a paid message),
// measured on the injected clock; every message still escalates as urgent.
func TestSafetyAnswerAtMostOncePerTenMinutes(t *testing.T) {
	w := newWorld(t)
	steps := []struct {
		after   time.Duration
		replies int // safety answers sent so far
	}{
		{0, 1},
		{time.Minute, 1},
		{8 * time.Minute, 1},
		{2 * time.Minute, 2}, // 11 min after the first answer
		{time.Minute, 2},
	}
	for i, s := range steps {
		w.clock.Advance(s.after)
		if n := w.deliver(w.message("15550100178", textMsg("I can't breathe"))); n != 0 {
			t.Fatalf("step %d: %d failures", i, n)
		}
		if got := len(w.sentMessages()); got != s.replies {
			t.Errorf("step %d: %d safety answers, want %d", i, got, s.replies)
		}
		if got := len(w.escalations()); got != i+1 {
			t.Errorf("step %d: %d escalations, want every message escalated (%d)", i, got, i+1)
		}
	}
	// Another number is answered at once.
	if n := w.deliver(w.message("15550100179", textMsg("chest pain"))); n != 0 || len(w.sentMessages()) != 3 {
		t.Fatalf("another number: %d failures, %d answers", n, len(w.sentMessages()))
	}
}

// STOP from a number no patient has is recorded on the number's contact and
// acknowledged once; the number then gets silence (hand-offs still reach staff),
// and START lifts it.
func TestStopFromUnknownNumberIsRecordedOnTheContact(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	const waID = "15550100185"
	key, _ := contact.KeyOf(waID)
	handOff := "Thank you for your message."
	steps := []struct {
		text      string
		optedOut  bool
		replies   int
		lastReply string // "" = no check; a prefix
	}{
		{"START", false, 1, handOff}, // nothing to resume: a message for staff
		{"STOP", true, 2, conversation.RepliesFor("en", "en").OptedOut("Clinica Sol")},
		{"stop please", true, 2, ""},
		{"Hello, do you take new patients?", true, 2, ""},
		{"START", false, 3, conversation.RepliesFor("en", "en").OptedIn("Clinica Sol")},
	}
	for i, s := range steps {
		w.clock.Advance(time.Minute)
		if n := w.deliver(w.message(waID, textMsg(s.text))); n != 0 {
			t.Fatalf("step %d: %d failures", i, n)
		}
		c, err := w.store.GetContact(ctx, clinicID, key)
		if err != nil {
			t.Fatal(err)
		}
		if c.OptedOut() != s.optedOut {
			t.Errorf("step %d (%s): contact opted out = %v, want %v", i, s.text, c.OptedOut(), s.optedOut)
		}
		sent := w.sentMessages()
		if len(sent) != s.replies {
			t.Fatalf("step %d (%s): %d replies, want %d", i, s.text, len(sent), s.replies)
		}
		if s.lastReply != "" && (sent[len(sent)-1].Text == nil || !strings.HasPrefix(sent[len(sent)-1].Text.Body, s.lastReply)) {
			t.Errorf("step %d: reply %+v, want %q", i, sent[len(sent)-1], s.lastReply)
		}
		if c.Consent != nil && !strings.HasPrefix(c.Consent.Evidence, "msg_") {
			t.Errorf("step %d: consent evidence %q, want Frontdesk's message id", i, c.Consent.Evidence)
		}
	}
	if got := len(w.escalations()); got != 2 {
		t.Errorf("%d escalations, want the first START's and the free text's", got)
	}
}

// A tap or keyword answering the reminder for the appointment's earlier time
// changes nothing and tells the patient the current time, with the buttons again;
// the clinic hears nothing. The reopen template's payload (a reply kind where a
// reminder's has a generation) still works.
func TestAnswerForAnEarlierTimeChangesNothing(t *testing.T) {
	oldGen := reminder.Generation(msgTime.Add(48 * time.Hour))
	cases := []struct {
		name string
		msg  map[string]any
	}{
		{"Confirm button from the old reminder", map[string]any{"type": "button", "button": map[string]string{
			"payload": "fd1:confirm:clinic-sol:appt-en:" + oldGen, "text": "Confirm"}}},
		{"Cancel interactive reply from the old reminder", map[string]any{"type": "interactive", "interactive": map[string]any{
			"type": "button_reply", "button_reply": map[string]string{"id": "fd1:cancel:clinic-sol:appt-en:" + oldGen, "title": "Cancel"}}}},
		{"keyword quoting the old reminder", map[string]any{"type": "text", "text": map[string]string{"body": "confirm"},
			"context": map[string]string{"from": "15550100000", "id": "wamid.REMINDER48HEN"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			// The clinic moves the visit a day later: a new plan generation.
			a := w.appointment("appt-en")
			a.Start, a.Version = a.Start.Add(24*time.Hour), 2
			if err := w.store.SaveAppointment(ctx, a, nil); err != nil {
				t.Fatal(err)
			}
			if n := w.deliver(w.message("15550100101", c.msg)); n != 0 {
				t.Fatalf("%d failures\n%s", n, w.logs.String())
			}
			if got := w.appointment("appt-en"); got.Response != appointment.ResponseNone {
				t.Errorf("response %q, want none: the answer was about a time the patient no longer has", got.Response)
			}
			if evs := w.events.Events(); len(evs) != 0 {
				t.Errorf("clinic events %+v, want none", evs)
			}
			sent := w.sentMessages()
			if len(sent) != 1 || sent[0].Interactive == nil || sent[0].Interactive.Body == nil {
				t.Fatalf("sent %+v, want one interactive message", sent)
			}
			loc, _ := testClinic().Location()
			wantText := conversation.RepliesFor("en-US", "en").Moved("Clinica Sol",
				reminder.FormatDate(a.Start, loc, reminder.LangEnglish), reminder.FormatTime(a.Start, loc, reminder.LangEnglish))
			if sent[0].Interactive.Body.Text != wantText {
				t.Errorf("told %q, want %q", sent[0].Interactive.Body.Text, wantText)
			}
			buttons := sent[0].Interactive.Action.Buttons
			if len(buttons) != 3 {
				t.Fatalf("%d buttons, want Confirm / Reschedule / Cancel", len(buttons))
			}
			p, err := reminder.ParseButtonPayload(buttons[0].Reply.ID)
			if err != nil || p.Generation != reminder.Generation(a.Start) {
				t.Fatalf("button payload %q (%v), want the current generation", buttons[0].Reply.ID, err)
			}
			// The offered button works.
			w.clock.Advance(time.Minute)
			tap := w.message("15550100101", map[string]any{"type": "interactive", "interactive": map[string]any{
				"type": "button_reply", "button_reply": map[string]string{"id": buttons[0].Reply.ID, "title": buttons[0].Reply.Title}}})
			if n := w.deliver(tap); n != 0 {
				t.Fatal(n)
			}
			if got := w.appointment("appt-en"); got.Response != appointment.ResponseConfirmed {
				t.Errorf("after the current button: response %q, want confirmed", got.Response)
			}
		})
	}
	t.Run("reopen payload keeps working", func(t *testing.T) {
		w := newWorld(t)
		if n := w.deliver(fixture(t, "button_reopen_en")); n != 0 {
			t.Fatal(n)
		}
		sent := w.sentMessages()
		if len(sent) != 1 || sent[0].Text == nil || !strings.Contains(sent[0].Text.Body, "confirmed") {
			t.Fatalf("sent %+v, want the pending confirmation", sent)
		}
		if got := w.consentOf("pat-en"); got != consent.OptedIn {
			t.Errorf("consent %s", got)
		}
	})
}

// The log capture of the trust scenarios: no phone number, name, message text,
// wamid, or plain patient id or contact key; the ids appear as keyed digests.
func TestTrustScenarioLogsCarryDigestsOnly(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	oldGen := reminder.Generation(msgTime.Add(48 * time.Hour))
	a := w.appointment("appt-en")
	a.Start, a.Version = a.Start.Add(24*time.Hour), 2
	if err := w.store.SaveAppointment(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	bodies := [][]byte{
		w.message("15550100171", textMsg("Please help, I can't breathe")),
		w.message("15550100172", textMsg("mi mamá tiene dolor en el pecho")),
		w.message("15550100173", textMsg("meu pai não consegue respirar")),
		w.message("15550100185", textMsg("STOP")),
		w.message("15550100101", map[string]any{"type": "button", "button": map[string]string{
			"payload": "fd1:confirm:clinic-sol:appt-en:" + oldGen, "text": "Confirm"}}),
		w.message("15550100102", textMsg("STOP")),
	}
	for _, b := range bodies {
		w.clock.Advance(time.Minute)
		if n := w.deliver(b); n != 0 {
			t.Fatalf("%d failures", n)
		}
	}
	logs := w.logs.String()
	assertNoPHI(t, "logs", []byte(logs), bodies...)
	var wamids []string
	for _, b := range bodies {
		var n struct {
			Entry []struct {
				Changes []struct {
					Value struct{ Messages []struct{ ID string } }
				}
			}
		}
		_ = json.Unmarshal(b, &n)
		wamids = append(wamids, n.Entry[0].Changes[0].Value.Messages[0].ID)
	}
	for _, s := range append(wamids, "pat-en", "pat-es", "+15550100185", "15550100185") {
		if strings.Contains(logs, s) {
			t.Errorf("logs hold %q", s)
		}
	}
	for _, want := range []string{"pat-en", "+15550100185", wamids[0]} {
		if !strings.Contains(logs, platform.Hash(want)) {
			t.Errorf("no log line carries the digest of %q: the check above could not fail", want)
		}
	}
}

// Outside the 24-hour window the answer to a stale tap is the reopen template; its
// payload carries the reply kind where a reminder's carries a generation, and its
// tap brings the current time with the buttons.
func TestStaleTapOutsideTheWindowReopens(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	oldGen := reminder.Generation(msgTime.Add(48 * time.Hour))
	a := w.appointment("appt-en")
	a.Start, a.Version = a.Start.Add(24*time.Hour), 2
	if err := w.store.SaveAppointment(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	tap := w.message("15550100101", map[string]any{"type": "button", "button": map[string]string{
		"payload": "fd1:confirm:clinic-sol:appt-en:" + oldGen, "text": "Confirm"}})
	w.clock.Advance(25 * time.Hour) // the queue delivers it after the window closed
	if n := w.deliver(tap); n != 0 {
		t.Fatal(n)
	}
	sent := w.sentMessages()
	if len(sent) != 1 || sent[0].Template == nil || sent[0].Template.Name != reminder.TemplateReopen {
		t.Fatalf("sent %+v, want the reopen template", sent)
	}
	var payload string
	for _, c := range sent[0].Template.Components {
		for _, p := range c.Parameters {
			if p.Payload != "" {
				payload = p.Payload
			}
		}
	}
	if payload != "fd1:reopen:clinic-sol:appt-en:moved" {
		t.Fatalf("reopen payload %q", payload)
	}
	reopen := w.message("15550100101", map[string]any{"type": "button", "button": map[string]string{"payload": payload, "text": "See reply"}})
	if n := w.deliver(reopen); n != 0 {
		t.Fatal(n)
	}
	sent = w.sentMessages()
	if len(sent) != 2 || sent[1].Interactive == nil || len(sent[1].Interactive.Action.Buttons) != 3 {
		t.Fatalf("after the reopen tap: %+v, want the current time with the buttons", sent)
	}
	if got := w.appointment("appt-en"); got.Response != appointment.ResponseNone {
		t.Errorf("response %q, want none", got.Response)
	}
	if evs := w.events.Events(); len(evs) != 0 {
		t.Errorf("clinic events %+v, want none", evs)
	}
}

// messageID returns the id of the first message in a webhook body.
func messageID(t *testing.T, body []byte) string {
	t.Helper()
	var n struct {
		Entry []struct {
			Changes []struct {
				Value struct{ Messages []struct{ ID string } }
			}
		}
	}
	if err := json.Unmarshal(body, &n); err != nil || len(n.Entry) == 0 || len(n.Entry[0].Changes) == 0 || len(n.Entry[0].Changes[0].Value.Messages) == 0 {
		t.Fatalf("no message in the body (%v)", err)
	}
	return n.Entry[0].Changes[0].Value.Messages[0].ID
}
