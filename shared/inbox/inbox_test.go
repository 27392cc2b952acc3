package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// scenario is one courier-style case: a fixture under testdata/ delivered three
// times (once alone, then twice in one batch) and the single effect it must have.
type scenario struct {
	fixture string
	before  []string // fixtures delivered first (their effects are not counted)

	appt     string               // appointment whose response must change
	response appointment.Response // "" = no appointment changes
	events   []string             // event types published, in order
	reason   string               // escalation reason, for conversation.escalated
	urgency  string
	reply    replyKind // "" = no reply
	lang     string    // language the reply must be in
	patient  string    // patient whose consent is checked
	consent  consent.State
}

func TestInboundScenarios(t *testing.T) {
	confirmed, cancelled, resched := appointment.ResponseConfirmed, appointment.ResponseCancelledByPatient, appointment.ResponseRescheduleRequested
	evConfirmed, evCancel, evResched := clinic.EventAppointmentConfirmed, clinic.EventAppointmentCancelRequested, clinic.EventAppointmentRescheduleRequested
	esc := clinic.EventConversationEscalated
	cases := []scenario{
		// template quick-reply buttons
		{fixture: "button_confirm_en", appt: "appt-en", response: confirmed, events: []string{evConfirmed}, reply: replyConfirmed, lang: "en"},
		{fixture: "button_cancel_es", appt: "appt-es", response: cancelled, events: []string{evCancel}, reply: replyCancelled, lang: "es"},
		{fixture: "button_reschedule_pt", appt: "appt-pt", response: resched, events: []string{evResched}, reply: replyReschedule, lang: "pt"},
		// interactive reply buttons
		{fixture: "interactive_confirm_pt", appt: "appt-pt", response: confirmed, events: []string{evConfirmed}, reply: replyConfirmed, lang: "pt"},
		{fixture: "interactive_cancel_en", appt: "appt-en", response: cancelled, events: []string{evCancel}, reply: replyCancelled, lang: "en"},
		{fixture: "interactive_reschedule_es", appt: "appt-es", response: resched, events: []string{evResched}, reply: replyReschedule, lang: "es"},
		// keywords (keyword_confirm_es answers via context.id, the others the next appointment)
		{fixture: "keyword_confirm_en", appt: "appt-en", response: confirmed, events: []string{evConfirmed}, reply: replyConfirmed, lang: "en"},
		{fixture: "keyword_cancel_en", appt: "appt-en", response: cancelled, events: []string{evCancel}, reply: replyCancelled, lang: "en"},
		{fixture: "keyword_reschedule_en", appt: "appt-en", response: resched, events: []string{evResched}, reply: replyReschedule, lang: "en"},
		{fixture: "keyword_confirm_es", appt: "appt-es", response: confirmed, events: []string{evConfirmed}, reply: replyConfirmed, lang: "es"},
		{fixture: "keyword_cancel_es", appt: "appt-es", response: cancelled, events: []string{evCancel}, reply: replyCancelled, lang: "es"},
		{fixture: "keyword_reschedule_es", appt: "appt-es", response: resched, events: []string{evResched}, reply: replyReschedule, lang: "es"},
		{fixture: "keyword_confirm_pt", appt: "appt-pt", response: confirmed, events: []string{evConfirmed}, reply: replyConfirmed, lang: "pt"},
		{fixture: "keyword_cancel_pt", appt: "appt-pt", response: cancelled, events: []string{evCancel}, reply: replyCancelled, lang: "pt"},
		{fixture: "keyword_reschedule_pt", appt: "appt-pt", response: resched, events: []string{evResched}, reply: replyReschedule, lang: "pt"},
		// consent
		{fixture: "stop_en", events: []string{clinic.EventPatientOptedOut}, reply: replyOptedOut, lang: "en", patient: "pat-en", consent: consent.OptedOut},
		{fixture: "stop_es", events: []string{clinic.EventPatientOptedOut}, reply: replyOptedOut, lang: "es", patient: "pat-es", consent: consent.OptedOut},
		{fixture: "stop_pt", events: []string{clinic.EventPatientOptedOut}, reply: replyOptedOut, lang: "pt", patient: "pat-pt", consent: consent.OptedOut},
		{fixture: "start_en", before: []string{"stop_en"}, events: []string{clinic.EventPatientOptedIn}, reply: replyOptedIn, lang: "en", patient: "pat-en", consent: consent.OptedIn},
		{fixture: "start_es", before: []string{"stop_es"}, events: []string{clinic.EventPatientOptedIn}, reply: replyOptedIn, lang: "es", patient: "pat-es", consent: consent.OptedIn},
		{fixture: "start_pt", before: []string{"stop_pt"}, events: []string{clinic.EventPatientOptedIn}, reply: replyOptedIn, lang: "pt", patient: "pat-pt", consent: consent.OptedIn},
		// a repeated STOP: recorded, but one acknowledgement only, then silence
		{fixture: "stop_en", before: []string{"stop_en"}, patient: "pat-en", consent: consent.OptedOut},
		// hand-offs
		{fixture: "emergency_en", events: []string{esc}, reason: ReasonEmergency, urgency: UrgencyUrgent, reply: replyEmergency, lang: "en"},
		{fixture: "emergency_es", events: []string{esc}, reason: ReasonEmergency, urgency: UrgencyUrgent, reply: replyEmergency, lang: "es"},
		{fixture: "free_text_en", events: []string{esc}, reason: ReasonFreeText, urgency: UrgencyNormal, reply: replyHandOff, lang: "en"},
		{fixture: "unknown_sender", events: []string{esc}, reason: ReasonUnknownSender, urgency: UrgencyNormal, reply: replyHandOff, lang: "en"},
		{fixture: "unknown_phone_number_id"},
		// every other type: acknowledged, recorded, staff told when it is patient content
		{fixture: "type_image", events: []string{esc}, reason: ReasonMessageType, urgency: UrgencyNormal, reply: replyUnsupported, lang: "en"},
		{fixture: "type_audio", events: []string{esc}, reason: ReasonMessageType, urgency: UrgencyNormal, reply: replyUnsupported, lang: "en"},
		{fixture: "type_video", events: []string{esc}, reason: ReasonMessageType, urgency: UrgencyNormal, reply: replyUnsupported, lang: "en"},
		{fixture: "type_document", events: []string{esc}, reason: ReasonMessageType, urgency: UrgencyNormal, reply: replyUnsupported, lang: "en"},
		{fixture: "type_sticker", events: []string{esc}, reason: ReasonMessageType, urgency: UrgencyNormal, reply: replyUnsupported, lang: "en"},
		{fixture: "type_location", events: []string{esc}, reason: ReasonMessageType, urgency: UrgencyNormal, reply: replyUnsupported, lang: "en"},
		{fixture: "type_contacts", events: []string{esc}, reason: ReasonMessageType, urgency: UrgencyNormal, reply: replyUnsupported, lang: "en"},
		{fixture: "type_order", events: []string{esc}, reason: ReasonMessageType, urgency: UrgencyNormal, reply: replyUnsupported, lang: "en"},
		{fixture: "type_unsupported", events: []string{esc}, reason: ReasonMessageType, urgency: UrgencyNormal, reply: replyUnsupported, lang: "en"},
		{fixture: "type_reaction"},
		{fixture: "type_system"},
		{fixture: "type_request_welcome"},
	}
	for _, c := range cases {
		name := c.fixture
		if len(c.before) > 0 {
			name = strings.Join(c.before, "+") + "+" + c.fixture
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			for _, b := range c.before {
				if n := w.deliver(fixture(t, b)); n != 0 {
					t.Fatalf("before %s: %d failures", b, n)
				}
			}
			sentBefore := len(w.sentMessages())
			w.events.Reset()
			revBefore := map[string]int64{}
			for _, p := range patients {
				revBefore[p.appt] = w.appointment(p.appt).Revision
			}
			body := fixture(t, c.fixture)
			if n := w.deliver(body); n != 0 {
				t.Fatalf("first delivery: %d failures; logs:\n%s", n, w.logs.String())
			}
			if n := w.deliver(body, body); n != 0 {
				t.Fatalf("redelivery: %d failures", n)
			}
			w.check(c, body, revBefore, sentBefore)
		})
	}
}

func (w *world) check(c scenario, body []byte, revBefore map[string]int64, sentBefore int) {
	t := w.t
	t.Helper()
	// One state change: exactly one new revision of the answered appointment, none
	// of the others.
	for _, p := range patients {
		a := w.appointment(p.appt)
		wantRev := revBefore[p.appt]
		if p.appt == c.appt {
			wantRev++
			if a.Response != c.response || !a.RespondedAt.Equal(msgTime) {
				t.Errorf("%s: response = %q at %v, want %q at %v", p.appt, a.Response, a.RespondedAt, c.response, msgTime)
			}
		}
		if a.Revision != wantRev {
			t.Errorf("%s: revision %d, want %d (one state change for three deliveries)", p.appt, a.Revision, wantRev)
		}
	}
	// One clinic event per expected type.
	evs := w.events.Events()
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
		if e.ClinicID != clinicID || e.ID == "" {
			t.Errorf("event %+v lacks clinic or id", e)
		}
		if c.reason != "" && e.Type == clinic.EventConversationEscalated {
			if e.Field("reason") != c.reason || e.Field("urgency") != c.urgency || e.Field("messageId") != messagelog.ID(messageID(t, body)) {
				t.Errorf("escalation data = %v, want reason %s urgency %s and the message id", e.Data, c.reason, c.urgency)
			}
		}
		if c.appt != "" && (e.Field("appointmentId") != c.appt || e.Field("response") != string(c.response)) {
			t.Errorf("event data = %v, want appointment %s response %s", e.Data, c.appt, c.response)
		}
	}
	if strings.Join(types, ",") != strings.Join(c.events, ",") {
		t.Errorf("events = %v, want %v", types, c.events)
	}
	assertNoPHI(t, "events", mustMarshal(t, evs), body)
	// One reply, in the patient's language, free-form (the patient just wrote).
	sent := w.sentMessages()[sentBefore:]
	wantReplies := 0
	if c.reply != "" {
		wantReplies = 1
	}
	if len(sent) != wantReplies {
		t.Fatalf("replies = %d, want %d: %+v", len(sent), wantReplies, sent)
	}
	if wantReplies == 1 {
		m := sent[0]
		if m.Type != "text" || m.Text == nil {
			t.Fatalf("reply type %s, want text inside the window", m.Type)
		}
		var appt *appointment.Appointment
		if c.appt != "" {
			a := w.appointment(c.appt)
			appt = &a
		}
		want, err := replyText(c.reply, c.lang, testClinic(), appt, w.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if m.Text.Body != want {
			t.Errorf("reply = %q, want %q (%s, %s)", m.Text.Body, want, c.reply, c.lang)
		}
		if c.lang != "en" {
			if en, _ := replyText(c.reply, "en", testClinic(), appt, w.clock.Now()); en == want {
				t.Errorf("%s reply is the English text", c.lang)
			}
		}
		// The reply is in the message log, so its statuses find it.
		if _, err := w.store.GetMessage(context.Background(), m.WAMID); err != nil {
			t.Errorf("reply not recorded: %v", err)
		}
	}
	if c.patient != "" {
		if got := w.consentOf(c.patient); got != c.consent {
			t.Errorf("consent of %s = %s, want %s", c.patient, got, c.consent)
		}
	}
	// Everything a known clinic received is in the message log.
	var n struct {
		Entry []struct {
			Changes []struct {
				Value struct {
					Messages []struct{ ID string } `json:"messages"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	_ = json.Unmarshal(body, &n)
	id := n.Entry[0].Changes[0].Value.Messages[0].ID
	_, err := w.store.GetMessage(context.Background(), id)
	if c.fixture == "unknown_phone_number_id" {
		if err == nil || w.svc.UnknownPhoneNumberIDs.Load() != 3 {
			t.Errorf("unknown number: record err %v, counter %d (want no record, counted 3 times)", err, w.svc.UnknownPhoneNumberIDs.Load())
		}
	} else if err != nil {
		t.Errorf("inbound %s not recorded: %v", id, err)
	}
}

func TestStatusSequence(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	// read arrives before the late delivered; each status three times.
	for _, f := range []string{"status_sent", "status_read", "status_delivered_late", "status_failed"} {
		body := fixture(t, f)
		for i := 0; i < 3; i++ {
			if n := w.deliver(body); n != 0 {
				t.Fatalf("%s delivery %d: %d failures\n%s", f, i, n, w.logs.String())
			}
		}
	}
	rec, err := w.store.GetMessage(ctx, "wamid.REMINDER48HEN")
	if err != nil || rec.Status != messagelog.StatusRead {
		t.Errorf("48h reminder message = %+v, %v; want read (a late delivered must not move it back)", rec, err)
	}
	r, err := w.store.GetReminder(ctx, clinicID, "appt-en", reminder.KindDayBefore)
	if err != nil || r.State != reminder.StateRead {
		t.Errorf("48h reminder = %+v, %v; want read", r, err)
	}
	rec, err = w.store.GetMessage(ctx, "wamid.REMINDER2HES")
	if err != nil || rec.Status != messagelog.StatusFailed || rec.ErrorCode != 131026 {
		t.Errorf("2h reminder message = %+v, %v; want failed 131026", rec, err)
	}
	r, err = w.store.GetReminder(ctx, clinicID, "appt-es", reminder.KindSameDay)
	if err != nil || r.State != reminder.StateFailed || r.ErrorCode != 131026 || r.Reason != "undeliverable" {
		t.Errorf("2h reminder = %+v, %v; want failed 131026 undeliverable", r, err)
	}
	evs := w.events.Events()
	if len(evs) != 1 || evs[0].Type != clinic.EventMessageFailed || evs[0].Field("errorClass") != "undeliverable" ||
		evs[0].Field("appointmentId") != "appt-es" || evs[0].Field("errorCode") != float64(131026) ||
		evs[0].Field("messageId") != messagelog.ID("wamid.REMINDER2HES") || evs[0].Field("wamid") != nil {
		t.Errorf("events = %+v, want one message.failed for appt-es (undeliverable)", evs)
	}
	if len(w.sentMessages()) != 0 {
		t.Errorf("statuses must not send anything")
	}
}

// A reply that fails retryably fails the batch item; the redelivery sends it once,
// and the state change is not applied twice.
func TestReplyFailureRetriesWithoutDoubleEffect(t *testing.T) {
	w := newWorld(t)
	body := fixture(t, "button_confirm_en")
	w.failNextSends(1)
	if n := w.deliver(body); n != 1 {
		t.Fatalf("failures = %d, want 1 (the reply failed retryably)", n)
	}
	if a := w.appointment("appt-en"); a.Response != appointment.ResponseConfirmed || a.Revision != 2 {
		t.Fatalf("after failed reply: %+v", a)
	}
	for i := 0; i < 3; i++ {
		if n := w.deliver(body); n != 0 {
			t.Fatalf("redelivery %d: %d failures", i, n)
		}
	}
	if a := w.appointment("appt-en"); a.Revision != 2 {
		t.Errorf("revision %d, want 2: the answer was applied twice", a.Revision)
	}
	if n := len(w.sentMessages()); n != 1 {
		t.Errorf("replies = %d, want 1", n)
	}
	ids := map[string]bool{}
	for _, e := range w.events.Events() {
		ids[e.ID] = true
	}
	if len(ids) != 1 {
		t.Errorf("distinct events = %d, want 1 (a retry republishes the same event id)", len(ids))
	}
}

// After STOP the bot is silent except for the emergency text and START.
func TestOptedOutSilence(t *testing.T) {
	w := newWorld(t)
	steps := []struct {
		fixture string
		replies int
	}{
		{"stop_en", 1}, {"free_text_en", 0}, {"keyword_confirm_en", 0}, {"type_image", 0}, {"emergency_en", 1}, {"start_en", 1}, {"keyword_cancel_en", 1},
	}
	total := 0
	for _, s := range steps {
		if n := w.deliver(fixture(t, s.fixture)); n != 0 {
			t.Fatalf("%s: %d failures", s.fixture, n)
		}
		total += s.replies
		if got := len(w.sentMessages()); got != total {
			t.Fatalf("after %s: %d replies, want %d", s.fixture, got, total)
		}
	}
	// Silence is about messages, not about listening: the confirm still counted.
	if a := w.appointment("appt-en"); a.Response != appointment.ResponseCancelledByPatient {
		t.Errorf("response = %s", a.Response)
	}
}

// A message handled after its 24 h window closed is answered with the reopen
// template; the patient's tap on it brings the pending answer free-form.
func TestOutsideWindowUsesReopenTemplate(t *testing.T) {
	w := newWorld(t)
	old := strings.ReplaceAll(string(fixture(t, "free_text_en")), `"timestamp": "1772463845"`,
		`"timestamp": "`+itoa(msgTime.Add(-25*time.Hour).Unix())+`"`)
	if n := w.deliver([]byte(old)); n != 0 {
		t.Fatalf("%d failures", n)
	}
	sent := w.sentMessages()
	if len(sent) != 1 || sent[0].Type != "template" || sent[0].Template.Name != reminder.TemplateReopen {
		t.Fatalf("sent = %+v, want the %s template", sent, reminder.TemplateReopen)
	}
	var payload string
	for _, comp := range sent[0].Template.Components {
		if comp.Type == "button" {
			payload = comp.Parameters[0].Payload
		}
	}
	if b, ok := parseButton(payload); !ok || !b.reopen || b.pending != replyHandOff {
		t.Fatalf("reopen payload %q does not carry the pending hand-off", payload)
	}
	if n := w.deliver(fixture(t, "button_reopen_en")); n != 0 {
		t.Fatalf("%d failures", n)
	}
	sent = w.sentMessages()
	a := w.appointment("appt-en")
	want, _ := replyText(replyConfirmed, "en", testClinic(), &a, w.clock.Now())
	if len(sent) != 2 || sent[1].Type != "text" || sent[1].Text.Body != want {
		t.Fatalf("after the tap: %+v, want the pending answer %q", sent, want)
	}
}

// Two patients on one phone: a keyword without context cannot say whose visit.
func TestSharedPhoneAmbiguity(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if err := w.store.PutPatient(ctx, appointment.Patient{ClinicID: clinicID, ID: "pat-en-child", Phone: "+15550100101", GivenName: "Emily", Language: "en"}); err != nil {
		t.Fatal(err)
	}
	a := appointment.Appointment{ClinicID: clinicID, ID: "appt-child", Status: appointment.StatusBooked, Start: msgTime.Add(72 * time.Hour),
		Duration: 20 * time.Minute, PatientID: "pat-en-child", Version: 1}
	if err := w.store.SaveAppointment(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	if n := w.deliver(fixture(t, "keyword_confirm_en")); n != 0 {
		t.Fatalf("%d failures", n)
	}
	evs := w.events.Events()
	if len(evs) != 1 || evs[0].Field("reason") != ReasonAmbiguousPatient {
		t.Fatalf("events = %+v, want an ambiguous_patient escalation", evs)
	}
	if w.appointment("appt-en").Response != "" || w.appointment("appt-child").Response != "" {
		t.Error("an ambiguous keyword changed an appointment")
	}
	// The template button names the appointment, so it is not ambiguous.
	w.events.Reset()
	if n := w.deliver(fixture(t, "button_confirm_en")); n != 0 {
		t.Fatalf("%d failures", n)
	}
	if w.appointment("appt-en").Response != appointment.ResponseConfirmed {
		t.Error("button on a shared phone did not confirm")
	}
	// STOP from the shared phone opts out everyone on it.
	if n := w.deliver(fixture(t, "stop_en")); n != 0 {
		t.Fatalf("%d failures", n)
	}
	if w.consentOf("pat-en") != consent.OptedOut || w.consentOf("pat-en-child") != consent.OptedOut {
		t.Error("STOP did not opt out every patient on the number")
	}
}

// An older answer handled after a newer one does not overwrite it.
func TestLateOlderAnswerIsSuperseded(t *testing.T) {
	w := newWorld(t)
	newer := strings.ReplaceAll(string(fixture(t, "button_cancel_es")), `"timestamp": "1772463845"`, `"timestamp": "1772463900"`)
	if n := w.deliver([]byte(newer)); n != 0 {
		t.Fatal(n)
	}
	older := fixture(t, "keyword_confirm_es")
	if n := w.deliver(older); n != 0 {
		t.Fatal(n)
	}
	if a := w.appointment("appt-es"); a.Response != appointment.ResponseCancelledByPatient {
		t.Errorf("response = %s, want the newer cancel to stand", a.Response)
	}
	if n := len(w.events.Events()); n != 1 {
		t.Errorf("events = %d, want only the newer answer's", n)
	}
}

func TestE164FromWaID(t *testing.T) {
	for in, want := range map[string]string{"15550100101": "+15550100101", "+15550100101": "+15550100101", " 5511955501001 ": "+5511955501001"} {
		if got := E164FromWaID(in); got != want {
			t.Errorf("E164FromWaID(%q) = %q, want %q", in, got, want)
		}
	}
	if derivedID("a", "bc") == derivedID("ab", "c") {
		t.Error("derivedID must keep its parts apart")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A status can overtake the sender's own write of the message record: a recent one
// is retried until the record exists; an old one for an unknown wamid is dropped.
func TestStatusBeforeSendRecordIsRetried(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	visibility := &visibilityLog{}
	w.svc.Visibility = visibility
	body := bytes.ReplaceAll(fixture(t, "status_sent"), []byte("wamid.REMINDER48HEN"), []byte("wamid.NOTRECORDEDYET"))
	if n := w.deliver(body); n != 1 {
		t.Fatalf("status for an unrecorded recent message: %d failures, want 1 (retry)", n)
	}
	// Retried in seconds, not after the queue's visibility timeout (minutes).
	if len(visibility.delays) != 1 || visibility.delays[0] < RetryBackoff.Base || visibility.delays[0] > 2*RetryBackoff.Base {
		t.Fatalf("retry delays %v, want one of about %s", visibility.delays, RetryBackoff.Base)
	}
	if _, err := w.store.PutMessage(ctx, messagelog.Record{WAMID: "wamid.NOTRECORDEDYET", Direction: messagelog.Outbound, ClinicID: clinicID,
		PatientID: "pat-en", Type: "template", Status: messagelog.StatusAccepted, CreatedAt: msgTime}); err != nil {
		t.Fatal(err)
	}
	if n := w.deliver(body); n != 0 {
		t.Fatalf("redelivery after the record exists: %d failures\n%s", n, w.logs.String())
	}
	if rec, err := w.store.GetMessage(ctx, "wamid.NOTRECORDEDYET"); err != nil || rec.Status != messagelog.StatusSent {
		t.Fatalf("message = %+v, %v; want sent", rec, err)
	}
	w.clock.Advance(StatusRaceWindow)
	old := bytes.ReplaceAll(fixture(t, "status_sent"), []byte("wamid.REMINDER48HEN"), []byte("wamid.SENTELSEWHERE"))
	if n := w.deliver(old); n != 0 {
		t.Fatalf("old status for a message Frontdesk never sent: %d failures, want 0 (acknowledged)", n)
	}
}

func TestPhoneCandidates(t *testing.T) {
	cases := map[string][]string{
		"15550100101":   {"+15550100101"},
		"5215550100150": {"+5215550100150", "+525550100150"}, // Mexico: wa_id keeps the old mobile 1
		"525550100150":  {"+525550100150", "+5215550100150"},
		"551155010015":  {"+551155010015", "+5511955010015"}, // Brazil: registered before the ninth digit
		"5511955010015": {"+5511955010015", "+551155010015"},
	}
	for in, want := range cases {
		if got := PhoneCandidates(in); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("PhoneCandidates(%s) = %v, want %v", in, got, want)
		}
	}
}

// A STOP from a Mexican mobile, whose wa_id carries the 1 that E.164 dropped, opts
// out the patient the EHR registered under the E.164 number.
func TestStopFromMexicanWaIDFindsThePatient(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if err := w.store.PutPatient(ctx, appointment.Patient{ClinicID: clinicID, ID: "pat-mx", Phone: "+525550100150", GivenName: "Mateo", Language: "es-MX"}); err != nil {
		t.Fatal(err)
	}
	body := bytes.ReplaceAll(fixture(t, "stop_es"), []byte(`"15550100102"`), []byte(`"5215550100150"`))
	body = bytes.ReplaceAll(body, []byte(`"wa_id": "15550100102"`), []byte(`"wa_id": "5215550100150"`))
	if n := w.deliver(body); n != 0 {
		t.Fatalf("%d failures\n%s", n, w.logs.String())
	}
	if got := w.consentOf("pat-mx"); got != consent.OptedOut {
		t.Fatalf("consent %s, want opted_out", got)
	}
	if got := w.consentOf("pat-es"); got != consent.OptedIn {
		t.Fatalf("another patient's consent changed: %s", got)
	}
}

// A late status about the reminder sent for the visit's old time must not move the
// reminder re-planned for its new time.
func TestLateStatusForOldPlanLeavesNewReminderAlone(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.store.PutMessage(ctx, messagelog.Record{WAMID: "wamid.OLDPLAN", Direction: messagelog.Outbound, ClinicID: clinicID,
		PatientID: "pat-en", AppointmentID: "appt-en", ReminderKind: string(reminder.KindDayBefore), Generation: "g-before-the-move",
		Type: "template", Status: messagelog.StatusSent, CreatedAt: msgTime}); err != nil {
		t.Fatal(err)
	}
	body := bytes.ReplaceAll(fixture(t, "status_read"), []byte("wamid.REMINDER48HEN"), []byte("wamid.OLDPLAN"))
	if n := w.deliver(body); n != 0 {
		t.Fatalf("%d failures", n)
	}
	r, err := w.store.GetReminder(ctx, clinicID, "appt-en", reminder.KindDayBefore)
	if err != nil || r.State != reminder.StateSent || r.WAMID != "wamid.REMINDER48HEN" {
		t.Fatalf("reminder %+v, %v: want untouched (sent, its own wamid)", r, err)
	}
}

// visibilityLog records the visibility changes of failed records.
type visibilityLog struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (v *visibilityLog) Delay(_ context.Context, _ string, d time.Duration) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.delays = append(v.delays, d)
	return nil
}
