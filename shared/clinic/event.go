package clinic

import "time"

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
type Event struct {
	ID         string         `json:"id"` // stable: a redelivered event keeps its id (webhook-id)
	Type       string         `json:"type"`
	ClinicID   string         `json:"clinicId"`
	OccurredAt time.Time      `json:"timestamp"`
	Data       map[string]any `json:"data"`
}
