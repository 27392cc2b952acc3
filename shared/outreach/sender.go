package outreach

import (
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/idempotency"
	"github.com/frontdesk-health/frontdesk/shared/queue"

	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"golang.org/x/time/rate"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// SendReader is what the sender re-reads at send time.
type SendReader interface {
	GetClinic(ctx context.Context, id string) (clinic.Clinic, error)
	GetAppointment(ctx context.Context, clinicID, id string) (appointment.Appointment, []reminder.Reminder, error)
	GetPatient(ctx context.Context, clinicID, patientID string) (appointment.Patient, error)
	ConsentLedger(ctx context.Context, clinicID, patientID string) ([]consent.Entry, error)
	// ContactOfPhone is the patient's number: its STOP holds for every patient on it.
	ContactOfPhone(ctx context.Context, clinicID, phone string) (contact.Contact, error)
}

// SendLedger records the claim and the outcome of a send.
type SendLedger interface {
	ClaimSend(ctx context.Context, r reminder.Reminder, leaseUntil time.Time) error
	ReleaseSend(ctx context.Context, r reminder.Reminder, reason string, code int) error
	DeferSend(ctx context.Context, r reminder.Reminder, d reminder.Deferral) error
	AdvanceReminder(ctx context.Context, clinicID, appointmentID string, kind reminder.Kind, to reminder.State, u reminder.Update) (bool, error)
	PutMessage(ctx context.Context, m messagelog.Record) (bool, error)
}

// PairPacer spaces messages to one recipient across all sender instances.
type PairPacer interface {
	ReservePairSlot(ctx context.Context, clinicID, patientID string, now time.Time, gap time.Duration) (time.Duration, error)
}

// SendStore is everything the sender needs from storage (the DynamoDB store implements it).
type SendStore interface {
	SendReader
	SendLedger
	PairPacer
}

// NumberPacer is a phone number's send budget, shared by every instance that sends
// from it (the DynamoDB store implements it).
type NumberPacer interface {
	// TakeSendSlot counts one send in the budget window starting at window if it
	// holds fewer than ceiling sends.
	TakeSendSlot(ctx context.Context, phoneNumberID string, window time.Time, ceiling int) (bool, error)
	// TakeQueueSlots gives n jobs consecutive places, spacing apart, in the number's
	// line and returns when the first comes up.
	TakeQueueSlots(ctx context.Context, phoneNumberID string, now time.Time, spacing time.Duration, n int) (time.Time, error)
}

// JobRequeuer is Requeuer for any outbound job (queue.ReminderOutbox implements it);
// a Requeue that implements it keeps what a reminder job carries besides its ids.
type JobRequeuer interface {
	RequeueJob(ctx context.Context, job outbound.Job, delay time.Duration) error
}

// Claimer makes a prepared message (a reply, an offer, a notice) go out once
// however often its job is delivered (the DynamoDB store implements it).
type Claimer interface {
	ClaimIdempotency(ctx context.Context, key string, ttl time.Duration) (*idempotency.Response, error)
	CompleteIdempotency(ctx context.Context, key string, resp idempotency.Response, ttl time.Duration) error
	ReleaseIdempotency(ctx context.Context, key string) error
}

// Messenger sends one WhatsApp message (whatsapp.Client implements it).
type Messenger interface {
	Send(ctx context.Context, phoneNumberID string, msg whatsapp.Message) (string, error)
}

// EventPublisher tells the clinic about a state change (queue.EventOutbox implements it).
type EventPublisher interface {
	Publish(ctx context.Context, evs ...clinic.Event) error
}

// Requeuer puts a deferred job back on the outbound queue as a new message that
// becomes visible after delay (queue.ReminderOutbox implements it).
type Requeuer interface {
	Requeue(ctx context.Context, job reminder.Job, delay time.Duration) error
}

// Delayer sets how long a failed SQS record stays invisible before it is retried
// (queue.Visibility implements it).
type Delayer interface {
	Delay(ctx context.Context, receiptHandle string, d time.Duration) error
}

// Halter stops the sender consuming its queue when no send can succeed (an invalid
// access token): in Lambda it disables the event source mapping, in `make dev` it
// pauses the poller. Messages stay in the queue until an operator resumes.
type Halter interface {
	Halt(ctx context.Context, reason string) error
}

// HaltFunc adapts a function to Halter.
type HaltFunc func(ctx context.Context, reason string) error

// Halt calls f.
func (f HaltFunc) Halt(ctx context.Context, reason string) error { return f(ctx, reason) }

// Sender defaults.
const (
	DefaultMessagesPerSecond = 80
	DefaultPairGap           = 6 * time.Second
	DefaultLease             = 60 * time.Second
	DefaultMaxReceiveCount   = 6
	DefaultSlowdown          = 30 * time.Second
	DefaultPause             = 15 * time.Minute
	DefaultHaltCooldown      = time.Minute
	DefaultSendTimeout       = 10 * time.Second
	// MaxRequeueDelay is SQS's longest message delay: a deferral longer than that
	// travels as a chain of delayed messages carrying the job's NotBefore.
	MaxRequeueDelay = 15 * time.Minute
	// maxVisibilityDelay is SQS's own ceiling for ChangeMessageVisibility.
	maxVisibilityDelay = 12 * time.Hour
	// recordRetries bounds the retries of the bookkeeping writes after a successful
	// send; they are retried in place because handing the record back to SQS would
	// risk a second send once the lease expires.
	recordRetries = 3
	// throughputRetries bounds the in-place retries after a 130429 answer.
	throughputRetries = 3
)

// Alert keys: log lines with "alert" set are what CloudWatch metric filters and
// alarms match. They are stable.
const (
	AlertAuth          = "whatsapp_auth_halt"
	AlertQuality       = "whatsapp_quality_pause"
	AlertPolicyBlock   = "whatsapp_policy_block"
	AlertTemplate      = "whatsapp_template_rejected"
	AlertUnrecorded    = "send_unrecorded"
	AlertDeadLetter    = "send_dead_letter"
	AlertEventLost     = "event_publish_failed"
	AlertMalformedJob  = "malformed_job"
	AlertMissingClinic = "clinic_missing"
)

// Sender consumes the outbound queue: one SQS record is one reminder.Job.
//
// At-least-once delivery is made safe by ClaimSend, a conditional write taken before
// the Graph API call: of two deliveries of the same job only one claim succeeds, and
// the loser is acknowledged without calling Graph. The remaining window: if the
// process dies after Graph accepted the message but before the "sent" write, the
// reminder stays "sending" until its lease (Lease, 60 s) expires; SQS redelivers the
// job after its visibility timeout (180 s), or the reaper re-enqueues it if the job
// was acknowledged, the claim succeeds again, and the patient receives the reminder
// twice (never more: the second send is recorded). Graph has no idempotency key that
// could close it.
//
// Throughput, as deployed (Pacer set): every send takes a slot of its number's budget
// in DynamoDB, shared with every other instance and with the inbound replies; a job
// finding it spent is requeued to its place in the number's line (see takeBudget),
// so a busy number never holds up the batch's other jobs. A 130429 answer anyway
// (another app on the number) defers the job like any throughput error.
//
// Without a Pacer (tests, the cost benchmark) every phone number gets a token bucket
// (golang.org/x/time/rate) per instance at MessagesPerSecond / Concurrency, with a burst of half a second of that
// share. The limit holds across instances because the CDK stack sets the sender's
// reserved concurrency to Concurrency (SENDER_MAX_CONCURRENCY; the event source
// mapping's maximum concurrency follows it): at most Concurrency instances run at
// once, each sending at most its share, so together they send at most
// MessagesPerSecond with bursts of at most half a second's worth. Raising the
// reserved concurrency without raising SENDER_MAX_CONCURRENCY would break this.
// Limiter waits respect the invocation's deadline (rate.Limiter.Wait refuses a wait
// that would pass it). A 130429 answer anyway (another app on the number) halves that
// instance's rate for Slowdown and retries in place.
//
// Timeouts are retried as the notes say, which has its own duplicate window: a call
// that times out after Meta accepted the message is sent again on retry.
//
// Waiting is not failing: a job that must wait (a Graph API outage, throughput or
// pair-rate errors, pair pacing, quiet hours, a paused clinic) records its attempt
// count and next attempt time on the reminder, is acknowledged, and goes back on
// the queue as a new, delayed message (Requeue). So an outage of any length costs
// no SQS receives and sends nothing to the DLQ; only jobs this sender cannot work
// through (its storage or the requeue itself failing) spend the receive budget.
// When the outage ends, each reminder still useful is sent; one that stopped being
// useful while it was held back is skipped as "expired" and the clinic is told once.
type Sender struct {
	Store      SendStore
	Messenger  Messenger
	Events     EventPublisher
	Requeue    Requeuer // nil: deferrals wait on the queue's visibility timeout instead
	Visibility Delayer
	Halter     Halter
	Clock      platform.Clock
	Logger     *slog.Logger
	// Pacer, when set, is the number's budget shared by every instance (and by the
	// inbound replies): a job finding its number's budget spent is requeued, never
	// waited on, so other numbers' jobs in the batch go ahead. Nil: each instance
	// waits on its own token bucket at MessagesPerSecond / Concurrency.
	Pacer NumberPacer
	// Claims makes prepared messages (replies, offers, notices) go out once.
	Claims Claimer
	// Completions tells each prepared kind's origin what became of its jobs (see
	// Completion); a kind without one is only sent.
	Completions map[outbound.Kind]Completion
	// SlotLookahead lets a job that waited for its place in its number's line, and
	// finds the current budget window full, book one of the next SlotLookahead
	// windows (at most 3: 750 ms) and wait for it rather than be requeued: SQS's
	// delays are whole seconds, too coarse to hand jobs over at their place. 0: none.
	SlotLookahead int

	MessagesPerSecond float64       // per phone number, all instances together; default 80
	Concurrency       int           // sender instances at most (Lambda reserved concurrency); default 1
	Parallelism       int           // records of one batch handled at once; default 10
	PairGap           time.Duration // minimum spacing of messages to one recipient; default 6 s
	Lease             time.Duration // how long a claim protects a send; default 60 s
	MaxReceiveCount   int           // the outbound queue's redrive maxReceiveCount; default 6
	Slowdown          time.Duration // how long a 130429 halves the number's rate; default 30 s
	Pause             time.Duration // how long a quality or policy block pauses a clinic here; default 15 min
	HaltCooldown      time.Duration // after a halt, records are handed back untouched this long; default 1 min
	SendTimeout       time.Duration // bounds one Graph call; default 10 s
	// Backoff is how long a reminder waits after its attempt-th failed send (a Graph
	// API error that is not the message's fault). Default: DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// Templates, when set, holds back sends of templates Meta paused, disabled or
	// re-categorised (see templategate.go).
	Templates TemplateGate
	// TemplateRecheck is how long such a reminder waits before it is tried again;
	// default TemplateRecheck (15 min).
	TemplateRecheck time.Duration
	// Identity, when set, lets a reminder reach a patient without a phone by the
	// business-scoped user id last seen for them (see recipient.go).
	Identity RecipientResolver

	mu          sync.Mutex
	limiters    map[string]*numberLimiter
	paused      map[string]time.Time // clinic id → until
	haltedUntil time.Time
}

type numberLimiter struct {
	lim       *rate.Limiter
	base      rate.Limit
	slowUntil time.Time
}

// DefaultBackoff doubles from 10 s per failed attempt up to 10 min, plus up to half
// again as jitter so records failed together by one outage do not come back
// together: never more than 15 min, SQS's longest message delay, so a reminder is
// tried at least every 15 minutes and goes out within minutes of Meta's recovery.
// The floor stays above the pair pacing gap, so a retry is not refused by the slot
// its own failed attempt reserved.
func DefaultBackoff(attempt int) time.Duration {
	return queue.Backoff{Base: 10 * time.Second, Max: 10 * time.Minute, Jitter: 0.5}.Delay(attempt)
}

// Handle is the Lambda entry point (SQS event source with ReportBatchItemFailures).
// It never returns an error: every record is either acknowledged or listed as a
// batch item failure, so one bad record cannot make the whole batch redeliver.
func (s *Sender) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	par := s.Parallelism
	if par <= 0 {
		par = 10
	}
	clinics := &clinicCache{store: s.Store, m: map[string]clinicResult{}}
	c := queue.Consumer{Name: "sender", DeadLetter: "sender.dead_letter", Alert: AlertDeadLetter, MaxReceives: s.maxReceiveCount(), Visibility: s.Visibility,
		Concurrency: par, Log: s.logger(),
		// A halt hands back, unsent, every record not started when it began.
		Stopped: s.halted,
		// The last error is in the dead-letter line and, via ReleaseSend, on the reminder.
		OnDeadLetter: s.tellDeadLettered}
	return c.Handle(ctx, ev, func(ctx context.Context, rec events.SQSMessage) queue.Result {
		return s.handleRecord(ctx, rec, clinics).result(rec)
	}), nil
}

// result is the consumer's form of an outcome.
func (o outcome) result(rec events.SQSMessage) queue.Result {
	switch {
	case !o.fail:
		return queue.Ack()
	case o.delay < 0 && o.reason == "":
		return queue.HandBack()
	case o.delay < 0:
		return queue.Fail(o.reason, slog.String("job_id", jobID(rec.Body)))
	case o.requeue != nil:
		return queue.Defer(min(o.delay, maxVisibilityDelay), o.reason, o.requeue, slog.String("job_id", jobID(rec.Body)))
	}
	return queue.Retry(min(o.delay, maxVisibilityDelay), o.reason, slog.String("job_id", jobID(rec.Body)))
}

// noDelay leaves a failed record's visibility as it is.
const noDelay = time.Duration(-1)

type outcome struct {
	fail   bool
	delay  time.Duration // visibility delay of a failed record; noDelay: leave it
	reason string        // why a failed record comes back (logged if it is its last receive)
	// wait marks a deferral: the job is requeued after delay rather than failed,
	// when a Requeuer is set.
	wait bool
	// notBefore, on a deferral longer than SQS's delay, is when the job may run.
	notBefore time.Time
	// paced marks a job sent back to its place in its number's line.
	paced bool
	// requeue, on a deferral, puts the job back on the queue delayed (see requeue).
	requeue func(ctx context.Context) error
}

var ack = outcome{}

func retry(d time.Duration, reason string) outcome {
	return outcome{fail: true, delay: max(d, 0), reason: reason}
}

// sendJob carries one record through its steps.
type sendJob struct {
	rec      events.SQSMessage
	out      outbound.Job // the whole job; job is its reminder part
	job      reminder.Job
	receives int
	log      *slog.Logger
	rem      reminder.Reminder
	claimed  bool
}

func (s *Sender) handleRecord(ctx context.Context, rec events.SQSMessage, clinics *clinicCache) outcome {
	j := &sendJob{rec: rec, receives: queue.ReceiveCount(rec)}
	j.log = s.logger().With(slog.String("message_id", rec.MessageId), slog.Int("receive_count", j.receives))
	err := json.Unmarshal([]byte(rec.Body), &j.out)
	j.job = j.out.Job
	if msg := malformed(j.out, err); msg != "" {
		// Not a job this sender can ever handle: retrying only fills the DLQ with the
		// same error. Acknowledged and logged with the alert key.
		j.log.LogAttrs(ctx, slog.LevelError, "sender.malformed_job", slog.String("alert", AlertMalformedJob),
			slog.String("error", msg), slog.Int("body_bytes", len(rec.Body)))
		return ack
	}
	if j.out.MessageKind() == outbound.KindReminder {
		j.log = j.log.With(slog.String("job_id", j.job.ID()), slog.String("clinic_id", j.job.ClinicID),
			slog.String("appointment_id", j.job.AppointmentID), slog.String("kind", string(j.job.Kind)))
	} else {
		// A prepared job's key can hold a wamid, which embeds the patient's number.
		j.log = j.log.With(platform.WAMID("job_key", j.out.Key), slog.String("clinic_id", j.job.ClinicID),
			slog.String("type", string(j.out.Type)))
	}
	if wait := j.job.NotBefore.Sub(s.clock().Now()); wait > 0 {
		// One hop of a deferral longer than SQS's delay: the reminder already records
		// its next attempt time, so nothing is read or written until then.
		return s.deferral(j, outcome{fail: true, delay: wait, reason: "not_before", wait: true, notBefore: j.job.NotBefore})
	}
	if j.out.MessageKind() != outbound.KindReminder {
		o := s.sendPrepared(ctx, j, clinics)
		if o.wait {
			return s.deferral(j, o)
		}
		return o
	}
	o, err := s.send(ctx, j, clinics)
	if err != nil {
		// An infrastructure failure (storage, network): hand the claim back and retry
		// later through SQS; the reminder's next attempt time follows the visibility
		// delay so the reaper does not copy a job that is only waiting.
		delay := s.backoff(j.receives)
		if j.claimed {
			if rerr := s.Store.DeferSend(context.WithoutCancel(ctx), j.rem, reminder.Deferral{Reason: "error", Failed: true,
				Until: s.clock().Now().Add(delay)}); rerr != nil {
				j.log.LogAttrs(ctx, slog.LevelWarn, "sender.release_failed", slog.String("error", rerr.Error()))
			}
		}
		o = retry(delay, err.Error())
		s.logRetry(ctx, j, "error", 0, err)
	}
	if o.wait {
		return s.deferral(j, o)
	}
	return o
}

// deferral lets a deferred job be acknowledged after a new, delayed copy of it is
// put on the queue. Without a Requeuer, or when the requeue fails, the record is
// failed with the delay as its visibility instead (which spends a receive).
func (s *Sender) deferral(j *sendJob, o outcome) outcome {
	if s.Requeue == nil {
		return o
	}
	if _, ok := s.Requeue.(JobRequeuer); !ok && j.out.MessageKind() != outbound.KindReminder {
		return o
	}
	o.requeue = func(ctx context.Context) error { return s.requeue(ctx, j, o) }
	return o
}

func (s *Sender) requeue(ctx context.Context, j *sendJob, o outcome) error {
	job := j.out
	job.Job = j.job
	job.NotBefore = time.Time{}
	job.Paced = o.paced
	delay := o.delay
	if !o.notBefore.IsZero() || delay > MaxRequeueDelay {
		job.NotBefore = o.notBefore
		if job.NotBefore.IsZero() {
			job.NotBefore = s.clock().Now().Add(delay)
		}
		delay = min(delay, MaxRequeueDelay)
	}
	var err error
	if jr, ok := s.Requeue.(JobRequeuer); ok {
		err = jr.RequeueJob(ctx, job, delay)
	} else {
		err = s.Requeue.Requeue(ctx, job.Job, delay)
	}
	if err != nil {
		j.log.LogAttrs(ctx, slog.LevelWarn, "sender.requeue_failed", slog.String("reason", o.reason), slog.String("error", err.Error()))
		return err
	}
	j.log.LogAttrs(ctx, slog.LevelInfo, "sender.deferred", slog.String("reason", o.reason),
		slog.Int64("delay_ms", o.delay.Milliseconds()))
	return nil
}

// deferClaimed makes a claimed reminder wait d: its next attempt time (and, for a
// failed attempt, its attempt count) is recorded on the reminder, where it survives
// redelivery and tells the reaper the job is not lost.
func (s *Sender) deferClaimed(ctx context.Context, j *sendJob, d time.Duration, reason string, code int, failed bool) (outcome, error) {
	d = max(d, 0)
	if j.claimed {
		err := s.Store.DeferSend(context.WithoutCancel(ctx), j.rem, reminder.Deferral{Reason: reason, ErrorCode: code,
			Failed: failed, Until: s.clock().Now().Add(d)})
		j.claimed = false
		if errors.Is(err, fault.ErrConflict) {
			// The lease ran out and another delivery took the claim: that one carries on.
			j.log.LogAttrs(ctx, slog.LevelInfo, "sender.dropped", slog.String("reason", "claim_lost"))
			return ack, nil
		}
		if err != nil {
			return ack, fmt.Errorf("outreach: defer %s: %w", j.job.ID(), err)
		}
	}
	return outcome{fail: true, delay: d, reason: reason, wait: true}, nil
}

func (s *Sender) logRetry(ctx context.Context, j *sendJob, class string, code int, err error) {
	j.log.LogAttrs(ctx, slog.LevelWarn, "sender.retry",
		slog.String("class", class), slog.Int("code", code), slog.String("error", err.Error()))
}

// send runs one job. A returned error means "infrastructure failed, retry"; every
// decided outcome is returned as an outcome with a nil error.
func (s *Sender) send(ctx context.Context, j *sendJob, clinics *clinicCache) (outcome, error) {
	job := j.job
	c, err := clinics.get(ctx, job.ClinicID)
	if errors.Is(err, fault.ErrNotFound) {
		j.log.LogAttrs(ctx, slog.LevelError, "sender.clinic_missing", slog.String("alert", AlertMissingClinic))
		return ack, nil
	}
	if err != nil {
		return ack, err
	}
	a, rems, err := s.Store.GetAppointment(ctx, job.ClinicID, job.AppointmentID)
	if errors.Is(err, fault.ErrNotFound) {
		j.log.LogAttrs(ctx, slog.LevelInfo, "sender.dropped", slog.String("reason", "appointment_gone"))
		return ack, nil
	}
	if err != nil {
		return ack, err
	}
	rem, ok := findReminder(rems, job.Kind)
	switch {
	case !ok:
		j.log.LogAttrs(ctx, slog.LevelInfo, "sender.dropped", slog.String("reason", "reminder_gone"))
		return ack, nil
	case rem.Generation != job.Generation:
		// The visit moved after this job was queued. The stored reminder now belongs to
		// the new start time and is scheduled on its own, so it must not be touched.
		j.log.LogAttrs(ctx, slog.LevelInfo, "sender.dropped", slog.String("reason", ReasonMoved))
		return ack, nil
	case !rem.Pending():
		j.log.LogAttrs(ctx, slog.LevelInfo, "sender.dropped", slog.String("reason", "already_"+string(rem.State)))
		return ack, nil
	}
	now := s.clock().Now()
	// The claim and the re-reads of the patient and consent run together: they are
	// independent, and each round trip costs sending time under load. The reads are
	// as fresh as after the claim, so an opt-out recorded while the job waited in the
	// queue is seen.
	var (
		wg                   sync.WaitGroup
		p                    appointment.Patient
		ledger               []consent.Entry
		claimErr, pErr, lErr error
	)
	wg.Add(3)
	go func() { defer wg.Done(); claimErr = s.Store.ClaimSend(ctx, rem, now.Add(s.lease())) }()
	go func() { defer wg.Done(); p, pErr = s.Store.GetPatient(ctx, job.ClinicID, a.PatientID) }()
	go func() { defer wg.Done(); ledger, lErr = s.Store.ConsentLedger(ctx, job.ClinicID, a.PatientID) }()
	wg.Wait()
	if claimErr != nil {
		if errors.Is(claimErr, fault.ErrConflict) {
			// Another delivery of this job holds the claim, or it was already handled.
			j.log.LogAttrs(ctx, slog.LevelInfo, "sender.dropped", slog.String("reason", "claim_lost"))
			return ack, nil
		}
		return ack, claimErr
	}
	j.rem, j.claimed = rem, true
	if errors.Is(pErr, fault.ErrNotFound) {
		return s.skip(ctx, j, ReasonNoPatient)
	}
	if err := errors.Join(pErr, lErr); err != nil {
		return ack, err
	}
	p, number, err := s.addressOf(ctx, c, p)
	if err != nil {
		return ack, err
	}
	ledger = append(ledger, number.Statements()...)
	if reason := whyNot(a, rem, consent.Current(ledger), now); reason != "" {
		if rem.Attempts > 0 && stoppedBeingUseful(reason) {
			// Held back by failed sends until it was no longer useful: the clinic must
			// hear that this reminder never reached the patient.
			return s.expire(ctx, j, reason)
		}
		return s.skip(ctx, j, reason)
	}
	if until, ok := s.pausedUntil(c.ID); ok {
		// The clinic's number is paused after a quality or policy block: keep the job.
		return s.deferClaimed(ctx, j, until.Sub(now), "clinic_paused", 0, false)
	}
	if loc, err := c.Location(); err == nil {
		// The plan keeps due times out of quiet hours; a reminder that is late (a
		// backlog, retries) can still reach them. Wait for their end while that is
		// still useful, else skip.
		if _, until, quiet := c.QuietHours.Period(now, loc); quiet {
			if !reminder.Useful(rem, until) {
				if rem.Attempts > 0 {
					return s.expire(ctx, j, reminder.ReasonQuietHours)
				}
				return s.skip(ctx, j, reminder.ReasonQuietHours)
			}
			return s.deferClaimed(ctx, j, until.Sub(now)+jitter(time.Minute), reminder.ReasonQuietHours, 0, false)
		}
	}
	if o, held, err := s.holdForTemplate(ctx, j, c, p, rem, now); held || err != nil {
		return o, err
	}
	msg, err := composeReminder(c, a, p, rem)
	if err != nil {
		if errors.Is(err, whatsapp.ErrInvalidMessage) && p.Phone == "" {
			return s.skip(ctx, j, ReasonNoPhone)
		}
		return s.fail(ctx, j, c, 0, whatsapp.ClassPermanent, fmt.Errorf("outreach: compose %s: %w", job.ID(), err))
	}

	if s.Pacer != nil {
		// The number's slot is taken after the reads, right before the call, so the
		// send lands in the window it was counted in even when the reads were slow;
		// and before the patient's pair slot, which a job sent back to wait for the
		// number's budget must not hold (it would then wait the pair gap as well).
		o, spent, err := s.takeBudget(ctx, j, c)
		if err != nil {
			return ack, err
		}
		if spent {
			o2, err := s.deferClaimed(ctx, j, o.delay, ReasonNumberBudget, 0, false)
			o2.paced = o2.wait
			return o2, err
		}
	}
	wait, err := s.Store.ReservePairSlot(ctx, job.ClinicID, a.PatientID, now, s.pairGap())
	if err != nil {
		return ack, err
	}
	if wait > 0 {
		// Another message to this patient went out moments ago: come back when the
		// pair limit allows, without counting it as a failure.
		return s.deferClaimed(ctx, j, wait+jitter(time.Second), "pair_pacing", 0, false)
	}
	return s.deliver(ctx, j, c, a, msg)
}

// deliver waits for the phone number's throughput budget, calls Graph and records
// the outcome.
func (s *Sender) deliver(ctx context.Context, j *sendJob, c clinic.Clinic, a appointment.Appointment, msg whatsapp.Message) (outcome, error) {
	for attempt := 1; ; attempt++ {
		if s.Pacer == nil {
			if err := s.limiter(c.PhoneNumberID).Wait(ctx); err != nil {
				// The budget is not available before this invocation's deadline.
				return s.deferClaimed(ctx, j, jitter(2*time.Second), "throughput_budget", 0, false)
			}
		}
		wamid, err := s.sendOnce(ctx, c.PhoneNumberID, msg)
		if err == nil {
			return s.recordSent(ctx, j, a, wamid), nil
		}
		if whatsapp.Classify(err) == whatsapp.ClassThroughput && attempt < throughputRetries && s.Pacer == nil {
			// Over the number's throughput: slow down and try again in place while
			// holding the claim, so a busy number costs no SQS receives (and cannot
			// push a job to the DLQ).
			s.slowDown(c.PhoneNumberID)
			j.log.LogAttrs(ctx, slog.LevelWarn, "sender.throughput", slog.String("phone_number_id", c.PhoneNumberID),
				slog.Int("attempt", attempt))
			continue
		}
		return s.sendFailed(ctx, j, c, err)
	}
}

// sendOnce bounds one Graph call: a hung connection must not eat the invocation's
// whole budget (the Lambda context always has a deadline, so a client-side default
// that applies only to deadline-free contexts never kicks in).
func (s *Sender) sendOnce(ctx context.Context, phoneNumberID string, msg whatsapp.Message) (string, error) {
	d := s.SendTimeout
	if d <= 0 {
		d = DefaultSendTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return s.Messenger.Send(ctx, phoneNumberID, msg)
}

func (s *Sender) recordSent(ctx context.Context, j *sendJob, a appointment.Appointment, wamid string) outcome {
	// The send happened: the records must be written even if the invocation is being
	// cancelled, and a failure here must not send again (see the type's comment).
	bg := context.WithoutCancel(ctx)
	now := s.clock().Now()
	job := j.job
	// Both records are written at once; neither depends on the other, and the job is
	// acknowledged either way.
	var advErr, putErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		advErr = retryInPlace(func() error {
			_, err := s.Store.AdvanceReminder(bg, job.ClinicID, job.AppointmentID, job.Kind, reminder.StateSent,
				reminder.Update{WAMID: wamid, Generation: job.Generation})
			return err
		})
	}()
	go func() {
		defer wg.Done()
		putErr = retryInPlace(func() error {
			_, err := s.Store.PutMessage(bg, messagelog.Record{
				WAMID: wamid, Direction: messagelog.Outbound, ClinicID: job.ClinicID, PatientID: a.PatientID,
				AppointmentID: job.AppointmentID, ReminderKind: string(job.Kind), Generation: job.Generation, Type: whatsapp.TypeTemplate,
				Status: messagelog.StatusAccepted, CreatedAt: now, UpdatedAt: now,
			})
			return err
		})
	}()
	wg.Wait()
	err := errors.Join(advErr, putErr)
	if err != nil {
		j.log.LogAttrs(ctx, slog.LevelError, "sender.unrecorded", slog.String("alert", AlertUnrecorded),
			platform.WAMID("wamid", wamid), slog.String("error", err.Error()))
		return ack
	}
	j.log.LogAttrs(ctx, slog.LevelInfo, "sender.sent", platform.WAMID("wamid", wamid),
		slog.Int64("late_ms", now.Sub(job.DueAt).Milliseconds()))
	return ack
}

// sendFailed acts on a Graph error per the notes' error table.
func (s *Sender) sendFailed(ctx context.Context, j *sendJob, c clinic.Clinic, err error) (outcome, error) {
	class := whatsapp.Classify(err)
	code := 0
	var apiErr *whatsapp.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.Code
	}
	switch class {
	case whatsapp.ClassRetryable, whatsapp.ClassRateLimited:
		// An outage or Meta's rate limit: wait longer after each failed attempt.
		s.logRetry(ctx, j, class.String(), code, err)
		return s.deferClaimed(ctx, j, s.backoff(j.rem.Attempts+1), class.String(), code, true)
	case whatsapp.ClassThroughput:
		// Not the message's fault: slow the number down and come back soon.
		s.slowDown(c.PhoneNumberID)
		j.log.LogAttrs(ctx, slog.LevelWarn, "sender.throughput", slog.String("phone_number_id", c.PhoneNumberID),
			slog.Int("code", code))
		return s.deferClaimed(ctx, j, jitter(2*time.Second), class.String(), code, true)
	case whatsapp.ClassPairRate:
		// Only this recipient is too busy: push its slot and retry after the gap.
		j.log.LogAttrs(ctx, slog.LevelWarn, "sender.pair_rate", slog.Int("code", code))
		return s.deferClaimed(ctx, j, s.pairGap()+jitter(s.pairGap()), class.String(), code, true)
	case whatsapp.ClassAuth:
		return s.halt(ctx, j, err), nil
	}
	return s.fail(ctx, j, c, code, class, err)
}

// fail records a permanent failure and tells the clinic; the job is acknowledged
// because sending it again cannot succeed.
func (s *Sender) fail(ctx context.Context, j *sendJob, c clinic.Clinic, code int, class whatsapp.Class, cause error) (outcome, error) {
	job := j.job
	bg := context.WithoutCancel(ctx)
	if _, err := s.Store.AdvanceReminder(bg, job.ClinicID, job.AppointmentID, job.Kind, reminder.StateFailed,
		reminder.Update{Reason: class.String(), ErrorCode: code, Generation: job.Generation}); err != nil {
		return ack, fmt.Errorf("outreach: record failure of %s: %w", job.ID(), err)
	}
	j.claimed = false
	platform.Count(ctx, s.Logger, s.Clock, platform.MetricSendsByStatus, platform.DimStatus, "failed")
	attrs := []slog.Attr{slog.String("class", class.String()), slog.Int("code", code), slog.String("error", cause.Error())}
	switch class {
	case whatsapp.ClassQuality, whatsapp.ClassPolicyBlock:
		alert := AlertQuality
		if class == whatsapp.ClassPolicyBlock {
			alert = AlertPolicyBlock
		}
		until := s.pauseClinic(c.ID)
		attrs = append(attrs, slog.String("alert", alert), slog.Time("paused_until", until))
	case whatsapp.ClassTemplate:
		attrs = append(attrs, slog.String("alert", AlertTemplate))
	}
	j.log.LogAttrs(ctx, slog.LevelError, "sender.failed", attrs...)
	ev := clinic.NewMessageFailed(eventID(job, "failed"), job.ClinicID, s.clock().Now(), clinic.MessageFailed{
		AppointmentID: job.AppointmentID, ReminderKind: string(job.Kind), ErrorCode: new(code), Reason: class.String()})
	if s.Events != nil {
		if err := retryInPlace(func() error { return s.Events.Publish(bg, ev) }); err != nil {
			// The failure is on the reminder (visible through the API); only the push
			// notification is lost.
			j.log.LogAttrs(ctx, slog.LevelError, "sender.event_lost", slog.String("alert", AlertEventLost),
				slog.String("event_id", ev.ID), slog.String("error", err.Error()))
		}
	}
	return ack, nil
}

// halt stops consumption after an authentication failure: the message is not at
// fault, so it is released (not failed) and kept, like every record after it.
func (s *Sender) halt(ctx context.Context, j *sendJob, cause error) outcome {
	now := s.clock().Now()
	s.mu.Lock()
	first := !now.Before(s.haltedUntil)
	s.haltedUntil = now.Add(s.haltCooldown())
	s.mu.Unlock()
	s.release(ctx, j, whatsapp.ClassAuth.String(), whatsapp.CodeAccessToken)
	if first {
		j.log.LogAttrs(ctx, slog.LevelError, "sender.halted", slog.String("alert", AlertAuth), slog.String("error", cause.Error()))
		if s.Halter != nil {
			if err := s.Halter.Halt(context.WithoutCancel(ctx), "whatsapp access token rejected"); err != nil {
				j.log.LogAttrs(ctx, slog.LevelError, "sender.halt_failed", slog.String("alert", AlertAuth), slog.String("error", err.Error()))
			}
		}
	}
	return outcome{fail: true, delay: noDelay}
}

func (s *Sender) halted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock().Now().Before(s.haltedUntil)
}

// skip records why a claimed reminder is not sent.
func (s *Sender) skip(ctx context.Context, j *sendJob, reason string) (outcome, error) {
	job := j.job
	if _, err := s.Store.AdvanceReminder(context.WithoutCancel(ctx), job.ClinicID, job.AppointmentID, job.Kind,
		reminder.StateSkipped, reminder.Update{Reason: reason, Generation: job.Generation}); err != nil {
		return ack, fmt.Errorf("outreach: skip %s: %w", job.ID(), err)
	}
	j.claimed = false
	j.log.LogAttrs(ctx, slog.LevelInfo, "sender.skipped", slog.String("reason", reason))
	platform.Count(ctx, s.Logger, s.Clock, platform.MetricSendsByStatus, platform.DimStatus, "skipped")
	return ack, nil
}

// expire records a reminder that failed sends held back until it stopped being
// useful, and tells the clinic once: only the delivery that moves the reminder
// publishes, and the event id is stable.
func (s *Sender) expire(ctx context.Context, j *sendJob, why string) (outcome, error) {
	job := j.job
	bg := context.WithoutCancel(ctx)
	moved, err := s.Store.AdvanceReminder(bg, job.ClinicID, job.AppointmentID, job.Kind,
		reminder.StateSkipped, reminder.Update{Reason: ReasonExpired, Generation: job.Generation})
	if err != nil {
		return ack, fmt.Errorf("outreach: expire %s: %w", job.ID(), err)
	}
	j.claimed = false
	if !moved {
		return ack, nil
	}
	j.log.LogAttrs(ctx, slog.LevelWarn, "sender.expired", slog.String("reason", ReasonExpired),
		slog.String("because", why), slog.Int("attempts", j.rem.Attempts))
	platform.Count(ctx, s.Logger, s.Clock, platform.MetricSendsByStatus, platform.DimStatus, "skipped")
	ev := clinic.NewMessageFailed(eventID(job, ReasonExpired), job.ClinicID, s.clock().Now(), clinic.MessageFailed{
		AppointmentID: job.AppointmentID, ReminderKind: string(job.Kind), ErrorCode: new(j.rem.ErrorCode), Reason: ReasonExpired})
	if s.Events != nil {
		if err := retryInPlace(func() error { return s.Events.Publish(bg, ev) }); err != nil {
			j.log.LogAttrs(ctx, slog.LevelError, "sender.event_lost", slog.String("alert", AlertEventLost),
				slog.String("event_id", ev.ID), slog.String("error", err.Error()))
		}
	}
	return ack, nil
}

// stoppedBeingUseful reports whether a skip reason is the reminder's window closing
// (rather than a decision of the patient or the clinic).
func stoppedBeingUseful(reason string) bool {
	switch reason {
	case reminder.ReasonPastVisit, reminder.ReasonSuperseded, reminder.ReasonFollowUpExpired:
		return true
	}
	return false
}

// release hands a claimed reminder back so a later delivery of the job can claim it.
func (s *Sender) release(ctx context.Context, j *sendJob, reason string, code int) {
	if !j.claimed {
		return
	}
	if err := s.Store.ReleaseSend(context.WithoutCancel(ctx), j.rem, reason, code); err != nil {
		// The lease expires on its own; the retry claims it then.
		j.log.LogAttrs(ctx, slog.LevelWarn, "sender.release_failed", slog.String("error", err.Error()))
	}
	j.claimed = false
}

// whyNot returns the reason a reminder must not go out now, or "".
func whyNot(a appointment.Appointment, r reminder.Reminder, consentState consent.State, now time.Time) string {
	switch consentState {
	case consent.OptedIn:
	case consent.OptedOut:
		return ReasonOptedOut
	default:
		return ReasonNoConsent
	}
	wantStatus := a.Status.Remindable()
	if r.Kind == reminder.KindFollowUp {
		wantStatus = a.Status == appointment.StatusFulfilled
	}
	if !wantStatus {
		return reminder.ReasonStatusPrefix + string(a.Status)
	}
	if r.Kind != reminder.KindFollowUp && a.Response == appointment.ResponseCancelledByPatient {
		// The patient asked to cancel; until the clinic acts on it, another "see you
		// soon" would contradict what they were told.
		return ReasonPatientCancelled
	}
	if r.Kind != reminder.KindFollowUp && !now.Before(a.Start) {
		// The appointment's own start is the authority (the generation matched, but be
		// safe against a reminder planned without one).
		return reminder.ReasonPastVisit
	}
	return reminder.SkipReason(r, now)
}

func findReminder(rs []reminder.Reminder, kind reminder.Kind) (reminder.Reminder, bool) {
	for _, r := range rs {
		if r.Kind == kind {
			return r, true
		}
	}
	return reminder.Reminder{}, false
}

// jobID names a record's job in logs even when only the raw body is at hand.
// tellDeadLettered tells the clinic that a reminder could not be sent after every
// retry: without it, the reminder would sit "queued" in the API while its job waits
// in the DLQ. The reminder keeps its state so that a redrive can still send it
// (the sender re-checks everything at send time).
func (s *Sender) tellDeadLettered(ctx context.Context, rec events.SQSMessage) {
	if s.tellPreparedDeadLettered(ctx, rec) {
		return
	}
	var job reminder.Job
	// Only reminder jobs have a reminder for the clinic to hear about.
	if s.Events == nil || json.Unmarshal([]byte(rec.Body), &job) != nil || job.ClinicID == "" || job.AppointmentID == "" {
		return
	}
	ev := clinic.NewMessageFailed(eventID(job, "dead-lettered"), job.ClinicID, s.clock().Now(), clinic.MessageFailed{
		AppointmentID: job.AppointmentID, ReminderKind: string(job.Kind), Reason: ReasonRetriesExhausted})
	if err := retryInPlace(func() error { return s.Events.Publish(context.WithoutCancel(ctx), ev) }); err != nil {
		s.logger().LogAttrs(ctx, slog.LevelError, "sender.event_lost", slog.String("alert", AlertEventLost),
			slog.String("event_id", ev.ID), slog.String("error", err.Error()))
	}
}

func jobID(body string) string {
	var j reminder.Job
	if json.Unmarshal([]byte(body), &j) != nil {
		return ""
	}
	return j.ID()
}

// eventID is stable per job and outcome, so a redelivered job publishes the same
// event id and the clinic's receiver deduplicates it (webhook-id).
func eventID(job reminder.Job, what string) string {
	sum := sha256.Sum256([]byte(job.ID() + "|" + what))
	return "evt_" + hex.EncodeToString(sum[:16])
}

func retryInPlace(f func() error) error {
	var err error
	for range recordRetries {
		if err = f(); err == nil {
			return nil
		}
	}
	return err
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// limiter returns the phone number's token bucket, restoring its full rate once a
// slowdown has run its course.
func (s *Sender) limiter(phoneNumberID string) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limiters == nil {
		s.limiters = map[string]*numberLimiter{}
	}
	nl, ok := s.limiters[phoneNumberID]
	if !ok {
		perInstance := s.perInstanceRate()
		base := rate.Limit(perInstance)
		nl = &numberLimiter{lim: rate.NewLimiter(base, burstFor(perInstance)), base: base}
		s.limiters[phoneNumberID] = nl
	}
	if !nl.slowUntil.IsZero() && !s.clock().Now().Before(nl.slowUntil) {
		nl.lim.SetLimit(nl.base)
		nl.slowUntil = time.Time{}
	}
	return nl.lim
}

// burstFor lets an instance save up half a second of its share: the gaps between
// batches (reads before the first send of the next batch) are made up instead of
// lost, while all instances together burst at most half a second of the number's
// rate, well inside Meta's (and the stand-in's) one-second bucket.
func burstFor(perInstance float64) int { return max(1, int(math.Ceil(perInstance/2))) }

func (s *Sender) slowDown(phoneNumberID string) {
	lim := s.limiter(phoneNumberID)
	s.mu.Lock()
	defer s.mu.Unlock()
	nl := s.limiters[phoneNumberID]
	// Halve per 130429, down to an eighth: enough to let another sender on the same
	// number through without stalling ours.
	lim.SetLimit(max(lim.Limit()/2, nl.base/8))
	slowdown := s.Slowdown
	if slowdown <= 0 {
		slowdown = DefaultSlowdown
	}
	nl.slowUntil = s.clock().Now().Add(slowdown)
}

// perInstanceRate is the messages per second one sender instance may send from one
// phone number.
func (s *Sender) perInstanceRate() float64 {
	mps := s.MessagesPerSecond
	if mps <= 0 {
		mps = DefaultMessagesPerSecond
	}
	return mps / float64(max(s.Concurrency, 1))
}

// pauseClinic stops this instance sending for the clinic for Pause. Other
// instances learn it from their own Graph answers; the alert tells the operator.
func (s *Sender) pauseClinic(clinicID string) time.Time {
	d := s.Pause
	if d <= 0 {
		d = DefaultPause
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused == nil {
		s.paused = map[string]time.Time{}
	}
	until := s.clock().Now().Add(d)
	s.paused[clinicID] = until
	return until
}

func (s *Sender) pausedUntil(clinicID string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.paused[clinicID]
	return until, ok && s.clock().Now().Before(until)
}

func (s *Sender) backoff(receives int) time.Duration {
	if s.Backoff != nil {
		return s.Backoff(receives)
	}
	return DefaultBackoff(receives)
}

func (s *Sender) clock() platform.Clock {
	if s.Clock == nil {
		return platform.SystemClock{}
	}
	return s.Clock
}

func (s *Sender) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Sender) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultLease
}

func (s *Sender) pairGap() time.Duration {
	if s.PairGap > 0 {
		return s.PairGap
	}
	return DefaultPairGap
}

func (s *Sender) maxReceiveCount() int {
	if s.MaxReceiveCount > 0 {
		return s.MaxReceiveCount
	}
	return DefaultMaxReceiveCount
}

func (s *Sender) haltCooldown() time.Duration {
	if s.HaltCooldown > 0 {
		return s.HaltCooldown
	}
	return DefaultHaltCooldown
}

// clinicCache reads each clinic once per batch: a batch is usually one clinic's.
type clinicCache struct {
	store SendReader
	mu    sync.Mutex
	m     map[string]clinicResult
}

type clinicResult struct {
	c   clinic.Clinic
	err error
}

func (cc *clinicCache) get(ctx context.Context, id string) (clinic.Clinic, error) {
	cc.mu.Lock()
	r, ok := cc.m[id]
	cc.mu.Unlock()
	if ok {
		return r.c, r.err
	}
	c, err := cc.store.GetClinic(ctx, id)
	if err == nil || errors.Is(err, fault.ErrNotFound) {
		cc.mu.Lock()
		cc.m[id] = clinicResult{c, err}
		cc.mu.Unlock()
	}
	return c, err
}
