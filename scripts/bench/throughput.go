package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/app/sender"
	"github.com/frontdesk-health/frontdesk/shared/app/sweep"
	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

const benchToken = "bench-access-token"

func benchClinic() clinic.Clinic {
	return clinic.Clinic{ID: "bench-clinic", Name: "Bench Family Clinic", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: "109876543210", WABAID: "100000000000001", DefaultLanguage: "en_US",
		ReminderPolicy: reminder.DefaultPolicy(), EmergencyNumber: "911", WebhookSecretRef: "env:BENCH", APITokenHash: "00"}
}

// seedDue stores n booked appointments, each with its own opted-in patient and a 48 h
// reminder due now.
func seedDue(ctx context.Context, st *dynamo.Store, c clinic.Clinic, n int, now time.Time, idPrefix string, withPatients bool) error {
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
		if !withPatients {
			return nil
		}
		// Invented +1 555 numbers, one per patient so pair pacing never interferes.
		if err := st.PutPatient(ctx, appointment.Patient{ClinicID: c.ID, ID: a.PatientID,
			Phone: fmt.Sprintf("+1555%07d", i), GivenName: "Ana", Language: "en"}); err != nil {
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
	st, _, _, err := freshStore(ctx, clock, benchShards)
	if err != nil {
		return err
	}
	c := benchClinic()
	if err := st.PutClinic(ctx, c); err != nil {
		return err
	}
	stub, err := whatsapptest.New(whatsapptest.Config{AccessToken: benchToken, AppSecret: "bench-secret", RatePerSecond: mps})
	if err != nil {
		return err
	}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	defer stub.Stop()

	seedStart := time.Now()
	now := clock.Now()
	if err := seedDue(ctx, st, c, n, now, "t", true); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	out := &jobsOutbox{}
	if _, err := sweep.New(sweep.Deps{Store: st, Outbox: out, Clock: clock}).Sweep(ctx); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	if len(out.jobs) != n {
		return fmt.Errorf("sweep queued %d of %d reminders", len(out.jobs), n)
	}
	fmt.Printf("throughput: seeded and swept %d reminders in %s\n", n, time.Since(seedStart).Round(time.Millisecond))
	if shared {
		return throughputShared(ctx, st, stub, srv, out.jobs, mps, instances)
	}

	// The simulated queue: records wait here; failed ones come back after their delay.
	queue := make(chan events.SQSMessage, n)
	for _, j := range out.jobs {
		body, _ := json.Marshal(j)
		queue <- record(j.ID(), string(body), 1)
	}
	client := &whatsapp.Client{BaseURL: srv.URL, Token: func(context.Context) (string, error) { return benchToken, nil },
		HTTP: srv.Client()}
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
				resp, _ := s.Handle(ctx, events.SQSEvent{Records: batch})
				failed := map[string]bool{}
				for _, f := range resp.BatchItemFailures {
					failed[f.ItemIdentifier] = true
				}
				for _, r := range batch {
					if !failed[r.MessageId] {
						if acked.Add(1) == int64(n) {
							doneOnce.Do(func() { close(done) })
						}
						continue
					}
					d := time.Duration(0)
					if v, ok := dl.m.LoadAndDelete(r.ReceiptHandle); ok {
						d = v.(time.Duration)
					}
					receives, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
					again := record(r.MessageId, r.Body, receives+1)
					time.AfterFunc(d, func() { queue <- again })
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
func throughputShared(ctx context.Context, st *dynamo.Store, stub *whatsapptest.Stub, srv *httptest.Server,
	jobs []reminder.Job, mps float64, instances int) error {
	clock := platform.SystemClock{}
	n := len(jobs)
	q := newSimQueue(4 * n)
	graph := &whatsapp.Client{BaseURL: srv.URL, Token: func(context.Context) (string, error) { return benchToken, nil }, HTTP: srv.Client()}
	accepted := newAcceptLog(graph)
	mk := func() *outreach.Sender {
		return sender.New(sender.Deps{Store: st, Messenger: accepted, Events: nopEvents{}, Visibility: &delays{}, Requeue: q,
			Pacer: st, Claims: st, SlotLookahead: benchLookahead, Clock: clock, Log: benchLogger, MessagesPerSecond: mps, Concurrency: instances})
	}
	stop := make(chan struct{})
	wg := runSenders(ctx, q, instances, mk, stop)
	defer func() { close(stop); wg.Wait() }()
	pnid := benchClinic().PhoneNumberID
	start, cpu0 := time.Now(), cpuTime()
	if err := (outreach.PacedOutbox{Outbox: q, Pacer: st, Clinics: st, MessagesPerSecond: int(mps), Clock: clock}).Enqueue(ctx, jobs); err != nil {
		return err
	}
	deadline := start.Add(10 * time.Minute)
	for accepted.count(pnid) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out with %d of %d accepted", accepted.count(pnid), n)
		}
		time.Sleep(50 * time.Millisecond)
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
