package inbox

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/conversation"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/handoff"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/notice"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// Escalation reasons and urgencies in conversation.escalated events. Staff read the
// message in the conversation record (the conversation API); the event carries the
// conversation's id and URL and Frontdesk's message id (messagelog.ID), never the
// text or the wamid (it embeds the number).
const (
	ReasonEmergency        = "emergency"
	ReasonFreeText         = "free_text"
	ReasonMessageType      = "message_type"      // media, location, contacts ...
	ReasonUnknownSender    = "unknown_sender"    // no patient of the clinic has this number
	ReasonAmbiguousPatient = "ambiguous_patient" // several patients share the number and nothing says which
	ReasonUnknownButton    = "unknown_button"
	ReasonNoAppointment    = "no_appointment" // an answer with no upcoming appointment to apply to

	UrgencyUrgent = "urgent"
	UrgencyNormal = "normal"
)

// Outcomes of one inbound message, logged with the stable key "outcome".
const (
	outcomeAnswered   = "answered"
	outcomeSuperseded = "superseded" // an older answer than the stored one
	outcomeNoAppt     = "no_appointment"
	outcomeEscalated  = "escalated"
	outcomeOptedOut   = "opted_out"
	outcomeOptedIn    = "opted_in"
	outcomeUnchanged  = "consent_unchanged"
	outcomeRecorded   = "recorded"     // acknowledged and recorded, nothing else to do
	outcomeStale      = "stale_answer" // an answer about an earlier time of a moved appointment
)

// maxSaveAttempts bounds optimistic-lock retries against concurrent EHR updates.
const maxSaveAttempts = 5

// inbound is one message being handled, with what is known about its sender.
type inbound struct {
	c  clinic.Clinic
	m  whatsapp.InboundMessage
	at time.Time // the message's own timestamp: answers and the 24 h window count from it
	// phone is where replies go: the sender's E.164 number, or their BSUID when the
	// message came without a number (a username-only sender).
	phone string
	// bsuid is the sender's business-scoped user id ("" when Meta sent none).
	bsuid, parentBSUID string
	patients           []appointment.Patient
	// contactKey is the number's contact (contact.KeyOf); "" for a sender id that
	// is not a possible number.
	contactKey string
	// replyLang, when set, is the language to answer in whoever the patient is: the
	// language an emergency message was written in.
	replyLang string
	// answeredGeneration is the plan generation of the reminder the message answers
	// (from a button payload or the context message), "" when unknown.
	answeredGeneration string

	// Set while handling, for the message record and the log.
	patientID     string
	appointmentID string
	intent        string
	outcome       string

	silenced *bool // every patient on this number opted out (lazily computed)

	// prebuilt, when set, is the answer itself (a slot list, a slot choice's
	// words), sent inside the window instead of a reply kind's text.
	prebuilt *whatsapp.Message
	// slotsDeclined: the patient chose "None of these"; the request goes to the
	// clinic as a plain one, with no second list.
	slotsDeclined bool
	// conversationID is set once the message is in a conversation.
	conversationID string
}

// threadInbound is the message as the conversation record keeps it.
func (in *inbound) threadInbound() handoff.Inbound {
	out := handoff.Inbound{ContactKey: in.contactKey, ReplyTo: in.phone, MessageID: messagelog.ID(in.m.ID), At: in.at, Type: in.m.Type,
		Language: in.lang(in.patientID)}
	for _, p := range in.patients {
		out.PatientIDs = append(out.PatientIDs, p.ID)
	}
	if len(in.patients) == 1 {
		out.GivenName = in.patients[0].GivenName
	}
	m := in.m
	switch {
	case m.Text != nil:
		out.Text = m.Text.Body
	case m.Button != nil:
		out.Choice = m.Button.Text
	case m.Interactive != nil && m.Interactive.ButtonReply != nil:
		out.Choice = m.Interactive.ButtonReply.Title
	case m.Interactive != nil && m.Interactive.ListReply != nil:
		out.Choice = m.Interactive.ListReply.Title
	}
	return out
}

func (in *inbound) patientIDs() map[string]bool {
	ids := map[string]bool{}
	for _, p := range in.patients {
		ids[p.ID] = true
	}
	return ids
}

func (in *inbound) patient(id string) appointment.Patient {
	for _, p := range in.patients {
		if p.ID == id {
			return p
		}
	}
	if len(in.patients) > 0 {
		return in.patients[0]
	}
	return appointment.Patient{}
}

// lang is the language to answer in: the patient's, else the clinic's default.
func (in *inbound) lang(patientID string) string {
	if in.replyLang != "" {
		return in.replyLang
	}
	if p := in.patient(patientID); p.Language != "" {
		return p.Language
	}
	return in.c.DefaultLanguage
}

// E164FromWaID turns a webhook's wa_id / from (digits) into the E.164 form
// patients are stored with.
func E164FromWaID(waID string) string {
	return "+" + strings.TrimPrefix(strings.TrimSpace(waID), "+")
}

// PhoneCandidates lists the E.164 numbers a wa_id can stand for. WhatsApp's wa_id
// is not always the number the EHR holds: Mexican mobiles arrive as 521 + ten
// digits while E.164 dropped the 1 in 2019, and Brazilian mobiles registered before
// the ninth digit arrive without it. A STOP from such a patient must still find them.
func PhoneCandidates(waID string) []string {
	e164 := E164FromWaID(waID)
	out := []string{e164}
	digits := e164[1:]
	switch {
	case strings.HasPrefix(digits, "521") && len(digits) == 13:
		out = append(out, "+52"+digits[3:])
	case strings.HasPrefix(digits, "52") && len(digits) == 12:
		out = append(out, "+521"+digits[2:])
	case strings.HasPrefix(digits, "55") && len(digits) == 12: // 55 + area + 8 digits: add the ninth digit
		out = append(out, "+55"+digits[2:4]+"9"+digits[4:])
	case strings.HasPrefix(digits, "55") && len(digits) == 13 && digits[4] == '9':
		out = append(out, "+55"+digits[2:4]+digits[5:])
	}
	return out
}

func (s *Service) handleMessage(ctx context.Context, c clinic.Clinic, v whatsapp.Value, m whatsapp.InboundMessage) error {
	if m.ID == "" {
		s.log().Warn("inbound message without id", "clinic_id", c.ID, "type", m.Type)
		return nil
	}
	// The record is the "handled" marker (see the package documentation).
	if _, err := s.Store.GetMessage(ctx, m.ID); err == nil {
		s.log().Info("inbound message duplicate", "clinic_id", c.ID, platform.WAMID("wamid", m.ID))
		return nil
	} else if !errors.Is(err, fault.ErrNotFound) {
		return fmt.Errorf("dedupe: %w", err)
	}
	at, err := m.Timestamp.Time()
	if err != nil {
		at = s.now()
	}
	in := &inbound{c: c, m: m, at: at}
	in.bsuid, in.parentBSUID = v.SenderUserID(m)
	if err := s.resolveSender(ctx, in); err != nil {
		return err
	}
	sort.Slice(in.patients, func(i, j int) bool { return in.patients[i].ID < in.patients[j].ID })
	for i, p := range in.patients {
		// Any message opens or refreshes the 24-hour window, counted from when the
		// patient wrote, not from when the queue delivered it.
		if err := s.Store.TouchInbound(ctx, c.ID, p.ID, at); err != nil {
			return fmt.Errorf("touch inbound: %w", err)
		}
		if at.After(in.patients[i].LastInboundAt) {
			in.patients[i].LastInboundAt = at
		}
	}
	if len(in.patients) > 0 {
		in.patientID = in.patients[0].ID
	}
	if err := s.dispatch(ctx, in); err != nil {
		return err
	}
	if in.conversationID == "" && s.Conversations != nil && in.contactKey != "" && patientContent(m.Type) {
		if _, err := s.Conversations.Received(ctx, c, in.threadInbound()); err != nil {
			return fmt.Errorf("conversation: %w", err)
		}
	}
	rec := messagelog.Record{
		WAMID: m.ID, Direction: messagelog.Inbound, ClinicID: c.ID, PatientID: in.patientID,
		AppointmentID: in.appointmentID, Type: m.Type, Status: messagelog.StatusReceived,
		CreatedAt: s.now(), UpdatedAt: s.now(),
	}
	if _, err := s.Store.PutMessage(ctx, rec); err != nil {
		return fmt.Errorf("record inbound: %w", err)
	}
	s.log().Info("inbound message handled", "clinic_id", c.ID, platform.WAMID("wamid", m.ID), "type", m.Type,
		"intent", in.intent, "outcome", in.outcome, "patient", platform.Hash(in.patientID), "appointment_id", in.appointmentID,
		"contact", platform.Hash(in.contactKey), "patients_on_number", len(in.patients))
	if patientContent(m.Type) {
		platform.Count(ctx, s.log(), s.Clock, platform.MetricReplies, platform.DimAction, replyAction(in.intent))
	}
	return nil
}

// replyAction is the dashboard's Action dimension for an inbound message.
func replyAction(intent string) string {
	switch intent {
	case "confirm", "reschedule", "cancel", "stop", "start":
		return intent
	}
	return "other"
}

// patientContent reports whether a message type is something a person wrote or
// sent that staff may need to read. Reactions, system notices (number changed)
// and the "chat opened" welcome request are not.
func patientContent(typ string) bool {
	switch typ {
	case "reaction", whatsapp.TypeSystem, "request_welcome", "ephemeral":
		return false
	}
	return true
}

func (s *Service) dispatch(ctx context.Context, in *inbound) error {
	m := in.m
	if sys, ok := m.SystemNotice(); ok {
		return s.identityNotice(ctx, in, sys)
	}
	if !patientContent(m.Type) {
		in.outcome = outcomeRecorded
		return nil
	}
	// Safety first, whoever writes: an emergency from a number no patient has (a
	// relative's phone), on a shared number, or in a button's text is still one.
	for _, text := range visibleTexts(m) {
		if conversation.Classify(text) == conversation.Emergency {
			return s.emergency(ctx, in, conversation.EmergencyLanguage(text))
		}
	}
	if len(in.patients) == 0 {
		// STOP / START belong to the number, not to a patient: recorded against the
		// contact, they hold for every patient the EHR later adds on it.
		if text, ok := writtenText(m); ok {
			switch conversation.Classify(text) {
			case conversation.Stop:
				in.intent = string(conversation.Stop)
				return s.consent(ctx, in, consent.OptedOut)
			case conversation.Start:
				// Only a number that said STOP has anything to resume; from any other
				// unknown number "start" is a message for staff.
				silenced, err := s.isSilenced(ctx, in)
				if err != nil {
					return err
				}
				if silenced {
					in.intent = string(conversation.Start)
					return s.consent(ctx, in, consent.OptedIn)
				}
			}
		}
		s.UnknownSenders.Add(1)
		in.intent = "unknown_sender"
		// No bot answer beyond the hand-off: nothing is known about the sender, and
		// nothing about any patient may be said to an unverified number.
		return s.escalate(ctx, in, ReasonUnknownSender, UrgencyNormal, replyHandOff)
	}
	switch m.Type {
	case whatsapp.TypeButton:
		if m.Button != nil {
			if b, ok := parseButton(m.Button.Payload); ok {
				return s.button(ctx, in, b)
			}
			// A quick reply Frontdesk did not build (a template's static button):
			// its visible text is the patient's words.
			return s.text(ctx, in, m.Button.Text)
		}
	case whatsapp.TypeInteractive:
		if m.Interactive != nil {
			id := ""
			switch {
			case m.Interactive.ButtonReply != nil:
				id = m.Interactive.ButtonReply.ID
			case m.Interactive.ListReply != nil:
				id = m.Interactive.ListReply.ID
			}
			if nid, score, ok := notice.ParseListReply(id); ok {
				if handled, err := s.feedbackAnswer(ctx, in, nid, score); handled || err != nil {
					return err
				}
			}
			if b, ok := parseButton(id); ok {
				return s.button(ctx, in, b)
			}
		}
		in.intent = "unknown_button"
		return s.escalate(ctx, in, ReasonUnknownButton, UrgencyNormal, replyHandOff)
	case whatsapp.TypeText:
		if m.Text != nil {
			// A bare digit answers a pending feedback question; otherwise it is text.
			if score, ok := notice.ParseScore(m.Text.Body); ok {
				if handled, err := s.feedbackAnswer(ctx, in, "", score); handled || err != nil {
					return err
				}
			}
			return s.text(ctx, in, m.Text.Body)
		}
	}
	// Image, audio, video, document, sticker, location, contacts, order,
	// unsupported and types Meta adds later: staff look at it; media is not
	// downloaded (it would be PHI stored outside the clinic's systems).
	in.intent = "message_type"
	return s.escalate(ctx, in, ReasonMessageType, UrgencyNormal, replyUnsupported)
}

// button acts on a tap on one of Frontdesk's buttons.
func (s *Service) button(ctx context.Context, in *inbound, b button) error {
	if b.clinicID != in.c.ID {
		// A payload minted for another clinic (a forwarded message): never act on it.
		in.intent = "foreign_button"
		return s.escalate(ctx, in, ReasonUnknownButton, UrgencyNormal, replyHandOff)
	}
	if b.slotAction != "" {
		return s.slotButton(ctx, in, b)
	}
	if !b.reopen {
		in.answeredGeneration = b.generation
		return s.answer(ctx, in, b.action, b.appointmentID)
	}
	// "See reply" on the frontdesk_reopen template: the tap opened the window, so
	// the answer that was waiting can now be sent free-form.
	in.intent, in.outcome = "reopen", outcomeRecorded
	if b.pending == handoff.PendingStaffReply {
		return nil // the conversation record sends the staff text that waited
	}
	var a *appointment.Appointment
	if b.appointmentID != "" {
		got, _, err := s.Store.GetAppointment(ctx, in.c.ID, b.appointmentID)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return fmt.Errorf("get appointment: %w", err)
		}
		if err == nil && in.patientIDs()[got.PatientID] {
			a, in.appointmentID, in.patientID = &got, got.ID, got.PatientID
		}
	}
	kind := b.pending
	if _, err := replyText(kind, in.c.DefaultLanguage, in.c, a, s.now()); err != nil {
		// Unknown kind, or an answer about an appointment that is gone: staff take it.
		kind = replyHandOff
	}
	return s.reply(ctx, in, in.patientID, kind, a, kind == replyOptedOut || kind == replyOptedIn || kind == replyEmergency)
}

// text acts on a free-form text (or the visible text of a foreign quick reply).
func (s *Service) text(ctx context.Context, in *inbound, body string) error {
	it := conversation.Classify(body)
	in.intent = string(it)
	switch it {
	case conversation.Emergency:
		return s.emergency(ctx, in, conversation.EmergencyLanguage(body))
	case conversation.Stop:
		return s.consent(ctx, in, consent.OptedOut)
	case conversation.Start:
		return s.consent(ctx, in, consent.OptedIn)
	case conversation.Confirm:
		return s.answer(ctx, in, actionConfirm, "")
	case conversation.Cancel:
		return s.answer(ctx, in, actionCancel, "")
	case conversation.Reschedule:
		return s.answer(ctx, in, actionReschedule, "")
	case conversation.Help:
		in.outcome = outcomeRecorded
		return s.reply(ctx, in, in.patientID, replyHelp, nil, false)
	case conversation.WaitlistJoin, conversation.WaitlistLeave:
		return s.waitlistKeyword(ctx, in, it == conversation.WaitlistJoin)
	}
	return s.escalate(ctx, in, ReasonFreeText, UrgencyNormal, replyHandOff)
}

// emergency escalates as urgent and sends the fixed safety text in lang (the
// message's language; "" when unclear, then the clinic's default). Escalate
// first: reaching a human matters more than the answer. The answer names no
// patient and no appointment, so it is safe for any number, and goes out even to an
// opted-out number: silence in an emergency is the worse failure. One safety answer
// per number per contact.SafetyInterval (each is a paid message); every message
// still escalates.
func (s *Service) emergency(ctx context.Context, in *inbound, lang string) error {
	in.intent = string(conversation.Emergency)
	if len(in.patients) > 1 {
		in.patientID = "" // a shared number: nothing says who wrote
	}
	if err := s.escalate(ctx, in, ReasonEmergency, UrgencyUrgent, ""); err != nil {
		return err
	}
	if in.contactKey != "" {
		ok, err := s.Store.ClaimSafetyAnswer(ctx, in.c.ID, in.contactKey, in.m.ID, s.now(), contact.SafetyInterval)
		if err != nil {
			return fmt.Errorf("claim safety answer: %w", err)
		}
		if !ok {
			s.log().Info("inbound safety answer already sent", "clinic_id", in.c.ID, platform.WAMID("wamid", in.m.ID),
				"contact", platform.Hash(in.contactKey))
			return nil
		}
	}
	if lang == "" {
		lang = in.c.DefaultLanguage // the message's language is unclear
	}
	in.replyLang = lang
	return s.reply(ctx, in, in.patientID, replyEmergency, nil, true)
}

// visibleTexts is everything a person typed or tapped whose words can say
// "emergency": a text, a quick reply's visible text, an interactive reply's title.
func visibleTexts(m whatsapp.InboundMessage) []string {
	var out []string
	switch {
	case m.Text != nil:
		out = append(out, m.Text.Body)
	case m.Button != nil:
		out = append(out, m.Button.Text)
	case m.Interactive != nil && m.Interactive.ButtonReply != nil:
		out = append(out, m.Interactive.ButtonReply.Title)
	case m.Interactive != nil && m.Interactive.ListReply != nil:
		out = append(out, m.Interactive.ListReply.Title, m.Interactive.ListReply.Description)
	}
	return out
}

// writtenText is what the sender wrote as words: a text, or the text of a quick
// reply Frontdesk did not build. Keywords (STOP, START) count only there.
func writtenText(m whatsapp.InboundMessage) (string, bool) {
	switch {
	case m.Type == whatsapp.TypeText && m.Text != nil:
		return m.Text.Body, true
	case m.Type == whatsapp.TypeButton && m.Button != nil:
		if _, ours := parseButton(m.Button.Payload); !ours {
			return m.Button.Text, true
		}
	}
	return "", false
}

// escalate hands the conversation to staff: a conversation.escalated event, then
// the patient's answer (usually when staff will reply; "" for none).
func (s *Service) escalate(ctx context.Context, in *inbound, reason, urgency string, answer replyKind) error {
	in.outcome = outcomeEscalated
	data := clinic.ConversationEscalated{Reason: reason, Urgency: urgency, MessageID: messagelog.ID(in.m.ID), MessageType: in.m.Type,
		PatientID: in.patientID, Intent: in.intent}
	if len(in.patients) > 1 {
		data.PatientIDs = sortedIDs(in.patientIDs())
	}
	if s.Conversations != nil && in.contactKey != "" {
		ref, err := s.Conversations.HandOff(ctx, in.c, in.threadInbound(), reason, urgency)
		if err != nil {
			return fmt.Errorf("conversation: %w", err)
		}
		in.conversationID = ref.ID
		data.ConversationID, data.ConversationURL = ref.ID, ref.URL
	}
	if err := s.publish(ctx, clinic.NewConversationEscalated(wamidEventID(clinic.EventConversationEscalated, in.m.ID), in.c.ID, in.at.UTC(), data)); err != nil {
		return err
	}
	if answer == "" {
		return nil
	}
	return s.reply(ctx, in, in.patientID, answer, nil, false)
}

func sortedIDs(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// consent records STOP / START against the number's contact (which the sender
// checks for every patient it reaches through that number, including patients
// added later) and in the ledger of every patient on the number, publishes an event
// per patient whose state changed, and acknowledges once. A second STOP while
// opted out changes nothing and gets no answer.
func (s *Service) consent(ctx context.Context, in *inbound, state consent.State) error {
	changed, nowState := false, consent.Unknown
	evidence := messagelog.ID(in.m.ID)
	if in.contactKey != "" {
		c, err := s.Store.GetContact(ctx, in.c.ID, in.contactKey)
		if err != nil {
			return fmt.Errorf("get contact: %w", err)
		}
		id := derivedID("consent", in.m.ID, "contact:"+in.contactKey)
		// A retry of this message finds its own statement stored: count it as a
		// change so the acknowledgement a failed attempt owed is sent (the reply
		// claim keeps it to one).
		before := c.Consent
		if before != nil && before.ID == id {
			before = nil
		}
		e := consent.Entry{ClinicID: in.c.ID, PatientID: in.contactKey, ID: id, State: state, At: in.at,
			Source: consent.SourceWhatsApp, Evidence: evidence, RecordedAt: s.now()}
		applied, err := s.Store.RecordContactConsent(ctx, in.c.ID, in.contactKey, e)
		if err != nil {
			return fmt.Errorf("record contact consent: %w", err)
		}
		switch {
		case applied:
			nowState = state
			changed = before == nil || before.State != state
		case c.Consent != nil:
			nowState = c.Consent.State // a newer statement stands
		}
	}
	for _, p := range in.patients {
		id := derivedID("consent", in.m.ID, p.ID)
		ledger, err := s.Store.ConsentLedger(ctx, in.c.ID, p.ID)
		if err != nil {
			return fmt.Errorf("consent ledger: %w", err)
		}
		// The state before this message, ignoring the entry a failed earlier attempt
		// may already have appended, so the retry still publishes and acknowledges.
		var before []consent.Entry
		for _, e := range ledger {
			if e.ID != id {
				before = append(before, e)
			}
		}
		e := consent.Entry{ClinicID: in.c.ID, PatientID: p.ID, ID: id, State: state, At: in.at,
			Source: consent.SourceWhatsApp, Evidence: evidence, RecordedAt: s.now()}
		if err := s.Store.AppendConsent(ctx, e); err != nil {
			return fmt.Errorf("append consent: %w", err)
		}
		prev, next := consent.Current(before), consent.Current(append(before, e))
		if in.contactKey == "" {
			nowState = next
		}
		if prev == next {
			continue
		}
		changed = true
		change := clinic.ConsentChange{PatientID: p.ID, Source: consent.SourceWhatsApp, MessageID: evidence, ConsentID: id}
		ev := clinic.NewPatientOptedOut(derivedID("event", clinic.EventPatientOptedOut, in.m.ID, p.ID), in.c.ID, in.at, clinic.PatientOptedOut(change))
		if next == consent.OptedIn {
			ev = clinic.NewPatientOptedIn(derivedID("event", clinic.EventPatientOptedIn, in.m.ID, p.ID), in.c.ID, in.at, clinic.PatientOptedIn(change))
		}
		if err := s.publish(ctx, ev); err != nil {
			return err
		}
	}
	in.silenced = nil // consent changed under it
	switch {
	case state == consent.OptedOut && changed:
		if err := s.count(ctx, metrics.OptOut(in.c.ID, in.c.TimeZone, in.m.ID, in.at)...); err != nil {
			return err
		}
		in.outcome = outcomeOptedOut
		return s.reply(ctx, in, in.patientID, replyOptedOut, nil, true)
	case state == consent.OptedIn && nowState == consent.OptedIn:
		in.outcome = outcomeOptedIn
		return s.reply(ctx, in, in.patientID, replyOptedIn, nil, true)
	}
	// An older STOP/START that arrived after a newer one, or a repeat STOP: silence.
	in.outcome = outcomeUnchanged
	return nil
}

// answer applies Confirm / Cancel / Reschedule to the appointment the patient
// means: the one in the button payload, else the one the answered message was
// about (context.id), else the patient's next appointment.
func (s *Service) answer(ctx context.Context, in *inbound, act action, appointmentID string) error {
	in.intent = act.String()
	a, found, err := s.findAppointment(ctx, in, appointmentID)
	if err != nil || !found {
		return err
	}
	in.appointmentID, in.patientID = a.ID, a.PatientID
	if in.answeredGeneration != "" && in.answeredGeneration != reminder.Generation(a.Start) {
		// The reminder answered was about an earlier time of this visit: applying
		// it would tell the clinic the patient confirmed a time they never saw.
		// Nothing changes; the patient gets the current time (and the buttons
		// again, inside the window).
		in.outcome = outcomeStale
		s.log().Info("inbound answer for an earlier time", "clinic_id", in.c.ID, platform.WAMID("wamid", in.m.ID),
			"appointment_id", a.ID, "intent", act.String())
		return s.reply(ctx, in, a.PatientID, replyMoved, &a, false)
	}
	res, a, err := s.applyResponse(ctx, in.c.ID, a, act.response(), in.at)
	if err != nil {
		return err
	}
	if res == outcomeSuperseded {
		// The patient answered again since (a newer tap was handled first): that one
		// stands, was announced and acknowledged.
		in.outcome = outcomeSuperseded
		return nil
	}
	in.outcome = outcomeAnswered
	if err := s.count(ctx, metrics.Answer(in.c.ID, in.c.TimeZone, a.ID, a.Response, in.at)...); err != nil {
		return err
	}
	if act == actionReschedule {
		if listed, err := s.offerSlots(ctx, in, a); err != nil || listed {
			return err
		}
	}
	data := clinic.AppointmentResponse{
		AppointmentID: a.ID, PatientID: a.PatientID, Response: string(a.Response),
		RespondedAt: in.at.UTC(), MessageID: messagelog.ID(in.m.ID), Source: "whatsapp",
	}
	if err := s.publish(ctx, act.event(in.c.ID, in.m.ID, in.at, data)); err != nil {
		return err
	}
	return s.reply(ctx, in, a.PatientID, act.reply(), &a, false)
}

// findAppointment resolves which appointment an answer is about. found=false means
// it has been dealt with (the patient was told, or staff were asked).
func (s *Service) findAppointment(ctx context.Context, in *inbound, appointmentID string) (appointment.Appointment, bool, error) {
	ids := in.patientIDs()
	if appointmentID == "" && in.m.Context != nil && in.m.Context.ID != "" {
		rec, err := s.Store.GetMessage(ctx, in.m.Context.ID)
		switch {
		case err == nil && rec.ClinicID == in.c.ID && rec.AppointmentID != "":
			appointmentID = rec.AppointmentID
			in.answeredGeneration = rec.Generation
		case err != nil && !errors.Is(err, fault.ErrNotFound):
			return appointment.Appointment{}, false, fmt.Errorf("context message: %w", err)
		}
	}
	if appointmentID != "" {
		a, _, err := s.Store.GetAppointment(ctx, in.c.ID, appointmentID)
		switch {
		case errors.Is(err, fault.ErrNotFound):
		case err != nil:
			return a, false, fmt.Errorf("get appointment: %w", err)
		case !ids[a.PatientID]:
			// A payload naming someone else's appointment (forwarded message, shared
			// phone changed hands): never act on it.
			s.log().Warn("inbound answer for another patient's appointment", "clinic_id", in.c.ID,
				platform.WAMID("wamid", in.m.ID), "appointment_id", appointmentID)
		case !active(a, s.now()):
		default:
			return a, true, nil
		}
		return a, false, s.noAppointment(ctx, in)
	}
	// No reference: the next active appointment of the patient(s) on this number.
	var next []appointment.Appointment
	for _, p := range in.patients {
		list, err := s.Store.UpcomingAppointments(ctx, in.c.ID, p.ID, s.now(), 10)
		if err != nil {
			return appointment.Appointment{}, false, fmt.Errorf("upcoming appointments: %w", err)
		}
		for _, a := range list {
			if active(a, s.now()) {
				next = append(next, a)
				break
			}
		}
	}
	switch len(next) {
	case 0:
		return appointment.Appointment{}, false, s.noAppointment(ctx, in)
	case 1:
		return next[0], true, nil
	}
	// Two family members on one phone, both with appointments: a keyword cannot say
	// whose. Staff ask; the bot does not guess.
	return appointment.Appointment{}, false, s.escalate(ctx, in, ReasonAmbiguousPatient, UrgencyNormal, replyHandOff)
}

// active reports whether an answer can still apply to the appointment.
func active(a appointment.Appointment, now time.Time) bool {
	return a.Status.Remindable() && a.Start.After(now)
}

// noAppointment answers a confirm/cancel/reschedule that has nothing to apply to.
// The answer says the team has the message, so staff are told (reason
// no_appointment): the patient may mean a visit the EHR has not sent yet.
func (s *Service) noAppointment(ctx context.Context, in *inbound) error {
	if err := s.escalate(ctx, in, ReasonNoAppointment, UrgencyNormal, replyNoAppointment); err != nil {
		return err
	}
	in.outcome = outcomeNoAppt
	return nil
}

// applyResponse stores the patient's answer unless a newer one is stored, retrying
// on concurrent writes. It returns outcomeAnswered (applied now or by an earlier
// attempt at the same message) or outcomeSuperseded.
func (s *Service) applyResponse(ctx context.Context, clinicID string, a appointment.Appointment, resp appointment.Response, at time.Time) (string, appointment.Appointment, error) {
	for attempt := 1; ; attempt++ {
		switch {
		case a.RespondedAt.After(at):
			return outcomeSuperseded, a, nil
		case a.RespondedAt.Equal(at) && a.Response == resp:
			return outcomeAnswered, a, nil // an earlier attempt at this message applied it
		}
		next := a
		next.Response, next.RespondedAt, next.UpdatedAt = resp, at, s.now()
		err := s.Store.SaveAppointment(ctx, next, nil)
		if err == nil {
			next.Revision++
			return outcomeAnswered, next, nil
		}
		if !errors.Is(err, fault.ErrConflict) || attempt == maxSaveAttempts {
			return "", a, fmt.Errorf("save appointment %s response: %w", a.ID, err)
		}
		// Someone else (an EHR update, another answer) wrote it: read it again.
		if a, _, err = s.Store.GetAppointment(ctx, clinicID, a.ID); err != nil {
			return "", a, fmt.Errorf("reload appointment %s: %w", a.ID, err)
		}
	}
}
