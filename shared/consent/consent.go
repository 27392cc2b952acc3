// Package consent is the patient's WhatsApp consent: an append-only ledger whose
// newest entry is the current state. Pure Go.
package consent

import (
	"errors"
	"sort"
	"time"
)

// State is a consent state.
type State string

// Consent states. Unknown means no entry yet: no business-initiated message may be sent.
const (
	Unknown  State = "unknown"
	OptedIn  State = "opted_in"
	OptedOut State = "opted_out"
)

// Valid reports whether s can be recorded.
func (s State) Valid() bool { return s == OptedIn || s == OptedOut }

// Sources of a consent entry.
const (
	SourceEHR      = "ehr"      // recorded by the clinic (front desk, intake form)
	SourceWhatsApp = "whatsapp" // the patient wrote STOP / START
	SourceAPI      = "api"
)

// Entry is one ledger line.
type Entry struct {
	ClinicID   string    `json:"-"`
	PatientID  string    `json:"-"`
	ID         string    `json:"id"`
	State      State     `json:"whatsapp"`
	At         time.Time `json:"at"`
	Source     string    `json:"source"`
	Evidence   string    `json:"evidence,omitempty"`
	RecordedAt time.Time `json:"recordedAt"`
}

// Validate checks an entry before it is appended.
func (e Entry) Validate() error {
	switch {
	case e.ClinicID == "" || e.PatientID == "":
		return errors.New("consent: clinic and patient are required")
	case !e.State.Valid():
		return errors.New("consent: whatsapp must be opted_in or opted_out")
	case e.At.IsZero():
		return errors.New("consent: at is required")
	case e.Source == "":
		return errors.New("consent: source is required")
	}
	return nil
}

// Current returns the state the ledger ends in: the entry with the latest At wins
// (ties go to the later recorded), so a late-arriving old entry cannot undo an opt-out.
func Current(ledger []Entry) State {
	if len(ledger) == 0 {
		return Unknown
	}
	return Sorted(ledger)[len(ledger)-1].State
}

// Sorted returns the ledger in effective order (oldest first).
func Sorted(ledger []Entry) []Entry {
	out := append([]Entry(nil), ledger...)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].RecordedAt.Before(out[j].RecordedAt)
	})
	return out
}

// MaySend reports whether business-initiated messages may be sent in state s.
func MaySend(s State) bool { return s == OptedIn }
