package slot

import (
	"errors"
	"sort"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
)

// Reason says why a slot is held: the patient picked it from the reschedule list,
// or accepted a waitlist offer for it.
type Reason string

// Hold reasons (the callback's reason field).
const (
	ReasonReschedule Reason = "reschedule"
	ReasonWaitlist   Reason = "waitlist"
)

// Defaults of the clinic's reschedule and waitlist policy.
const (
	DefaultHoldTTL  = 15 * time.Minute
	DefaultHorizon  = 14 * 24 * time.Hour
	MaxListedSlots  = 8 // Meta allows 10 list rows; the ninth asks for an earlier time, the tenth is "None of these"
	DefaultWaveSize = 3
	DefaultWaveGap  = 10 * time.Minute
	DefaultOfferTTL = 2 * time.Hour // the offer template's message_send_ttl_seconds
	DefaultMinLead  = 2 * time.Hour // a slot starting sooner is not offered any more
	OfferSpacing    = 24 * time.Hour
)

// Hold is one patient's claim on a free slot while the EHR books it. At most one
// unexpired hold exists per slot; the storage layer enforces it with a
// conditional write, so the first acceptance wins whatever the concurrency.
type Hold struct {
	ClinicID      string
	SlotID        string
	SlotStart     time.Time
	AppointmentID string
	PatientID     string
	Reason        Reason
	HeldAt        time.Time
	ExpiresAt     time.Time
	// ConfirmedAt is when the patient was told that the EHR moved their visit to
	// the slot (zero: not yet).
	ConfirmedAt time.Time
}

// Active reports whether the hold still reserves its slot at now.
func (h Hold) Active(now time.Time) bool { return now.Before(h.ExpiresAt) }

// Validate checks what a hold must name before it is written.
func (h Hold) Validate() error {
	switch {
	case h.ClinicID == "" || h.SlotID == "" || h.AppointmentID == "":
		return errors.New("slot: a hold names its clinic, slot and appointment")
	case h.Reason != ReasonReschedule && h.Reason != ReasonWaitlist:
		return errors.New("slot: a hold's reason is reschedule or waitlist")
	case !h.ExpiresAt.After(h.HeldAt):
		return errors.New("slot: a hold must expire after it is placed")
	}
	return nil
}

// Claim is the outcome of an attempt to hold a slot.
type Claim string

// Claim outcomes. Mine is a repeated attempt by the appointment that already holds
// the slot (a redelivered tap): it must neither post a second request nor be told
// the time was taken.
const (
	Won   Claim = "won"
	Mine  Claim = "mine"
	Taken Claim = "taken"
	Gone  Claim = "gone" // the slot is no longer free (the EHR booked or removed it)
)

// Policy is a clinic's reschedule and waitlist settings; zero fields take the defaults.
type Policy struct {
	Horizon  time.Duration // how far ahead the reschedule list looks
	HoldTTL  time.Duration
	WaveSize int
	WaveGap  time.Duration
	OfferTTL time.Duration
	MinLead  time.Duration
}

// WithDefaults fills the zero fields.
func (p Policy) WithDefaults() Policy {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&p.Horizon, DefaultHorizon)
	def(&p.HoldTTL, DefaultHoldTTL)
	def(&p.WaveGap, DefaultWaveGap)
	def(&p.OfferTTL, DefaultOfferTTL)
	def(&p.MinLead, DefaultMinLead)
	if p.WaveSize <= 0 {
		p.WaveSize = DefaultWaveSize
	}
	return p
}

// Choices picks the slots to list for an appointment's reschedule: free, not held
// at now, matching the appointment,
// starting after now+MinLead and within the horizon, not at the appointment's own
// start; earliest first, at most MaxListedSlots. An empty answer means the list is
// not shown and the reschedule request goes to the clinic as before.
func Choices(free []Slot, a appointment.Appointment, p Policy, now time.Time) []Slot {
	p = p.WithDefaults()
	earliest, latest := now.Add(p.MinLead), now.Add(p.Horizon)
	var out []Slot
	for _, s := range free {
		if s.Status != Free || !Matches(s, a) || s.Start.Before(earliest) || s.Start.After(latest) || s.Start.Equal(a.Start) {
			continue
		}
		if now.Before(s.HeldUntil) {
			continue
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	if len(out) > MaxListedSlots {
		out = out[:MaxListedSlots]
	}
	return out
}
