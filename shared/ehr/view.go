package ehr

import (
	"sort"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/slot"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// The answer bodies of the native API, shaped exactly as openapi.yaml describes them
// (a test validates them against its schemas), so the router only fills them in.

// AppointmentState is the body of GET and PUT .../appointments/{appointmentId}.
type AppointmentState struct {
	ClinicID        string                `json:"clinicId"`
	AppointmentID   string                `json:"appointmentId"`
	Status          appointment.Status    `json:"status"`
	Start           time.Time             `json:"start"`
	DurationMinutes int64                 `json:"durationMinutes,omitempty"`
	Location        *appointment.Location `json:"location,omitempty"`
	PatientID       string                `json:"patientId"`
	VisitType       string                `json:"visitType,omitempty"`
	// Waitlist is always present: false is an answer too.
	Waitlist bool  `json:"waitlist"`
	Version  int64 `json:"version"`
	// OrderingKey is the FHIR meta element the appointment is ordered by, for its life.
	OrderingKey string          `json:"orderingKey,omitempty"`
	Response    *ResponseState  `json:"response,omitempty"`
	Reminders   []ReminderState `json:"reminders"`
	Consent     ConsentSummary  `json:"consent"`
	// Stale is true when a PUT was older than the stored version and not applied.
	Stale     bool      `json:"stale"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// ResponseState is the patient's answer.
type ResponseState struct {
	Value appointment.Response `json:"value"`
	At    time.Time            `json:"at"`
}

// ReminderState is one reminder as the clinic sees it (no message ids).
type ReminderState struct {
	Kind      reminder.Kind  `json:"kind"`
	DueAt     time.Time      `json:"dueAt"`
	State     reminder.State `json:"state"`
	Reason    string         `json:"reason,omitempty"`
	ErrorCode int            `json:"errorCode,omitempty"`
}

// ConsentSummary is the consent part of an appointment's state.
type ConsentSummary struct {
	State   consent.State   `json:"state"`
	History []consent.Entry `json:"history"`
}

// ConsentState is the body of GET and PUT .../patients/{patientId}/consent.
type ConsentState struct {
	ClinicID  string          `json:"clinicId"`
	PatientID string          `json:"patientId"`
	State     consent.State   `json:"state"`
	History   []consent.Entry `json:"history"`
}

// NewAppointmentState builds the answer for a stored appointment, its reminders
// (sorted by due time) and the patient's consent ledger.
func NewAppointmentState(a appointment.Appointment, reminders []reminder.Reminder, ledger []consent.Entry, stale bool) AppointmentState {
	s := AppointmentState{
		ClinicID:        a.ClinicID,
		AppointmentID:   a.ID,
		Status:          a.Status,
		Start:           a.Start.UTC(),
		DurationMinutes: int64(a.Duration / time.Minute),
		PatientID:       a.PatientID,
		VisitType:       a.VisitType,
		Waitlist:        a.Waitlist,
		Version:         a.Version,
		OrderingKey:     a.OrderingKey,
		Reminders:       make([]ReminderState, 0, len(reminders)),
		Consent:         ConsentSummary{State: consent.Current(ledger), History: nonNil(consent.Sorted(ledger))},
		Stale:           stale,
		UpdatedAt:       a.UpdatedAt,
	}
	if a.Location != (appointment.Location{}) {
		loc := a.Location
		s.Location = &loc
	}
	if a.Response != appointment.ResponseNone {
		s.Response = &ResponseState{Value: a.Response, At: a.RespondedAt}
	}
	for _, r := range reminders {
		s.Reminders = append(s.Reminders, ReminderState{Kind: r.Kind, DueAt: r.DueAt.UTC(), State: r.State, Reason: r.Reason, ErrorCode: r.ErrorCode})
	}
	sort.SliceStable(s.Reminders, func(i, j int) bool { return s.Reminders[i].DueAt.Before(s.Reminders[j].DueAt) })
	return s
}

// NewConsentState builds the answer for a patient's consent ledger (oldest first).
func NewConsentState(clinicID, patientID string, ledger []consent.Entry) ConsentState {
	return ConsentState{ClinicID: clinicID, PatientID: patientID, State: consent.Current(ledger), History: nonNil(consent.Sorted(ledger))}
}

// nonNil keeps "history": [] instead of null, as the schema requires an array.
func nonNil(l []consent.Entry) []consent.Entry {
	if l == nil {
		return []consent.Entry{}
	}
	return l
}

// SlotState is one slot as the EHR sent it, in the answers of the slot routes.
type SlotState struct {
	ClinicID        string                    `json:"clinicId"`
	SlotID          string                    `json:"slotId"`
	Start           time.Time                 `json:"start"`
	DurationMinutes int64                     `json:"durationMinutes"`
	Status          slot.Status               `json:"status"`
	Location        *appointment.Location     `json:"location,omitempty"`
	Practitioner    *appointment.Practitioner `json:"practitioner,omitempty"`
	VisitType       string                    `json:"visitType,omitempty"`
	Version         int64                     `json:"version"`
	OrderingKey     string                    `json:"orderingKey,omitempty"`
	UpdatedAt       time.Time                 `json:"updatedAt,omitzero"`
}

// SlotAnswer is the body of PUT .../slots/{slotId}.
type SlotAnswer struct {
	SlotState
	// Stale is true when the PUT was older than the stored version and not applied.
	Stale bool `json:"stale"`
}

// SlotList is the body of GET .../slots.
type SlotList struct {
	ClinicID string      `json:"clinicId"`
	From     time.Time   `json:"from"`
	To       time.Time   `json:"to"`
	Slots    []SlotState `json:"slots"`
	// Next is the cursor of the following page; absent on the last page.
	Next string `json:"next,omitempty"`
}

// NewSlotState builds the answer for a stored slot.
func NewSlotState(s slot.Slot) SlotState {
	st := SlotState{
		ClinicID: s.ClinicID, SlotID: s.ID, Start: s.Start.UTC(), DurationMinutes: int64(s.Duration / time.Minute),
		Status: s.Status, VisitType: s.VisitType, Version: s.Version, OrderingKey: s.OrderingKey, UpdatedAt: s.UpdatedAt,
	}
	if s.Location != "" {
		st.Location = &appointment.Location{Name: s.Location}
	}
	if s.Practitioner != "" {
		st.Practitioner = &appointment.Practitioner{Display: s.Practitioner}
	}
	return st
}
