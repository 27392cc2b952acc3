// Package slot is the domain model of a schedule slot the EHR publishes: a time a
// patient could be moved to. Pure Go: no AWS SDK, no net/http.
//
// The EHR stays the source of truth for the schedule. Frontdesk only reads slots to
// offer them, and (later) holds one for a patient while the EHR books it.
package slot

import (
	"errors"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
)

// Status is whether the slot can be offered. FHIR's busy-unavailable,
// busy-tentative and entered-in-error all mean "not offerable" and arrive as Busy.
type Status string

// Slot statuses.
const (
	Free Status = "free"
	Busy Status = "busy"
)

// Valid reports whether s is free or busy.
func (s Status) Valid() bool { return s == Free || s == Busy }

// Slot is one bookable time as the EHR last described it.
type Slot struct {
	ClinicID string
	ID       string // the EHR's slot id, unique within the clinic
	Start    time.Time
	Duration time.Duration
	Status   Status
	// Location, Practitioner and VisitType narrow which appointments the slot suits;
	// empty means the slot does not say (any).
	Location     string // the location's name, free text
	Practitioner string // free text, as the EHR displays it
	VisitType    string // a code, compared exactly
	// Version and OrderingKey order EHR events exactly as for appointments.
	Version     int64
	OrderingKey string
	// Revision is the storage layer's optimistic-lock counter; zero: not stored yet.
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// HeldUntil is the end of the latest hold placed on the slot (zero: never held);
	// Frontdesk's own, kept through the EHR's updates.
	HeldUntil time.Time
}

// End is when the slot finishes.
func (s Slot) End() time.Time { return s.Start.Add(s.Duration) }

// Validate checks the invariants of a slot coming from an EHR.
func (s Slot) Validate() error {
	switch {
	case s.ClinicID == "" || s.ID == "":
		return errors.New("slot: clinic and slot id are required")
	case !s.Status.Valid():
		return errors.New("slot: status must be free or busy")
	case s.Start.IsZero():
		return errors.New("slot: start is required")
	case s.Duration <= 0:
		return errors.New("slot: duration must be positive")
	}
	return nil
}

// Matches reports whether slot s suits appointment a: wherever the slot names a
// location, a practitioner or a visit type, the appointment must have the same one.
// Location and practitioner are free text typed by people (and by different
// systems), so they compare after trimming and case folding; the visit type is a
// code and compares exactly. Status and time are the caller's concern: whether a
// slot is free, held or soon enough is decided where the offer is made.
func Matches(s Slot, a appointment.Appointment) bool {
	if s.ClinicID != a.ClinicID {
		return false
	}
	if given(s.Location) && !sameText(s.Location, a.Location.Name) {
		return false
	}
	if given(s.Practitioner) && !sameText(s.Practitioner, a.Practitioner.Display) {
		return false
	}
	if given(s.VisitType) && strings.TrimSpace(s.VisitType) != strings.TrimSpace(a.VisitType) {
		return false
	}
	return true
}

func given(s string) bool { return strings.TrimSpace(s) != "" }

func sameText(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// Key names a slot's place in start order: where a page of slots ends.
type Key struct {
	Start time.Time
	ID    string
}

// Query selects a clinic's slots by start.
type Query struct {
	ClinicID string
	From, To time.Time // start in [From, To)
	FreeOnly bool      // only slots whose status is free
	After    *Key      // resume after this slot (the previous page's Next)
	Limit    int       // page size; at most 1000, 0 means 1000
}

// Page is one page of slots in start order; Next is nil on the last page.
type Page struct {
	Slots []Slot
	Next  *Key
}
