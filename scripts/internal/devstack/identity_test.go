package devstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/thread"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// identityMessage builds a messages webhook in the shape Meta documents for
// business-scoped user ids: with waID "" the sender is username-only (no wa_id, no
// from), known by bsuid alone.
func (w *world) identityMessage(waID, bsuid string, msg map[string]any) []byte {
	msg["id"] = "wamid.systest" + platform.NewID()
	msg["timestamp"] = strconv.FormatInt(time.Now().Unix(), 10)
	msg["from_user_id"] = bsuid
	contact := map[string]any{"profile": map[string]string{"name": "Quinn Invented", "username": "@quinn.invented"}, "user_id": bsuid}
	if waID != "" {
		msg["from"], contact["wa_id"] = waID, waID
	}
	body, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": "200000000000001", "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]string{"display_phone_number": "15550100000", "phone_number_id": w.cfg.PhoneNumberID},
			"contacts":          []any{contact},
			"messages":          []any{msg},
		}}},
	}}})
	return body
}

func recipientOf(r whatsapptest.Recorded) string {
	var m struct {
		Recipient string `json:"recipient"`
	}
	_ = json.Unmarshal(r.Body, &m)
	return m.Recipient
}

func (w *world) sendsToRecipient(bsuid string) []whatsapptest.Recorded {
	var out []whatsapptest.Recorded
	for _, r := range w.stack.Stub.Sent() {
		if recipientOf(r) == bsuid {
			out = append(out, r)
		}
	}
	return out
}

func (w *world) say(t *testing.T, body []byte) {
	t.Helper()
	offset := w.logs.Len()
	if code := w.postWebhook(t, body); code != 200 {
		t.Fatalf("webhook answered %d", code)
	}
	w.waitDrained(t, queue.Inbound, offset)
}

// Issue acceptance, end to end: a patient known by phone writes once with phone and
// BSUID, then only with the BSUID (a username): their Confirm, an emergency phrase
// and STOP are handled as for the known patient, answers go to the BSUID by
// `recipient` (valid under Meta's spec), and nothing the stack logged names the
// BSUID, the username or the name.
func TestUsernameOnlyPatientIsHandledAsKnown(t *testing.T) {
	w := stackFor(t)
	offset := w.logs.Len()
	w.dumpOnFailure(t, offset)
	ctx := context.Background()
	patient := patientSpec{id: "systest-bsuid-patient", phone: "+15550100171", givenName: "Quinn"}
	const bsuid = "US.17100000000000000171"
	apptID := "systest-bsuid-appt"
	w.book(t, apptID, patient, 10*24*time.Hour)

	w.say(t, w.identityMessage(strings.TrimPrefix(patient.phone, "+"), bsuid, map[string]any{"type": "text", "text": map[string]string{"body": "Is there parking?"}}))
	c, mapped, err := w.stack.Store.ContactByBSUID(ctx, devstack.DemoClinicID, "portfolio:300000000000001", bsuid)
	if err != nil || !mapped || c.Key != patient.phone {
		t.Fatalf("after the message with phone and BSUID: contact %q mapped=%v (%v)", c.Key, mapped, err)
	}

	w.say(t, w.identityMessage("", bsuid, map[string]any{"type": "text", "text": map[string]string{"body": "confirm"}}))
	if st := w.appointment(t, apptID); st.Response == nil || st.Response.Value != appointment.ResponseConfirmed {
		t.Fatalf("after a username-only Confirm the appointment response is %+v, want confirmed", st.Response)
	}

	w.say(t, w.identityMessage("", bsuid, map[string]any{"type": "text", "text": map[string]string{"body": "I have chest pain and can't breathe"}}))
	eventually(t, waitTimeout, "the urgent escalation for the patient", func() (bool, string) {
		events, _ := w.callback.snapshot()
		for _, e := range events {
			if e.Type == clinic.EventConversationEscalated && e.Data["urgency"] == "urgent" && e.Data["patientId"] == patient.id {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d callbacks", len(events))
	})

	w.say(t, w.identityMessage("", bsuid, map[string]any{"type": "text", "text": map[string]string{"body": "STOP"}}))
	ledger, err := w.stack.Store.ConsentLedger(ctx, devstack.DemoClinicID, patient.id)
	if err != nil || consent.Current(ledger) != consent.OptedOut {
		t.Fatalf("after a username-only STOP the patient's consent is %s (%v), want opted out", consent.Current(ledger), err)
	}

	sent := w.sendsToRecipient(bsuid)
	// Confirm's answer, the safety text and the STOP acknowledgement.
	if len(sent) != 3 {
		t.Fatalf("%d sends by recipient, want 3", len(sent))
	}
	for _, r := range sent {
		if !r.Accepted() {
			t.Errorf("the stand-in refused a send by recipient: %d %s", r.HTTPStatus, r.Error)
		}
		if err := whatsappspec.ValidateMessage(r.Body); err != nil {
			t.Errorf("a send by recipient does not validate: %v\n%s", err, r.Body)
		}
	}
	w.assertLogsClean(t, offset, bsuid, "quinn.invented", "Quinn Invented")
}

// Issue acceptance, end to end: a reminder to a patient whose phone the EHR removed
// but whose BSUID Meta showed beside it goes out by `recipient` and validates against
// Meta's spec (patched for `recipient`, which v23 lacks).
func TestReminderByRecipientWhenThePhoneIsGone(t *testing.T) {
	w := stackFor(t)
	offset := w.logs.Len()
	w.dumpOnFailure(t, offset)
	ctx := context.Background()
	patient := patientSpec{id: "systest-bsuid-nophone", phone: "+15550100172", givenName: "Reese"}
	const bsuid = "US.17200000000000000172"

	// The person writes first (an unknown number: staff are told), with their BSUID.
	w.say(t, w.identityMessage(strings.TrimPrefix(patient.phone, "+"), bsuid, map[string]any{"type": "text", "text": map[string]string{"body": "Hello"}}))
	// The sender holds the queued reminder while the EHR's removal of the phone is
	// simulated in storage (the EHR API requires a phone on an appointment event).
	if err := w.stack.PauseConsumer(ctx, queue.Outbound); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			w.stack.ResumeConsumer(queue.Outbound)
		}
	}()
	w.book(t, "systest-bsuid-nophone-appt", patient, 47*time.Hour)
	if err := w.stack.Store.PutPatient(ctx, appointment.Patient{ClinicID: devstack.DemoClinicID, ID: patient.id, GivenName: patient.givenName, Language: "en-US"}); err != nil {
		t.Fatal(err)
	}
	w.stack.ResumeConsumer(queue.Outbound)
	resumed = true

	var got whatsapptest.Recorded
	eventually(t, waitTimeout, "the 48 h reminder by recipient", func() (bool, string) {
		for _, r := range w.sendsToRecipient(bsuid) {
			if r.Type == "template" {
				got = r
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d sends recorded", len(w.stack.Stub.Sent()))
	})
	if !got.Accepted() || got.Template != reminder.TemplateReminder48h {
		t.Fatalf("reminder by recipient: HTTP %d template %q: %s", got.HTTPStatus, got.Template, got.Body)
	}
	if err := whatsappspec.ValidateMessage(got.Body); err != nil {
		t.Errorf("the reminder by recipient does not validate: %v\n%s", err, got.Body)
	}
	if n := countSendsTo(w.stack.Stub.Sent(), patient.phone); n != 1 {
		t.Errorf("%d sends to the removed phone, want only the hand-off answer", n)
	}
	w.assertLogsClean(t, offset, bsuid, "Quinn Invented")
}

// templateWebhook builds a template lifecycle webhook (field message_template_status_update
// or template_category_update) for the demo clinic's WABA, in Meta's documented shape.
func templateWebhook(field string, at time.Time, value map[string]any) []byte {
	body, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": "200000000000001", "time": at.Unix(),
		"changes": []any{map[string]any{"field": field, "value": value}},
	}}})
	return body
}

// Issue acceptance, end to end: Meta re-categorises the 48 h reminder template as
// marketing. No further send of it reaches the Graph API, the clinic gets one
// template.status_changed callback and ops one alarm line (the webhook delivered
// three times), the reminder waits instead of failing, and it goes out once Meta
// approves the template as utility again.
func TestRecategorisedReminderTemplateHoldsUntilReapproved(t *testing.T) {
	w := stackFor(t)
	offset := w.logs.Len()
	w.dumpOnFailure(t, offset)
	patient := patientSpec{id: "systest-template-patient", phone: "+15550100173", givenName: "Sam"}
	apptID := "systest-template-appt"
	tmpl := map[string]any{"message_template_id": 1234567890123456, "message_template_name": reminder.TemplateReminder48h,
		"message_template_language": reminder.LangEnglish}
	recat := map[string]any{"previous_category": "UTILITY", "new_category": "MARKETING"}
	for k, v := range tmpl {
		recat[k] = v
	}
	// Meta's webhook times have second resolution: the re-categorisation is stamped a
	// minute before the approval below, so the approval is the later report.
	body := templateWebhook("template_category_update", time.Now().Add(-time.Minute), recat)
	for range 3 {
		w.say(t, body)
	}
	w.book(t, apptID, patient, 47*time.Hour)
	eventually(t, waitTimeout, "the reminder held back by its template", func() (bool, string) {
		r, ok := reminderOf(w.appointment(t, apptID), string(reminder.KindDayBefore))
		return ok && r.State == reminder.StateScheduled && r.Reason == "template_recategorised", fmt.Sprintf("%+v", r)
	})
	// Several rechecks pass (5 sweeps each) without a send or a failure.
	eventually(t, waitTimeout, "two rechecks of the held reminder", func() (bool, string) {
		n := 0
		for _, l := range linesSince(w.logs, offset) {
			if l["msg"] == "sender.deferred" {
				n++
			}
		}
		return n >= 2, fmt.Sprintf("%d deferrals", n)
	})
	if n := countSendsTo(w.stack.Stub.Sent(), patient.phone); n != 0 {
		t.Fatalf("%d sends of a re-categorised template", n)
	}
	events, _ := w.callback.snapshot()
	callbacks := 0
	for _, e := range events {
		if e.Type == clinic.EventTemplateStatusChanged && e.Data["templateName"] == reminder.TemplateReminder48h && e.Data["usable"] == false {
			callbacks++
		}
	}
	alarms := 0
	for _, l := range linesSince(w.logs, offset) {
		if l["alert"] == "whatsapp_template_blocked" {
			alarms++
		}
	}
	if callbacks != 1 || alarms != 1 {
		t.Fatalf("%d callbacks and %d alarm lines for one re-categorisation delivered three times, want 1 and 1", callbacks, alarms)
	}

	approved := map[string]any{"event": "APPROVED", "reason": "NONE", "message_template_category": "UTILITY"}
	for k, v := range tmpl {
		approved[k] = v
	}
	w.say(t, templateWebhook("message_template_status_update", time.Now(), approved))
	eventually(t, waitTimeout, "the reminder after re-approval", func() (bool, string) {
		n := countSendsTo(w.stack.Stub.Sent(), patient.phone)
		return n == 1, fmt.Sprintf("%d sends", n)
	})
	if r, _ := reminderOf(w.appointment(t, apptID), string(reminder.KindDayBefore)); r.State == reminder.StateFailed {
		t.Errorf("the held reminder ended failed")
	}
	w.assertLogsClean(t, offset)
}

// A username-only sender's hand-off opens a conversation, and staff replies go to
// where the latest message came from: for a sender never seen with a number, the
// conversation is keyed by the BSUID and answered by `recipient`; for a patient whose
// number the BSUID was seen beside, the conversation stays the number's (the
// contact.KeyOf key its pointer is under) and the reply still goes by `recipient`,
// since the latest message came without the number. Both replies validate against
// Meta's spec and nothing logged names the BSUID, the username or the text.
func TestUsernameOnlySenderConversationIsAnsweredByRecipient(t *testing.T) {
	w := stackFor(t)
	offset := w.logs.Len()
	w.dumpOnFailure(t, offset)
	ctx := context.Background()
	const (
		strangerBSUID = "US.17400000000000000174"
		patientBSUID  = "US.17500000000000000175"
		question      = "Can I come 30 minutes later?"
		replyStranger = "Who is writing, please? Your name and date of birth"
		replyPatient  = "Yes, 30 minutes later is fine"
	)
	patient := patientSpec{id: "systest-bsuid-conv-patient", phone: "+15550100175", givenName: "Rowan"}
	w.book(t, "systest-bsuid-conv-appt", patient, 10*24*time.Hour)

	// Seen once with number and BSUID (the contact learns the BSUID), then username-only.
	w.say(t, w.identityMessage(strings.TrimPrefix(patient.phone, "+"), patientBSUID, map[string]any{"type": "text", "text": map[string]string{"body": "Hello"}}))
	w.say(t, w.identityMessage("", patientBSUID, map[string]any{"type": "text", "text": map[string]string{"body": question}}))
	// A stranger known only by a username.
	w.say(t, w.identityMessage("", strangerBSUID, map[string]any{"type": "text", "text": map[string]string{"body": question}}))

	reply := func(contactKey, text, recipient string) {
		t.Helper()
		conv, found, err := w.stack.Store.ConversationOfContact(ctx, devstack.DemoClinicID, contactKey)
		if err != nil || !found {
			t.Fatalf("no conversation for the contact (found=%v, %v)", found, err)
		}
		if conv.State != thread.Open || conv.ReplyTo != recipient {
			t.Fatalf("conversation state %q, reply to the BSUID: %v", conv.State, conv.ReplyTo == recipient)
		}
		before := len(w.stack.Stub.Sent())
		w.apiJSON(t, http.MethodPost, clinicPath+"/conversations/"+conv.ID+"/messages",
			[]byte(`{"text":"`+text+`","author":"Sam"}`), http.StatusAccepted, nil)
		var got []whatsapptest.Recorded
		eventually(t, waitTimeout, "the reply by recipient at the stand-in", func() (bool, string) {
			got = got[:0]
			for _, r := range w.stack.Stub.Sent()[before:] {
				if recipientOf(r) == recipient {
					got = append(got, r)
				}
			}
			return len(got) > 0, fmt.Sprintf("%d sends", len(got))
		})
		if len(got) != 1 || !got[0].Accepted() || !strings.Contains(string(got[0].Body), text) {
			t.Fatalf("sends by recipient for the reply: %d", len(got))
		}
		if err := whatsappspec.ValidateMessage(got[0].Body); err != nil {
			t.Errorf("the reply by recipient does not validate: %v\n%s", err, got[0].Body)
		}
	}
	reply(strangerBSUID, replyStranger, strangerBSUID)
	reply(patient.phone, replyPatient, patientBSUID)
	if _, found, err := w.stack.Store.ConversationOfContact(ctx, devstack.DemoClinicID, patientBSUID); err != nil || found {
		t.Errorf("the known patient's BSUID has a conversation of its own (found=%v, %v)", found, err)
	}
	if c, ok := w.conversationOf(t, patient.id); !ok || c.Reason != "free_text" {
		t.Errorf("the patient's conversation %+v (listed %v), want the free-text hand-off", c, ok)
	}
	w.assertLogsClean(t, offset, strangerBSUID, patientBSUID, "quinn.invented", "Quinn Invented", question, replyStranger, replyPatient, "Rowan")
}
