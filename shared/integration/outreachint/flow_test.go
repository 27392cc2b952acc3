// Package outreachint runs the reminder flow on the real engine: the sweep and
// concurrent senders against DynamoDB Local, where claims, leases and idempotency
// are conditional writes. The outreach package's own tests run the same services
// on the in-memory store; storetest proves the two stores agree.
package outreachint

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/clinic/clinictest"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

var t0 = time.Date(2031, 3, 10, 14, 0, 0, 0, time.UTC)

const (
	clinicID  = "clinic-int"
	testToken = "test-access-token"
)

// outbox keeps the sweep's jobs.
type outbox struct {
	mu   sync.Mutex
	jobs []reminder.Job
}

func (o *outbox) Enqueue(_ context.Context, jobs []reminder.Job) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.jobs = append(o.jobs, jobs...)
	return nil
}

type noDelay struct{}

func (noDelay) Delay(context.Context, string, time.Duration) error { return nil }

type noRequeue struct{ t *testing.T }

func (q noRequeue) Requeue(_ context.Context, job reminder.Job, delay time.Duration) error {
	q.t.Errorf("job %s requeued by %s: nothing should wait in this flow", job.ID(), delay)
	return nil
}

// TestSweepAndConcurrentSendersSendEachReminderOnce: five due reminders are swept
// into jobs; every job is delivered twice, to two sender instances at once (SQS's
// at-least-once delivery). Each reminder is sent exactly once, recorded as sent
// with its wamid in the reminder and the message log, and a second sweep finds
// nothing due.
func TestSweepAndConcurrentSendersSendEachReminderOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, names := localtest.Dynamo(t)
	clock := platform.NewFakeClock(t0)
	store := dynamo.NewStore(client, names, clock, 4)
	stub := whatsapptest.NewServer(t, whatsapptest.Config{AccessToken: testToken, AppSecret: "test-app-secret", Clock: clock})
	wa := &whatsapp.Client{BaseURL: stub.URL, Token: func(context.Context) (string, error) { return testToken, nil }, HTTP: stub.Client()}
	if err := store.PutClinic(ctx, clinic.Clinic{ID: clinicID, Name: "Clinica Sol", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: "100200300499", WABAID: "500600700899", DefaultLanguage: "en_US", ReminderPolicy: reminder.DefaultPolicy(),
		EmergencyNumber: "911", WebhookSecretRef: "env:TEST_SECRET", APITokenHash: "00"}); err != nil {
		t.Fatal(err)
	}
	const n = 5
	phones := map[string]string{}
	start := t0.Add(30 * time.Hour)
	for i := range n {
		id := fmt.Sprintf("appt-%d", i)
		patientID, phone := "pat-"+id, fmt.Sprintf("+1555010%04d", 150+i)
		phones[id] = phone
		r := reminder.Reminder{ClinicID: clinicID, AppointmentID: id, Kind: reminder.KindDayBefore, DueAt: t0.Add(-time.Minute),
			NotAfter: start, State: reminder.StateScheduled, Generation: reminder.Generation(start)}
		if err := store.SaveAppointment(ctx, appointment.Appointment{ClinicID: clinicID, ID: id, Status: appointment.StatusBooked,
			Start: start, Duration: 30 * time.Minute, PatientID: patientID, Version: 1}, []reminder.Write{{Reminder: r}}); err != nil {
			t.Fatal(err)
		}
		if err := store.PutPatient(ctx, appointment.Patient{ClinicID: clinicID, ID: patientID, Phone: phone, GivenName: "Ana", Language: "es"}); err != nil {
			t.Fatal(err)
		}
		if err := store.AppendConsent(ctx, consent.Entry{ClinicID: clinicID, PatientID: patientID, ID: "c-" + id, State: consent.OptedIn,
			At: t0.Add(-24 * time.Hour), Source: consent.SourceEHR}); err != nil {
			t.Fatal(err)
		}
	}

	out := &outbox{}
	sweeper := &outreach.Sweeper{Store: store, Outbox: out, Clock: clock}
	if _, err := sweeper.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if len(out.jobs) != n {
		t.Fatalf("sweep queued %d jobs, want %d", len(out.jobs), n)
	}
	var recs []events.SQSMessage
	for _, j := range out.jobs {
		body, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, events.SQSMessage{MessageId: j.ID(), ReceiptHandle: "rh-" + j.ID(), Body: string(body),
			Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(1)}, EventSource: "aws:sqs"})
	}
	newSender := func() *outreach.Sender {
		return outreach.NewSender(&outreach.Sender{Store: store, Messenger: wa, Events: &clinictest.Recorder{}, Visibility: noDelay{},
			Requeue: noRequeue{t}, Halter: outreach.HaltFunc(func(context.Context, string) error { return nil }),
			Clock: clock, MessagesPerSecond: 1e5, SendTimeout: 5 * time.Second})
	}
	senders := []*outreach.Sender{newSender(), newSender()}
	var wg sync.WaitGroup
	for round := range 2 {
		for _, s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A copy that loses the claim to its twin may be handed back as a
				// batch failure; the second round is that redelivery.
				if _, err := s.Handle(ctx, events.SQSEvent{Records: recs}); err != nil {
					t.Errorf("round %d: %v", round, err)
				}
			}()
		}
		wg.Wait()
	}

	sends := map[string]int{}
	for _, s := range stub.Sent() {
		if !s.Accepted() {
			continue
		}
		m, err := s.Message()
		if err != nil {
			t.Fatal(err)
		}
		sends[m.To]++
	}
	for id, phone := range phones {
		if got := sends[phone[1:]]; got != 1 {
			t.Errorf("%s: %d accepted sends, want exactly 1", id, got)
		}
		r, err := store.GetReminder(ctx, clinicID, id, reminder.KindDayBefore)
		if err != nil || r.State != reminder.StateSent || r.WAMID == "" {
			t.Errorf("%s: reminder %+v, %v; want sent with a wamid", id, r, err)
			continue
		}
		if m, err := store.GetMessage(ctx, r.WAMID); err != nil || m.AppointmentID != id {
			t.Errorf("%s: message log %+v, %v", id, m, err)
		}
	}
	again := &outbox{}
	if _, err := (&outreach.Sweeper{Store: store, Outbox: again, Clock: clock}).Sweep(ctx); err != nil || len(again.jobs) != 0 {
		t.Errorf("second sweep: %d jobs, %v; want none", len(again.jobs), err)
	}
}
