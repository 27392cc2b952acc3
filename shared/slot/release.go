package slot

import "time"

// Entry is an appointment on its clinic's waitlist.
type Entry struct {
	AppointmentID string
	PatientID     string
	JoinedAt      time.Time
}

// Waitlist is a clinic's waitlist: its entries and each patient's latest offer.
type Waitlist struct {
	Entries     []Entry
	LastOfferAt map[string]time.Time // by patient id
}

// Release is a freed slot's offering state: when the EHR freed it, its last
// wave, when to look again (zero: no more waves) and who was offered it.
type Release struct {
	ClinicID   string
	SlotID     string
	ReleasedAt time.Time
	LastWaveAt time.Time
	NextAt     time.Time
	Offered    []string // appointment ids, in offer order
}
