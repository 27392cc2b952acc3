// Package appointment is the domain model of an appointment, its patient and the
// patient's answer. Pure Go: no AWS SDK, no net/http.
package appointment

import (
	"errors"
	"fmt"
	"time"
)

// Status is the FHIR R4 Appointment.status code set
// (http://hl7.org/fhir/R4/valueset-appointmentstatus.html).
type Status string

// FHIR R4 appointment status codes.
const (
	StatusProposed       Status = "proposed"
	StatusPending        Status = "pending"
	StatusBooked         Status = "booked"
	StatusArrived        Status = "arrived"
	StatusFulfilled      Status = "fulfilled"
	StatusCancelled      Status = "cancelled"
	StatusNoShow         Status = "noshow"
	StatusEnteredInError Status = "entered-in-error"
	StatusCheckedIn      Status = "checked-in"
	StatusWaitlist       Status = "waitlist"
)

// Statuses lists every valid status, in the specification's order.
var Statuses = []Status{StatusProposed, StatusPending, StatusBooked, StatusArrived, StatusFulfilled,
	StatusCancelled, StatusNoShow, StatusEnteredInError, StatusCheckedIn, StatusWaitlist}

// Valid reports whether s is a FHIR R4 appointment status code.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Ended reports whether the appointment will not take place (any more) as booked,
// so pending pre-visit reminders must not go out.
func (s Status) Ended() bool {
	switch s {
	case StatusCancelled, StatusNoShow, StatusEnteredInError, StatusFulfilled:
		return true
	}
	return false
}

// Remindable reports whether pre-visit reminders apply in this status.
func (s Status) Remindable() bool { return s == StatusBooked }

// Response is the patient's answer to a reminder.
type Response string

// Patient responses.
const (
	ResponseNone                Response = ""
	ResponseConfirmed           Response = "confirmed"
	ResponseRescheduleRequested Response = "reschedule_requested"
	ResponseCancelledByPatient  Response = "cancelled_by_patient"
)

// Location is where the visit happens. Name and address are shown to the patient.
type Location struct {
	Name    string `json:"name,omitempty" dynamodbav:"name,omitempty"`
	Address string `json:"address,omitempty" dynamodbav:"address,omitempty"`
}

// Practitioner is who the patient sees. Never sent to the patient (it can reveal a specialty).
type Practitioner struct {
	Display string `json:"display,omitempty" dynamodbav:"display,omitempty"`
}

// Appointment is one visit as the EHR last described it, plus what the patient answered.
type Appointment struct {
	ClinicID     string
	ID           string // the EHR's appointment id, unique within the clinic
	Status       Status
	Start        time.Time
	Duration     time.Duration
	Location     Location
	Practitioner Practitioner
	PatientID    string
	// VisitType is the EHR's code for the kind of visit (FHIR serviceType or
	// appointmentType); a slot that names a visit type suits only appointments of it.
	VisitType string
	// Waitlist is true while the patient wants an earlier time: a matching slot that
	// becomes free may be offered to them. (Not FHIR's "waitlist" status, which is an
	// appointment that has no time yet.)
	Waitlist bool
	// Version orders EHR events: an explicit monotonic version, or lastUpdated in
	// Unix milliseconds. An event with a lower version than stored is stale.
	Version int64
	// OrderingKey names what Version was taken from when the EHR offered a choice
	// (FHIR meta "versionId" or "lastUpdated"). It is fixed for the appointment's
	// life: the two are on different scales, so switching would make every later
	// event look stale or every earlier one look new. Empty for native events.
	OrderingKey string

	Response    Response
	RespondedAt time.Time

	// Revision is the storage layer's optimistic-lock counter: every write of the
	// appointment (EHR update or patient answer) must name the revision it read.
	// Zero means "not stored yet".
	Revision int64

	CreatedAt time.Time
	UpdatedAt time.Time
}

// End is when the visit is expected to finish.
func (a Appointment) End() time.Time { return a.Start.Add(a.Duration) }

// Patient is the contact record for one patient of one clinic.
type Patient struct {
	ClinicID  string
	ID        string // the EHR's patient id
	Phone     string // E.164
	GivenName string
	Language  string // BCP 47
	// LastInboundAt is when the patient last wrote to the clinic on WhatsApp; it opens
	// the 24-hour customer service window.
	LastInboundAt time.Time
	UpdatedAt     time.Time
}

// ServiceWindow is WhatsApp's customer service window: free-form messages are allowed
// only this long after the patient's last message.
const ServiceWindow = 24 * time.Hour

// InServiceWindow reports whether free-form messages may be sent to the patient at now.
func (p Patient) InServiceWindow(now time.Time) bool {
	return !p.LastInboundAt.IsZero() && now.Sub(p.LastInboundAt) < ServiceWindow
}

// Errors the domain returns; adapters map them to HTTP statuses in one place.
var (
	ErrStale    = errors.New("stale: older than the stored version")
	ErrConflict = errors.New("conflict")
)

// Validate checks the invariants of an appointment coming from an EHR.
func (a Appointment) Validate() error {
	switch {
	case a.ClinicID == "" || a.ID == "":
		return errors.New("appointment: clinic and appointment id are required")
	case !a.Status.Valid():
		return fmt.Errorf("appointment: unknown status %q", a.Status)
	case a.Start.IsZero():
		return errors.New("appointment: start is required")
	case a.PatientID == "":
		return errors.New("appointment: a patient is required")
	case a.Duration < 0:
		return errors.New("appointment: duration must not be negative")
	}
	return nil
}
