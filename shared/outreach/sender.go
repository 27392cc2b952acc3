package outreach

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/idempotency"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
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
	DefaultParallelism       = 10
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

// Sender consumes the outbound queue: one SQS record is one reminder.Job. Build it
// with NewSender, which gives every setting left zero its default.
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
	// SlotLookahead lets a job that waited for its place in its number's line, was
	// handed over before the place came up, and finds the current budget window
	// full, book one of the next windows up to its place's, at most SlotLookahead
	// (at most 3: 750 ms), and wait for it rather than be requeued: SQS's delays are
	// whole seconds, too coarse to hand jobs over at their place. 0: none.
	SlotLookahead int
	// Wait waits d for a booked budget window to open; default a timer. Tests on a
	// fake clock advance it instead.
	Wait func(ctx context.Context, d time.Duration) error

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

// DefaultBackoff doubles from 10 s per failed attempt up to 10 min, plus up to half
// again as jitter so records failed together by one outage do not come back
// together: never more than 15 min, SQS's longest message delay, so a reminder is
// tried at least every 15 minutes and goes out within minutes of Meta's recovery.
// The floor stays above the pair pacing gap, so a retry is not refused by the slot
// its own failed attempt reserved.
func DefaultBackoff(attempt int) time.Duration {
	return queue.Backoff{Base: 10 * time.Second, Max: 10 * time.Minute, Jitter: 0.5}.Delay(attempt)
}

// NewSender fills every setting of s left zero with its default, once, and returns
// s ready to handle batches; its methods read the settings as they are.
func NewSender(s *Sender) *Sender {
	if s.Clock == nil {
		s.Clock = platform.SystemClock{}
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.MessagesPerSecond <= 0 {
		s.MessagesPerSecond = DefaultMessagesPerSecond
	}
	s.Concurrency = max(s.Concurrency, 1)
	s.Parallelism = defaultIfZero(s.Parallelism, DefaultParallelism)
	s.PairGap = defaultIfZero(s.PairGap, DefaultPairGap)
	s.Lease = defaultIfZero(s.Lease, DefaultLease)
	s.MaxReceiveCount = defaultIfZero(s.MaxReceiveCount, DefaultMaxReceiveCount)
	s.Slowdown = defaultIfZero(s.Slowdown, DefaultSlowdown)
	s.Pause = defaultIfZero(s.Pause, DefaultPause)
	s.HaltCooldown = defaultIfZero(s.HaltCooldown, DefaultHaltCooldown)
	s.SendTimeout = defaultIfZero(s.SendTimeout, DefaultSendTimeout)
	s.TemplateRecheck = defaultIfZero(s.TemplateRecheck, TemplateRecheck)
	if s.Backoff == nil {
		s.Backoff = DefaultBackoff
	}
	if s.Wait == nil {
		s.Wait = sleepCtx
	}
	s.limiters = map[string]*numberLimiter{}
	s.paused = map[string]time.Time{}
	return s
}

// defaultIfZero is v, or def when v is not positive (a negative setting is as
// meaningless as a missing one).
func defaultIfZero[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
