package reminder

import "time"

// Useful reports whether r is still worth sending at now. A reminder that fell due
// while it could not be sent (a sweep outage, retries, throttling) goes out late only
// inside its window: a pre-visit reminder until the next step's due time and never at
// or after the visit start; a follow-up until FollowUpWindow after its planned time.
// Plan stores that window in NotAfter; the visit start is recovered from Generation as
// a second guard.
func Useful(r Reminder, now time.Time) bool { return SkipReason(r, now) == "" }

// SkipReason returns why r must not be sent at now, or "" when it is still useful:
// ReasonPastVisit, ReasonSuperseded (the next reminder is due, so this one would only
// arrive alongside it) or ReasonFollowUpExpired.
func SkipReason(r Reminder, now time.Time) string {
	if r.Kind == KindFollowUp {
		if !r.NotAfter.IsZero() && !now.Before(r.NotAfter) {
			return ReasonFollowUpExpired
		}
		return ""
	}
	start, known := GenerationStart(r.Generation)
	if known && !now.Before(start) {
		return ReasonPastVisit
	}
	if !r.NotAfter.IsZero() && !now.Before(r.NotAfter) {
		if known && r.NotAfter.Equal(start) {
			return ReasonPastVisit
		}
		return ReasonSuperseded
	}
	return ""
}
