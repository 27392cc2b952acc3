package clinic

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event types delivered to the clinic's callback URL.
const (
	EventAppointmentConfirmed           = "appointment.confirmed"
	EventAppointmentCancelRequested     = "appointment.cancel_requested"
	EventAppointmentRescheduleRequested = "appointment.reschedule_requested"
	EventPatientOptedOut                = "patient.opted_out"
	EventPatientOptedIn                 = "patient.opted_in"
	EventConversationEscalated          = "conversation.escalated"
	EventMessageFailed                  = "message.failed"
	// EventTemplateStatusChanged: Meta paused, disabled or re-categorised one of the
	// clinic's templates (its reminders wait), or approved it again (they resume).
	EventTemplateStatusChanged = "template.status_changed"
	// EventAppointmentRescheduleRequestExpired: a slot held for the patient's
	// reschedule was not booked by the EHR before the hold ended; the slot is free again.
	EventAppointmentRescheduleRequestExpired = "appointment.reschedule_request_expired"
	// EventFeedbackReceived: a patient answered a feedback question (ids and the score only).
	EventFeedbackReceived = "feedback.received"
)

// Event is a state change the clinic must learn about. It travels on the ehr-outbox
// queue and is posted, signed, to the clinic's callback URL. Data carries ids, codes
// and times only: no phone number, name or message text.
//
// Events are built only by this package's New* constructors, one per event type,
// so each type's data has one shape, the one the OpenAPI document's webhooks
// section describes.
type Event struct {
	ID         string    `json:"id"` // stable: a redelivered event keeps its id (webhook-id)
	Type       string    `json:"type"`
	ClinicID   string    `json:"clinicId"`
	OccurredAt time.Time `json:"timestamp"`
	Data       Data      `json:"data"`
}

// Data is an event's payload. Each event type has its own Go type; Raw holds the
// data of an event read back from JSON.
type Data interface {
	EventType() string
}

// UnmarshalJSON keeps the data as it arrived (Raw): the notifier forwards events
// it may not know (a newer publisher's, or one queued before a field was added)
// byte for byte rather than through a type that could drop what it does not name.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w struct {
		ID         string          `json:"id"`
		Type       string          `json:"type"`
		ClinicID   string          `json:"clinicId"`
		OccurredAt time.Time       `json:"timestamp"`
		Data       json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("clinic: decode event: %w", err)
	}
	*e = Event{ID: w.ID, Type: w.Type, ClinicID: w.ClinicID, OccurredAt: w.OccurredAt}
	if len(w.Data) > 0 && string(w.Data) != "null" {
		e.Data = Raw{Type: w.Type, JSON: w.Data}
	}
	return nil
}

// Field returns one top-level field of the data as JSON decodes it (strings,
// float64 numbers, booleans, maps and slices), or nil. It is for readers of an
// event that arrived as JSON, such as tests of a callback receiver.
func (e Event) Field(name string) any {
	if e.Data == nil {
		return nil
	}
	b, err := json.Marshal(e.Data)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m[name]
}

// Raw is the data of an event decoded from JSON, kept as the JSON it was.
type Raw struct {
	Type string
	JSON json.RawMessage
}

// EventType is the type of the event the data arrived with.
func (r Raw) EventType() string { return r.Type }

// MarshalJSON writes the data back unchanged.
func (r Raw) MarshalJSON() ([]byte, error) {
	if len(r.JSON) == 0 {
		return []byte("null"), nil
	}
	return r.JSON, nil
}

// Second is a time the clinic reads to the second: RFC 3339 in UTC, no fraction
// (a slot's start, a hold's end).
type Second struct{ time.Time }

// MarshalJSON writes the time as RFC 3339 in UTC, to the second.
func (s Second) MarshalJSON() ([]byte, error) {
	return json.Marshal(s.UTC().Format(time.RFC3339))
}

// UnmarshalJSON reads an RFC 3339 time.
func (s *Second) UnmarshalJSON(b []byte) error {
	return s.Time.UnmarshalJSON(b)
}

// The data types below list their fields in the order of their JSON names, so
// that an event's bytes are the ones a sorted map of the same fields produced.

// AppointmentResponse is what a patient answered to an appointment's reminder.
type AppointmentResponse struct {
	AppointmentID string    `json:"appointmentId"`
	MessageID     string    `json:"messageId"` // Frontdesk's msg_ id, never Meta's wamid
	PatientID     string    `json:"patientId"`
	RespondedAt   time.Time `json:"respondedAt"`
	Response      string    `json:"response"`
	Source        string    `json:"source"`
}

// AppointmentConfirmed is the data of appointment.confirmed.
type AppointmentConfirmed AppointmentResponse

// EventType names the event.
func (AppointmentConfirmed) EventType() string { return EventAppointmentConfirmed }

// NewAppointmentConfirmed builds appointment.confirmed.
func NewAppointmentConfirmed(id, clinicID string, at time.Time, d AppointmentConfirmed) Event {
	return newEvent(id, clinicID, at, d)
}

// AppointmentCancelRequested is the data of appointment.cancel_requested.
type AppointmentCancelRequested AppointmentResponse

// EventType names the event.
func (AppointmentCancelRequested) EventType() string { return EventAppointmentCancelRequested }

// NewAppointmentCancelRequested builds appointment.cancel_requested.
func NewAppointmentCancelRequested(id, clinicID string, at time.Time, d AppointmentCancelRequested) Event {
	return newEvent(id, clinicID, at, d)
}

// AppointmentRescheduleRequested is the data of appointment.reschedule_requested.
// A patient's Reschedule answer carries the response fields (messageId,
// respondedAt, response, source); a slot held for the patient carries the slot
// fields (slotId, start, reason, holdExpiresAt) instead.
type AppointmentRescheduleRequested struct {
	AppointmentID string    `json:"appointmentId"`
	HoldExpiresAt Second    `json:"holdExpiresAt,omitzero"`
	MessageID     string    `json:"messageId,omitempty"`
	PatientID     string    `json:"patientId"`
	Reason        string    `json:"reason,omitempty"`
	RespondedAt   time.Time `json:"respondedAt,omitzero"`
	Response      string    `json:"response,omitempty"`
	SlotID        string    `json:"slotId,omitempty"`
	Source        string    `json:"source,omitempty"`
	Start         Second    `json:"start,omitzero"`
}

// EventType names the event.
func (AppointmentRescheduleRequested) EventType() string { return EventAppointmentRescheduleRequested }

// NewAppointmentRescheduleRequested builds appointment.reschedule_requested.
func NewAppointmentRescheduleRequested(id, clinicID string, at time.Time, d AppointmentRescheduleRequested) Event {
	return newEvent(id, clinicID, at, d)
}

// AppointmentRescheduleRequestExpired is the data of
// appointment.reschedule_request_expired.
type AppointmentRescheduleRequestExpired struct {
	AppointmentID string `json:"appointmentId"`
	PatientID     string `json:"patientId"`
	Reason        string `json:"reason"`
	SlotID        string `json:"slotId"`
	Start         Second `json:"start"`
}

// EventType names the event.
func (AppointmentRescheduleRequestExpired) EventType() string {
	return EventAppointmentRescheduleRequestExpired
}

// NewAppointmentRescheduleRequestExpired builds appointment.reschedule_request_expired.
func NewAppointmentRescheduleRequestExpired(id, clinicID string, at time.Time, d AppointmentRescheduleRequestExpired) Event {
	return newEvent(id, clinicID, at, d)
}

// ConsentChange is a patient's consent moving through their own WhatsApp message.
type ConsentChange struct {
	ConsentID string `json:"consentId"`
	MessageID string `json:"messageId"` // the message that changed it (msg_ id)
	PatientID string `json:"patientId"`
	Source    string `json:"source"`
}

// PatientOptedOut is the data of patient.opted_out.
type PatientOptedOut ConsentChange

// EventType names the event.
func (PatientOptedOut) EventType() string { return EventPatientOptedOut }

// NewPatientOptedOut builds patient.opted_out.
func NewPatientOptedOut(id, clinicID string, at time.Time, d PatientOptedOut) Event {
	return newEvent(id, clinicID, at, d)
}

// PatientOptedIn is the data of patient.opted_in.
type PatientOptedIn ConsentChange

// EventType names the event.
func (PatientOptedIn) EventType() string { return EventPatientOptedIn }

// NewPatientOptedIn builds patient.opted_in.
func NewPatientOptedIn(id, clinicID string, at time.Time, d PatientOptedIn) Event {
	return newEvent(id, clinicID, at, d)
}

// ConversationEscalated is the data of conversation.escalated.
type ConversationEscalated struct {
	ConversationID  string   `json:"conversationId,omitempty"`
	ConversationURL string   `json:"conversationUrl,omitempty"`
	Intent          string   `json:"intent,omitempty"`
	MessageID       string   `json:"messageId"`
	MessageType     string   `json:"messageType"`
	PatientID       string   `json:"patientId,omitempty"`
	PatientIDs      []string `json:"patientIds,omitempty"` // when the contact is several patients
	Reason          string   `json:"reason"`
	Urgency         string   `json:"urgency"`
}

// EventType names the event.
func (ConversationEscalated) EventType() string { return EventConversationEscalated }

// NewConversationEscalated builds conversation.escalated.
func NewConversationEscalated(id, clinicID string, at time.Time, d ConversationEscalated) Event {
	return newEvent(id, clinicID, at, d)
}

// MessageFailed is the data of message.failed. A reminder's failure names the
// appointment and reminder kind; a status from WhatsApp names the message and
// its error class; a notice's names the notice. ErrorCode is WhatsApp's error
// code (0 when the failure had none, such as a timeout); a dead-lettered
// reminder's and a notice's carry none.
type MessageFailed struct {
	AppointmentID  string `json:"appointmentId,omitempty"`
	ConversationID string `json:"conversationId,omitempty"` // a staff reply that did not go out
	ErrorClass     string `json:"errorClass,omitempty"`
	ErrorCode      *int   `json:"errorCode,omitempty"`
	MessageID      string `json:"messageId,omitempty"`
	MessageType    string `json:"messageType,omitempty"`
	NoticeID       string `json:"noticeId,omitempty"`
	NoticeKind     string `json:"noticeKind,omitempty"`
	PatientID      string `json:"patientId,omitempty"`
	Reason         string `json:"reason,omitempty"`
	ReminderKind   string `json:"reminderKind,omitempty"`
}

// EventType names the event.
func (MessageFailed) EventType() string { return EventMessageFailed }

// NewMessageFailed builds message.failed.
func NewMessageFailed(id, clinicID string, at time.Time, d MessageFailed) Event {
	return newEvent(id, clinicID, at, d)
}

// TemplateStatusChanged is the data of template.status_changed. Status and
// Category are Meta's last values, empty when Meta has reported none.
type TemplateStatusChanged struct {
	Category     string `json:"category"`
	Language     string `json:"language"`
	Reason       string `json:"reason,omitempty"` // why reminders wait; absent when usable
	Status       string `json:"status"`
	TemplateName string `json:"templateName"`
	Usable       bool   `json:"usable"`
}

// EventType names the event.
func (TemplateStatusChanged) EventType() string { return EventTemplateStatusChanged }

// NewTemplateStatusChanged builds template.status_changed.
func NewTemplateStatusChanged(id, clinicID string, at time.Time, d TemplateStatusChanged) Event {
	return newEvent(id, clinicID, at, d)
}

// FeedbackReceived is the data of feedback.received.
type FeedbackReceived struct {
	AppointmentID string `json:"appointmentId,omitempty"`
	Low           bool   `json:"low"`
	NoticeID      string `json:"noticeId"`
	PatientID     string `json:"patientId"`
	Score         int    `json:"score"`
}

// EventType names the event.
func (FeedbackReceived) EventType() string { return EventFeedbackReceived }

// NewFeedbackReceived builds feedback.received.
func NewFeedbackReceived(id, clinicID string, at time.Time, d FeedbackReceived) Event {
	return newEvent(id, clinicID, at, d)
}

// Catalog is every event type's data, zero-valued, in the order of the constants:
// the OpenAPI document's webhooks section is checked against it.
func Catalog() []Data {
	return []Data{
		AppointmentConfirmed{}, AppointmentCancelRequested{}, AppointmentRescheduleRequested{},
		PatientOptedOut{}, PatientOptedIn{}, ConversationEscalated{}, MessageFailed{},
		TemplateStatusChanged{}, AppointmentRescheduleRequestExpired{}, FeedbackReceived{},
	}
}

func newEvent(id, clinicID string, at time.Time, d Data) Event {
	return Event{ID: id, Type: d.EventType(), ClinicID: clinicID, OccurredAt: at, Data: d}
}
