package reminder

import (
	"fmt"
	"strconv"
	"time"
)

// RecallAfter is a clinic's recall plan: after a fulfilled visit of a visit type
// (the appointment's visitType code), a recall_due notice once the interval has
// passed, e.g. {"diabetes-review": "90d"}. It is distinct from the follow-up step,
// which thanks the patient a day after every visit.
type RecallAfter map[string]string

// MaxRecall bounds a recall interval: two years covers every routine plan.
const MaxRecall = 2 * 366 * 24 * time.Hour

// recallInterval splits ^([1-9][0-9]{0,3})([dw])$ into its number and unit; ok is
// false when s does not match. The recall and visit type shapes are checked by
// hand: package-level regexps would be compiled at every cold start of every
// function linking this package, and {0,63} compiles to 63 copies.
func recallInterval(s string) (number, unit string, ok bool) {
	if len(s) < 2 || len(s) > 5 || s[0] < '1' || s[0] > '9' {
		return "", "", false
	}
	number, unit = s[:len(s)-1], s[len(s)-1:]
	if unit != "d" && unit != "w" {
		return "", "", false
	}
	for i := range len(number) {
		if number[i] < '0' || number[i] > '9' {
			return "", "", false
		}
	}
	return number, unit, true
}

// visitTypeCode is ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$.
func visitTypeCode(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		alnum := (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != '-')) {
			return false
		}
	}
	return true
}

// Interval is the recall interval for a visit type; ok is false when the plan has none.
// Intervals count whole days, which the caller applies in the clinic's calendar so
// that a recall lands on the same local date across a DST change.
func (r RecallAfter) Interval(visitType string) (days int, ok bool) {
	s, found := r[visitType]
	if !found || visitType == "" {
		return 0, false
	}
	days, err := parseRecall(s)
	return days, err == nil
}

func parseRecall(s string) (int, error) {
	number, unit, ok := recallInterval(s)
	if !ok {
		return 0, fmt.Errorf("%q must be a number of days or weeks such as 90d or 12w", s)
	}
	n, _ := strconv.Atoi(number)
	if unit == "w" {
		n *= 7
	}
	if time.Duration(n)*24*time.Hour > MaxRecall {
		return 0, fmt.Errorf("%q is longer than two years", s)
	}
	return n, nil
}

// Validate checks a recall plan from a clinic file.
func (r RecallAfter) Validate() error {
	for k, v := range r {
		if !visitTypeCode(k) {
			return fmt.Errorf("reminder: recallAfter visit type %q must be 1-64 of A-Z a-z 0-9 . _ -", k)
		}
		if _, err := parseRecall(v); err != nil {
			return fmt.Errorf("reminder: recallAfter[%s]: %w", k, err)
		}
	}
	return nil
}
