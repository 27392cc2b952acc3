package outreach_test

import (
	"github.com/frontdesk-health/frontdesk/shared/clinic/clinictest"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/memstore"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

var _ outreach.Messenger = (*whatsapp.Client)(nil)

const (
	testToken     = "test-access-token"
	testAppSecret = "test-app-secret" // the stand-in requires one; it posts no webhooks here
	testClinic1   = "clinic-s"
)

// recordingDelayer keeps the visibility delay given to each receipt handle; the
// records are synthetic, so there is no SQS message to change.
type recordingDelayer struct {
	mu     sync.Mutex
	delays map[string]time.Duration
}

func (d *recordingDelayer) Delay(_ context.Context, receiptHandle string, delay time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.delays[receiptHandle] = delay
	return nil
}

func (d *recordingDelayer) take(handle string) (time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.delays[handle]
	delete(d.delays, handle)
	return v, ok
}

// recordingRequeue stands in for the outbound queue's requeue: it keeps each
// deferred job with its delay, and fails while failing is set (an SQS outage).
type recordingRequeue struct {
	mu      sync.Mutex
	jobs    []requeuedJob
	n       int
	failing bool
}

type requeuedJob struct {
	id    string // a fresh SQS message id
	job   reminder.Job
	delay time.Duration
}

func (q *recordingRequeue) Requeue(_ context.Context, job reminder.Job, delay time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failing {
		return errors.New("queue: publish: simulated outage")
	}
	if delay > outreach.MaxRequeueDelay {
		return fmt.Errorf("delay %s exceeds SQS's 15 minutes", delay)
	}
	q.n++
	q.jobs = append(q.jobs, requeuedJob{id: fmt.Sprintf("%s#requeue-%d", job.ID(), q.n), job: job, delay: delay})
	return nil
}

func (q *recordingRequeue) take() []requeuedJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.jobs
	q.jobs = nil
	return out
}

func (q *recordingRequeue) setFailing(v bool) {
	q.mu.Lock()
	q.failing = v
	q.mu.Unlock()
}

type senderEnv struct {
	t       *testing.T
	ctx     context.Context
	clock   *platform.FakeClock
	store   *memstore.Store
	stub    *whatsapptest.Server
	client  *whatsapp.Client
	events  *clinictest.Recorder
	delays  *recordingDelayer
	requeue *recordingRequeue
	halts   int
	haltMu  sync.Mutex
	sender  *outreach.Sender
}

// newSenderEnv runs the sender against the Graph API stand-in, so every fault below
// is injected and counted where Meta's behaviour is modelled: at the stand-in.
func newSenderEnv(t *testing.T, faults whatsapptest.Faults) *senderEnv {
	t.Helper()
	e := &senderEnv{t: t, ctx: ctxT(t), clock: platform.NewFakeClock(t0), events: &clinictest.Recorder{},
		delays: &recordingDelayer{delays: map[string]time.Duration{}}, requeue: &recordingRequeue{}}
	e.store = newStore(t, e.clock)
	// The fake clock also drives the stand-in's per-number rate limiter, so its
	// budget refills only when drive advances time, never with the wall clock.
	e.stub = whatsapptest.NewServer(t, whatsapptest.Config{AccessToken: testToken, AppSecret: testAppSecret,
		Clock: e.clock, Faults: faults})
	e.client = &whatsapp.Client{BaseURL: e.stub.URL, Token: func(context.Context) (string, error) { return testToken, nil },
		HTTP: e.stub.Client()}
	if err := e.store.PutClinic(e.ctx, testClinic(testClinic1)); err != nil {
		t.Fatalf("put clinic: %v", err)
	}
	e.sender = e.newSender()
	return e
}

// newSender is one sender instance (one Lambda execution environment).
func (e *senderEnv) newSender() *outreach.Sender {
	return outreach.NewSender(&outreach.Sender{Store: e.store, Messenger: e.client, Events: e.events, Visibility: e.delays, Requeue: e.requeue,
		Halter: outreach.HaltFunc(func(context.Context, string) error {
			e.haltMu.Lock()
			e.halts++
			e.haltMu.Unlock()
			return nil
		}),
		Clock: e.clock, MessagesPerSecond: 1e5, SendTimeout: 500 * time.Millisecond})
}

// book stores a booked appointment 30 h ahead with its 48 h reminder due now, and
// its patient (opted in unless state says otherwise).
func (e *senderEnv) book(id string, state consent.State) {
	e.t.Helper()
	start := t0.Add(30 * time.Hour)
	seedAppointment(e.t, e.ctx, e.store, seedSpec{clinicID: testClinic1, id: id, start: start,
		due: map[reminder.Kind]time.Time{reminder.KindDayBefore: t0.Add(-time.Minute)}})
	seedPatient(e.t, e.ctx, e.store, testClinic1, "pat-"+id, phoneFor(id), state, t0.Add(-24*time.Hour))
}

// phoneFor gives every appointment its own invented +1 555 01xx style number.
func phoneFor(id string) string {
	n := 0
	for _, c := range id {
		n = n*31 + int(c)
	}
	return fmt.Sprintf("+1555%07d", n%10_000_000)
}

// sweep runs the real sweep and returns the jobs as SQS records.
func (e *senderEnv) sweep() []events.SQSMessage {
	e.t.Helper()
	out := &recordingOutbox{}
	if _, err := (&outreach.Sweeper{Store: e.store, Outbox: out, Clock: e.clock}).Sweep(e.ctx); err != nil {
		e.t.Fatalf("sweep: %v", err)
	}
	var recs []events.SQSMessage
	for _, j := range out.snapshot() {
		body, _ := json.Marshal(j)
		recs = append(recs, sqsRecord(j.ID(), string(body), 1))
	}
	return recs
}

// sweepOne runs the sweep and answers the one job it queued.
func (e *senderEnv) sweepOne() events.SQSMessage {
	e.t.Helper()
	recs := e.sweep()
	if len(recs) != 1 {
		e.t.Fatalf("sweep queued %d jobs, want 1", len(recs))
	}
	return recs[0]
}

func sqsRecord(id, body string, receives int) events.SQSMessage {
	return events.SQSMessage{MessageId: id, ReceiptHandle: "rh-" + id + "-" + strconv.Itoa(receives), Body: body,
		Attributes:  map[string]string{"ApproximateReceiveCount": strconv.Itoa(receives)},
		EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:outbound", AWSRegion: "us-east-1"}
}

// drive invokes the handler like the event source mapping does: failed records come
// back with their receive count raised once the fake clock passes their visibility
// delay, and requeued jobs come back as new messages after their delay. No sleeps:
// the clock jumps to the latest delay. It returns the rounds used.
func (e *senderEnv) drive(s *outreach.Sender, recs []events.SQSMessage, maxRounds int) int {
	e.t.Helper()
	for round := 1; len(recs) > 0; round++ {
		if round > maxRounds {
			e.t.Fatalf("%d records still failing after %d rounds", len(recs), maxRounds)
		}
		resp, err := s.Handle(e.ctx, events.SQSEvent{Records: recs})
		if err != nil {
			e.t.Fatalf("handle: %v", err)
		}
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		var next []events.SQSMessage
		wait := time.Second
		for _, r := range recs {
			if !failed[r.MessageId] {
				continue
			}
			if d, ok := e.delays.take(r.ReceiptHandle); ok && d > wait {
				wait = d
			}
			n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
			next = append(next, sqsRecord(r.MessageId, r.Body, n+1))
		}
		for _, q := range e.requeue.take() {
			wait = max(wait, q.delay)
			body, _ := json.Marshal(q.job)
			next = append(next, sqsRecord(q.id, string(body), 1))
		}
		recs = next
		e.clock.Advance(wait)
		if len(recs) == 0 {
			return round
		}
	}
	return 0
}

// sentMessage decodes what the stand-in recorded for one send.
func sentMessage(t *testing.T, r whatsapptest.Recorded) whatsapp.Message {
	t.Helper()
	m, err := r.Message()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *senderEnv) reminder(id string) reminder.Reminder {
	e.t.Helper()
	return reminderState(e.t, e.ctx, e.store, testClinic1, id, reminder.KindDayBefore)
}

func TestSenderSendsTheReminderAndRecordsIt(t *testing.T) {
	e := newSenderEnv(t, whatsapptest.Faults{})
	e.book("appt-1", consent.OptedIn)
	recs := e.sweep()
	if len(recs) != 1 {
		t.Fatalf("sweep produced %d jobs, want 1", len(recs))
	}
	if rounds := e.drive(e.sender, recs, 1); rounds != 1 {
		t.Fatalf("took %d rounds", rounds)
	}
	sent := e.stub.Sent()
	if len(sent) != 1 || !sent[0].Accepted() {
		t.Fatalf("stub saw %+v, want one accepted send", sent)
	}
	msg := sentMessage(t, sent[0])
	if msg.Template == nil || msg.Template.Name != reminder.TemplateReminder48h || msg.Template.Language.Code != reminder.LangSpanish {
		t.Fatalf("sent template %+v, want %s in es (the patient's language)", msg.Template, reminder.TemplateReminder48h)
	}
	if msg.To != phoneFor("appt-1")[1:] {
		t.Errorf("to = %q", msg.To)
	}
	var payloads []reminder.ButtonPayload
	for _, c := range msg.Template.Components {
		if c.Type != "button" {
			continue
		}
		p, err := reminder.ParseButtonPayload(c.Parameters[0].Payload)
		if err != nil {
			t.Fatalf("button payload: %v", err)
		}
		payloads = append(payloads, p)
	}
	if len(payloads) != 3 || payloads[0].AppointmentID != "appt-1" || payloads[0].ClinicID != testClinic1 ||
		payloads[0].Generation != reminder.Generation(t0.Add(30*time.Hour)) {
		t.Errorf("button payloads %+v do not resolve to the appointment", payloads)
	}
	r := e.reminder("appt-1")
	if r.State != reminder.StateSent || r.WAMID != sent[0].WAMID {
		t.Errorf("reminder = %s wamid %q, want sent with %q", r.State, r.WAMID, sent[0].WAMID)
	}
	m, err := e.store.GetMessage(e.ctx, sent[0].WAMID)
	if err != nil || m.AppointmentID != "appt-1" || m.ReminderKind != string(reminder.KindDayBefore) || m.Direction != "out" {
		t.Errorf("message log = %+v, %v", m, err)
	}
	// A redelivery after success is acknowledged without a second send.
	if resp, _ := e.sender.Handle(e.ctx, events.SQSEvent{Records: recs}); len(resp.BatchItemFailures) != 0 || len(e.stub.Sent()) != 1 {
		t.Errorf("redelivery: failures %v, sends %d; want acked, still 1 send", resp.BatchItemFailures, len(e.stub.Sent()))
	}
}

// TestSenderLambdaEnvelope runs a real-shaped SQS event through the entry point.
func TestSenderLambdaEnvelope(t *testing.T) {
	e := newSenderEnv(t, whatsapptest.Faults{})
	e.book("appt-1", consent.OptedIn)
	if got := len(e.sweep()); got != 1 { // queued, as the testdata job assumes
		t.Fatalf("sweep produced %d jobs", got)
	}
	var ev events.SQSEvent
	readJSON(t, "testdata/sqs-reminder-job.json", &ev)
	resp, err := e.sender.Handle(e.ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("handle: %v, failures %v", err, resp.BatchItemFailures)
	}
	if r := e.reminder("appt-1"); r.State != reminder.StateSent || e.stub.Stats().Accepted != 1 {
		t.Errorf("reminder %s, %d sends; want sent once", r.State, e.stub.Stats().Accepted)
	}
}

func TestSenderSkipsWhatMustNotGoOut(t *testing.T) {
	cases := []struct {
		name string
		// change happens after the job was queued, before the sender runs.
		change     func(e *senderEnv, id string)
		consent    consent.State
		wantState  reminder.State
		wantReason string
	}{
		{name: "opted out after queueing", consent: consent.OptedIn,
			change: func(e *senderEnv, id string) {
				recordConsent(e.t, e.ctx, e.store, testClinic1, "pat-"+id, consent.OptedOut, t0)
			},
			wantState: reminder.StateSkipped, wantReason: outreach.ReasonOptedOut},
		{name: "never opted in", wantState: reminder.StateSkipped, wantReason: outreach.ReasonNoConsent},
		{name: "cancelled", consent: consent.OptedIn,
			change: func(e *senderEnv, id string) {
				a, _, err := e.store.GetAppointment(e.ctx, testClinic1, id)
				if err != nil {
					e.t.Fatal(err)
				}
				a.Status = appointment.StatusCancelled
				if err := e.store.SaveAppointment(e.ctx, a, nil); err != nil {
					e.t.Fatal(err)
				}
			},
			wantState: reminder.StateSkipped, wantReason: reminder.ReasonStatusPrefix + "cancelled"},
		{name: "moved to a later start", consent: consent.OptedIn,
			change: func(e *senderEnv, id string) {
				a, rems, err := e.store.GetAppointment(e.ctx, testClinic1, id)
				if err != nil {
					e.t.Fatal(err)
				}
				a.Start = a.Start.Add(7 * 24 * time.Hour)
				r := rems[0]
				old := r.State
				r.Generation, r.State, r.DueAt, r.NotAfter = reminder.Generation(a.Start), reminder.StateScheduled, a.Start.Add(-48*time.Hour), a.Start
				if err := e.store.SaveAppointment(e.ctx, a, []reminder.Write{{Reminder: r, ExpectedState: old}}); err != nil {
					e.t.Fatal(err)
				}
			},
			// The stale job is dropped; the reminder, re-planned for the new start, is untouched.
			wantState: reminder.StateScheduled},
		{name: "visit already started", consent: consent.OptedIn,
			change:    func(e *senderEnv, id string) { e.clock.Advance(31 * time.Hour) },
			wantState: reminder.StateSkipped, wantReason: reminder.ReasonPastVisit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newSenderEnv(t, whatsapptest.Faults{})
			e.book("appt-x", c.consent)
			recs := e.sweep()
			if len(recs) != 1 {
				t.Fatalf("sweep produced %d jobs", len(recs))
			}
			if c.change != nil {
				c.change(e, "appt-x")
			}
			e.drive(e.sender, recs, 1)
			if n := e.stub.Stats().Requests; n != 0 {
				t.Errorf("the stand-in received %d sends, want none", n)
			}
			r := e.reminder("appt-x")
			if r.State != c.wantState || r.Reason != c.wantReason {
				t.Errorf("reminder %s (%q), want %s (%q)", r.State, r.Reason, c.wantState, c.wantReason)
			}
		})
	}
}

func TestDuplicateConcurrentDeliveryCallsGraphOnce(t *testing.T) {
	e := newSenderEnv(t, whatsapptest.Faults{})
	const n = 8
	for i := range n {
		e.book(fmt.Sprintf("dup-%d", i), consent.OptedIn)
	}
	recs := e.sweep()
	// Each record reaches two sender instances at the same moment (SQS at-least-once).
	a, b := e.newSender(), e.newSender()
	start := make(chan struct{})
	var wg sync.WaitGroup
	failures := make([]int, 2)
	for i, s := range []*outreach.Sender{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := s.Handle(e.ctx, events.SQSEvent{Records: recs})
			if err != nil {
				t.Errorf("handle: %v", err)
			}
			failures[i] = len(resp.BatchItemFailures)
		}()
	}
	close(start)
	wg.Wait()
	if st := e.stub.Stats(); st.Requests != n || st.Accepted != n {
		t.Errorf("stand-in: %d requests, %d accepted; want %d each (one per reminder)", st.Requests, st.Accepted, n)
	}
	if failures[0]+failures[1] != 0 {
		t.Errorf("failures %v: the losing delivery must be acknowledged", failures)
	}
	for i := range n {
		if r := e.reminder(fmt.Sprintf("dup-%d", i)); r.State != reminder.StateSent {
			t.Errorf("dup-%d: %s", i, r.State)
		}
	}
}

func TestFaultsEndEveryReminderSentExactlyOnce(t *testing.T) {
	e := newSenderEnv(t, whatsapptest.Faults{ServerErrorEvery: 6, ThrottleEvery: 5, TimeoutEvery: 11, PairRateEvery: 13})
	const n = 24
	for i := range n {
		e.book(fmt.Sprintf("f-%02d", i), consent.OptedIn)
	}
	recs := e.sweep()
	if len(recs) != n {
		t.Fatalf("%d jobs", len(recs))
	}
	rounds := e.drive(e.sender, recs, outreach.DefaultMaxReceiveCount)
	st := e.stub.Stats()
	if st.InjectedServerErrors == 0 || st.InjectedThrottles == 0 || st.InjectedTimeouts == 0 || st.InjectedPairRate == 0 {
		t.Fatalf("faults not exercised: %+v", st)
	}
	perRecipient := map[string]int{}
	for _, s := range e.stub.Sent() {
		if s.Accepted() {
			perRecipient[sentMessage(t, s).To]++
		}
	}
	for i := range n {
		id := fmt.Sprintf("f-%02d", i)
		if got := perRecipient[phoneFor(id)[1:]]; got != 1 {
			t.Errorf("%s: accepted %d times, want exactly once", id, got)
		}
		if r := e.reminder(id); r.State != reminder.StateSent || r.WAMID == "" {
			t.Errorf("%s: %s (%q), want sent", id, r.State, r.Reason)
		}
	}
	t.Logf("%d rounds; stand-in %+v", rounds, st)
}

func TestTemplateErrorFailsAtOnceWithoutRetry(t *testing.T) {
	e := newSenderEnv(t, whatsapptest.Faults{TemplateErrors: map[string]int{reminder.TemplateReminder48h: whatsapp.CodeTemplateMissing}})
	e.book("tpl-1", consent.OptedIn)
	recs := e.sweep()
	resp, err := e.sender.Handle(e.ctx, events.SQSEvent{Records: recs})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("handle: %v, failures %v; want the record acknowledged (no retry)", err, resp.BatchItemFailures)
	}
	if st := e.stub.Stats(); st.Requests != 1 || st.TemplateErrors != 1 {
		t.Errorf("%d sends, %d answered 132001; want 1 each", st.Requests, st.TemplateErrors)
	}
	r := e.reminder("tpl-1")
	if r.State != reminder.StateFailed || r.ErrorCode != whatsapp.CodeTemplateMissing || r.Reason == "" {
		t.Errorf("reminder %s code %d reason %q, want failed with 132001 and a reason", r.State, r.ErrorCode, r.Reason)
	}
	evs := e.events.Events()
	if len(evs) != 1 || evs[0].Type != clinic.EventMessageFailed ||
		evs[0].Field("errorCode") != float64(whatsapp.CodeTemplateMissing) || evs[0].Field("appointmentId") != "tpl-1" {
		t.Errorf("events %+v, want one message.failed with the code", evs)
	}
}

func TestAuthFailureHaltsAndKeepsEveryMessage(t *testing.T) {
	e := newSenderEnv(t, whatsapptest.Faults{AuthFail: true})
	const n = 12 // more than one batch's parallelism: some records never start
	for i := range n {
		e.book(fmt.Sprintf("auth-%02d", i), consent.OptedIn)
	}
	recs := e.sweep()
	resp, err := e.sender.Handle(e.ctx, events.SQSEvent{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != n {
		t.Fatalf("%d of %d records returned as failures; all must be kept", len(resp.BatchItemFailures), n)
	}
	if e.halts != 1 {
		t.Errorf("halter called %d times, want once", e.halts)
	}
	if st := e.stub.Stats(); st.AuthFailures == 0 || st.AuthFailures != st.Requests || st.Accepted != 0 {
		t.Errorf("stand-in: %d requests, %d refused with 401, %d accepted; want every request refused", st.Requests, st.AuthFailures, st.Accepted)
	}
	for i := range n {
		if r := e.reminder(fmt.Sprintf("auth-%02d", i)); r.State != reminder.StateQueued {
			t.Errorf("auth-%02d: %s, want queued (not failed: the message is not at fault)", i, r.State)
		}
	}
	// While halted, a batch that still arrives is handed back without Graph calls.
	before := e.stub.Stats().Requests
	if resp, _ := e.sender.Handle(e.ctx, events.SQSEvent{Records: recs}); len(resp.BatchItemFailures) != n || e.stub.Stats().Requests != before {
		t.Errorf("during halt: %d failures, %d new requests", len(resp.BatchItemFailures), e.stub.Stats().Requests-before)
	}
	// The operator rotates the token and resumes: everything goes out once.
	e.stub.SetFaults(whatsapptest.Faults{})
	e.clock.Advance(outreach.DefaultHaltCooldown)
	e.drive(e.sender, recs, 2)
	if st := e.stub.Stats(); st.Accepted != n {
		t.Errorf("after resuming %d accepted, want %d", st.Accepted, n)
	}
}

func TestMalformedJobIsAcknowledged(t *testing.T) {
	e := newSenderEnv(t, whatsapptest.Faults{})
	resp, err := e.sender.Handle(e.ctx, events.SQSEvent{Records: []events.SQSMessage{
		sqsRecord("bad-json", "{not json", 1), sqsRecord("no-ids", `{"kind":"pre48h"}`, 1)}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Errorf("handle: %v, failures %v; a malformed job must not loop through retries", err, resp.BatchItemFailures)
	}
}

// A reminder whose every attempt failed reaches the DLQ; the clinic hears of it at
// once, and the reminder stays claimable so that a redrive can still send it. A
// Graph API outage alone never gets here (its jobs are requeued); with the queue
// refusing the requeue as well, the receive budget is all that is left.
func TestLastFailedReceiveTellsTheClinic(t *testing.T) {
	e := newSenderEnv(t, whatsapptest.Faults{ServerErrorEvery: 1})
	e.requeue.setFailing(true)
	e.book("dlq-1", consent.OptedIn)
	recs := e.sweep()
	if len(recs) != 1 {
		t.Fatalf("%d jobs", len(recs))
	}
	last := sqsRecord(recs[0].MessageId, recs[0].Body, outreach.DefaultMaxReceiveCount)
	resp, err := e.sender.Handle(e.ctx, events.SQSEvent{Records: []events.SQSMessage{last}})
	if err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("last receive: %+v, %v; want the record failed (it moves to the DLQ)", resp, err)
	}
	var failed []clinic.Event
	for _, ev := range e.events.Events() {
		if ev.Type == clinic.EventMessageFailed {
			failed = append(failed, ev)
		}
	}
	if len(failed) != 1 || failed[0].Field("reason") != outreach.ReasonRetriesExhausted || failed[0].Field("appointmentId") != "dlq-1" {
		t.Fatalf("clinic events %+v, want one message.failed (retries_exhausted) for dlq-1", failed)
	}
	r, err := e.store.GetReminder(e.ctx, testClinic1, "dlq-1", reminder.KindDayBefore)
	if err != nil || r.State != reminder.StateQueued {
		t.Fatalf("reminder %+v, %v: want still queued, so a redrive can send it", r, err)
	}
}
