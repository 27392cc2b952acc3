package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/app/sender"
	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

const benchToken = "bench-access-token"

func benchClinic() clinic.Clinic {
	return clinic.Clinic{ID: "bench-clinic", Name: "Bench Family Clinic", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: "109876543210", WABAID: "100000000000001", DefaultLanguage: "en_US",
		ReminderPolicy: reminder.DefaultPolicy(), EmergencyNumber: "911", WebhookSecretRef: "env:BENCH", APITokenHash: "00"}
}

// noPatients, as seedDue's phoneBase, stores appointments and reminders only.
const noPatients = -1

// seedDue stores n booked appointments of clinic c, each with a 48 h reminder due
// now and, unless phoneBase is noPatients, its own opted-in patient on an invented
// +1 555 number from phoneBase up (one number a patient, so pair pacing never
// interferes).
func seedDue(ctx context.Context, st *dynamo.Store, c clinic.Clinic, n int, now time.Time, idPrefix string, phoneBase int) error {
	return parallel(n, 32, func(i int) error {
		id := fmt.Sprintf("%s%06d", idPrefix, i)
		start := now.Add(30*time.Hour + time.Duration(i)*time.Second)
		a := appointment.Appointment{ClinicID: c.ID, ID: id, Status: appointment.StatusBooked, Start: start,
			Duration: 30 * time.Minute, PatientID: "p-" + id, Version: 1,
			Location: appointment.Location{Name: "Main office", Address: "1 Main St"}}
		r := reminder.Reminder{ClinicID: c.ID, AppointmentID: id, Kind: reminder.KindDayBefore, DueAt: now.Add(-time.Minute),
			NotAfter: start.Add(-2 * time.Hour), State: reminder.StateScheduled, Generation: reminder.Generation(start)}
		if err := st.SaveAppointment(ctx, a, []reminder.Write{{Reminder: r}}); err != nil {
			return err
		}
		if phoneBase == noPatients {
			return nil
		}
		if err := st.PutPatient(ctx, appointment.Patient{ClinicID: c.ID, ID: a.PatientID,
			Phone: fmt.Sprintf("+1555%07d", phoneBase+i), GivenName: "Ana", Language: "en"}); err != nil {
			return err
		}
		return st.AppendConsent(ctx, consent.Entry{ClinicID: c.ID, PatientID: a.PatientID, ID: "c-" + id,
			State: consent.OptedIn, At: now.Add(-24 * time.Hour), Source: consent.SourceEHR, RecordedAt: now})
	})
}

type jobsOutbox struct {
	mu   sync.Mutex
	jobs []reminder.Job
}

func (o *jobsOutbox) Enqueue(_ context.Context, jobs []reminder.Job) error {
	o.mu.Lock()
	o.jobs = append(o.jobs, jobs...)
	o.mu.Unlock()
	return nil
}

type nopEvents struct{}

func (nopEvents) Publish(context.Context, ...clinic.Event) error { return nil }

// delays remembers the visibility delay the sender asked for, per receipt handle,
// so the simulated queue can hold a failed record back that long.
type delays struct{ m sync.Map }

func (d *delays) Delay(_ context.Context, handle string, dl time.Duration) error {
	d.m.Store(handle, dl)
	return nil
}

func benchThroughput(ctx context.Context, n int, mps float64, instances int, shared bool) error {
	clock := platform.SystemClock{}
	c := benchClinic()
	rig, err := newSendRig(ctx, clock, benchShards, mps, c)
	if err != nil {
		return err
	}
	defer rig.close()
	st, stub := rig.st, rig.stub

	seedStart := time.Now()
	now := clock.Now()
	if err := seedDue(ctx, st, c, n, now, "t", 0); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	jobs, err := sweepJobs(ctx, st, clock)
	if err != nil {
		return err
	}
	if len(jobs) != n {
		return fmt.Errorf("sweep queued %d of %d reminders", len(jobs), n)
	}
	fmt.Printf("throughput: seeded and swept %d reminders in %s\n", n, time.Since(seedStart).Round(time.Millisecond))
	if shared {
		return throughputShared(ctx, rig, jobs, mps, instances)
	}

	// The simulated queue: records wait here; failed ones come back after their delay.
	queue := make(chan events.SQSMessage, n)
	for _, j := range jobs {
		body, _ := json.Marshal(j)
		queue <- record(j.ID(), string(body), 1)
	}
	client := rig.graph()
	dl := &delays{}
	var acked atomic.Int64
	done := make(chan struct{})
	var doneOnce sync.Once
	start := time.Now()
	var wg sync.WaitGroup
	for range instances {
		// One Sender per simulated Lambda instance: each has its own limiter.
		s := sender.New(sender.Deps{Store: st, Messenger: client, Events: nopEvents{}, Visibility: dl, Clock: clock,
			Log: quietLogger(), MessagesPerSecond: mps, Concurrency: instances})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				batch, ok := receive(queue, done)
				if !ok {
					return
				}
				if acked.Add(int64(handleBatch(ctx, s, dl, batch, func(r events.SQSMessage) { queue <- r }))) >= int64(n) {
					doneOnce.Do(func() { close(done) })
				}
			}
		}()
	}
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		return fmt.Errorf("timed out with %d of %d handled", acked.Load(), n)
	}
	elapsed := time.Since(start)
	wg.Wait()
	stats := stub.Stats()
	fmt.Printf("throughput: %d reminders, %d sender instances, stand-in limit %.0f msg/s\n", n, instances, mps)
	fmt.Printf("throughput: accepted %d in %s = %.1f msg/s\n", stats.Accepted, elapsed.Round(time.Millisecond), rateOf(stats.Accepted, elapsed))
	fmt.Printf("throughput: 130429 answers: %d (requests %d)\n", stats.Throttled+stats.InjectedThrottles, stats.Requests)
	if stats.Accepted != n {
		return fmt.Errorf("accepted %d, want %d", stats.Accepted, n)
	}
	return nil
}

// receive takes up to 10 records the way the event source mapping batches them: it
// waits for the first and takes what else is already there.
func receive(queue chan events.SQSMessage, done chan struct{}) ([]events.SQSMessage, bool) {
	var batch []events.SQSMessage
	select {
	case r := <-queue:
		batch = append(batch, r)
	case <-done:
		return nil, false
	}
	for len(batch) < 10 {
		select {
		case r := <-queue:
			batch = append(batch, r)
		default:
			return batch, true
		}
	}
	return batch, true
}

func record(id, body string, receives int) events.SQSMessage {
	return events.SQSMessage{MessageId: id, ReceiptHandle: id + "#" + strconv.Itoa(receives), Body: body,
		Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(receives)}, EventSource: "aws:sqs"}
}

// throughputShared runs the senders as deployed: the number's budget shared in
// DynamoDB, deferred jobs acknowledged and requeued, the sweep lining jobs up.
func throughputShared(ctx context.Context, rig *sendRig, jobs []reminder.Job, mps float64, instances int) error {
	clock := platform.SystemClock{}
	st, stub := rig.st, rig.stub
	n := len(jobs)
	q := newSimQueue(4 * n)
	accepted, stop := rig.deployedSenders(ctx, clock, q, mps, instances)
	defer stop()
	pnid := benchClinic().PhoneNumberID
	start, cpu0 := time.Now(), cpuTime()
	if err := sweepEnqueue(ctx, &outreach.PacedOutbox{Outbox: q, Pacer: st, Clinics: st, MessagesPerSecond: int(mps), Clock: clock}, jobs); err != nil {
		return err
	}
	if err := waitAccepted(accepted, pnid, n, start.Add(10*time.Minute)); err != nil {
		return err
	}
	accepted.mu.Lock()
	elapsed := accepted.last[pnid].Sub(start)
	accepted.mu.Unlock()
	stats := stub.Stats()
	fmt.Printf("throughput: %d reminders, %d sender instances sharing the number's budget in DynamoDB, stand-in limit %.0f msg/s\n", n, instances, mps)
	fmt.Printf("throughput: accepted %d in %s = %.1f msg/s (CPU of this process %s)\n", stats.Accepted, elapsed.Round(time.Millisecond),
		rateOf(stats.Accepted, elapsed), (cpuTime() - cpu0).Round(time.Millisecond))
	fmt.Printf("throughput: 130429 answers: %d (requests %d)\n", stats.Throttled+stats.InjectedThrottles, stats.Requests)
	return nil
}
