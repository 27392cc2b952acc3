package memstore

import (
	"context"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// The waitlist (an entry per appointment, a latest-offer time per patient),
// freed slots' releases and the offers of their waves, as in the slots table of
// the DynamoDB store.
const (
	tblWaitlist   = "waitlist"
	tblLastOffer  = "waitlistLastOffer"
	tblReleases   = "releases"
	tblSlotOffers = "slotOffers"
)

type offerRec struct {
	releasedAt time.Time
	sentAt     time.Time
	expiresAt  time.Time
}

// JoinWaitlist puts an appointment on the waitlist; joining again keeps the first
// join time (and with it the patient's place).
func (s *Store) JoinWaitlist(_ context.Context, clinicID string, e slot.Entry) error {
	defer s.lock()()
	k := key(clinicID, e.AppointmentID)
	e.JoinedAt = utc(e.JoinedAt)
	if cur, ok := get[slot.Entry](s, tblWaitlist, k); ok && !cur.JoinedAt.IsZero() {
		e.JoinedAt = cur.JoinedAt
	}
	put(s, tblWaitlist, k, e)
	return nil
}

// LeaveWaitlist takes an appointment off the waitlist (no-op when it is not on it).
func (s *Store) LeaveWaitlist(_ context.Context, clinicID, appointmentID string) error {
	defer s.lock()()
	del(s, tblWaitlist, key(clinicID, appointmentID))
	return nil
}

// ClinicWaitlist reads a clinic's waitlist, entries in appointment id order.
func (s *Store) ClinicWaitlist(_ context.Context, clinicID string) (slot.Waitlist, error) {
	defer s.lock()()
	w := slot.Waitlist{LastOfferAt: map[string]time.Time{}}
	w.Entries = scan[slot.Entry](s, tblWaitlist, key(clinicID))
	if len(w.Entries) == 0 {
		w.Entries = nil
	}
	prefix := key(clinicID)
	for k, v := range s.table(tblLastOffer) {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			w.LastOfferAt[k[len(prefix):len(k)-1]] = v.(time.Time) // the table holds times only
		}
	}
	return w, nil
}

// StartRelease records that the EHR freed a slot at releasedAt, with its first
// wave due at once. A release of the slot still running (waves due) is kept, so a
// redelivered PUT does not restart the waves; it answers whether it started one.
func (s *Store) StartRelease(_ context.Context, clinicID, slotID string, releasedAt, _ time.Time) (bool, error) {
	defer s.lock()()
	k := slotKey(clinicID, slotID)
	if cur, ok := get[slot.Release](s, tblReleases, k); ok && !cur.NextAt.IsZero() {
		return false, nil
	}
	releasedAt = utc(releasedAt)
	put(s, tblReleases, k, slot.Release{ClinicID: clinicID, SlotID: slotID, ReleasedAt: releasedAt, NextAt: releasedAt})
	return true, nil
}

// DueReleases lists a clinic's releases whose next wave is due at now, earliest
// first, at most limit.
func (s *Store) DueReleases(_ context.Context, clinicID string, now time.Time, limit int) ([]slot.Release, error) {
	defer s.lock()()
	var out []slot.Release
	for _, r := range scan[slot.Release](s, tblReleases, key(clinicID)) {
		if !r.NextAt.IsZero() && !r.NextAt.After(now) {
			r.Offered = append([]string(nil), r.Offered...)
			out = append(out, r)
		}
	}
	sortByTime(out, func(r slot.Release) time.Time { return r.NextAt })
	if limit <= 0 || limit > maxSlotPage {
		limit = maxSlotPage
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// RecordOffer writes the offer of a release's slot to one appointment, once per
// release: false when that appointment was offered this release before. It also
// stamps the patient's latest offer.
func (s *Store) RecordOffer(_ context.Context, r slot.Release, appointmentID, patientID string, sentAt, expiresAt time.Time) (bool, error) {
	defer s.lock()()
	k := key(r.ClinicID, r.SlotID, appointmentID)
	if cur, ok := get[offerRec](s, tblSlotOffers, k); ok && cur.releasedAt.Equal(r.ReleasedAt) {
		return false, nil
	}
	put(s, tblSlotOffers, k, offerRec{releasedAt: utc(r.ReleasedAt), sentAt: utc(sentAt), expiresAt: utc(expiresAt)})
	put(s, tblLastOffer, key(r.ClinicID, patientID), utc(sentAt))
	return true, nil
}

// OfferExpiry is when the offer of a slot to an appointment lapses (false: never offered).
func (s *Store) OfferExpiry(_ context.Context, clinicID, slotID, appointmentID string) (time.Time, bool, error) {
	defer s.lock()()
	o, ok := get[offerRec](s, tblSlotOffers, key(clinicID, slotID, appointmentID))
	if !ok {
		return time.Time{}, false, nil
	}
	return o.expiresAt, true, nil
}

// WaveDone records a wave of release r: the appointments offered, and when to look
// again (zero next: no more waves). A newer release of the slot is left alone.
func (s *Store) WaveDone(_ context.Context, r slot.Release, at time.Time, offered []string, next time.Time) error {
	defer s.lock()()
	k := slotKey(r.ClinicID, r.SlotID)
	cur, ok := get[slot.Release](s, tblReleases, k)
	if !ok || !cur.ReleasedAt.Equal(r.ReleasedAt) {
		return nil
	}
	cur.LastWaveAt = utc(at)
	if len(offered) > 0 {
		cur.Offered = append(append([]string(nil), cur.Offered...), offered...)
	}
	cur.NextAt = utc(next)
	put(s, tblReleases, k, cur)
	return nil
}
