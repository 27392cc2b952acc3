package outreach_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/memstore"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// The in-memory store the tests run on must satisfy the services' interfaces (the
// DynamoDB store's own tests check it does too).
var (
	_ outreach.DueStore  = (*memstore.Store)(nil)
	_ outreach.SendStore = (*memstore.Store)(nil)
)

// t0 is the tests' "now": a fixed instant keeps failures reproducible. Sweep tests
// that need a context deadline use realNow instead (deadlines are wall clock).
var t0 = time.Date(2031, 3, 10, 14, 0, 0, 0, time.UTC)

const testShards = 4

func newStore(t *testing.T, clock platform.Clock) *memstore.Store {
	t.Helper()
	return memstore.New(clock, testShards)
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func testClinic(id string) clinic.Clinic {
	return clinic.Clinic{
		ID: id, Name: "Clinica Sol", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: "100200300400", WABAID: "500600700800", DefaultLanguage: "en_US",
		ReminderPolicy: reminder.DefaultPolicy(), EmergencyNumber: "911",
		WebhookSecretRef: "env:TEST_SECRET", APITokenHash: "00",
	}
}

// seedSpec describes one appointment to store.
type seedSpec struct {
	clinicID, id string
	start        time.Time
	status       appointment.Status
	patientID    string
	// due maps reminder kinds to due times; every reminder is stored scheduled.
	due map[reminder.Kind]time.Time
	// notAfter overrides a reminder's NotAfter (default: the visit's start).
	notAfter map[reminder.Kind]time.Time
}

func seedAppointment(t testing.TB, ctx context.Context, st *memstore.Store, s seedSpec) []reminder.Reminder {
	t.Helper()
	if s.status == "" {
		s.status = appointment.StatusBooked
	}
	if s.patientID == "" {
		s.patientID = "pat-" + s.id
	}
	a := appointment.Appointment{ClinicID: s.clinicID, ID: s.id, Status: s.status, Start: s.start,
		Duration: 30 * time.Minute, PatientID: s.patientID, Version: 1,
		Location: appointment.Location{Name: "Main St office", Address: "1 Main St"}}
	var writes []reminder.Write
	var rems []reminder.Reminder
	for kind, due := range s.due {
		notAfter := s.start
		if kind == reminder.KindFollowUp {
			notAfter = s.start.Add(72 * time.Hour)
		}
		if na, ok := s.notAfter[kind]; ok {
			notAfter = na
		}
		r := reminder.Reminder{ClinicID: s.clinicID, AppointmentID: s.id, Kind: kind, DueAt: due, NotAfter: notAfter,
			State: reminder.StateScheduled, Generation: reminder.Generation(s.start)}
		writes = append(writes, reminder.Write{Reminder: r})
		rems = append(rems, r)
	}
	if err := st.SaveAppointment(ctx, a, writes); err != nil {
		t.Fatalf("seed appointment %s: %v", s.id, err)
	}
	return rems
}

// seedMany stores n appointments from concurrent writers, as the EHR API's
// instances would.
func seedMany(t testing.TB, ctx context.Context, st *memstore.Store, n int, spec func(i int) seedSpec) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			s := spec(i)
			a := appointment.Appointment{ClinicID: s.clinicID, ID: s.id, Status: appointment.StatusBooked, Start: s.start,
				Duration: 30 * time.Minute, PatientID: "pat-" + s.id, Version: 1}
			var writes []reminder.Write
			for kind, due := range s.due {
				writes = append(writes, reminder.Write{Reminder: reminder.Reminder{ClinicID: s.clinicID,
					AppointmentID: s.id, Kind: kind, DueAt: due, NotAfter: s.start, State: reminder.StateScheduled,
					Generation: reminder.Generation(s.start)}})
			}
			if err := st.SaveAppointment(ctx, a, writes); err != nil {
				errs <- fmt.Errorf("seed %s: %w", s.id, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func seedPatient(t testing.TB, ctx context.Context, st *memstore.Store, clinicID, patientID, phone string, state consent.State, at time.Time) {
	t.Helper()
	if err := st.PutPatient(ctx, appointment.Patient{ClinicID: clinicID, ID: patientID, Phone: phone,
		GivenName: "Ana", Language: "es"}); err != nil {
		t.Fatalf("seed patient: %v", err)
	}
	if state != "" {
		recordConsent(t, ctx, st, clinicID, patientID, state, at)
	}
}

func recordConsent(t testing.TB, ctx context.Context, st *memstore.Store, clinicID, patientID string, state consent.State, at time.Time) {
	t.Helper()
	if err := st.AppendConsent(ctx, consent.Entry{ClinicID: clinicID, PatientID: patientID, ID: platform.NewID(),
		State: state, At: at, Source: consent.SourceEHR, RecordedAt: at}); err != nil {
		t.Fatalf("record consent: %v", err)
	}
}

// recordingOutbox keeps every enqueued job; failNext makes the next calls fail the
// way an SQS outage would.
type recordingOutbox struct {
	mu       sync.Mutex
	jobs     []reminder.Job
	calls    int
	failNext int
}

func (o *recordingOutbox) Enqueue(_ context.Context, jobs []reminder.Job) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	if len(jobs) > 10 {
		return fmt.Errorf("batch of %d jobs exceeds SQS's 10", len(jobs))
	}
	if o.failNext > 0 {
		o.failNext--
		return errors.New("queue: publish: simulated outage")
	}
	o.jobs = append(o.jobs, jobs...)
	return nil
}

func (o *recordingOutbox) snapshot() []reminder.Job {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]reminder.Job(nil), o.jobs...)
}

func jobKey(clinicID, apptID string, kind reminder.Kind) string {
	return clinicID + "/" + apptID + "/" + string(kind)
}

func countJobs(jobs []reminder.Job) map[string]int {
	m := map[string]int{}
	for _, j := range jobs {
		m[jobKey(j.ClinicID, j.AppointmentID, j.Kind)]++
	}
	return m
}

func reminderState(t testing.TB, ctx context.Context, st *memstore.Store, clinicID, apptID string, kind reminder.Kind) reminder.Reminder {
	t.Helper()
	r, err := st.GetReminder(ctx, clinicID, apptID, kind)
	if err != nil {
		t.Fatalf("get reminder %s: %v", jobKey(clinicID, apptID, kind), err)
	}
	return r
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
