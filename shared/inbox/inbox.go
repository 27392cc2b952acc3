// Package inbox is the inbound Lambda's application service: it takes WhatsApp
// webhook payloads off the inbound queue (each SQS body is one raw webhook POST
// body, already signature-checked by the webhook endpoint) and acts on them:
// button taps and keywords answer appointments, STOP/START change consent,
// emergencies and free text reach staff, and delivery statuses advance the message
// log and the reminders.
//
// # Exactly one effect per message, on an at-least-once queue
//
// A webhook body can arrive several times (Meta retries, SQS redelivers, a failed
// batch item comes back) and a body carries many messages and statuses, so every
// message and status is handled on its own, idempotently:
//
//   - Messages. The inbound message record (PutMessage, keyed by wamid) is written
//     LAST, as the "handled" marker, and a redelivery that finds it skips the
//     message. It is not written first because a failure after it (a reply that
//     could not be sent) would make the retry skip the unfinished work. Everything
//     before it can run twice without doubling an effect:
//     the appointment answer is applied only when the message is newer than the
//     stored answer (RespondedAt = the message's timestamp), so a retry finds it
//     applied and an older tap arriving late cannot overwrite a newer one; consent
//     entries and clinic events carry IDs derived from the wamid (the ledger append
//     and the clinic's webhook-id dedupe make a second copy harmless); the reply is
//     a reply job keyed "reply:<wamid>", sent in this process by the sender's
//     prepared-send code, which claims the key before the Graph call, completes it
//     after, and releases it when the send fails retryably, so a retry sends it and
//     a success is never repeated. The claim is a lease: a worker that dies between
//     claim and completion blocks the reply only briefly.
//     What remains is the Graph API's own at-least-once: a timeout after Meta
//     accepted the send (or a crash right after it) can deliver the reply twice.
//   - Statuses. ClaimIdempotency("status:<wamid>:<status>") first, completed after
//     applying, released when applying fails so that the retry applies it; the moves
//     themselves are forward-only, so a late "delivered" after "read" changes nothing.
//
// ClaimIdempotency is used rather than ClaimOnce because ReleaseIdempotency only
// releases in-progress claims: a ClaimOnce marker taken before a failed step could
// not be given back, and the step would be lost.
//
// Failures that a retry can fix (storage, queue, Graph 5xx/throttling) fail the
// batch item; the message returns after the visibility timeout and reaches the
// DLQ after the queue's maxReceiveCount. Things a retry cannot fix (an unknown
// phone_number_id, a message type Frontdesk does not act on, a permanent Graph
// error on a reply) are logged and acknowledged.
package inbox

import (
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/idempotency"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/queue"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/handoff"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/thread"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// Store is what the inbox needs from storage (the DynamoDB store implements it).
type Store interface {
	ClinicByPhoneNumberID(ctx context.Context, phoneNumberID string) (clinic.Clinic, error)

	PatientsByPhone(ctx context.Context, clinicID, e164 string) ([]appointment.Patient, error)
	TouchInbound(ctx context.Context, clinicID, patientID string, at time.Time) error
	AppendConsent(ctx context.Context, e consent.Entry) error
	ConsentLedger(ctx context.Context, clinicID, patientID string) ([]consent.Entry, error)

	GetContact(ctx context.Context, clinicID, key string) (contact.Contact, error)
	RecordContactConsent(ctx context.Context, clinicID, key string, e consent.Entry) (bool, error)
	ClaimSafetyAnswer(ctx context.Context, clinicID, key, wamid string, now time.Time, interval time.Duration) (bool, error)
	GetPatient(ctx context.Context, clinicID, patientID string) (appointment.Patient, error)

	IdentityStore
	TemplateStore

	GetAppointment(ctx context.Context, clinicID, id string) (appointment.Appointment, []reminder.Reminder, error)
	SaveAppointment(ctx context.Context, a appointment.Appointment, reminders []reminder.Write) error
	UpcomingAppointments(ctx context.Context, clinicID, patientID string, from time.Time, limit int) ([]appointment.Appointment, error)
	AdvanceReminder(ctx context.Context, clinicID, appointmentID string, kind reminder.Kind, to reminder.State, u reminder.Update) (bool, error)

	PutMessage(ctx context.Context, m messagelog.Record) (bool, error)
	GetMessage(ctx context.Context, wamid string) (messagelog.Record, error)
	AdvanceMessage(ctx context.Context, wamid string, to messagelog.Status, at time.Time, errorCode int) (bool, error)

	ClaimIdempotency(ctx context.Context, key string, ttl time.Duration) (*idempotency.Response, error)
	CompleteIdempotency(ctx context.Context, key string, resp idempotency.Response, ttl time.Duration) error
	ReleaseIdempotency(ctx context.Context, key string) error
}

// Conversations keeps the conversation record (handoff.Service): hand-offs open
// a conversation staff can read and answer; later messages and the bot's answers
// join it.
type Conversations interface {
	HandOff(ctx context.Context, c clinic.Clinic, in handoff.Inbound, reason, urgency string) (handoff.Ref, error)
	Received(ctx context.Context, c clinic.Clinic, in handoff.Inbound) (bool, error)
	BotSaid(ctx context.Context, c clinic.Clinic, contactKey string, m thread.Message) error
	Delivery(ctx context.Context, clinicID, wamid, status string) error
}

var _ Conversations = (*handoff.Service)(nil)

// Notices moves a notice along with Meta's statuses for its message (notices.Tracker).
type Notices interface {
	NoticeDelivery(ctx context.Context, clinicID, patientID, noticeID, status, reason string) error
}

// Events publishes state changes the clinic must learn about (queue.EventOutbox).
type Events interface {
	Publish(ctx context.Context, events ...clinic.Event) error
}

// Metrics counts the clinic's numbers (metrics.Recorder); each fact at most once,
// so a redelivered message or status counts nothing more.
type Metrics interface {
	Record(ctx context.Context, facts ...metrics.Fact) error
}

func (s *Service) count(ctx context.Context, facts ...metrics.Fact) error {
	if s.Metrics == nil || len(facts) == 0 {
		return nil
	}
	if err := s.Metrics.Record(ctx, facts...); err != nil {
		return fmt.Errorf("count: %w", err)
	}
	return nil
}

// Replier sends a reply job from the clinic's number now, in this process, through
// the sender's prepared-send code (outreach.Sender.SendNow): its re-checks, the
// once-only claim on the job's key, the number's budget and the message log.
// onSent runs once Meta accepted the message, before the message log has it. The
// wamid is returned when the reply went out; ("", nil) when it is not sent here and
// nothing is left to do (refused, already sent, failed for good, or handed to the
// outbound queue); an error when a retry must send it.
type Replier interface {
	SendNow(ctx context.Context, c clinic.Clinic, job outbound.Job, onSent func(ctx context.Context, wamid string)) (string, error)
}

// DoneTTL is how long completed status claims are kept: longer than Meta
// retries a webhook (7 days) and than the inbound queue keeps a message (4 days).
const DoneTTL = 8 * 24 * time.Hour

// LeaseTTL bounds an in-progress claim: a worker that died holding it (Lambda
// timeout 30 s) blocks the key only this long. Shorter than the inbound queue's
// visibility timeout, so the redelivery finds the key claimable.
const LeaseTTL = 2 * time.Minute

// Service handles inbound webhook payloads.
type Service struct {
	Store   Store
	Events  Events
	Replies Replier
	// Conversations, when set, records hand-offs and what follows them.
	Conversations Conversations
	Clock         platform.Clock
	Log           *slog.Logger
	Metrics       Metrics // nil counts nothing
	// Slots answers a Reschedule tap with the clinic's free slots and handles a
	// patient's choice of one (waitlist.Desk); nil: a Reschedule tap is a plain
	// request to the clinic.
	Slots SlotDesk
	// Feedback reads answers to feedback questions; nil treats digits as text.
	Feedback FeedbackStore
	// Notices, when set, follows statuses of notice messages (nil: only the log moves).
	Notices Notices

	// Visibility brings a failed record back after RetryBackoff instead of the
	// queue's visibility timeout (minutes): a status that overtook the sender's
	// record of its message, or a store that failed for a moment, is retried in
	// seconds. nil: the visibility timeout.
	Visibility queue.VisibilityChanger

	// Counters for what is acknowledged without being acted on; the log lines with
	// the same names feed CloudWatch metric filters.
	UnknownPhoneNumberIDs atomic.Int64
	UnknownSenders        atomic.Int64
}

// RetryBackoff is the wait before a failed inbound record is received again:
// seconds at first (the usual failure is a status that overtook its message's
// record by milliseconds), growing to a few minutes while storage stays down.
var RetryBackoff = queue.Backoff{Base: 2 * time.Second, Max: 3 * time.Minute, Jitter: 0.25}

// Handle is the Lambda handler for the inbound queue's event source mapping (which
// must enable ReportBatchItemFailures). It never returns an error: a failed record
// is reported as a batch item failure so the rest of the batch is not redelivered.
func (s *Service) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	c := queue.Consumer{Name: "inbound", Log: s.log(), Visibility: s.Visibility, Backoff: RetryBackoff}
	return c.Handle(ctx, ev, func(ctx context.Context, rec events.SQSMessage) queue.Result {
		if err := s.Process(ctx, []byte(rec.Body)); err != nil {
			s.log().Error("inbound record failed", "sqs_message_id", rec.MessageId,
				"receive_count", queue.ReceiveCount(rec), "error", err.Error())
			return queue.RetryWithBackoff(err.Error())
		}
		return queue.Ack()
	}), nil
}

// Process handles one webhook body. Every message and status in it is attempted;
// the error joins the failures of those that a retry may fix.
func (s *Service) Process(ctx context.Context, body []byte) error {
	n, err := whatsapp.ParseNotification(body)
	if err != nil {
		// The webhook endpoint checked the signature and that the body is JSON, so
		// this is Meta sending something new or a bug: failing it parks it in the DLQ
		// for a human instead of dropping it.
		return fmt.Errorf("inbox: %w", err)
	}
	var errs []error
	for _, entry := range n.Entry {
		for _, change := range entry.Changes {
			if change.Template != nil {
				if err := s.handleTemplate(ctx, entry, change); err != nil {
					errs = append(errs, err)
				}
				continue
			}
			if change.Field != whatsapp.FieldMessages {
				s.log().Info("inbound change ignored", "field", change.Field)
				continue
			}
			if err := s.processValue(ctx, change.Value); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Service) processValue(ctx context.Context, v whatsapp.Value) error {
	if len(v.Messages) == 0 && len(v.Statuses) == 0 && len(v.Errors) == 0 {
		return nil
	}
	c, err := s.Store.ClinicByPhoneNumberID(ctx, v.Metadata.PhoneNumberID)
	if errors.Is(err, fault.ErrNotFound) {
		// Acknowledged: a retry cannot make the number known, and the webhook endpoint
		// already answered Meta 200. Counted so a misrouted number is noticed.
		s.UnknownPhoneNumberIDs.Add(1)
		s.log().Warn("inbound_unknown_phone_number_id", "phone_number_id", v.Metadata.PhoneNumberID,
			"messages", len(v.Messages), "statuses", len(v.Statuses))
		return nil
	}
	if err != nil {
		return fmt.Errorf("inbox: clinic for phone_number_id %s: %w", v.Metadata.PhoneNumberID, err)
	}
	for _, e := range v.Errors {
		s.log().Warn("inbound webhook error", "clinic_id", c.ID, "error_code", e.Code, "error_title", e.Title)
	}
	var errs []error
	for _, m := range v.Messages {
		if err := s.handleMessage(ctx, c, v, m); err != nil {
			errs = append(errs, fmt.Errorf("inbox: message %s: %w", platform.Hash(m.ID), err))
		}
	}
	for _, st := range v.Statuses {
		if err := s.handleStatus(ctx, c, st); err != nil {
			errs = append(errs, fmt.Errorf("inbox: status %s %s: %w", st.Status, platform.Hash(st.ID), err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC()
	}
	return s.Clock.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}
