package conversation

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// NextStaffTime returns when staff can next answer: now if the clinic is open at now,
// else the next opening, in the clinic's wall clock (DST-safe: each day's opening is
// resolved on that day). ok is false when the clinic has no usable staffed hours.
//
// Open after Close means the shift runs past midnight (22:00-06:00 belongs to the day
// it starts on); Open equal to Close means the whole day.
func NextStaffTime(h clinic.Hours, loc *time.Location, now time.Time) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	open, err1 := hhmm(h.Open)
	closing, err2 := hhmm(h.Close)
	if len(h.Days) == 0 || err1 != nil || err2 != nil {
		return time.Time{}, false
	}
	y, m, d := now.In(loc).Date()
	// Yesterday first: an overnight shift that began yesterday may still be running.
	for i := -1; i <= 7; i++ {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, loc)
		if !slices.Contains(h.Days, day.Weekday()) {
			continue
		}
		from := reminder.WallClock(y, m, d+i, open, loc)
		untilDay := d + i
		if closing <= open {
			untilDay++
		}
		until := reminder.WallClock(y, m, untilDay, closing, loc)
		if !now.Before(from) && now.Before(until) {
			return now, true
		}
		if from.After(now) {
			return from, true
		}
	}
	return time.Time{}, false
}

func hhmm(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("conversation: %q is not HH:MM", s)
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h > 23 || m > 59 || h < 0 || m < 0 {
		return 0, fmt.Errorf("conversation: %q is not HH:MM", s)
	}
	return h*60 + m, nil
}
