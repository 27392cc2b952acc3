package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// simQueue stands in for the outbound SQS queue. It is a model, not SQS: it
// models an SQS fair queue (a standard queue whose messages carry a
// MessageGroupId, here the job's clinic), which when one tenant has a backlog
// hands consumers the other tenants' messages first. The model keeps each
// group's visible messages in order and fills a receive from the groups with
// visible messages in turn, one message each (round-robin, the turn carried over
// from one receive to the next), so a clinic with a few messages gets them
// received within a turn however long another clinic's line is. SQS only starts
// reordering once it detects a noisy tenant (a share of the in-flight messages
// above a threshold) and orders nothing strictly, so the model is the ideal the
// real queue approaches. With fifo set it is one strict FIFO line, as a queue
// without group ids behaves under a backlog. A requeued job becomes visible
// after its delay, truncated to whole seconds as SQS's DelaySeconds is.
type simQueue struct {
	fifo bool
	seq  atomic.Int64

	// onReceive, when set, sees every record a sender instance receives.
	onReceive func(events.SQSMessage)

	mu     sync.Mutex
	lines  map[string][]events.SQSMessage // visible messages by group
	turns  []string                       // groups with visible messages, in round-robin order
	turn   int                            // index in turns of the group whose turn is next
	notify chan struct{}                  // signalled when messages became visible
}

// benchFIFO makes simQueue one strict FIFO line (-fifo), for comparison.
var benchFIFO bool

// attrGroup is the record attribute holding the message's group, as SQS's
// MessageGroupId system attribute.
const attrGroup = "MessageGroupId"

// newSimQueue's argument was a channel's capacity; the lines now grow as needed.
func newSimQueue(_ int) *simQueue {
	return &simQueue{fifo: benchFIFO, lines: map[string][]events.SQSMessage{}, notify: make(chan struct{}, 1)}
}

// push makes rec visible now.
func (q *simQueue) push(rec events.SQSMessage) {
	g := rec.Attributes[attrGroup]
	if q.fifo {
		g = ""
	}
	q.mu.Lock()
	if len(q.lines[g]) == 0 {
		q.turns = append(q.turns, g)
	}
	q.lines[g] = append(q.lines[g], rec)
	q.mu.Unlock()
	q.wake()
}

func (q *simQueue) wake() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// take removes up to n visible messages, one per group in turn.
func (q *simQueue) take(n int) []events.SQSMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []events.SQSMessage
	for len(out) < n && len(q.turns) > 0 {
		if q.turn >= len(q.turns) {
			q.turn = 0
		}
		g := q.turns[q.turn]
		out = append(out, q.lines[g][0])
		q.lines[g] = q.lines[g][1:]
		if len(q.lines[g]) == 0 {
			delete(q.lines, g)
			q.turns = append(q.turns[:q.turn], q.turns[q.turn+1:]...)
		} else {
			q.turn++
		}
	}
	if len(q.turns) > 0 {
		// Another receiver may be waiting for what this one left.
		q.wake()
	}
	return out
}

// receive takes up to 10 records the way the event source mapping batches them:
// it waits for the first visible one and takes what else is visible.
func (q *simQueue) receive(stop chan struct{}) ([]events.SQSMessage, bool) {
	for {
		if batch := q.take(10); len(batch) > 0 {
			return batch, true
		}
		select {
		case <-q.notify:
		case <-stop:
			return nil, false
		}
	}
}

// put makes a message of group visible after delay.
func (q *simQueue) put(body []byte, group string, delay time.Duration) {
	rec := record("m"+strconv.FormatInt(q.seq.Add(1), 10), string(body), 1)
	rec.Attributes[attrGroup] = group
	if d := delay.Truncate(time.Second); d > 0 {
		time.AfterFunc(d, func() { q.push(rec) })
		return
	}
	q.push(rec)
}

func (q *simQueue) RequeueJob(_ context.Context, job outbound.Job, delay time.Duration) error {
	body, err := json.Marshal(job)
	if err != nil {
		return err
	}
	q.put(body, job.ClinicID, delay)
	return nil
}

func (q *simQueue) EnqueueAfter(_ context.Context, jobs []outbound.Job, delays []time.Duration) error {
	for i, j := range jobs {
		body, err := json.Marshal(j)
		if err != nil {
			return err
		}
		q.put(body, j.ClinicID, delays[i])
	}
	return nil
}

func (q *simQueue) Requeue(ctx context.Context, job reminder.Job, delay time.Duration) error {
	return q.RequeueJob(ctx, outbound.FromReminder(job), delay)
}

// acceptLog records when the Graph API accepted each message, by recipient.
type acceptLog struct {
	m    outreach.Messenger
	mu   sync.Mutex
	at   map[string]time.Time
	n    map[string]int       // accepted per phone number id
	last map[string]time.Time // latest acceptance per phone number id
}

func newAcceptLog(m outreach.Messenger) *acceptLog {
	return &acceptLog{m: m, at: map[string]time.Time{}, n: map[string]int{}, last: map[string]time.Time{}}
}

func (l *acceptLog) Send(ctx context.Context, phoneNumberID string, msg whatsapp.Message) (string, error) {
	wamid, err := l.m.Send(ctx, phoneNumberID, msg)
	if err == nil {
		now := time.Now()
		l.mu.Lock()
		l.at[strings.TrimPrefix(msg.To, "+")] = now
		l.n[phoneNumberID]++
		l.last[phoneNumberID] = now
		l.mu.Unlock()
	}
	return wamid, err
}

func (l *acceptLog) count(phoneNumberID string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[phoneNumberID]
}

// runSenders runs instances senders (one per simulated Lambda instance) on q until
// stop is closed. Failed records come back after the visibility delay asked for.
func runSenders(ctx context.Context, q *simQueue, instances int, mk func() *outreach.Sender, stop chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range instances {
		s := mk()
		dl := s.Visibility.(*delays)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				batch, ok := q.receive(stop)
				if !ok {
					return
				}
				if q.onReceive != nil {
					for _, r := range batch {
						q.onReceive(r)
					}
				}
				handleBatch(ctx, s, dl, batch, func(r events.SQSMessage) { q.push(r) })
			}
		}()
	}
	return &wg
}

// benchLogger keeps the senders' warnings (retries, failures) for -v runs.
var benchLogger = quietLogger()

// benchFairnessSeed draws the offsets into a budget window at which B's waves start
// (-fairness-seed).
var benchFairnessSeed uint64 = 1

// benchLookahead is the senders' SlotLookahead (3 as deployed).
var benchLookahead = 3

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU is the CPU time every process on the machine used so far (user and
// system, from /proc/stat, in its USER_HZ ticks of 10 ms); false where there is no
// /proc (a laptop's macOS).
func machineCPU() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, false
	}
	var ticks int64
	for i, v := range f[1:8] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, true
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// benchFairness: clinic B's due reminders queued in waves, once with clinic A
// idle and once with A's backlog of aJobs on the same queue, both numbers limited
// at the stand-in. It reports B's queueing delay (queued to accepted) in both runs,
// A's throughput and the CPU time this process used.
func benchFairness(ctx context.Context, aJobs, bJobs int, mps float64, instances int) error {
	clock := platform.SystemClock{}
	a, b := benchClinic(), benchClinic()
	a.ID, a.PhoneNumberID = "bench-clinic-a", "109876543211"
	b.ID, b.PhoneNumberID = "bench-clinic-b", "109876543212"
	rig, err := newSendRig(ctx, clock, 8, mps, a, b)
	if err != nil {
		return err
	}
	defer rig.close()
	st, stub := rig.st, rig.stub

	seedStart := time.Now()
	now := clock.Now()
	if err := seedDue(ctx, st, a, aJobs, now, "fa", 0); err != nil {
		return fmt.Errorf("seed A: %w", err)
	}
	for i, prefix := range []string{"fb1-", "fb2-"} {
		if err := seedDue(ctx, st, b, bJobs, now, prefix, 1_000_000*(i+1)); err != nil {
			return fmt.Errorf("seed B: %w", err)
		}
	}
	// A wave of B's before the idle run, not measured: the idle run comes first, and
	// without it would also pay for warming DynamoDB Local and the senders up.
	const warmJobs = 50
	if err := seedDue(ctx, st, b, warmJobs, now, "fbw-", 3_000_000); err != nil {
		return fmt.Errorf("seed B's warm-up: %w", err)
	}
	swept, err := sweepJobs(ctx, st, clock)
	if err != nil {
		return err
	}
	jobs := map[string][]reminder.Job{}
	// Appointment ids end in the patient's index, so after sorting, job i is the
	// reminder of the patient on number phoneBase+i.
	sort.Slice(swept, func(i, j int) bool { return swept[i].AppointmentID < swept[j].AppointmentID })
	for _, j := range swept {
		for _, prefix := range []string{"fa", "fb1-", "fb2-", "fbw-"} {
			if strings.HasPrefix(j.AppointmentID, prefix) {
				jobs[prefix] = append(jobs[prefix], j)
			}
		}
	}
	if len(jobs["fa"]) != aJobs || len(jobs["fb1-"]) != bJobs || len(jobs["fb2-"]) != bJobs {
		return fmt.Errorf("sweep queued %d/%d/%d, want %d/%d/%d", len(jobs["fa"]), len(jobs["fb1-"]), len(jobs["fb2-"]), aJobs, bJobs, bJobs)
	}
	fmt.Printf("fairness: seeded and swept %d reminders in %s\n", aJobs+2*bJobs+warmJobs, time.Since(seedStart).Round(time.Millisecond))

	q := newSimQueue(4 * (aJobs + 2*bJobs))
	// When each of B's reminders was first received, by recipient: it splits B's
	// delay into waiting to be received and being sent.
	var recvMu sync.Mutex
	firstRecv := map[string]time.Time{}
	q.onReceive = func(r events.SQSMessage) {
		if r.Attributes[attrGroup] != b.ID {
			return
		}
		var j reminder.Job
		if json.Unmarshal([]byte(r.Body), &j) != nil || len(j.AppointmentID) < 5 {
			return
		}
		base := map[string]int{"fb1-": 1_000_000, "fb2-": 2_000_000}[j.AppointmentID[:4]]
		i, err := strconv.Atoi(j.AppointmentID[4:])
		if base == 0 || err != nil {
			return
		}
		to, now := fmt.Sprintf("1555%07d", base+i), time.Now()
		recvMu.Lock()
		if _, ok := firstRecv[to]; !ok {
			firstRecv[to] = now
		}
		recvMu.Unlock()
	}
	// The sweep's outbox as the reminder-sweep Lambda wires it.
	sweepOutbox := &outreach.PacedOutbox{Outbox: q, Pacer: st, Clinics: st, MessagesPerSecond: int(mps), Clock: clock}
	accepted, stop := rig.deployedSenders(ctx, clock, q, mps, instances)
	defer stop()

	// B's reminders come due in four sweeps, five seconds apart, after a's backlog
	// (if any) has been queued and placed.
	const waves = 4
	// How long each of B's sweeps took to queue its wave (the line's DynamoDB
	// write included), by run: part of B's wait to be received.
	sweepTook := map[int][]time.Duration{}
	// Where in a budget window each wave starts decides much of its delay (a wave
	// queued just before a window closes sends its first jobs in that window and the
	// next ones as the next opens), so the two runs are paired: wave k of either run
	// starts at the same offset into a window, the offsets drawn once (seeded) from
	// the whole window. The ratio then compares like with like rather than four
	// random offsets with four others.
	phases := make([]time.Duration, waves)
	rng := rand.New(rand.NewPCG(benchFairnessSeed, 0))
	for w := range phases {
		phases[w] = time.Duration(rng.Int64N(int64(outbound.Window)))
	}
	queueB := func(bodies []reminder.Job, phoneBase int, first time.Duration) map[string]time.Time {
		queued := map[string]time.Time{}
		var mu sync.Mutex
		per := len(bodies) / waves
		start := time.Now()
		for w := range waves {
			at := start.Add(first + time.Duration(w)*5*time.Second)
			at = outbound.WindowStart(at).Add(phases[w])
			time.Sleep(time.Until(at))
			mu.Lock()
			for i := w * per; i < (w+1)*per && i < len(bodies); i++ {
				queued[fmt.Sprintf("1555%07d", phoneBase+i)] = time.Now()
			}
			mu.Unlock()
			t0 := time.Now()
			if err := sweepEnqueue(ctx, sweepOutbox, bodies[w*per:min((w+1)*per, len(bodies))]); err != nil {
				panic(err)
			}
			sweepTook[phoneBase] = append(sweepTook[phoneBase], time.Since(t0))
		}
		return queued
	}
	waitFor := func(pnid string, n int, limit time.Duration) error {
		return waitAccepted(accepted, pnid, n, time.Now().Add(limit))
	}
	// split gives B's median wait to be received and median time from receipt to acceptance.
	split := func(queued map[string]time.Time) (toReceive, toAccept time.Duration) {
		accepted.mu.Lock()
		defer accepted.mu.Unlock()
		recvMu.Lock()
		defer recvMu.Unlock()
		var rs, as []time.Duration
		for to, at := range queued {
			rs = append(rs, firstRecv[to].Sub(at))
			as = append(as, accepted.at[to].Sub(firstRecv[to]))
		}
		return percentile(rs, 0.5), percentile(as, 0.5)
	}
	delaysOf := func(queued map[string]time.Time) []time.Duration {
		accepted.mu.Lock()
		defer accepted.mu.Unlock()
		var ds []time.Duration
		for to, at := range queued {
			ds = append(ds, accepted.at[to].Sub(at))
		}
		return ds
	}

	if err := sweepEnqueue(ctx, sweepOutbox, jobs["fbw-"]); err != nil {
		return err
	}
	if err := waitFor(b.PhoneNumberID, warmJobs, time.Minute); err != nil {
		return err
	}
	cpu0, wall0 := cpuTime(), time.Now()
	idle := queueB(jobs["fb1-"], 1_000_000, 0)
	if err := waitFor(b.PhoneNumberID, warmJobs+bJobs, 2*time.Minute); err != nil {
		return err
	}
	idleDelays := delaysOf(idle)
	cpuIdle, wallIdle := cpuTime()-cpu0, time.Since(wall0)

	cpu1, aStart := cpuTime(), time.Now()
	machine1, machineOK := machineCPU()
	if err := sweepEnqueue(ctx, sweepOutbox, jobs["fa"]); err != nil {
		return err
	}
	busy := queueB(jobs["fb2-"], 2_000_000, 10*time.Second)
	if err := waitFor(b.PhoneNumberID, warmJobs+2*bJobs, 3*time.Minute); err != nil {
		return err
	}
	busyDelays := delaysOf(busy)
	if err := waitFor(a.PhoneNumberID, aJobs, 5*time.Minute); err != nil {
		return err
	}
	accepted.mu.Lock()
	aElapsed := accepted.last[a.PhoneNumberID].Sub(aStart)
	accepted.mu.Unlock()
	cpuBusy := cpuTime() - cpu1
	machine2, _ := machineCPU()
	aBusy := time.Since(aStart)
	stats := stub.Stats()

	mi, pi := percentile(idleDelays, 0.5), percentile(idleDelays, 0.95)
	mb, pb := percentile(busyDelays, 0.5), percentile(busyDelays, 0.95)
	aRate := rateOf(aJobs, aElapsed)
	ri, ai := split(idle)
	rb, ab := split(busy)
	fmt.Printf("fairness: %d sender instances, each number limited to %.0f msg/s at the stand-in\n", instances, mps)
	fmt.Printf("fairness: B (%d due reminders in %d sweeps 5 s apart) with A idle: median %s, p95 %s (run %s, CPU %s)\n",
		bJobs, waves, mi.Round(time.Millisecond), pi.Round(time.Millisecond), wallIdle.Round(time.Millisecond), cpuIdle.Round(time.Millisecond))
	fmt.Printf("fairness: B with A's %d queued: median %s, p95 %s: ratio %.2f / %.2f (target <= 1.5)\n",
		aJobs, mb.Round(time.Millisecond), pb.Round(time.Millisecond), ratio(mb, mi), ratio(pb, pi))
	fmt.Printf("fairness: B's median wait to be received %s idle, %s busy (of which queueing a wave took %s and %s, median); receipt to acceptance %s idle, %s busy\n",
		ri.Round(time.Millisecond), rb.Round(time.Millisecond), percentile(sweepTook[1_000_000], 0.5).Round(time.Millisecond),
		percentile(sweepTook[2_000_000], 0.5).Round(time.Millisecond), ai.Round(time.Millisecond), ab.Round(time.Millisecond))
	fmt.Printf("fairness: A accepted %d in %s = %.1f msg/s (target >= 76); CPU of this process %s over %s\n",
		aJobs, aElapsed.Round(time.Millisecond), aRate, cpuBusy.Round(time.Millisecond), aElapsed.Round(time.Millisecond))
	if machineOK {
		fmt.Printf("fairness: CPU of the whole machine (this process, DynamoDB Local, the other processes) %s over %s of A busy: %.2f cores\n",
			(machine2 - machine1).Round(time.Millisecond), aBusy.Round(time.Millisecond), float64(machine2-machine1)/float64(aBusy))
	}
	fmt.Printf("fairness: 130429 answers: %d (requests %d, accepted %d)\n", stats.Throttled+stats.InjectedThrottles, stats.Requests, stats.Accepted)
	return nil
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}
