package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
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
	var ws []reminder.Write
	for _, r := range rs {
		ws = append(ws, reminder.Write{Reminder: r})
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
