// Package storetest is the conformance suite of the storage adapters: exported
// test functions, one per area, each taking a constructor for a fresh store on a
// given clock. The DynamoDB store's tests run them against DynamoDB Local, the
// in-memory store's tests always; both passing is what lets service tests run on
// the in-memory store. A function asserts the semantics services rely on (lost
// conditional writes as fault.ErrConflict, missing items as fault.ErrNotFound,
// expiry read from the clock), never an adapter's encoding.
package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// t0 is the clock's start in the appointment, reminder, patient and idempotency
// suites.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// AppointmentStore is what the EHR API, the sweep, the sender and the reaper need
// of appointments and their reminders.
type AppointmentStore interface {
	Shards() int
	SaveAppointment(ctx context.Context, a appointment.Appointment, reminders []reminder.Write) error
	GetAppointment(ctx context.Context, clinicID, id string) (appointment.Appointment, []reminder.Reminder, error)
	UpcomingAppointments(ctx context.Context, clinicID, patientID string, from time.Time, limit int) ([]appointment.Appointment, error)
	GetReminder(ctx context.Context, clinicID, appointmentID string, kind reminder.Kind) (reminder.Reminder, error)
	DueReminders(ctx context.Context, shard int, now time.Time, limit int, startAfter *reminder.Cursor) ([]reminder.Reminder, *reminder.Cursor, error)
	MarkQueued(ctx context.Context, r reminder.Reminder) error
	UnmarkQueued(ctx context.Context, r reminder.Reminder) error
	ClaimSend(ctx context.Context, r reminder.Reminder, leaseUntil time.Time) error
	ReleaseSend(ctx context.Context, r reminder.Reminder, reason string, code int) error
	DeferSend(ctx context.Context, r reminder.Reminder, d reminder.Deferral) error
	DeferReminder(ctx context.Context, r reminder.Reminder, until time.Time, reason string) error
	StalledReminders(ctx context.Context, shard int, before time.Time, limit int, startAfter *reminder.Cursor) ([]reminder.Reminder, *reminder.Cursor, error)
	MarkReaped(ctx context.Context, r reminder.Reminder, next time.Time) error
	AdvanceReminder(ctx context.Context, clinicID, appointmentID string, kind reminder.Kind, to reminder.State, u reminder.Update) (bool, error)
}

// PatientStore is what services need of patients, their consent and the contacts
// (phone numbers) that link them.
type PatientStore interface {
	PutPatient(ctx context.Context, p appointment.Patient) error
	GetPatient(ctx context.Context, clinicID, patientID string) (appointment.Patient, error)
	PatientsByPhone(ctx context.Context, clinicID, e164 string) ([]appointment.Patient, error)
	TouchInbound(ctx context.Context, clinicID, patientID string, at time.Time) error
	AppendConsent(ctx context.Context, e consent.Entry) error
	ConsentLedger(ctx context.Context, clinicID, patientID string) ([]consent.Entry, error)
	ReservePairSlot(ctx context.Context, clinicID, patientID string, now time.Time, gap time.Duration) (time.Duration, error)
	GetContact(ctx context.Context, clinicID, key string) (contact.Contact, error)
	ContactOfPhone(ctx context.Context, clinicID, phone string) (contact.Contact, error)
	RecordContactConsent(ctx context.Context, clinicID, key string, e consent.Entry) (bool, error)
	ContactByBSUID(ctx context.Context, clinicID, scope, bsuid string) (contact.Contact, bool, error)
	PatientBSUID(ctx context.Context, clinicID, patientID string) (bsuid, scope string, err error)
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
func saveNew(t *testing.T, s AppointmentStore, a appointment.Appointment, rs ...reminder.Reminder) appointment.Appointment {
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

func testClinic() clinic.Clinic {
	return clinic.Clinic{ //nolint:gosec // G101: WebhookSecretRef names an environment variable, it holds no secret
		ID: "clinic-a", Name: "Example Clinic", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: "1055500001", WABAID: "2055500001", DefaultLanguage: "en",
		QuietHours: reminder.QuietHours{Start: "21:00", End: "08:00"}, ReminderPolicy: reminder.DefaultPolicy(),
		Hours:           clinic.Hours{Days: []time.Weekday{time.Monday, time.Friday}, Open: "08:00", Close: "17:00"},
		EmergencyNumber: "911", WebhookSecretRef: "env:CLINIC_A_SECRET", APITokenHash: "ab"}
}

// AllDue lists every shard's due reminders, following cursors one item at a time
// to exercise them.
func AllDue(t *testing.T, s AppointmentStore, now time.Time) []reminder.Reminder {
	t.Helper()
	return everyShard(t, s.Shards(), func(shard int, cur *reminder.Cursor) ([]reminder.Reminder, *reminder.Cursor, error) {
		return s.DueReminders(ctxT(t), shard, now, 1, cur)
	})
}

// AllStalled lists every shard's stalled reminders, two to a page.
func AllStalled(t *testing.T, s AppointmentStore, before time.Time) []reminder.Reminder {
	t.Helper()
	return everyShard(t, s.Shards(), func(shard int, cur *reminder.Cursor) ([]reminder.Reminder, *reminder.Cursor, error) {
		return s.StalledReminders(ctxT(t), shard, before, 2, cur)
	})
}

// everyShard reads every page of a sharded listing, shard after shard.
func everyShard(t *testing.T, shards int, page func(shard int, cur *reminder.Cursor) ([]reminder.Reminder, *reminder.Cursor, error)) []reminder.Reminder {
	t.Helper()
	var out []reminder.Reminder
	for shard := range shards {
		var cur *reminder.Cursor
		for {
			rs, next, err := page(shard, cur)
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

// race runs f n times concurrently and returns how many succeeded; every failure
// must be fault.ErrConflict.
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
			case !errors.Is(err, fault.ErrConflict):
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return wins
}
