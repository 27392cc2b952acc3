package slot

import (
	"sort"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// Waiter is a waitlisted appointment as the wave planner sees it.
type Waiter struct {
	Appointment appointment.Appointment
	JoinedAt    time.Time // when the patient (or the EHR) put the appointment on the waitlist
	OptedOut    bool      // the patient or their number opted out of WhatsApp
	LastOfferAt time.Time // the patient's latest waitlist offer, of any slot
	Offered     bool      // already offered this slot
}

// Why a freed slot gets no (more) waves.
const (
	StopFilled    = "filled"
	StopNotFree   = "not_free"
	StopTooClose  = "too_close"
	StopExhausted = "waitlist_exhausted"
	WaitWaveGap   = "wave_gap"
	WaitQuiet     = "quiet_hours"
)

// Wave is what to do with a freed slot now.
type Wave struct {
	Offer []Waiter  // the patients to offer the slot to now, in join order
	Stop  string    // non-empty: offer this slot no more (one of the Stop reasons)
	Wait  string    // non-empty: nothing now, look again at Next
	Next  time.Time // when to look again (zero when Stop)
}

// NextWave decides the next wave of offers for free slot s. Waves go to
// waitlisted appointments the slot suits and that start later than it, in the
// order they joined, WaveSize at a time, WaveGap apart (lastWave is the previous
// wave's time, zero before the first), until the slot is filled or starts within
// MinLead. Nobody opted out, nobody already offered this slot and nobody offered
// any slot in the last OfferSpacing is chosen, and nothing goes out in the clinic's
// quiet hours (loc and q: its wall clock).
func NextWave(s Slot, filled bool, lastWave time.Time, waiters []Waiter, p Policy, loc *time.Location, q reminder.QuietHours, now time.Time) Wave {
	p = p.WithDefaults()
	if loc == nil {
		loc = time.UTC
	}
	cutoff := s.Start.Add(-p.MinLead)
	switch {
	case filled:
		return Wave{Stop: StopFilled}
	case s.Status != Free:
		return Wave{Stop: StopNotFree}
	case !now.Before(cutoff):
		return Wave{Stop: StopTooClose}
	}
	if !lastWave.IsZero() && now.Before(lastWave.Add(p.WaveGap)) {
		return Wave{Wait: WaitWaveGap, Next: lastWave.Add(p.WaveGap)}
	}
	if _, until, quiet := q.Period(now, loc); quiet {
		if !until.Before(cutoff) {
			return Wave{Stop: StopTooClose}
		}
		return Wave{Wait: WaitQuiet, Next: until}
	}
	var eligible []Waiter
	for _, w := range waiters {
		a := w.Appointment
		if !a.Waitlist || !a.Status.Remindable() || !a.Start.After(s.Start) || !Matches(s, a) ||
			w.OptedOut || w.Offered || (!w.LastOfferAt.IsZero() && now.Sub(w.LastOfferAt) < OfferSpacing) {
			continue
		}
		eligible = append(eligible, w)
	}
	if len(eligible) == 0 {
		return Wave{Stop: StopExhausted}
	}
	sort.SliceStable(eligible, func(i, j int) bool {
		if !eligible[i].JoinedAt.Equal(eligible[j].JoinedAt) {
			return eligible[i].JoinedAt.Before(eligible[j].JoinedAt)
		}
		return eligible[i].Appointment.ID < eligible[j].Appointment.ID
	})
	if len(eligible) > p.WaveSize {
		eligible = eligible[:p.WaveSize]
	}
	return Wave{Offer: eligible, Next: now.Add(p.WaveGap)}
}

// OfferExpiry is when an offer sent at sentAt lapses: a fixed time equal to the
// offer template's message_send_ttl_seconds, so Meta drops an undelivered offer
// at the moment Frontdesk stops honouring it.
func OfferExpiry(p Policy, sentAt time.Time) time.Time {
	return sentAt.Add(p.WithDefaults().OfferTTL)
}
