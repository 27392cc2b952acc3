package notice

import (
	"time"
)

// RecallLead is how long before a recall's due date its notice goes out: time to
// book before the date rather than on it.
const RecallLead = 14 * 24 * time.Hour

// recallHour is the local hour a scheduled recall goes out (inside any sensible
// quiet hours, during office hours when the patient may call).
const recallHour = 10

// RecallPlan schedules the recall after a visit that ended at visitEnd: due
// `days` local calendar days after the visit's local date (the same date across a
// DST change), sent RecallLead before that date at 10:00 local, or at the visit's
// end when the interval is shorter than the lead.
func RecallPlan(visitEnd time.Time, days int, loc *time.Location) (dueDate string, notBefore time.Time) {
	y, m, d := visitEnd.In(loc).Date()
	due := time.Date(y, m, d+days, 0, 0, 0, 0, loc)
	dy, dm, dd := due.Date()
	send := time.Date(dy, dm, dd-int(RecallLead/(24*time.Hour)), recallHour, 0, 0, 0, loc)
	if send.Before(visitEnd) {
		send = visitEnd
	}
	return due.Format(time.DateOnly), send.UTC()
}
