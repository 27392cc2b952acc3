package outreach_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// simQueue models the outbound queue on the injected clock: moto's timers run on
// the wall clock, so the drill moves messages itself. A failed record comes back
// after its visibility delay with its receive count raised and moves to the DLQ
// after maxReceiveCount receives, as the redrive policy does; a requeued job is a
// new message.
type simQueue struct {
	maxReceives int
	visibility  time.Duration
	seq         int
	msgs        []simMessage
	dlq         []simMessage
	receives    int
}

type simMessage struct {
	id        string
	body      string
	visibleAt time.Time
	receives  int // receives so far
}

func (q *simQueue) add(job reminder.Job, visibleAt time.Time) {
	body, _ := json.Marshal(job)
	q.seq++
	q.msgs = append(q.msgs, simMessage{id: "m-" + strconv.Itoa(q.seq), body: string(body), visibleAt: visibleAt})
}

// receive takes every message visible at now, raising its receive count.
func (q *simQueue) receive(now time.Time) []simMessage {
	var out, keep []simMessage
	for _, m := range q.msgs {
		if m.visibleAt.After(now) {
			keep = append(keep, m)
			continue
		}
		m.receives++
		q.receives++
		out = append(out, m)
	}
	q.msgs = keep
	return out
}

// giveBack returns a failed message: visible again after delay, or to the DLQ.
func (q *simQueue) giveBack(m simMessage, visibleAt time.Time) {
	if m.receives >= q.maxReceives {
		q.dlq = append(q.dlq, m)
		return
	}
	m.visibleAt = visibleAt
	q.msgs = append(q.msgs, m)
}

func (q *simQueue) nextVisible() (time.Time, bool) {
	if len(q.msgs) == 0 {
		return time.Time{}, false
	}
	next := q.msgs[0].visibleAt
	for _, m := range q.msgs[1:] {
		if m.visibleAt.Before(next) {
			next = m.visibleAt
		}
	}
	return next, true
}

// TestOutageDrill: the Graph API stand-in answers every send with a 500 or lets it
// time out for 60 simulated minutes, then recovers. 200 reminders of 3 clinics are
// due when it starts; the sweep (with its reaper) runs every minute and the sender
// consumes the simulated queue. At the end each reminder was sent exactly once, or
// (the visits that began during the outage) skipped as expired with exactly one
// message.failed; nothing reached the DLQ.
func TestOutageDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("drill: about 200 reminders over 60 simulated minutes, some 15 s of real send timeouts")
	}
	const (
		reminders       = 200
		outage          = 60 * time.Minute
		senderInstances = 4
		batchWindow     = 15 * time.Second
	)
	e := newSenderEnv(t, whatsapptest.Faults{TimeoutEvery: 4, ServerErrorEvery: 1, TimeoutDelay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e.ctx = ctx
	wall := time.Now()
	clinics := []string{"drill-a", "drill-b", "drill-c"}
	for i, id := range clinics {
		c := testClinic(id)
		c.PhoneNumberID = fmt.Sprintf("10020030040%d", i)
		if err := e.store.PutClinic(e.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// Every fourth visit starts 40 minutes after the outage begins: its 2 h reminder
	// stops being useful during the outage. The others start in 30 h: their 48 h
	// reminder is useful until the 2 h one is due.
	type planned struct {
		clinicID, id string
		expires      bool
	}
	var all []planned
	var mu sync.Mutex
	seedMany(t, e.ctx, e.store, reminders, func(i int) seedSpec {
		p := planned{clinicID: clinics[i%len(clinics)], id: fmt.Sprintf("drill-%03d", i), expires: i%4 == 0}
		s := seedSpec{clinicID: p.clinicID, id: p.id, start: t0.Add(30 * time.Hour),
			due: map[reminder.Kind]time.Time{reminder.KindDayBefore: t0.Add(-time.Minute)}}
		if p.expires {
			s.start = t0.Add(40 * time.Minute)
			s.due = map[reminder.Kind]time.Time{reminder.KindSameDay: t0.Add(-time.Minute)}
		}
		mu.Lock()
		all = append(all, p)
		mu.Unlock()
		return s
	})
	sort.Slice(all, func(i, j int) bool { return all[i].id < all[j].id })
	for _, p := range all {
		seedPatient(t, e.ctx, e.store, p.clinicID, "pat-"+p.id, phoneFor(p.id), consent.OptedIn, t0.Add(-24*time.Hour))
	}

	outbound, _ := queue.Lookup(queue.Outbound)
	q := &simQueue{maxReceives: outbound.MaxReceiveCount, visibility: outbound.VisibilityTimeout}
	sender := e.newSender()
	// A timed-out send costs SendTimeout of wall time: short while every send hangs,
	// generous once Meta is back, so that a slow healthy answer on a loaded machine
	// is not mistaken for a timeout (and sent again, the duplicate Meta cannot stop).
	sender.SendTimeout = 25 * time.Millisecond
	sweepOut := &recordingOutbox{}
	sweeper := &outreach.Sweeper{Store: e.store, Outbox: sweepOut, Clock: e.clock,
		Reaper: &outreach.Reaper{Store: e.store, Outbox: sweepOut, Clock: e.clock}}
	swept := 0
	sweep := func() {
		if _, err := sweeper.Sweep(e.ctx); err != nil {
			t.Fatalf("sweep: %v", err)
		}
		jobs := sweepOut.snapshot()
		for _, j := range jobs[swept:] {
			q.add(j, e.clock.Now())
		}
		swept = len(jobs)
	}

	healthyAt := t0.Add(outage)
	end := healthyAt.Add(30 * time.Minute)
	nextSweep := t0
	recovered := false
	rounds := 0
	for e.clock.Now().Before(end) {
		now := e.clock.Now()
		if !recovered && !now.Before(healthyAt) {
			e.stub.SetFaults(whatsapptest.Faults{})
			sender.SendTimeout = 5 * time.Second
			recovered = true
		}
		if !now.Before(nextSweep) {
			sweep()
			nextSweep = now.Add(time.Minute)
		}
		// Batches of 10, up to senderInstances at once, as the event source mapping
		// hands them to the sender's reserved concurrency.
		var batches [][]simMessage
		for batch := q.receive(now); len(batch) > 0; {
			n := min(len(batch), 10)
			batches = append(batches, batch[:n])
			batch = batch[n:]
		}
		results := make([]map[string]bool, len(batches))
		sem := make(chan struct{}, senderInstances)
		var wg sync.WaitGroup
		for b, batch := range batches {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				recs := make([]events.SQSMessage, len(batch))
				for i, m := range batch {
					recs[i] = sqsRecord(m.id, m.body, m.receives)
					recs[i].ReceiptHandle = "rh-" + m.id + "-" + strconv.Itoa(m.receives)
				}
				resp, err := sender.Handle(e.ctx, events.SQSEvent{Records: recs})
				if err != nil {
					t.Error(err)
				}
				failed := map[string]bool{}
				for _, f := range resp.BatchItemFailures {
					failed[f.ItemIdentifier] = true
				}
				results[b] = failed
			}()
		}
		wg.Wait()
		rounds += len(batches)
		for b, batch := range batches {
			for _, m := range batch {
				if !results[b][m.id] {
					continue
				}
				d, ok := e.delays.take("rh-" + m.id + "-" + strconv.Itoa(m.receives))
				if !ok {
					d = q.visibility
				}
				q.giveBack(m, now.Add(d))
			}
		}
		for _, r := range e.requeue.take() {
			q.add(r.job, now.Add(r.delay))
		}
		// Jump to whatever happens next: a message becoming visible, the next sweep,
		// the recovery.
		// Messages that become visible within batchWindow of each other are taken
		// together, like the mapping's batching window.
		next := nextSweep
		if v, ok := q.nextVisible(); ok && v.Add(batchWindow).Before(next) {
			next = v.Add(batchWindow)
		}
		if !recovered && healthyAt.Before(next) {
			next = healthyAt
		}
		if !next.After(now) {
			next = now.Add(time.Second)
		}
		e.clock.Set(next)
	}

	st := e.stub.Stats()
	if st.InjectedServerErrors == 0 || st.InjectedTimeouts == 0 {
		t.Fatalf("the outage was not exercised: %+v", st)
	}
	if len(q.dlq) != 0 {
		t.Errorf("%d messages on the DLQ, want none", len(q.dlq))
	}
	if len(q.msgs) != 0 {
		t.Errorf("%d messages still on the queue at the end", len(q.msgs))
	}
	accepted := map[string]int{}
	for _, s := range e.stub.Sent() {
		if s.Accepted() {
			accepted[sentMessage(t, s).To]++
		}
	}
	expiredEvents := map[string]int{}
	otherFailed := 0
	for _, ev := range e.events.Events() {
		if ev.Type != clinic.EventMessageFailed {
			continue
		}
		if ev.Field("reason") == outreach.ReasonExpired {
			expiredEvents[ev.Field("appointmentId").(string)]++
		} else {
			otherFailed++
		}
	}
	if otherFailed != 0 {
		t.Errorf("%d message.failed callbacks with another reason, want none", otherFailed)
	}
	var sent, expired int
	for _, p := range all {
		kind := reminder.KindDayBefore
		if p.expires {
			kind = reminder.KindSameDay
		}
		r := reminderState(t, e.ctx, e.store, p.clinicID, p.id, kind)
		n := accepted[phoneFor(p.id)[1:]]
		switch {
		case p.expires:
			if r.State != reminder.StateSkipped || r.Reason != outreach.ReasonExpired || n != 0 || expiredEvents[p.id] != 1 {
				t.Errorf("%s: %s (%q), %d sends, %d expired callbacks; want skipped/expired, none sent, one callback",
					p.id, r.State, r.Reason, n, expiredEvents[p.id])
			}
			expired++
		default:
			if r.State != reminder.StateSent || n != 1 || expiredEvents[p.id] != 0 {
				t.Errorf("%s: %s (%q), %d sends, %d expired callbacks; want sent exactly once and no callback",
					p.id, r.State, r.Reason, n, expiredEvents[p.id])
			}
			sent++
		}
	}
	t.Logf("drill (%s wall): %d sent once, %d expired; %d Graph requests (%d answered 500, %d timed out), %d SQS receives, %d handler calls, %d on the DLQ",
		time.Since(wall).Round(time.Second), sent, expired, st.Requests, st.InjectedServerErrors, st.InjectedTimeouts, q.receives, rounds, len(q.dlq))
}
