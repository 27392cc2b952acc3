package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// Appointments asserts appointment writes: created once, updated by revision
// (optimistic locking, one of two racing writers wins with fault.ErrConflict),
// reminders written in the same transaction, a patient's upcoming visits.
func Appointments[S AppointmentStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	open := func(t *testing.T) (AppointmentStore, *platform.FakeClock) {
		clock := platform.NewFakeClock(t0)
		return newStore(t, clock), clock
	}
	t.Run("saveAndGetAppointment", func(t *testing.T) { saveAndGetAppointment(t, open) })
	t.Run("saveAppointmentConditions", func(t *testing.T) { saveAppointmentConditions(t, open) })
	t.Run("optimisticLockingTwoWriters", func(t *testing.T) { optimisticLockingTwoWriters(t, open) })
	t.Run("upcomingAppointments", func(t *testing.T) { upcomingAppointments(t, open) })
	t.Run("remindersStayWithTheirAppointment", func(t *testing.T) { remindersStayWithTheirAppointment(t, open) })
}

func saveAndGetAppointment(t *testing.T, newStore func(*testing.T) (AppointmentStore, *platform.FakeClock)) {
	s, clock := newStore(t)
	ctx := ctxT(t)
	a := appt("a1", t0.Add(72*time.Hour))
	r1 := rem(a, reminder.KindDayBefore, a.Start.Add(-48*time.Hour), reminder.StateScheduled)
	r2 := rem(a, reminder.KindSameDay, a.Start.Add(-2*time.Hour), reminder.StateScheduled)
	got := saveNew(t, s, a, r1, r2)
	if got.Revision != 1 || !got.Start.Equal(a.Start) || got.Duration != a.Duration || got.Location != a.Location ||
		got.Practitioner != a.Practitioner || got.PatientID != "pat-1" || got.Version != 3 || !got.CreatedAt.Equal(t0) {
		t.Fatalf("GetAppointment = %+v", got)
	}
	_, rs, err := s.GetAppointment(ctx, "clinic-a", "a1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("got %d reminders, want 2", len(rs))
	}
	for _, r := range rs {
		want := r1
		if r.Kind == r2.Kind {
			want = r2
		}
		if !r.DueAt.Equal(want.DueAt) || !r.NotAfter.Equal(want.NotAfter) || r.State != want.State || r.Generation != "g1" {
			t.Errorf("reminder %s = %+v, want %+v", r.Kind, r, want)
		}
	}

	// The patient answers: the write names revision 1 and produces revision 2.
	clock.Advance(time.Minute)
	got.Response, got.RespondedAt = appointment.ResponseConfirmed, clock.Now()
	if err := s.SaveAppointment(ctx, got, nil); err != nil {
		t.Fatal(err)
	}
	again, _, err := s.GetAppointment(ctx, "clinic-a", "a1")
	if err != nil {
		t.Fatal(err)
	}
	if again.Revision != 2 || again.Response != appointment.ResponseConfirmed || !again.CreatedAt.Equal(t0) || !again.UpdatedAt.Equal(clock.Now()) {
		t.Fatalf("after answer: %+v", again)
	}

	if _, _, err := s.GetAppointment(ctx, "clinic-a", "missing"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("missing appointment: %v, want ErrNotFound", err)
	}
}

func saveAppointmentConditions(t *testing.T, newStore func(*testing.T) (AppointmentStore, *platform.FakeClock)) {
	a := appt("a1", t0.Add(72*time.Hour))
	r1 := rem(a, reminder.KindDayBefore, a.Start.Add(-48*time.Hour), reminder.StateScheduled)
	cases := []struct {
		name   string
		rev    int64
		writes []reminder.Write
	}{
		{"create again", 0, nil},
		{"stale revision", 5, nil},
		{"reminder must not exist", 1, []reminder.Write{{Reminder: r1}}},
		{"reminder in another state", 1, []reminder.Write{{Reminder: r1, ExpectedState: reminder.StateQueued}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := newStore(t)
			saveNew(t, s, a, r1)
			b := a
			b.Revision = c.rev
			b.Status = appointment.StatusCancelled
			err := s.SaveAppointment(ctxT(t), b, c.writes)
			if !errors.Is(err, fault.ErrConflict) {
				t.Fatalf("err = %v, want ErrConditionFailed", err)
			}
			// The transaction wrote nothing.
			got, _, err := s.GetAppointment(ctxT(t), a.ClinicID, a.ID)
			if err != nil || got.Revision != 1 || got.Status != appointment.StatusBooked {
				t.Fatalf("after failed save: %+v, %v", got, err)
			}
		})
	}
	t.Run("replan with expected state", func(t *testing.T) {
		s, _ := newStore(t)
		stored := saveNew(t, s, a, r1)
		cancelled := r1
		cancelled.State = reminder.StateCancelled
		if err := s.SaveAppointment(ctxT(t), stored, []reminder.Write{{Reminder: cancelled, ExpectedState: reminder.StateScheduled}}); err != nil {
			t.Fatal(err)
		}
		r, err := s.GetReminder(ctxT(t), a.ClinicID, a.ID, r1.Kind)
		if err != nil || r.State != reminder.StateCancelled {
			t.Fatalf("reminder = %+v, %v", r, err)
		}
		if due := AllDue(t, s, r1.DueAt.Add(time.Hour)); len(due) != 0 {
			t.Fatalf("cancelled reminder still in the due index: %+v", due)
		}
	})
}

func optimisticLockingTwoWriters(t *testing.T, newStore func(*testing.T) (AppointmentStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	stored := saveNew(t, s, appt("a1", t0.Add(72*time.Hour)))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := stored
			w.Version = int64(10 + i)
			errs[i] = s.SaveAppointment(ctxT(t), w, nil)
		}()
	}
	wg.Wait()
	wins, losses := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, fault.ErrConflict):
			losses++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if wins != 1 || losses != 1 {
		t.Fatalf("wins=%d losses=%d, want 1 and 1 (%v)", wins, losses, errs)
	}
	got, _, _ := s.GetAppointment(ctxT(t), stored.ClinicID, stored.ID)
	if got.Revision != 2 {
		t.Fatalf("revision = %d, want 2", got.Revision)
	}
}

func upcomingAppointments(t *testing.T, newStore func(*testing.T) (AppointmentStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	for i, h := range []int{96, 24, -24, 48} {
		saveNew(t, s, appt(fmt.Sprintf("a%d", i), t0.Add(time.Duration(h)*time.Hour)))
	}
	other := appt("other", t0.Add(30*time.Hour))
	other.PatientID = "pat-2"
	saveNew(t, s, other)

	cases := []struct {
		from  time.Time
		limit int
		want  []string
	}{
		{t0, 0, []string{"a1", "a3", "a0"}},
		{t0, 2, []string{"a1", "a3"}},
		{t0.Add(24 * time.Hour), 0, []string{"a1", "a3", "a0"}}, // start == from counts
		{t0.Add(100 * time.Hour), 0, nil},
	}
	for _, c := range cases {
		got, err := s.UpcomingAppointments(ctx, "clinic-a", "pat-1", c.from, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range got {
			ids = append(ids, a.ID)
		}
		if !slices.Equal(ids, c.want) {
			t.Errorf("from %v limit %d: %v, want %v", c.from, c.limit, ids, c.want)
		}
	}
}

// An appointment reads its own reminders only, though another's id extends its own.
func remindersStayWithTheirAppointment(t *testing.T, newStore func(*testing.T) (AppointmentStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	a1, a10 := appt("a1", t0.Add(72*time.Hour)), appt("a10", t0.Add(96*time.Hour))
	saveNew(t, s, a1, rem(a1, reminder.KindDayBefore, t0.Add(24*time.Hour), reminder.StateScheduled))
	saveNew(t, s, a10, rem(a10, reminder.KindDayBefore, t0.Add(48*time.Hour), reminder.StateScheduled),
		rem(a10, reminder.KindSameDay, t0.Add(94*time.Hour), reminder.StateScheduled))
	_, rs, err := s.GetAppointment(ctx, "clinic-a", "a1")
	if err != nil || len(rs) != 1 || rs[0].AppointmentID != "a1" {
		t.Fatalf("reminders of a1 = %+v, %v; want its one reminder", rs, err)
	}
}
