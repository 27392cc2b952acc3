package reminder

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
)

func appt(start time.Time, status appointment.Status) appointment.Appointment {
	return appointment.Appointment{ClinicID: "sunrise", ID: "appt-1", Status: status, Start: start,
		Duration: 30 * time.Minute, PatientID: "pat-1"}
}

// apply stores the changes the way SaveAppointment would, checking each condition.
func apply(t *testing.T, existing []Reminder, changes []Change) []Reminder {
	t.Helper()
	byKind := map[Kind]Reminder{}
	var order []Kind
	for _, r := range existing {
		byKind[r.Kind] = r
		order = append(order, r.Kind)
	}
	for _, c := range changes {
		old, has := byKind[c.Reminder.Kind]
		switch {
		case c.ExpectedState == "" && has:
			t.Fatalf("change for %s expects no reminder, stored is %s", c.Reminder.Kind, old.State)
		case c.ExpectedState != "" && (!has || old.State != c.ExpectedState):
			t.Fatalf("change for %s expects %s, stored %+v", c.Reminder.Kind, c.ExpectedState, old)
		}
		if !has {
			order = append(order, c.Reminder.Kind)
		}
		byKind[c.Reminder.Kind] = c.Reminder
	}
	out := make([]Reminder, 0, len(order))
	for _, k := range order {
		out = append(out, byKind[k])
	}
	return out
}

func find(rs []Reminder, k Kind) (Reminder, bool) {
	for _, r := range rs {
		if r.Kind == k {
			return r, true
		}
	}
	return Reminder{}, false
}

// describe renders a plan's outcome per kind in clinic-local wall clock, the way the
// expectations below are written: "scheduled 2026-03-07 08:00 EST" or "skipped past_visit".
func describe(rs []Reminder, loc *time.Location) map[Kind]string {
	out := map[Kind]string{}
	for _, r := range rs {
		if r.State == StateScheduled {
			out[r.Kind] = "scheduled " + r.DueAt.In(loc).Format("2006-01-02 15:04 MST")
		} else {
			out[r.Kind] = string(r.State) + " " + r.Reason
		}
	}
	return out
}

// TestPlanDueTimes: offsets are elapsed time, so across a DST change the 48 h
// reminder lands on a different wall-clock time than the visit.
func TestPlanDueTimes(t *testing.T) {
	cases := []struct {
		name, zone, start string
		status            appointment.Status
		want              map[Kind]string
	}{
		{"NY spring forward between reminder and visit", "America/New_York", "2026-03-09 09:00", appointment.StatusBooked,
			map[Kind]string{KindDayBefore: "scheduled 2026-03-07 08:00 EST", KindSameDay: "scheduled 2026-03-09 07:00 EDT"}},
		{"NY 2h reminder across the gap", "America/New_York", "2026-03-08 03:30", appointment.StatusBooked,
			map[Kind]string{KindDayBefore: "scheduled 2026-03-06 02:30 EST", KindSameDay: "scheduled 2026-03-08 00:30 EST"}},
		{"NY fall back", "America/New_York", "2026-11-02 09:00", appointment.StatusBooked,
			map[Kind]string{KindDayBefore: "scheduled 2026-10-31 10:00 EDT", KindSameDay: "scheduled 2026-11-02 07:00 EST"}},
		{"NY follow-up across fall back", "America/New_York", "2026-10-31 10:00", appointment.StatusFulfilled,
			map[Kind]string{KindFollowUp: "scheduled 2026-11-01 09:30 EST"}},
		{"Madrid spring forward", "Europe/Madrid", "2026-03-30 10:00", appointment.StatusBooked,
			map[Kind]string{KindDayBefore: "scheduled 2026-03-28 09:00 CET", KindSameDay: "scheduled 2026-03-30 08:00 CEST"}},
		{"Madrid fall back", "Europe/Madrid", "2026-10-26 10:00", appointment.StatusBooked,
			map[Kind]string{KindDayBefore: "scheduled 2026-10-24 11:00 CEST", KindSameDay: "scheduled 2026-10-26 08:00 CET"}},
		{"Madrid follow-up across fall back", "Europe/Madrid", "2026-10-24 12:00", appointment.StatusFulfilled,
			map[Kind]string{KindFollowUp: "scheduled 2026-10-25 11:30 CET"}},
		{"Kolkata (no DST, +05:30)", "Asia/Kolkata", "2026-03-10 15:30", appointment.StatusBooked,
			map[Kind]string{KindDayBefore: "scheduled 2026-03-08 15:30 IST", KindSameDay: "scheduled 2026-03-10 13:30 IST"}},
		{"Sao Paulo (no DST since 2019)", "America/Sao_Paulo", "2026-11-03 10:00", appointment.StatusBooked,
			map[Kind]string{KindDayBefore: "scheduled 2026-11-01 10:00 -03", KindSameDay: "scheduled 2026-11-03 08:00 -03"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			loc := mustLoad(t, c.zone)
			start := at(t, loc, c.start)
			now := start.Add(-30 * 24 * time.Hour)
			if c.status == appointment.StatusFulfilled {
				now = start.Add(time.Hour)
			}
			got := describe(apply(t, nil, Plan(appt(start, c.status), DefaultPolicy(), loc, QuietHours{}, nil, now)), loc)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got  %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestPlanQuietHours(t *testing.T) {
	night := QuietHours{Start: "21:00", End: "08:00"}
	cases := []struct {
		name, zone string
		q          QuietHours
		start      string
		now        string // local; "" = a month before
		want       map[Kind]string
	}{
		{"2h reminder for an 08:00 visit goes out the evening before", "America/New_York", night, "2026-03-12 08:00", "",
			map[Kind]string{KindDayBefore: "scheduled 2026-03-10 08:00 EDT", KindSameDay: "scheduled 2026-03-11 20:50 EDT"}},
		{"48h reminder due at 07:00 moves earlier (within its offset)", "America/New_York", night, "2026-03-12 07:00", "",
			map[Kind]string{KindDayBefore: "scheduled 2026-03-09 20:50 EDT", KindSameDay: "scheduled 2026-03-11 20:50 EDT"}},
		{"2h reminder moves later to the quiet end when the visit is after it", "America/New_York", night, "2026-03-12 09:30", "",
			map[Kind]string{KindDayBefore: "scheduled 2026-03-10 09:30 EDT", KindSameDay: "scheduled 2026-03-12 08:00 EDT"}},
		{"2h reminder just inside quiet start moves back 40 min", "America/New_York", night, "2026-03-12 23:30", "",
			map[Kind]string{KindDayBefore: "scheduled 2026-03-10 20:50 EDT", KindSameDay: "scheduled 2026-03-12 20:50 EDT"}},
		{"outside quiet hours nothing moves", "America/New_York", night, "2026-03-12 22:30", "",
			map[Kind]string{KindDayBefore: "scheduled 2026-03-10 20:50 EDT", KindSameDay: "scheduled 2026-03-12 20:30 EDT"}},
		{"quiet start on the spring-forward evening is EST; 48h elapsed is 07:00 EST, inside quiet hours", "America/New_York", night, "2026-03-08 08:00", "",
			map[Kind]string{KindDayBefore: "scheduled 2026-03-05 20:50 EST", KindSameDay: "scheduled 2026-03-07 20:50 EST"}},
		{"quiet night shorter by the DST hour: 2h for 09:00 EDT on the change day", "America/New_York", night, "2026-03-08 09:00", "",
			map[Kind]string{KindDayBefore: "scheduled 2026-03-06 08:00 EST", KindSameDay: "scheduled 2026-03-08 08:00 EDT"}},
		{"booked at 23:00 for 08:00: no slot outside quiet hours", "America/New_York", night, "2026-03-12 08:00", "2026-03-11 23:00",
			map[Kind]string{KindDayBefore: "skipped quiet_hours", KindSameDay: "skipped quiet_hours"}},
		{"booked 47h ahead at 15:00: 48h reminder due at once", "America/New_York", night, "2026-03-12 14:00", "2026-03-10 15:00",
			map[Kind]string{KindDayBefore: "scheduled 2026-03-10 14:00 EDT", KindSameDay: "scheduled 2026-03-12 12:00 EDT"}},
		{"booked late inside quiet hours: at the quiet end", "America/New_York", night, "2026-03-12 21:30", "2026-03-10 22:00",
			map[Kind]string{KindDayBefore: "scheduled 2026-03-11 08:00 EDT", KindSameDay: "scheduled 2026-03-12 19:30 EDT"}},
		{"booked 1h ahead: 48h superseded, 2h at once", "America/New_York", night, "2026-03-12 14:00", "2026-03-12 13:00",
			map[Kind]string{KindDayBefore: "skipped superseded_by_next_reminder", KindSameDay: "scheduled 2026-03-12 12:00 EDT"}},
		{"booked for the past", "America/New_York", night, "2026-03-12 14:00", "2026-03-12 15:00",
			map[Kind]string{KindDayBefore: "skipped past_visit", KindSameDay: "skipped past_visit"}},
		{"Madrid spring forward morning", "Europe/Madrid", QuietHours{"21:00", "09:00"}, "2026-03-30 10:00", "",
			map[Kind]string{KindDayBefore: "scheduled 2026-03-28 09:00 CET", KindSameDay: "scheduled 2026-03-30 09:00 CEST"}},
		{"Madrid fall back morning", "Europe/Madrid", QuietHours{"22:00", "07:00"}, "2026-10-26 08:30", "",
			map[Kind]string{KindDayBefore: "scheduled 2026-10-24 09:30 CEST", KindSameDay: "scheduled 2026-10-26 07:00 CET"}},
		{"Madrid quiet start on the fall-back evening; 48h elapsed is 08:00 CEST, outside", "Europe/Madrid", QuietHours{"22:00", "07:00"}, "2026-10-26 07:00", "",
			map[Kind]string{KindDayBefore: "scheduled 2026-10-24 08:00 CEST", KindSameDay: "scheduled 2026-10-25 21:50 CET"}},
		{"Kolkata early visit", "Asia/Kolkata", QuietHours{"22:00", "07:00"}, "2026-03-10 07:30", "",
			map[Kind]string{KindDayBefore: "scheduled 2026-03-08 07:30 IST", KindSameDay: "scheduled 2026-03-10 07:00 IST"}},
		{"Sao Paulo 48h due at night moves to the evening", "America/Sao_Paulo", QuietHours{"20:00", "08:00"}, "2026-11-03 06:00", "",
			map[Kind]string{KindDayBefore: "scheduled 2026-10-31 19:50 -03", KindSameDay: "scheduled 2026-11-02 19:50 -03"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			loc := mustLoad(t, c.zone)
			start := at(t, loc, c.start)
			now := start.Add(-30 * 24 * time.Hour)
			if c.now != "" {
				now = at(t, loc, c.now)
			}
			rs := apply(t, nil, Plan(appt(start, appointment.StatusBooked), DefaultPolicy(), loc, c.q, nil, now))
			if got := describe(rs, loc); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got  %v\nwant %v", got, c.want)
			}
			for _, r := range rs {
				if r.State != StateScheduled {
					continue
				}
				if c.q.Contains(r.DueAt, loc) && !r.DueAt.Before(now) {
					t.Errorf("%s due %s inside quiet hours", r.Kind, r.DueAt.In(loc))
				}
				if !r.DueAt.Before(r.NotAfter) || r.NotAfter.After(start) {
					t.Errorf("%s due %s, not after %s, visit %s", r.Kind, r.DueAt, r.NotAfter, start)
				}
			}
		})
	}
}

func TestPlanFollowUpQuietHours(t *testing.T) {
	loc := mustLoad(t, "America/Sao_Paulo")
	q := QuietHours{"20:00", "08:00"}
	cases := []struct {
		name, start, now, want string
	}{
		{"due in the evening moves to the morning", "2026-11-02 20:00", "2026-11-02 21:00", "scheduled 2026-11-04 08:00 -03"},
		{"due in the afternoon stays", "2026-11-02 14:00", "2026-11-02 15:00", "scheduled 2026-11-03 14:30 -03"},
		{"fulfilled reported late, inside quiet hours", "2026-11-02 14:00", "2026-11-04 23:00", "scheduled 2026-11-05 08:00 -03"},
		{"fulfilled reported after the window", "2026-11-02 14:00", "2026-11-05 14:30", "skipped followup_window_passed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := apply(t, nil, Plan(appt(at(t, loc, c.start), appointment.StatusFulfilled), DefaultPolicy(), loc, q, nil, at(t, loc, c.now)))
			if got := describe(rs, loc)[KindFollowUp]; got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			if r, _ := find(rs, KindFollowUp); r.State == StateScheduled && !r.NotAfter.Equal(at(t, loc, c.start).Add(30*time.Minute+72*time.Hour)) {
				t.Errorf("not after %s, want 72 h after the visit", r.NotAfter.In(loc))
			}
		})
	}
}

func TestPlanLifecycle(t *testing.T) {
	loc := mustLoad(t, "America/New_York")
	start := at(t, loc, "2026-03-20 10:00")
	now := at(t, loc, "2026-03-01 12:00")
	pol := DefaultPolicy()
	booked := apply(t, nil, Plan(appt(start, appointment.StatusBooked), pol, loc, QuietHours{}, nil, now))
	withState := func(rs []Reminder, k Kind, s State) []Reminder {
		out := append([]Reminder(nil), rs...)
		for i := range out {
			if out[i].Kind == k {
				out[i].State = s
			}
		}
		return out
	}
	moved := start.Add(72 * time.Hour)

	type want struct {
		kind     Kind
		state    State
		expected State
		reason   string
		gen      time.Time
	}
	cases := []struct {
		name     string
		a        appointment.Appointment
		existing []Reminder
		now      time.Time
		pol      Policy
		want     []want
	}{
		{"new booking schedules both pre-visit steps", appt(start, appointment.StatusBooked), nil, now, pol,
			[]want{{KindDayBefore, StateScheduled, "", "", start}, {KindSameDay, StateScheduled, "", "", start}}},
		{"same booking again changes nothing", appt(start, appointment.StatusBooked), booked, now, pol, nil},
		{"queued and sent reminders of the same time stay", appt(start, appointment.StatusBooked),
			withState(withState(booked, KindDayBefore, StateSent), KindSameDay, StateQueued), now, pol, nil},
		{"moved: pending and sent reminders re-planned for the new time", appt(moved, appointment.StatusBooked),
			withState(booked, KindDayBefore, StateRead), now, pol,
			[]want{{KindDayBefore, StateScheduled, StateRead, "", moved}, {KindSameDay, StateScheduled, StateScheduled, "", moved}}},
		{"moved to within the hour: the read 48h record is kept, the pending one skipped", appt(now.Add(time.Hour), appointment.StatusBooked),
			withState(booked, KindDayBefore, StateRead), now, pol,
			[]want{{KindSameDay, StateScheduled, StateScheduled, "", now.Add(time.Hour)}}},
		{"moved to within the hour: pending 48h becomes skipped", appt(now.Add(time.Hour), appointment.StatusBooked), booked, now, pol,
			[]want{{KindDayBefore, StateSkipped, StateScheduled, ReasonSuperseded, now.Add(time.Hour)},
				{KindSameDay, StateScheduled, StateScheduled, "", now.Add(time.Hour)}}},
		{"cancelled: pending ones cancelled, sent one kept", appt(start, appointment.StatusCancelled),
			withState(withState(booked, KindDayBefore, StateDelivered), KindSameDay, StateSending), now, pol,
			[]want{{KindSameDay, StateCancelled, StateSending, "appointment_cancelled", start}}},
		{"noshow", appt(start, appointment.StatusNoShow), booked, now, pol,
			[]want{{KindDayBefore, StateCancelled, StateScheduled, "appointment_noshow", start},
				{KindSameDay, StateCancelled, StateScheduled, "appointment_noshow", start}}},
		{"entered in error", appt(start, appointment.StatusEnteredInError), withState(booked, KindSameDay, StateQueued), now, pol,
			[]want{{KindDayBefore, StateCancelled, StateScheduled, "appointment_entered-in-error", start},
				{KindSameDay, StateCancelled, StateQueued, "appointment_entered-in-error", start}}},
		{"cancelled with nothing stored writes nothing", appt(start, appointment.StatusCancelled), nil, now, pol, nil},
		{"booked again at the same time after a cancellation", appt(start, appointment.StatusBooked),
			withState(withState(booked, KindDayBefore, StateCancelled), KindSameDay, StateSent), now, pol,
			[]want{{KindDayBefore, StateScheduled, StateCancelled, "", start}}},
		{"fulfilled: follow-up scheduled, pending 2h cancelled", appt(start, appointment.StatusFulfilled),
			withState(booked, KindDayBefore, StateSent), start.Add(time.Hour), pol,
			[]want{{KindSameDay, StateCancelled, StateScheduled, "appointment_fulfilled", start},
				{KindFollowUp, StateScheduled, "", "", start}}},
		{"fulfilled corrected to entered-in-error cancels the follow-up", appt(start, appointment.StatusEnteredInError),
			[]Reminder{{ClinicID: "sunrise", AppointmentID: "appt-1", Kind: KindFollowUp, State: StateScheduled, Generation: Generation(start)}},
			start.Add(time.Hour), pol,
			[]want{{KindFollowUp, StateCancelled, StateScheduled, "appointment_entered-in-error", start}}},
		{"a step removed from the policy is cancelled", appt(start, appointment.StatusBooked), booked, now,
			Policy{Steps: []Step{{Kind: KindDayBefore, Offset: -48 * time.Hour}}},
			[]want{{KindSameDay, StateCancelled, StateScheduled, ReasonNotInPolicy, start}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			changes := Plan(c.a, c.pol, loc, QuietHours{}, c.existing, c.now)
			if len(changes) != len(c.want) {
				t.Fatalf("got %d changes %+v, want %d", len(changes), changes, len(c.want))
			}
			for i, w := range c.want {
				ch := changes[i]
				r := ch.Reminder
				if r.Kind != w.kind || r.State != w.state || ch.ExpectedState != w.expected || r.Reason != w.reason ||
					r.Generation != Generation(w.gen) {
					t.Errorf("change %d = %s %s expected=%q reason=%q gen=%s, want %s %s expected=%q reason=%q gen=%s",
						i, r.Kind, r.State, ch.ExpectedState, r.Reason, r.Generation, w.kind, w.state, w.expected, w.reason, Generation(w.gen))
				}
				if r.ClinicID != "sunrise" || r.AppointmentID != "appt-1" || !r.UpdatedAt.Equal(c.now) {
					t.Errorf("change %d identity/updatedAt: %+v", i, r)
				}
			}
			// Planning again on the result is a no-op: EHR redeliveries write nothing.
			after := apply(t, c.existing, changes)
			if again := Plan(c.a, c.pol, loc, QuietHours{}, after, c.now.Add(time.Minute)); len(again) != 0 {
				t.Errorf("second plan not idempotent: %+v", again)
			}
		})
	}
}

func TestUsefulAndSkipReason(t *testing.T) {
	loc := mustLoad(t, "Europe/Madrid")
	start := at(t, loc, "2026-10-26 10:00")
	rs := apply(t, nil, Plan(appt(start, appointment.StatusBooked), DefaultPolicy(), loc, QuietHours{}, nil, start.Add(-30*24*time.Hour)))
	pre48, _ := find(rs, KindDayBefore)
	pre2, _ := find(rs, KindSameDay)
	fu := Reminder{Kind: KindFollowUp, Generation: Generation(start), NotAfter: start.Add(30*time.Minute + 72*time.Hour)}
	cases := []struct {
		name string
		r    Reminder
		now  time.Time
		want string
	}{
		{"48h on time", pre48, pre48.DueAt, ""},
		{"48h late but before the 2h one", pre48, pre2.DueAt.Add(-time.Minute), ""},
		{"48h when the 2h one is due", pre48, pre2.DueAt, ReasonSuperseded},
		{"48h after the visit", pre48, start.Add(time.Hour), ReasonPastVisit},
		{"2h late but before the visit", pre2, start.Add(-time.Minute), ""},
		{"2h at the start", pre2, start, ReasonPastVisit},
		{"unknown generation still bounded by NotAfter", Reminder{Kind: KindSameDay, NotAfter: start}, start, ReasonSuperseded},
		{"follow-up within 72 h", fu, start.Add(71 * time.Hour), ""},
		{"follow-up after 72 h", fu, start.Add(73 * time.Hour), ReasonFollowUpExpired},
	}
	for _, c := range cases {
		if got := SkipReason(c.r, c.now); got != c.want {
			t.Errorf("%s: SkipReason = %q, want %q", c.name, got, c.want)
		}
		if Useful(c.r, c.now) != (c.want == "") {
			t.Errorf("%s: Useful disagrees with SkipReason", c.name)
		}
	}
	if !pre48.NotAfter.Equal(pre2.DueAt) || !pre2.NotAfter.Equal(start) {
		t.Errorf("NotAfter: 48h %s (want %s), 2h %s (want %s)", pre48.NotAfter, pre2.DueAt, pre2.NotAfter, start)
	}
}

func TestGeneration(t *testing.T) {
	start := time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC)
	got, ok := GenerationStart(Generation(start))
	if !ok || !got.Equal(start) || strings.ContainsAny(Generation(start), ":|") {
		t.Fatalf("round trip %s -> %q -> %s %v", start, Generation(start), got, ok)
	}
	if _, ok := GenerationStart("v2"); ok {
		t.Fatal("non-numeric generation parsed")
	}
}
