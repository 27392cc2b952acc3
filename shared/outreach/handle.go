package outreach

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// Handle is the Lambda entry point (SQS event source with ReportBatchItemFailures).
// It never returns an error: every record is either acknowledged or listed as a
// batch item failure, so one bad record cannot make the whole batch redeliver.
func (s *Sender) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	clinics := &clinicCache{store: s.Store, m: map[string]clinicResult{}}
	c := queue.Consumer{Name: "sender", DeadLetter: "sender.dead_letter", Alert: AlertDeadLetter, MaxReceives: s.MaxReceiveCount, Visibility: s.Visibility,
		Concurrency: s.Parallelism, Log: s.Logger,
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
	// paced marks a job sent back to its place in its number's line, which comes
	// up at place.
	paced bool
	place time.Time
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
	// now marks a prepared job sent in its caller's process (SendNow), not off
	// the queue; onSent runs once Meta accepted it, before the message log has it,
	// and wamid is what Meta answered.
	now    bool
	onSent func(ctx context.Context, wamid string)
	wamid  string
}

func (s *Sender) handleRecord(ctx context.Context, rec events.SQSMessage, clinics *clinicCache) outcome {
	j := &sendJob{rec: rec, receives: queue.ReceiveCount(rec)}
	j.log = s.Logger.With(slog.String("message_id", rec.MessageId), slog.Int("receive_count", j.receives))
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
	if wait := j.job.NotBefore.Sub(s.Clock.Now()); wait > 0 {
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
		delay := s.Backoff(j.receives)
		if j.claimed {
			if rerr := s.Store.DeferSend(context.WithoutCancel(ctx), j.rem, reminder.Deferral{Reason: "error", Failed: true,
				Until: s.Clock.Now().Add(delay)}); rerr != nil {
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
	job.Paced, job.Place = o.paced, o.place
	delay := o.delay
	if !o.notBefore.IsZero() || delay > MaxRequeueDelay {
		job.NotBefore = o.notBefore
		if job.NotBefore.IsZero() {
			job.NotBefore = s.Clock.Now().Add(delay)
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
			Failed: failed, Until: s.Clock.Now().Add(d)})
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
	ev := clinic.NewMessageFailed(eventID(job, "dead-lettered"), job.ClinicID, s.Clock.Now(), clinic.MessageFailed{
		AppointmentID: job.AppointmentID, ReminderKind: string(job.Kind), Reason: ReasonRetriesExhausted})
	if err := retryInPlace(func() error { return s.Events.Publish(context.WithoutCancel(ctx), ev) }); err != nil {
		s.Logger.LogAttrs(ctx, slog.LevelError, "sender.event_lost", slog.String("alert", AlertEventLost),
			slog.String("event_id", ev.ID), slog.String("error", err.Error()))
	}
}

// jobID names a record's job in logs even when only the raw body is at hand.
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
