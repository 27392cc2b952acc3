package intake_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/intake"
	"github.com/frontdesk-health/frontdesk/shared/memstore"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

var t0 = time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)

func testClinic() clinic.Clinic {
	return clinic.Clinic{ID: "clinic-sol", Name: "Clinica Sol", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: "106555010001", DefaultLanguage: "en", ReminderPolicy: reminder.DefaultPolicy()}
}

func newService(t *testing.T) (*intake.Service, *memstore.Store, *platform.FakeClock) {
	t.Helper()
	clock := platform.NewFakeClock(t0)
	store := memstore.New(clock, 4)
	if err := store.PutClinic(context.Background(), testClinic()); err != nil {
		t.Fatal(err)
	}
	return &intake.Service{Store: store, Clock: clock, Log: platform.NewLogger(io.Discard, slog.LevelInfo)}, store, clock
}

func slotEvent(version int64, status slot.Status) ehr.SlotEvent {
	return ehr.SlotEvent{Slot: slot.Slot{ClinicID: "clinic-sol", ID: "slot-1", Start: t0.Add(72 * time.Hour), Duration: 30 * time.Minute,
		Status: status, Location: "Clinica Sol", Version: version}}
}

// Slot events apply in version order: an equal or older version is acknowledged
// and changes nothing; a published slot that turns free starts one release of it
// to the waitlist (a redelivery, or freeing it again while its waves run, starts
// no second one); a slot first published free starts none.
func TestApplySlotOrdersEventsAndStartsReleases(t *testing.T) {
	svc, store, clock := newService(t)
	ctx := context.Background()
	c := testClinic()
	steps := []struct {
		name         string
		ev           ehr.SlotEvent
		wantCreated  bool
		wantStale    bool
		wantStatus   slot.Status
		wantVersion  int64
		wantReleases int
	}{
		{"published free", slotEvent(1, slot.Free), true, false, slot.Free, 1, 0},
		{"the same version again", slotEvent(1, slot.Busy), false, true, slot.Free, 1, 0},
		{"booked", slotEvent(2, slot.Busy), false, false, slot.Busy, 2, 0},
		{"an older version", slotEvent(1, slot.Free), false, true, slot.Busy, 2, 0},
		{"freed", slotEvent(3, slot.Free), false, false, slot.Free, 3, 1},
		{"freed, redelivered", slotEvent(3, slot.Free), false, true, slot.Free, 3, 1},
		{"booked again", slotEvent(4, slot.Busy), false, false, slot.Busy, 4, 1},
		{"freed again while the waves run", slotEvent(5, slot.Free), false, false, slot.Free, 5, 1},
	}
	for _, st := range steps {
		clock.Advance(time.Minute)
		res, err := svc.ApplySlot(ctx, c, st.ev)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if res.Created != st.wantCreated || res.Stale != st.wantStale || res.Slot.Status != st.wantStatus || res.Slot.Version != st.wantVersion {
			t.Fatalf("%s: %+v; want created %v stale %v status %s version %d", st.name, res, st.wantCreated, st.wantStale, st.wantStatus, st.wantVersion)
		}
		stored, err := store.GetSlot(ctx, c.ID, "slot-1")
		if err != nil || stored.Status != st.wantStatus || stored.Version != st.wantVersion || !stored.CreatedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("%s: stored %+v %v", st.name, stored, err)
		}
		rs, err := store.DueReleases(ctx, c.ID, clock.Now(), 10)
		if err != nil || len(rs) != st.wantReleases {
			t.Fatalf("%s: releases %+v %v, want %d", st.name, rs, err, st.wantReleases)
		}
	}
	// The one release is the first freeing's.
	rs, _ := store.DueReleases(ctx, c.ID, clock.Now(), 10)
	if !rs[0].ReleasedAt.Equal(t0.Add(5 * time.Minute)) {
		t.Fatalf("release %+v, want the one freed at %v", rs[0], t0.Add(5*time.Minute))
	}
	page, err := svc.Slots(ctx, slot.Query{ClinicID: c.ID, From: t0, To: t0.Add(7 * 24 * time.Hour), FreeOnly: true})
	if err != nil || len(page.Slots) != 1 || page.Slots[0].ID != "slot-1" {
		t.Fatalf("free slots %+v %v", page, err)
	}
	// A slot of another clinic is refused before anything is read or written.
	other := slotEvent(9, slot.Busy)
	other.Slot.ClinicID = "clinic-other"
	if _, err := svc.ApplySlot(ctx, c, other); err == nil {
		t.Fatal("another clinic's slot was applied")
	}
	if _, err := store.GetSlot(ctx, "clinic-other", "slot-1"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("another clinic's slot stored: %v", err)
	}
}

func appointmentEvent(version int64, status appointment.Status, waitlist *bool) ehr.Event {
	return ehr.Event{
		Appointment: appointment.Appointment{ClinicID: "clinic-sol", ID: "appt-1", Status: status, Start: t0.Add(72 * time.Hour),
			Duration: 30 * time.Minute, Location: appointment.Location{Name: "Clinica Sol", Address: "12 Main St"}, PatientID: "pat-1",
			Version: version, Waitlist: waitlist != nil && *waitlist},
		Patient:  appointment.Patient{ClinicID: "clinic-sol", ID: "pat-1", Phone: "+15550100143", GivenName: "Jane", Language: "en"},
		Waitlist: waitlist,
	}
}

// An appointment's waitlist flag keeps the clinic's waitlist in step: on while the
// appointment is booked and flagged (keeping its first join time), left alone by
// events that do not carry the flag, off once it is cancelled; an older event
// changes nothing.
func TestApplyKeepsTheWaitlistInStep(t *testing.T) {
	svc, store, clock := newService(t)
	ctx := context.Background()
	c := testClinic()
	on, off := true, false
	steps := []struct {
		name       string
		ev         ehr.Event
		wantStale  bool
		wantOn     bool
		wantJoined time.Time
	}{
		{"booked, flagged", appointmentEvent(1, appointment.StatusBooked, &on), false, true, t0.Add(time.Minute)},
		{"an update without the flag", appointmentEvent(2, appointment.StatusBooked, nil), false, true, t0.Add(time.Minute)},
		{"flagged again", appointmentEvent(3, appointment.StatusBooked, &on), false, true, t0.Add(time.Minute)},
		{"an older event unflagged", appointmentEvent(2, appointment.StatusBooked, &off), true, true, t0.Add(time.Minute)},
		{"cancelled", appointmentEvent(4, appointment.StatusCancelled, nil), false, false, time.Time{}},
		{"booked and flagged anew", appointmentEvent(5, appointment.StatusBooked, &on), false, true, t0.Add(6 * time.Minute)},
		{"unflagged", appointmentEvent(6, appointment.StatusBooked, &off), false, false, time.Time{}},
	}
	for _, st := range steps {
		clock.Advance(time.Minute)
		res, err := svc.Apply(ctx, c, st.ev)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if res.Stale != st.wantStale {
			t.Fatalf("%s: stale %v, want %v", st.name, res.Stale, st.wantStale)
		}
		w, err := store.ClinicWaitlist(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.wantOn != (len(w.Entries) == 1) || st.wantOn && (w.Entries[0].AppointmentID != "appt-1" ||
			w.Entries[0].PatientID != "pat-1" || !w.Entries[0].JoinedAt.Equal(st.wantJoined)) {
			t.Fatalf("%s: waitlist %+v, want on %v joined %v", st.name, w.Entries, st.wantOn, st.wantJoined)
		}
	}
	a, rems, err := store.GetAppointment(ctx, c.ID, "appt-1")
	if err != nil || a.Version != 6 || a.Waitlist || len(rems) == 0 {
		t.Fatalf("stored appointment %+v (%d reminders) %v", a, len(rems), err)
	}
	if p, err := store.GetPatient(ctx, c.ID, "pat-1"); err != nil || p.Phone != "+15550100143" {
		t.Fatalf("stored patient %+v %v", p, err)
	}
}

// An event that only references a patient Frontdesk never stored is refused as
// unprocessable, before the appointment is written.
func TestApplyUnknownReferencedPatient(t *testing.T) {
	svc, store, _ := newService(t)
	ctx := context.Background()
	ev := appointmentEvent(1, appointment.StatusBooked, nil)
	ev.PatientIncomplete = true
	ev.Patient = appointment.Patient{ClinicID: "clinic-sol", ID: "pat-unknown"}
	ev.Appointment.PatientID = "pat-unknown"
	if _, err := svc.Apply(ctx, testClinic(), ev); !errors.Is(err, intake.ErrUnknownPatient) {
		t.Fatalf("apply: %v, want ErrUnknownPatient", err)
	}
	if _, _, err := store.GetAppointment(ctx, "clinic-sol", "appt-1"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("the appointment was stored: %v", err)
	}
}
