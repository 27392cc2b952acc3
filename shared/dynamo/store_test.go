package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const shards = 4

func newStore(t *testing.T) (*dynamo.Store, *platform.FakeClock) {
	t.Helper()
	client, names := localtest.Dynamo(t)
	clock := platform.NewFakeClock(t0)
	return dynamo.NewStore(client, names, clock, shards), clock
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func appt(id string, start time.Time) appointment.Appointment {
	return appointment.Appointment{
		ClinicID: "clinic-a", ID: id, Status: appointment.StatusBooked, Start: start, Duration: 30 * time.Minute,
		Location: appointment.Location{Name: "Main St", Address: "1 Main St"}, Practitioner: appointment.Practitioner{Display: "Dr Example"},
		PatientID: "pat-1", Version: 3,
	}
}

func rem(a appointment.Appointment, kind reminder.Kind, due time.Time, state reminder.State) reminder.Reminder {
	return reminder.Reminder{
		ClinicID: a.ClinicID, AppointmentID: a.ID, Kind: kind, DueAt: due, NotAfter: a.Start,
		State: state, Generation: "g1",
	}
}

// saveNew stores a new appointment with scheduled reminders and returns it as stored.
func saveNew(t *testing.T, s *dynamo.Store, a appointment.Appointment, rs ...reminder.Reminder) appointment.Appointment {
	t.Helper()
	var ws []dynamo.ReminderWrite
	for _, r := range rs {
		ws = append(ws, dynamo.ReminderWrite{Reminder: r})
	}
	if err := s.SaveAppointment(ctxT(t), a, ws); err != nil {
		t.Fatalf("save %s: %v", a.ID, err)
	}
	got, _, err := s.GetAppointment(ctxT(t), a.ClinicID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func testClinic() clinic.Clinic {
	return clinic.Clinic{ID: "clinic-a", Name: "Example Clinic", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: "1055500001", WABAID: "2055500001", DefaultLanguage: "en",
		QuietHours: reminder.QuietHours{Start: "21:00", End: "08:00"}, ReminderPolicy: reminder.DefaultPolicy(),
		Hours:           clinic.Hours{Days: []time.Weekday{time.Monday, time.Friday}, Open: "08:00", Close: "17:00"},
		EmergencyNumber: "911", WebhookSecretRef: "env:CLINIC_A_SECRET", APITokenHash: "ab"}
}

func TestClinics(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	c := testClinic()
	if err := s.PutClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetClinic(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != c.Name || got.ReminderPolicy.Steps[0].Offset != c.ReminderPolicy.Steps[0].Offset ||
		!slices.Equal(got.Hours.Days, c.Hours.Days) || got.QuietHours != c.QuietHours {
		t.Fatalf("GetClinic = %+v, want %+v", got, c)
	}
	byNumber, err := s.ClinicByPhoneNumberID(ctx, c.PhoneNumberID)
	if err != nil || byNumber.ID != c.ID {
		t.Fatalf("ClinicByPhoneNumberID = %v, %v", byNumber.ID, err)
	}
	if _, err := s.GetClinic(ctx, "nope"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("GetClinic(missing) = %v, want ErrNotFound", err)
	}
	if _, err := s.ClinicByPhoneNumberID(ctx, "999"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("ClinicByPhoneNumberID(missing) = %v, want ErrNotFound", err)
	}
	dup := c
	dup.ID = "clinic-b"
	if err := s.PutClinic(ctx, dup); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClinicByPhoneNumberID(ctx, c.PhoneNumberID); err == nil {
		t.Fatal("a number on two clinics must be an error, not a guess")
	}
}

func TestSaveAndGetAppointment(t *testing.T) {
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

func TestSaveAppointmentConditions(t *testing.T) {
	a := appt("a1", t0.Add(72*time.Hour))
	r1 := rem(a, reminder.KindDayBefore, a.Start.Add(-48*time.Hour), reminder.StateScheduled)
	cases := []struct {
		name   string
		rev    int64
		writes []dynamo.ReminderWrite
	}{
		{"create again", 0, nil},
		{"stale revision", 5, nil},
		{"reminder must not exist", 1, []dynamo.ReminderWrite{{Reminder: r1}}},
		{"reminder in another state", 1, []dynamo.ReminderWrite{{Reminder: r1, ExpectedState: reminder.StateQueued}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := newStore(t)
			saveNew(t, s, a, r1)
			b := a
			b.Revision = c.rev
			b.Status = appointment.StatusCancelled
			err := s.SaveAppointment(ctxT(t), b, c.writes)
			if !errors.Is(err, dynamo.ErrConditionFailed) {
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
		if err := s.SaveAppointment(ctxT(t), stored, []dynamo.ReminderWrite{{Reminder: cancelled, ExpectedState: reminder.StateScheduled}}); err != nil {
			t.Fatal(err)
		}
		r, err := s.GetReminder(ctxT(t), a.ClinicID, a.ID, r1.Kind)
		if err != nil || r.State != reminder.StateCancelled {
			t.Fatalf("reminder = %+v, %v", r, err)
		}
		if due := allDue(t, s, r1.DueAt.Add(time.Hour)); len(due) != 0 {
			t.Fatalf("cancelled reminder still in the due index: %+v", due)
		}
	})
}

func TestOptimisticLockingTwoWriters(t *testing.T) {
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
		case errors.Is(err, dynamo.ErrConditionFailed):
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

func TestUpcomingAppointments(t *testing.T) {
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

// allDue reads every shard, following cursors one item at a time to exercise them.
func allDue(t *testing.T, s *dynamo.Store, now time.Time) []reminder.Reminder {
	t.Helper()
	var out []reminder.Reminder
	for shard := range s.Shards() {
		var cur *reminder.Cursor
		for {
			rs, next, err := s.DueReminders(ctxT(t), shard, now, 1, cur)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, rs...)
			if next == nil {
				break
			}
			cur = next
		}
	}
	return out
}

func TestDueReminders(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	var dueIDs []string
	for i := range 12 {
		a := appt(fmt.Sprintf("a%02d", i), t0.Add(time.Duration(i+1)*time.Hour))
		state := reminder.StateScheduled
		if i%4 == 3 {
			state = reminder.StateSent // not in the index at all
		}
		r := rem(a, reminder.KindSameDay, t0.Add(time.Duration(i-6)*time.Minute), state)
		saveNew(t, s, a, r)
		if state == reminder.StateScheduled && i <= 6 {
			dueIDs = append(dueIDs, a.ID)
		}
	}
	due := allDue(t, s, t0)
	var got []string
	for _, r := range due {
		if r.State != reminder.StateScheduled || r.DueAt.After(t0) {
			t.Errorf("listed %+v", r)
		}
		got = append(got, r.AppointmentID)
	}
	slices.Sort(got)
	if !slices.Equal(got, dueIDs) {
		t.Fatalf("due = %v, want %v", got, dueIDs)
	}

	// Within one shard the order is by due time.
	for shard := range shards {
		rs, _, err := s.DueReminders(ctx, shard, t0, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSortedFunc(rs, func(a, b reminder.Reminder) int { return a.DueAt.Compare(b.DueAt) }) {
			t.Errorf("shard %d not in due order", shard)
		}
	}

	for _, r := range due {
		if err := s.MarkQueued(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if left := allDue(t, s, t0); len(left) != 0 {
		t.Fatalf("after MarkQueued %d reminders still due", len(left))
	}
	if err := s.UnmarkQueued(ctx, due[0]); err != nil {
		t.Fatal(err)
	}
	back := allDue(t, s, t0)
	if len(back) != 1 || back[0].AppointmentID != due[0].AppointmentID || back[0].State != reminder.StateScheduled {
		t.Fatalf("after UnmarkQueued: %+v", back)
	}
	if err := s.UnmarkQueued(ctx, due[0]); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("UnmarkQueued of a scheduled reminder: %v, want ErrConditionFailed", err)
	}
	if _, _, err := s.DueReminders(ctx, shards, t0, 1, nil); err == nil {
		t.Fatal("shard out of range must fail")
	}
}

func TestMarkQueuedOneSweeperWins(t *testing.T) {
	s, _ := newStore(t)
	a := appt("a1", t0.Add(time.Hour))
	r := rem(a, reminder.KindSameDay, t0, reminder.StateScheduled)
	saveNew(t, s, a, r)

	moved := r
	moved.Generation = "g0"
	if err := s.MarkQueued(ctxT(t), moved); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("other generation: %v, want ErrConditionFailed", err)
	}
	if wins := race(t, 6, func() error { return s.MarkQueued(ctxT(t), r) }); wins != 1 {
		t.Fatalf("%d sweepers queued the reminder, want 1", wins)
	}
	missing := r
	missing.AppointmentID = "nope"
	if err := s.MarkQueued(ctxT(t), missing); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("missing reminder: %v, want ErrConditionFailed", err)
	}
}

// race runs f n times concurrently and returns how many succeeded; every failure
// must be ErrConditionFailed.
func race(t *testing.T, n int, f func() error) int {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := f()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, dynamo.ErrConditionFailed):
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return wins
}

func TestClaimSend(t *testing.T) {
	s, clock := newStore(t)
	ctx := ctxT(t)
	a := appt("a1", t0.Add(time.Hour))
	r := rem(a, reminder.KindSameDay, t0, reminder.StateScheduled)
	saveNew(t, s, a, r)

	if err := s.ClaimSend(ctx, r, t0.Add(time.Minute)); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("claim of a scheduled reminder: %v, want ErrConditionFailed", err)
	}
	if err := s.MarkQueued(ctx, r); err != nil {
		t.Fatal(err)
	}
	lease := t0.Add(30 * time.Second)
	if wins := race(t, 6, func() error { return s.ClaimSend(ctxT(t), r, lease) }); wins != 1 {
		t.Fatalf("%d senders claimed, want 1", wins)
	}
	clock.Advance(29 * time.Second)
	if err := s.ClaimSend(ctx, r, clock.Now().Add(30*time.Second)); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("claim under a live lease: %v, want ErrConditionFailed", err)
	}
	clock.Advance(2 * time.Second) // the first sender crashed; its lease ran out
	if err := s.ClaimSend(ctx, r, clock.Now().Add(30*time.Second)); err != nil {
		t.Fatalf("re-claim after lease expiry: %v", err)
	}

	if err := s.ReleaseSend(ctx, r, "graph 500", 131000); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetReminder(ctx, a.ClinicID, a.ID, r.Kind)
	if err != nil || got.State != reminder.StateQueued || got.Reason != "graph 500" || got.ErrorCode != 131000 {
		t.Fatalf("after release: %+v, %v", got, err)
	}
	if err := s.ReleaseSend(ctx, r, "again", 1); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("release of a queued reminder: %v, want ErrConditionFailed", err)
	}
	// Released, it can be claimed at once: the old lease is gone.
	if err := s.ClaimSend(ctx, r, clock.Now().Add(30*time.Second)); err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	other := r
	other.Generation = "g2"
	clock.Advance(time.Hour)
	if err := s.ClaimSend(ctx, other, clock.Now().Add(time.Minute)); !errors.Is(err, dynamo.ErrConditionFailed) {
		t.Fatalf("claim of another generation: %v, want ErrConditionFailed", err)
	}
	if _, err := s.GetReminder(ctx, a.ClinicID, a.ID, reminder.KindFollowUp); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("missing reminder: %v", err)
	}
}

func TestAdvanceReminderForwardOnly(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	a := appt("a1", t0.Add(time.Hour))
	r := rem(a, reminder.KindSameDay, t0, reminder.StateScheduled)
	saveNew(t, s, a, r)
	if err := s.MarkQueued(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimSend(ctx, r, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		to        reminder.State
		u         dynamo.ReminderUpdate
		want      bool
		wantState reminder.State
	}{
		{reminder.StateSent, dynamo.ReminderUpdate{WAMID: "wamid.A1"}, true, reminder.StateSent},
		{reminder.StateSent, dynamo.ReminderUpdate{}, false, reminder.StateSent}, // duplicate
		{reminder.StateQueued, dynamo.ReminderUpdate{}, false, reminder.StateSent},
		{reminder.StateRead, dynamo.ReminderUpdate{}, true, reminder.StateRead},
		{reminder.StateDelivered, dynamo.ReminderUpdate{}, false, reminder.StateRead}, // late delivered
		{reminder.StateFailed, dynamo.ReminderUpdate{ErrorCode: 131026}, false, reminder.StateRead},
		{reminder.StateScheduled, dynamo.ReminderUpdate{}, false, reminder.StateRead},
	}
	for _, st := range steps {
		ok, err := s.AdvanceReminder(ctx, a.ClinicID, a.ID, r.Kind, st.to, st.u)
		if err != nil || ok != st.want {
			t.Fatalf("advance to %s = %v, %v; want %v", st.to, ok, err, st.want)
		}
		got, err := s.GetReminder(ctx, a.ClinicID, a.ID, r.Kind)
		if err != nil || got.State != st.wantState || got.WAMID != "wamid.A1" || got.ErrorCode != 0 {
			t.Fatalf("after advance to %s: %+v, %v", st.to, got, err)
		}
	}
	if _, err := s.AdvanceReminder(ctx, a.ClinicID, "nope", r.Kind, reminder.StateSent, dynamo.ReminderUpdate{}); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("missing reminder: %v, want ErrNotFound", err)
	}

	// A scheduled reminder that is skipped leaves the due index.
	b := appt("a2", t0.Add(time.Hour))
	rb := rem(b, reminder.KindSameDay, t0, reminder.StateScheduled)
	saveNew(t, s, b, rb)
	ok, err := s.AdvanceReminder(ctx, b.ClinicID, b.ID, rb.Kind, reminder.StateSkipped, dynamo.ReminderUpdate{Reason: "opted out"})
	if err != nil || !ok {
		t.Fatalf("skip: %v, %v", ok, err)
	}
	if due := allDue(t, s, t0); len(due) != 0 {
		t.Fatalf("skipped reminder still due: %+v", due)
	}
	got, _ := s.GetReminder(ctx, b.ClinicID, b.ID, rb.Kind)
	if got.Reason != "opted out" {
		t.Fatalf("reason = %q", got.Reason)
	}
}

// News about an old send must not move a reminder re-planned for a new start.
func TestAdvanceReminderChecksGeneration(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	a := appt("gen-1", t0.Add(72*time.Hour))
	r := rem(a, reminder.KindDayBefore, t0.Add(24*time.Hour), reminder.StateSent)
	saveNew(t, s, a, r)
	ok, err := s.AdvanceReminder(ctx, a.ClinicID, a.ID, r.Kind, reminder.StateRead, dynamo.ReminderUpdate{Generation: "an-older-plan"})
	if err != nil || ok {
		t.Fatalf("a status for another generation moved the reminder: %v, %v", ok, err)
	}
	ok, err = s.AdvanceReminder(ctx, a.ClinicID, a.ID, r.Kind, reminder.StateRead, dynamo.ReminderUpdate{Generation: r.Generation})
	if err != nil || !ok {
		t.Fatalf("the matching generation must move it: %v, %v", ok, err)
	}
}
