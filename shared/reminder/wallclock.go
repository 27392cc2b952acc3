package reminder

import (
	"fmt"
	"strconv"
	"time"

	// Lambda's provided.al2023 image has no zoneinfo: embed it so time.LoadLocation
	// works wherever the binary runs.
	_ "time/tzdata"
)

// parseHHMM reads "HH:MM" as minutes since local midnight.
func parseHHMM(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("reminder: %q is not HH:MM", s)
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, fmt.Errorf("reminder: %q is not HH:MM", s)
	}
	return h*60 + m, nil
}

// WallClock returns the first instant on local date y-m-d (normalised, so d+1 is
// fine) whose wall clock in loc reads minute-of-day or later.
//
// time.Date alone is not enough around DST changes: for a wall time inside a
// spring-forward gap it returns an instant on the far side of the gap with a shifted
// clock. The gap's wall times never happen, so the first moment at or after them is
// the transition itself. For a fall-back overlap time.Date already returns the first
// occurrence, which is what "first instant" means (TestWallClockDST pins both).
func WallClock(y int, m time.Month, d, minuteOfDay int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, minuteOfDay/60, minuteOfDay%60, 0, 0, loc)
	wy, wm, wd := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Date()
	got := t.In(loc)
	gy, gm, gd := got.Date()
	if gy == wy && gm == wm && gd == wd && got.Hour()*60+got.Minute() == minuteOfDay {
		return firstOccurrence(got)
	}
	start, end := got.ZoneBounds()
	if wallBefore(got, wy, wm, wd, minuteOfDay) {
		// time.Date landed before the gap: the wall time is reached when the next zone begins.
		if !end.IsZero() {
			return end
		}
		return t
	}
	// time.Date landed after the gap: the gap began when the zone in effect began.
	if !start.IsZero() {
		return start
	}
	return t
}

// wallBefore reports whether t's local wall clock reads earlier than y-m-d minute.
func wallBefore(t time.Time, y int, m time.Month, d, minute int) bool {
	ty, tm, td := t.Date()
	switch {
	case ty != y:
		return ty < y
	case tm != m:
		return tm < m
	case td != d:
		return td < d
	}
	return t.Hour()*60+t.Minute() < minute
}

// firstOccurrence returns the earlier instant with t's wall clock when t lies in the
// repeated hour after the clock fell back, else t.
func firstOccurrence(t time.Time) time.Time {
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return t
	}
	_, cur := t.Zone()
	_, prev := start.Add(-time.Nanosecond).Zone()
	if prev <= cur {
		return t
	}
	alt := t.Add(-time.Duration(prev-cur) * time.Second)
	if alt.Before(start) && alt.Hour() == t.Hour() && alt.Minute() == t.Minute() && alt.Day() == t.Day() {
		return alt
	}
	return t
}
