package reminder

import (
	"sort"
	"strconv"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
)

// Change is one reminder write the storage layer must make. ExpectedState is the
// state the stored reminder must still be in for the write to apply ("" = it must not
// exist yet), so a reminder a sender claimed in the meantime is not overwritten
// blindly: the condition fails and the caller re-reads and plans again.
type Change struct {
	Reminder      Reminder
	ExpectedState State
}

// Reasons recorded on reminders that are cancelled or skipped. The sender and the
// sweep use the same strings (see SkipReason).
const (
	ReasonPastVisit       = "past_visit"
	ReasonSuperseded      = "superseded_by_next_reminder"
	ReasonQuietHours      = "quiet_hours"
	ReasonFollowUpExpired = "followup_window_passed"
	ReasonNotInPolicy     = "not_in_policy"
	// ReasonStatusPrefix + the appointment's status ("appointment_cancelled",
	// "appointment_noshow", "appointment_fulfilled", ...) when a status change voids a
	// pending reminder.
	ReasonStatusPrefix = "appointment_"
)

// QuietMargin is how long before quiet hours begin a reminder moved out of them is
// due: the sweep runs every minute and the sender paces itself per phone number, so
// "at the quiet start" would land a few messages inside quiet hours.
const QuietMargin = 10 * time.Minute

// FollowUpWindow is how long after its planned due time a follow-up is still worth
// sending: with the default 24 h offset, until 72 h after the visit.
const FollowUpWindow = 48 * time.Hour

// Generation identifies the appointment start a reminder was planned for: the start's
// Unix seconds. A reminder or queued job whose generation differs from the
// appointment's current one belongs to a time the appointment no longer has.
func Generation(start time.Time) string { return strconv.FormatInt(start.Unix(), 10) }

// GenerationStart recovers the visit start from a generation.
func GenerationStart(gen string) (time.Time, bool) {
	s, err := strconv.ParseInt(gen, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(s, 0).UTC(), true
}

// Plan returns the reminder writes that bring the stored reminders (existing) in line
// with the appointment a as it is now. It is pure and idempotent: planning again with
// the result applied returns no changes.
//
//   - booked: every pre-visit step of p gets a reminder for the current start
//     (Generation). One whose window has passed is written as skipped with its reason
//     rather than left out, so the clinic can read why it never went out.
//   - a changed start (new generation) replaces pending reminders and re-plans sent
//     ones for the new time; a sent/delivered/read/failed reminder is kept, not
//     overwritten by a skip, when the new time leaves no window for it.
//   - any other status (cancelled, noshow, entered-in-error, fulfilled, proposed,
//     pending, waitlist, arrived, checked-in): pending pre-visit reminders are
//     cancelled with reason "appointment_<status>".
//   - fulfilled: the follow-up step is scheduled (due end + offset); in any other
//     status a pending follow-up is cancelled.
//   - reminders of the current generation that are already terminal
//     (sent/delivered/read/failed/skipped) or pending stay as they are; a cancelled one
//     is re-planned when the appointment is booked again.
//   - a stored reminder whose kind left the policy is cancelled if still pending.
//
// Due times are elapsed offsets from the start (pre-visit) or end (follow-up);
// quiet hours are applied in loc (see preVisitDue and followUpDue).
func Plan(a appointment.Appointment, p Policy, loc *time.Location, q QuietHours, existing []Reminder, now time.Time) []Change {
	if loc == nil {
		loc = time.UTC
	}
	gen := Generation(a.Start)
	desired := desiredReminders(a, p, loc, q, now)

	stored := make(map[Kind]Reminder, len(existing))
	for _, r := range existing {
		stored[r.Kind] = r
	}
	var changes []Change
	inPolicy := map[Kind]bool{}
	for _, step := range p.Steps {
		inPolicy[step.Kind] = true
		old, has := stored[step.Kind]
		want, applies := desired[step.Kind]
		switch {
		case !applies:
			if has && old.Pending() {
				changes = append(changes, cancel(old, ReasonStatusPrefix+string(a.Status), now))
			}
		case !has:
			changes = append(changes, Change{Reminder: want})
		case old.Generation == gen:
			// Same visit time: what is in flight or done stays; only a reminder the
			// appointment's status had cancelled comes back (re-booked at the same time).
			if old.State == StateCancelled {
				changes = append(changes, Change{Reminder: want, ExpectedState: old.State})
			}
		case want.State == StateSkipped && !old.Pending() && old.State != StateCancelled && old.State != StateSkipped:
			// The visit moved and this step has no window at the new time: keep the
			// record of what was sent for the old time instead of erasing it.
		default:
			changes = append(changes, Change{Reminder: want, ExpectedState: old.State})
		}
	}
	for _, r := range existing {
		if !inPolicy[r.Kind] && r.Pending() {
			changes = append(changes, cancel(r, ReasonNotInPolicy, now))
		}
	}
	return changes
}

func cancel(r Reminder, reason string, now time.Time) Change {
	expected := r.State
	r.State, r.Reason, r.UpdatedAt = StateCancelled, reason, now
	return Change{Reminder: r, ExpectedState: expected}
}

// desiredReminders returns, per step that applies in a's status, the reminder the
// current start calls for (scheduled, or skipped with a reason).
func desiredReminders(a appointment.Appointment, p Policy, loc *time.Location, q QuietHours, now time.Time) map[Kind]Reminder {
	out := map[Kind]Reminder{}
	base := Reminder{ClinicID: a.ClinicID, AppointmentID: a.ID, Generation: Generation(a.Start), UpdatedAt: now}

	switch {
	case a.Status.Remindable():
		var pre []Step
		for _, s := range p.Steps {
			if s.Offset < 0 {
				pre = append(pre, s)
			}
		}
		// Closest to the visit first: each step's usefulness ends where the next
		// (closer) scheduled step begins, so that one must be known first.
		sort.Slice(pre, func(i, j int) bool { return pre[i].Offset > pre[j].Offset })
		limit := a.Start
		for i, s := range pre {
			var floor time.Time // an earlier move must not overtake the previous step
			if i+1 < len(pre) {
				floor = a.Start.Add(pre[i+1].Offset)
			}
			r := base
			r.Kind = s.Kind
			r.NotAfter = limit
			due, reason := preVisitDue(a.Start.Add(s.Offset), -s.Offset, a.Start, limit, floor, loc, q, now)
			if reason != "" {
				r.State, r.Reason, r.DueAt = StateSkipped, reason, a.Start.Add(s.Offset)
			} else {
				r.State, r.DueAt = StateScheduled, due
				limit = due
			}
			out[s.Kind] = r
		}
	case a.Status == appointment.StatusFulfilled:
		for _, s := range p.Steps {
			if s.Offset <= 0 {
				continue
			}
			r := base
			r.Kind = s.Kind
			planned := a.End().Add(s.Offset)
			r.NotAfter = planned.Add(FollowUpWindow)
			if due, ok := followUpDue(planned, r.NotAfter, loc, q, now); ok {
				r.State, r.DueAt = StateScheduled, due
			} else {
				r.State, r.Reason, r.DueAt = StateSkipped, ReasonFollowUpExpired, planned
			}
			out[s.Kind] = r
		}
	}
	return out
}

// preVisitDue decides when a pre-visit reminder planned for due goes out, or why it
// does not ("" reason = send at the returned instant). offset is the step's lead time
// before the visit, limit the end of its usefulness (the next scheduled step's due
// time, or the visit start), floor the previous step's planned due time (zero if none).
//
// Quiet hours rule, in the clinic's wall clock:
//  1. Outside quiet hours: the planned instant (if already past, it is due at once).
//  2. Inside: move EARLIER to QuietMargin before the quiet period began, when that is
//     no more than the step's offset earlier than planned (a 48 h reminder due at
//     02:00 goes out at 20:50 the evening before).
//  3. Otherwise move LATER to the end of quiet hours, if that is still within the
//     reminder's usefulness (before the visit and the next step).
//  4. Otherwise still go EARLIER, the evening before: a 2 h reminder for an 08:00
//     visit with quiet hours until 08:00 has no later slot, and telling the patient
//     the evening before is better than not at all.
//  5. An earlier slot that is already past, or that would overtake the previous
//     step, is not available; with no slot left the reminder is skipped (quiet_hours).
//
// A reminder planned late (its due time already past, e.g. booked 47 h ahead) goes
// out at once unless now is inside quiet hours, then at the quiet end if still useful.
func preVisitDue(due time.Time, offset time.Duration, start, limit, floor time.Time, loc *time.Location, q QuietHours, now time.Time) (time.Time, string) {
	if !now.Before(limit) || !due.Before(limit) {
		if limit.Equal(start) {
			return time.Time{}, ReasonPastVisit
		}
		return time.Time{}, ReasonSuperseded
	}
	if due.Before(now) {
		_, until, quiet := q.Period(now, loc)
		switch {
		case !quiet:
			return due, ""
		case until.Before(limit):
			return until, ""
		}
		return time.Time{}, ReasonQuietHours
	}
	from, until, quiet := q.Period(due, loc)
	if !quiet {
		return due, ""
	}
	earlier := from.Add(-QuietMargin)
	earlierOK := !earlier.Before(now) && earlier.After(floor)
	switch {
	case earlierOK && due.Sub(earlier) <= offset:
		return earlier, ""
	case until.Before(limit):
		return until, ""
	case earlierOK:
		return earlier, ""
	}
	return time.Time{}, ReasonQuietHours
}

// followUpDue moves a follow-up due inside quiet hours LATER, to their end: after the
// visit nothing is urgent, and an earlier message could arrive before the visit's
// outcome is known. A follow-up planned late goes out now (or at the quiet end).
func followUpDue(due, notAfter time.Time, loc *time.Location, q QuietHours, now time.Time) (time.Time, bool) {
	at := due
	if at.Before(now) {
		at = now
	}
	if _, until, quiet := q.Period(at, loc); quiet {
		due = until
	}
	return due, due.Before(notAfter) && now.Before(notAfter)
}
