package main

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// waitlistModel is the simulated clinic and the stated acceptance model.
type waitlistModel struct {
	Weeks      uint64  // simulated weeks (each one independent, seeded seed+i)
	Seed       uint64  // the first week's seed
	Cancel     float64 // share of the week's appointments the EHR cancels
	Join       float64 // share of appointments on the waitlist
	OptedOut   float64 // share of patients opted out
	Accept     float64 // probability an offered patient accepts
	MaxDelay   time.Duration
	Zone       string
	QuietHours reminder.QuietHours
}

// benchWaitlist simulates weeks of a clinic (Monday to Friday, 08:00-17:00, 30-minute
// visits, two weeks booked ahead) whose EHR cancels a share of the first week's
// visits between 72 h and 2 h ahead. Each freed slot goes through the same wave
// rule the service uses (slot.NextWave: waves of 3 every 10 minutes, join order,
// later appointments only, no opted-out patient, once a day, quiet hours, stop 2 h
// before the start); each offered patient accepts with probability Accept after a
// uniform delay up to MaxDelay (within the offer's 2 h); the first acceptance
// fills the slot, and the winner's old slot is freed in turn.
func benchWaitlist(m waitlistModel) error {
	loc, err := time.LoadLocation(m.Zone)
	if err != nil {
		return err
	}
	var freed, offered, filled, offers int
	var minutes []float64
	for w := range m.Weeks {
		r := simulateWeek(m, loc, m.Seed+w)
		freed, offered, filled, offers = freed+r.freed, offered+r.offered, filled+r.filled, offers+r.offers
		minutes = append(minutes, r.minutes...)
	}
	sort.Float64s(minutes)
	pct := func(p float64) float64 {
		if len(minutes) == 0 {
			return 0
		}
		return minutes[int(p*float64(len(minutes)-1))]
	}
	fmt.Printf("waitlist: %d simulated weeks (seeds %d..%d), cancellations %.0f%%, waitlist %.0f%%, opted out %.0f%%, accept p=%.2f after U(0,%s)\n",
		m.Weeks, m.Seed, m.Seed+m.Weeks-1, 100*m.Cancel, 100*m.Join, 100*m.OptedOut, m.Accept, m.MaxDelay)
	fmt.Printf("| slots freed | offered | filled | fill rate | offers per fill | release to fill: median | p90 |\n|---|---|---|---|---|---|---|\n")
	rate, per := 0.0, 0.0
	if freed > 0 {
		rate = float64(filled) / float64(freed)
	}
	if filled > 0 {
		per = float64(offers) / float64(filled)
	}
	fmt.Printf("| %d | %d | %d | %.1f%% | %.1f | %.0f min | %.0f min |\n", freed, offered, filled, 100*rate, per, pct(0.5), pct(0.9))
	return nil
}

type weekResult struct {
	freed, offered, filled, offers int
	minutes                        []float64
}

type simRelease struct {
	slot       slot.Slot
	releasedAt time.Time
	lastWave   time.Time
	next       time.Time
	offered    map[string]bool
	done       bool
}

func simulateWeek(m waitlistModel, loc *time.Location, seed uint64) weekResult {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	monday := time.Date(2026, 3, 2, 0, 0, 0, 0, loc)
	begin := monday.Add(-72 * time.Hour)
	end := monday.AddDate(0, 0, 7)
	var res weekResult
	appts := map[string]*appointment.Appointment{}
	joined := map[string]time.Time{}
	optedOut := map[string]bool{}
	lastOffer := map[string]time.Time{}
	var order []string
	for d := range 12 { // two working weeks
		day := monday.AddDate(0, 0, d)
		if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			continue
		}
		for k := range 18 {
			start := day.Add(8*time.Hour + time.Duration(k)*30*time.Minute)
			id := fmt.Sprintf("a%s-%02d", day.Format("0102"), k)
			a := &appointment.Appointment{ClinicID: "sim", ID: id, PatientID: "p" + id, Status: appointment.StatusBooked, Start: start}
			if rng.Float64() < m.Join {
				a.Waitlist = true
				joined[id] = begin.Add(-time.Duration(rng.IntN(30*24)) * time.Hour)
			}
			optedOut[a.PatientID] = rng.Float64() < m.OptedOut
			appts[id] = a
			order = append(order, id)
		}
	}
	type cancel struct {
		at time.Time
		id string
	}
	var cancels []cancel
	for _, id := range order {
		a := appts[id]
		if a.Start.Before(end) && rng.Float64() < m.Cancel {
			at := a.Start.Add(-2*time.Hour - time.Duration(rng.Int64N(int64(70*time.Hour)))).Truncate(time.Minute)
			cancels = append(cancels, cancel{at, id})
		}
	}
	type acceptance struct {
		at    time.Time
		appt  string
		slotI int
	}
	var releases []*simRelease
	var pending []acceptance
	free := func(a *appointment.Appointment, at time.Time) {
		res.freed++
		releases = append(releases, &simRelease{slot: slot.Slot{ClinicID: "sim", ID: "s-" + a.ID, Start: a.Start,
			Duration: 30 * time.Minute, Status: slot.Free}, releasedAt: at, next: at, offered: map[string]bool{}})
	}
	p := slot.Policy{}.WithDefaults()
	for now := begin; now.Before(end); now = now.Add(time.Minute) {
		for _, c := range cancels {
			if c.at.Equal(now) || (c.at.Before(begin) && now.Equal(begin)) {
				a := appts[c.id]
				a.Status, a.Waitlist = appointment.StatusCancelled, false
				free(a, now)
			}
		}
		// Acceptances due now: the first for a slot wins; the winner's old slot is freed.
		sort.Slice(pending, func(i, j int) bool { return pending[i].at.Before(pending[j].at) })
		keep := pending[:0]
		for _, x := range pending {
			if x.at.After(now) {
				keep = append(keep, x)
				continue
			}
			rel := releases[x.slotI]
			a := appts[x.appt]
			if rel.done || !a.Waitlist || a.Status != appointment.StatusBooked || !a.Start.After(rel.slot.Start) {
				continue // told the time was taken
			}
			rel.done = true
			res.filled++
			res.minutes = append(res.minutes, x.at.Sub(rel.releasedAt).Minutes())
			old := *a
			a.Start, a.Waitlist = rel.slot.Start, false
			if old.Start.Before(end.AddDate(0, 0, 7)) {
				free(&old, now)
			}
		}
		pending = keep
		for i, rel := range releases {
			if rel.done || now.Before(rel.next) {
				continue
			}
			var waiters []slot.Waiter
			for _, id := range order {
				a := appts[id]
				if !a.Waitlist {
					continue
				}
				waiters = append(waiters, slot.Waiter{Appointment: *a, JoinedAt: joined[id], OptedOut: optedOut[a.PatientID],
					LastOfferAt: lastOffer[a.PatientID], Offered: rel.offered[id]})
			}
			wv := slot.NextWave(rel.slot, false, rel.lastWave, waiters, p, loc, m.QuietHours, now)
			if wv.Stop != "" {
				rel.done = true
				continue
			}
			rel.next = wv.Next
			if len(wv.Offer) == 0 {
				continue
			}
			if rel.lastWave.IsZero() {
				res.offered++
			}
			rel.lastWave = now
			for _, x := range wv.Offer {
				res.offers++
				rel.offered[x.Appointment.ID] = true
				lastOffer[x.Appointment.PatientID] = now
				if rng.Float64() < m.Accept {
					delay := time.Duration(rng.Int64N(int64(m.MaxDelay))).Truncate(time.Minute) + time.Minute
					if delay < p.OfferTTL {
						pending = append(pending, acceptance{now.Add(delay), x.Appointment.ID, i})
					}
				}
			}
		}
	}
	return res
}
