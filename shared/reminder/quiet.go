package reminder

import (
	"errors"
	"time"
)

// Validate checks the HH:MM fields. The zero value (no quiet hours) is valid.
func (q QuietHours) Validate() error {
	if q == (QuietHours{}) {
		return nil
	}
	_, err1 := parseHHMM(q.Start)
	_, err2 := parseHHMM(q.End)
	return errors.Join(err1, err2)
}

// bounds returns the range in minutes of the local day; ok is false when there are no
// quiet hours (zero value, equal ends, or unparsable: Clinic.Validate rejects those
// before they are stored, so treating them as "none" never hides a typo in production).
func (q QuietHours) bounds() (start, end int, ok bool) {
	s, err1 := parseHHMM(q.Start)
	e, err2 := parseHHMM(q.End)
	if err1 != nil || err2 != nil || s == e {
		return 0, 0, false
	}
	return s, e, true
}

// Period returns the quiet period containing t as instants [from, until), and false
// when t is not in quiet hours.
//
// Quiet hours are local wall clock, so each local date D owns one period, from
// D at Start to End (on D, or on D+1 when the range wraps midnight). Deciding
// membership by comparing instants against those bounds, rather than by reading t's
// wall clock, keeps Contains and Period consistent on DST days: when the clock falls
// back and a wall time repeats, quiet hours end at the first occurrence of End.
func (q QuietHours) Period(t time.Time, loc *time.Location) (from, until time.Time, ok bool) {
	s, e, ok := q.bounds()
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	y, m, d := t.In(loc).Date()
	for _, day := range []int{d - 1, d} {
		from = WallClock(y, m, day, s, loc)
		endDay := day
		if s > e {
			endDay++
		}
		until = WallClock(y, m, endDay, e, loc)
		if !t.Before(from) && t.Before(until) {
			return from, until, true
		}
	}
	return time.Time{}, time.Time{}, false
}

// Contains reports whether t falls inside quiet hours in loc.
func (q QuietHours) Contains(t time.Time, loc *time.Location) bool {
	_, _, ok := q.Period(t, loc)
	return ok
}
