package clinic_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
)

// legacyEvent is the envelope as it was built before event data had types: the
// golden bytes below are what it marshalled to, so a typed event that marshals to
// the same bytes changes nothing on the wire (nor for bodies already queued).
type legacyEvent struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	ClinicID   string         `json:"clinicId"`
	OccurredAt time.Time      `json:"timestamp"`
	Data       map[string]any `json:"data"`
}

var (
	at      = time.Date(2026, 12, 1, 9, 30, 15, 123456789, time.UTC)
	madrid  = time.FixedZone("CET", 3600)
	slotAt  = time.Date(2026, 12, 3, 11, 0, 0, 0, madrid)
	holdEnd = time.Date(2026, 12, 1, 10, 0, 15, 987654321, time.UTC) // a clock time: it has a fraction
)

func TestEventJSONUnchanged(t *testing.T) {
	response := clinic.AppointmentResponse{AppointmentID: "appt-1", PatientID: "pat-1", Response: "confirmed",
		RespondedAt: at, MessageID: "msg_0123", Source: "whatsapp"}
	legacyResponse := func(resp string) map[string]any {
		return map[string]any{"appointmentId": "appt-1", "patientId": "pat-1", "response": resp,
			"respondedAt": at, "messageId": "msg_0123", "source": "whatsapp"}
	}
	consentChange := clinic.ConsentChange{PatientID: "pat-1", Source: "whatsapp", MessageID: "msg_0456", ConsentID: "cns_1"}
	legacyConsent := map[string]any{"patientId": "pat-1", "source": "whatsapp", "messageId": "msg_0456", "consentId": "cns_1"}
	cancel := response
	cancel.Response = "cancelled_by_patient"
	reschedule := response
	reschedule.Response = "reschedule_requested"
	tests := []struct {
		name   string
		got    clinic.Event
		legacy map[string]any
		typ    string
	}{
		{"appointment.confirmed", clinic.NewAppointmentConfirmed("evt_1", "clinic-a", at, clinic.AppointmentConfirmed(response)),
			legacyResponse("confirmed"), clinic.EventAppointmentConfirmed},
		{"appointment.cancel_requested", clinic.NewAppointmentCancelRequested("evt_1", "clinic-a", at, clinic.AppointmentCancelRequested(cancel)),
			legacyResponse("cancelled_by_patient"), clinic.EventAppointmentCancelRequested},
		{"appointment.reschedule_requested, the patient's answer", clinic.NewAppointmentRescheduleRequested("evt_1", "clinic-a", at,
			clinic.AppointmentRescheduleRequested{AppointmentID: reschedule.AppointmentID, PatientID: reschedule.PatientID,
				Response: reschedule.Response, RespondedAt: reschedule.RespondedAt, MessageID: reschedule.MessageID, Source: reschedule.Source}),
			legacyResponse("reschedule_requested"), clinic.EventAppointmentRescheduleRequested},
		{"appointment.reschedule_requested, a held slot", clinic.NewAppointmentRescheduleRequested("evt_1", "clinic-a", at,
			clinic.AppointmentRescheduleRequested{AppointmentID: "appt-1", PatientID: "pat-1", SlotID: "slot-9",
				Start: clinic.Second{Time: slotAt}, Reason: "waitlist", HoldExpiresAt: clinic.Second{Time: holdEnd}}),
			map[string]any{"appointmentId": "appt-1", "patientId": "pat-1", "slotId": "slot-9",
				"start": slotAt.UTC().Format(time.RFC3339), "reason": "waitlist", "holdExpiresAt": holdEnd.UTC().Format(time.RFC3339)},
			clinic.EventAppointmentRescheduleRequested},
		{"appointment.reschedule_request_expired", clinic.NewAppointmentRescheduleRequestExpired("evt_1", "clinic-a", holdEnd,
			clinic.AppointmentRescheduleRequestExpired{AppointmentID: "appt-1", PatientID: "pat-1", SlotID: "slot-9",
				Start: clinic.Second{Time: slotAt}, Reason: "reschedule"}),
			map[string]any{"appointmentId": "appt-1", "patientId": "pat-1", "slotId": "slot-9",
				"start": slotAt.UTC().Format(time.RFC3339), "reason": "reschedule"},
			clinic.EventAppointmentRescheduleRequestExpired},
		{"patient.opted_out", clinic.NewPatientOptedOut("evt_1", "clinic-a", at, clinic.PatientOptedOut(consentChange)),
			legacyConsent, clinic.EventPatientOptedOut},
		{"patient.opted_in", clinic.NewPatientOptedIn("evt_1", "clinic-a", at, clinic.PatientOptedIn(consentChange)),
			legacyConsent, clinic.EventPatientOptedIn},
		{"conversation.escalated, an unknown contact", clinic.NewConversationEscalated("evt_1", "clinic-a", at,
			clinic.ConversationEscalated{Reason: "unknown_contact", Urgency: "normal", MessageID: "msg_0789", MessageType: "text"}),
			map[string]any{"reason": "unknown_contact", "urgency": "normal", "messageId": "msg_0789", "messageType": "text"},
			clinic.EventConversationEscalated},
		{"conversation.escalated, every field", clinic.NewConversationEscalated("evt_1", "clinic-a", at,
			clinic.ConversationEscalated{Reason: "emergency", Urgency: "urgent", MessageID: "msg_0789", MessageType: "text",
				PatientID: "pat-1", PatientIDs: []string{"pat-1", "pat-2"}, Intent: "confirm",
				ConversationID: "cnv_0123456789abcdef0123456789abcdef", ConversationURL: "/v1/clinics/clinic-a/conversations/cnv_0123456789abcdef0123456789abcdef/messages"}),
			map[string]any{"reason": "emergency", "urgency": "urgent", "messageId": "msg_0789", "messageType": "text",
				"patientId": "pat-1", "patientIds": []string{"pat-1", "pat-2"}, "intent": "confirm",
				"conversationId": "cnv_0123456789abcdef0123456789abcdef", "conversationUrl": "/v1/clinics/clinic-a/conversations/cnv_0123456789abcdef0123456789abcdef/messages"},
			clinic.EventConversationEscalated},
		{"message.failed, a reminder's send", clinic.NewMessageFailed("evt_1", "clinic-a", at,
			clinic.MessageFailed{AppointmentID: "appt-1", ReminderKind: "pre48h", ErrorCode: new(131049), Reason: "quality"}),
			map[string]any{"appointmentId": "appt-1", "reminderKind": "pre48h", "errorCode": 131049, "reason": "quality"},
			clinic.EventMessageFailed},
		{"message.failed, a reminder expired after timeouts", clinic.NewMessageFailed("evt_1", "clinic-a", at,
			clinic.MessageFailed{AppointmentID: "appt-1", ReminderKind: "pre2h", ErrorCode: new(0), Reason: "expired"}),
			map[string]any{"appointmentId": "appt-1", "reminderKind": "pre2h", "errorCode": 0, "reason": "expired"},
			clinic.EventMessageFailed},
		{"message.failed, a dead-lettered reminder", clinic.NewMessageFailed("evt_1", "clinic-a", at,
			clinic.MessageFailed{AppointmentID: "appt-1", ReminderKind: "pre48h", Reason: "retries_exhausted"}),
			map[string]any{"appointmentId": "appt-1", "reminderKind": "pre48h", "reason": "retries_exhausted"},
			clinic.EventMessageFailed},
		{"message.failed, WhatsApp's status of a reminder", clinic.NewMessageFailed("evt_1", "clinic-a", at,
			clinic.MessageFailed{MessageID: "msg_0abc", PatientID: "pat-1", MessageType: "template", ErrorCode: new(131026),
				ErrorClass: "undeliverable", AppointmentID: "appt-1", ReminderKind: "pre48h"}),
			map[string]any{"messageId": "msg_0abc", "patientId": "pat-1", "messageType": "template", "errorCode": 131026,
				"errorClass": "undeliverable", "appointmentId": "appt-1", "reminderKind": "pre48h"},
			clinic.EventMessageFailed},
		{"message.failed, WhatsApp's status of a reply", clinic.NewMessageFailed("evt_1", "clinic-a", at,
			clinic.MessageFailed{MessageID: "msg_0abc", PatientID: "pat-1", MessageType: "text", ErrorCode: new(131047), ErrorClass: "window"}),
			map[string]any{"messageId": "msg_0abc", "patientId": "pat-1", "messageType": "text", "errorCode": 131047, "errorClass": "window"},
			clinic.EventMessageFailed},
		{"message.failed, a notice", clinic.NewMessageFailed("evt_1", "clinic-a", at,
			clinic.MessageFailed{NoticeID: "ntc_1", PatientID: "pat-1", NoticeKind: "recall_due", Reason: "opted_out"}),
			map[string]any{"noticeId": "ntc_1", "patientId": "pat-1", "noticeKind": "recall_due", "reason": "opted_out"},
			clinic.EventMessageFailed},
		{"template.status_changed, paused", clinic.NewTemplateStatusChanged("evt_1", "clinic-a", at,
			clinic.TemplateStatusChanged{TemplateName: "appointment_reminder_48h", Language: "en_US", Status: "PAUSED",
				Category: "UTILITY", Usable: false, Reason: "template_paused"}),
			map[string]any{"templateName": "appointment_reminder_48h", "language": "en_US", "status": "PAUSED",
				"category": "UTILITY", "usable": false, "reason": "template_paused"},
			clinic.EventTemplateStatusChanged},
		{"template.status_changed, usable again, no category reported", clinic.NewTemplateStatusChanged("evt_1", "clinic-a", at,
			clinic.TemplateStatusChanged{TemplateName: "appointment_reminder_48h", Language: "en_US", Status: "APPROVED", Usable: true}),
			map[string]any{"templateName": "appointment_reminder_48h", "language": "en_US", "status": "APPROVED",
				"category": "", "usable": true},
			clinic.EventTemplateStatusChanged},
		{"feedback.received, after a visit", clinic.NewFeedbackReceived("evt_1", "clinic-a", at,
			clinic.FeedbackReceived{NoticeID: "ntc_2", PatientID: "pat-1", Score: 2, Low: true, AppointmentID: "appt-1"}),
			map[string]any{"noticeId": "ntc_2", "patientId": "pat-1", "score": 2, "low": true, "appointmentId": "appt-1"},
			clinic.EventFeedbackReceived},
		{"feedback.received, no visit", clinic.NewFeedbackReceived("evt_1", "clinic-a", at,
			clinic.FeedbackReceived{NoticeID: "ntc_2", PatientID: "pat-1", Score: 5}),
			map[string]any{"noticeId": "ntc_2", "patientId": "pat-1", "score": 5, "low": false},
			clinic.EventFeedbackReceived},
	}
	covered := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got.Type != tc.typ || tc.got.Data.EventType() != tc.typ {
				t.Errorf("type %q, data's %q, want %q", tc.got.Type, tc.got.Data.EventType(), tc.typ)
			}
			got, err := json.Marshal(tc.got)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(legacyEvent{ID: tc.got.ID, Type: tc.typ, ClinicID: tc.got.ClinicID, OccurredAt: tc.got.OccurredAt, Data: tc.legacy})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("wire bytes changed\n got %s\nwant %s", got, want)
			}
			// A body queued by either version passes through the notifier byte for byte.
			var back clinic.Event
			if err := json.Unmarshal(want, &back); err != nil {
				t.Fatal(err)
			}
			again, err := json.Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, want) || back.Data.EventType() != tc.typ {
				t.Errorf("decoded and re-encoded\n got %s (%s)\nwant %s", again, back.Data.EventType(), want)
			}
		})
		covered[tc.typ] = true
	}
	for _, d := range clinic.Catalog() {
		if !covered[d.EventType()] {
			t.Errorf("%s has no golden case", d.EventType())
		}
	}
}

func TestDecodedEventKeepsWhatItDoesNotName(t *testing.T) {
	tests := []struct {
		name, body string
		field      string
		want       any
	}{
		{"a field this version does not know", `{"id":"evt_9","type":"message.failed","clinicId":"clinic-a","timestamp":"2026-12-01T09:30:15Z","data":{"errorCode":0,"future":{"a":[1,2]},"reason":"expired"}}`,
			"errorCode", float64(0)},
		{"an event type this version does not know", `{"id":"evt_9","type":"waitlist.offered","clinicId":"clinic-a","timestamp":"2026-12-01T09:30:15Z","data":{"slotId":"slot-1"}}`,
			"slotId", "slot-1"},
		{"no data", `{"id":"evt_9","type":"patient.opted_in","clinicId":"clinic-a","timestamp":"2026-12-01T09:30:15Z","data":null}`,
			"patientId", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e clinic.Event
			if err := json.Unmarshal([]byte(tc.body), &e); err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.body {
				t.Errorf("re-encoded\n got %s\nwant %s", b, tc.body)
			}
			if got := e.Field(tc.field); got != tc.want {
				t.Errorf("Field(%q) = %v, want %v", tc.field, got, tc.want)
			}
		})
	}
	var e clinic.Event
	if err := json.Unmarshal([]byte(`{"id":"evt_9","type":"message.failed","data":"not an object"`), &e); err == nil {
		t.Error("a truncated body decoded")
	}
}

// TestCatalogCoversEveryEventType: each Event* constant has exactly one data type,
// and every data type is a struct (no map: its fields are what the OpenAPI
// document and the golden test check).
func TestCatalogCoversEveryEventType(t *testing.T) {
	consts := eventConstants(t)
	seen := map[string]string{}
	for _, d := range clinic.Catalog() {
		typ := d.EventType()
		name := reflect.TypeOf(d).Name()
		if other, dup := seen[typ]; dup {
			t.Errorf("%s and %s both claim %s", other, name, typ)
		}
		seen[typ] = name
		if _, ok := consts[typ]; !ok {
			t.Errorf("%s names %q, which is no Event* constant", name, typ)
		}
		if k := reflect.TypeOf(d).Kind(); k != reflect.Struct {
			t.Errorf("%s is a %s, want a struct", name, k)
		}
	}
	for typ, constName := range consts {
		if _, ok := seen[typ]; !ok {
			t.Errorf("%s (%q) has no data type in clinic.Catalog", constName, typ)
		}
	}
}

// eventConstants reads event.go's Event* constants: value to name.
func eventConstants(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "event.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if !strings.HasPrefix(n.Name, "Event") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s is not a string literal", n.Name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out[v] = n.Name
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no Event* constants found in event.go")
	}
	return out
}
