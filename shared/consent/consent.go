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
	// NotApplied is why a statement was kept in the ledger without changing the
	// state (see Admit); empty for a statement that counts.
	NotApplied string `json:"notApplied,omitempty"`
}

// Reasons a statement is kept but not applied.
const (
	// NotAppliedEmbedded: consent inside an appointment event or a FHIR resource
	// rides along with scheduling data and is resent with every update, so it may
	// opt in a patient with no opt-out on record but never lift one.
	NotAppliedEmbedded = "embedded_consent_cannot_lift_opt_out"
	// NotAppliedNoEvidence: a patient's WhatsApp STOP is lifted only by the patient
	// (START) or by a consent statement that carries evidence of a new opt-in.
	NotAppliedNoEvidence = "evidence_required_to_lift_whatsapp_opt_out"
)

// Channel is how a statement reached Frontdesk; it decides what it may undo.
type Channel int

// Channels.
const (
	ChannelEmbedded Channel = iota + 1 // inside an appointment event or a FHIR resource
	ChannelEndpoint                    // the consent endpoint
	ChannelWhatsApp                    // the patient wrote STOP / START
)

// Admit returns e as it must be recorded against the statements already on record
// (the patient's ledger and their number's WhatsApp statements): an opt-in that would
// lift an opt-out it is not allowed to lift comes back with NotApplied set. Opt-outs
// always apply: stopping messages is never the unsafe direction.
func Admit(onRecord []Entry, e Entry, ch Channel) Entry {
	e.NotApplied = ""
	if e.State != OptedIn || ch == ChannelWhatsApp {
		return e
	}
	if Current(onRecord) != OptedOut || Current(append(append([]Entry(nil), onRecord...), e)) != OptedIn {
		return e // nothing to lift, or too old to change anything
	}
	switch {
	case ch == ChannelEmbedded:
		e.NotApplied = NotAppliedEmbedded
	case e.Evidence == "" && whatsAppStopStands(onRecord):
		e.NotApplied = NotAppliedNoEvidence
	}
	return e
}

// whatsAppStopStands reports whether a WhatsApp STOP came after the last applied
// opt-in (a clinic's opt-out after it does not make it go away).
func whatsAppStopStands(ledger []Entry) bool {
	stands := false
	for _, e := range Sorted(Applied(ledger)) {
		switch {
		case e.State == OptedIn:
			stands = false
		case e.State == OptedOut && e.Source == SourceWhatsApp:
			stands = true
		}
	}
	return stands
}

// Applied returns the entries that count towards the state.
func Applied(ledger []Entry) []Entry {
	out := make([]Entry, 0, len(ledger))
	for _, e := range ledger {
		if e.NotApplied == "" {
			out = append(out, e)
		}
	}
	return out
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

// Current returns the state the ledger ends in: the applied entry with the latest
// At wins (ties go to the later recorded), so a late-arriving old entry cannot undo
// an opt-out.
func Current(ledger []Entry) State {
	applied := Applied(ledger)
	if len(applied) == 0 {
		return Unknown
	}
	return Sorted(applied)[len(applied)-1].State
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
