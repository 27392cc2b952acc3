package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// Message is one message to publish. ID names it in errors and must be unique
// within one Publish call; it is not sent (SQS assigns its own message id).
type Message struct {
	ID    string
	Body  []byte
	Delay time.Duration
	// GroupID is the message's tenant (a clinic id). On a standard queue it makes
	// SQS a fair queue: when one clinic has a backlog, SQS hands consumers the
	// other clinics' messages first, so their dwell time stays low. Empty: none.
	GroupID string
}

// SQS limits on one SendMessageBatch call.
const (
	maxBatchEntries = 10
	maxBatchBytes   = 256 * 1024
	maxDelay        = 15 * time.Minute
)

// batchSender is the one SQS call Publisher makes; tests inject failures through it
// because the local SQS cannot fail single entries on demand.
type batchSender interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Publisher sends messages to one queue in batches. Entries SQS rejects for its own
// reasons (throttling, internal errors) are retried a bounded number of times;
// entries rejected as the sender's fault are not, because resending cannot help.
type Publisher struct {
	client      batchSender
	url         string
	maxAttempts int
	backoff     time.Duration
}

// NewPublisher returns a Publisher for the queue at url.
func NewPublisher(client *sqs.Client, url string) *Publisher {
	return newPublisher(client, url)
}

func newPublisher(client batchSender, url string) *Publisher {
	return &Publisher{client: client, url: url, maxAttempts: 3, backoff: 50 * time.Millisecond}
}

// FailedMessage is one message Publish could not deliver.
type FailedMessage struct {
	ID          string
	Code        string
	Message     string
	SenderFault bool
}

// PublishError lists the messages that were not published; all others were.
// Callers use FailedIDs to undo their bookkeeping for exactly those.
type PublishError struct {
	Queue  string
	Failed []FailedMessage
}

func (e *PublishError) Error() string {
	parts := make([]string, 0, len(e.Failed))
	for _, f := range e.Failed {
		parts = append(parts, fmt.Sprintf("%s (%s: %s)", f.ID, f.Code, f.Message))
	}
	return fmt.Sprintf("queue: publish to %s: %d message(s) failed: %s", e.Queue, len(e.Failed), strings.Join(parts, "; "))
}

// FailedIDs returns the IDs of the messages that were not published.
func (e *PublishError) FailedIDs() []string {
	ids := make([]string, 0, len(e.Failed))
	for _, f := range e.Failed {
		ids = append(ids, f.ID)
	}
	return ids
}

// Publish sends msgs in batches of up to ten (and 256 KiB). It returns nil when
// every message was accepted, else a *PublishError naming each one that was not.
func (p *Publisher) Publish(ctx context.Context, msgs []Message) error {
	perr := &PublishError{Queue: queueName(p.url)}
	seen := make(map[string]bool, len(msgs))
	var valid []Message
	for _, m := range msgs {
		switch {
		case seen[m.ID]:
			return fmt.Errorf("queue: publish to %s: message id %q appears twice", perr.Queue, m.ID)
		case !validBody(m.Body):
			perr.Failed = append(perr.Failed, FailedMessage{ID: m.ID, Code: "InvalidBody",
				Message: "body must be non-empty text in the characters SQS accepts", SenderFault: true})
		default:
			valid = append(valid, m)
		}
		seen[m.ID] = true
	}
	for _, batch := range batches(valid) {
		perr.Failed = append(perr.Failed, p.sendBatch(ctx, batch)...)
	}
	if len(perr.Failed) > 0 {
		return perr
	}
	return nil
}

// batches groups messages by SQS's entry and size limits, keeping their order.
func batches(msgs []Message) [][]Message {
	var out [][]Message
	var cur []Message
	size := 0
	for _, m := range msgs {
		if len(cur) == maxBatchEntries || (len(cur) > 0 && size+len(m.Body) > maxBatchBytes) {
			out, cur, size = append(out, cur), nil, 0
		}
		cur = append(cur, m)
		size += len(m.Body)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// sendBatch sends one batch, retrying retryable failures, and returns what failed.
// Entry ids are positions because SQS restricts their characters and our IDs
// (reminder job ids) contain slashes.
func (p *Publisher) sendBatch(ctx context.Context, batch []Message) []FailedMessage {
	pending := make(map[string]Message, len(batch))
	for i, m := range batch {
		pending[strconv.Itoa(i)] = m
	}
	var failed []FailedMessage
	for attempt := 1; len(pending) > 0; attempt++ {
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(p.url)}
		for i := range batch {
			id := strconv.Itoa(i)
			m, ok := pending[id]
			if !ok {
				continue
			}
			e := types.SendMessageBatchRequestEntry{
				Id: aws.String(id), MessageBody: aws.String(string(m.Body)),
				DelaySeconds: int32(min(max(m.Delay, 0), maxDelay) / time.Second),
			}
			if validGroupID(m.GroupID) {
				e.MessageGroupId = aws.String(m.GroupID)
			}
			in.Entries = append(in.Entries, e)
		}
		out, err := p.client.SendMessageBatch(ctx, in)
		retry := map[string]FailedMessage{}
		if err != nil {
			// The whole call failed (the SDK already retried transport errors).
			for id, m := range pending {
				retry[id] = FailedMessage{ID: m.ID, Code: "RequestFailed", Message: err.Error()}
			}
		} else {
			for _, ok := range out.Successful {
				delete(pending, aws.ToString(ok.Id))
			}
			for _, f := range out.Failed {
				id := aws.ToString(f.Id)
				m, ok := pending[id]
				if !ok {
					continue
				}
				fm := FailedMessage{ID: m.ID, Code: aws.ToString(f.Code), Message: aws.ToString(f.Message), SenderFault: f.SenderFault}
				if f.SenderFault {
					failed = append(failed, fm)
					delete(pending, id)
					continue
				}
				retry[id] = fm
			}
		}
		if len(retry) == 0 {
			// Entries neither successful nor failed would be an SQS bug; do not spin.
			for _, m := range pending {
				failed = append(failed, FailedMessage{ID: m.ID, Code: "NoResult", Message: "SQS reported neither success nor failure"})
			}
			break
		}
		if attempt >= p.maxAttempts || ctx.Err() != nil || !wait(ctx, p.backoff*time.Duration(attempt)) {
			for _, f := range retry {
				failed = append(failed, f)
			}
			break
		}
	}
	return failed
}

// wait pauses for a retry backoff; false when the context ended first.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// validBody reports whether SQS accepts body: #x9 #xA #xD, #x20-#xD7FF,
// #xE000-#xFFFD and #x10000-#x10FFFF in valid UTF-8. Checking here names the one
// bad message instead of failing its whole batch.
func validBody(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

// validGroupID reports whether SQS accepts id as a MessageGroupId (1 to 128
// characters, ASCII letters, digits and punctuation). A group id is only a
// fairness hint: one SQS would refuse is left off rather than failing the message.
func validGroupID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// queueName is the last path element of a queue URL, for messages and errors.
func queueName(url string) string {
	url = strings.TrimRight(url, "/")
	if i := strings.LastIndex(url, "/"); i >= 0 {
		return url[i+1:]
	}
	return url
}

// ReminderOutbox puts outbound jobs on the outbound queue: due reminders from the
// sweep, and (PublishJobs) every other message Frontdesk sends.
type ReminderOutbox struct{ *Publisher }

// Enqueue publishes one message per job. On a *PublishError, FailedIDs are job IDs
// (reminder.Job.ID) so the sweep can put exactly those back in the due index.
func (o ReminderOutbox) Enqueue(ctx context.Context, jobs []reminder.Job) error {
	msgs := make([]Message, 0, len(jobs))
	for _, j := range jobs {
		body, err := json.Marshal(outbound.FromReminder(j))
		if err != nil {
			return fmt.Errorf("queue: encode reminder job %s: %w", j.ID(), err)
		}
		msgs = append(msgs, Message{ID: j.ID(), Body: body, GroupID: j.ClinicID})
	}
	return o.Publisher.Publish(ctx, msgs)
}

// Requeue publishes one job again as a new message, visible after delay (at most
// SQS's 15 minutes). A new message starts at receive count zero: a deferred job
// does not move toward the DLQ however often it waits.
func (o ReminderOutbox) Requeue(ctx context.Context, job reminder.Job, delay time.Duration) error {
	body, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("queue: encode reminder job %s: %w", job.ID(), err)
	}
	return o.Publisher.Publish(ctx, []Message{{ID: job.ID(), Body: body, Delay: delay, GroupID: job.ClinicID}})
}

// PublishJobs puts outbound jobs (replies, staff replies, offers, notices) on the
// outbound queue for the sender, which paces them with the number's other sends
// and re-checks opt-out, window and expiry before sending. A job's Key makes its
// message go out once, so publishing the same job twice is harmless. On a
// *PublishError, FailedIDs are outbound.Job.ID values.
func (o ReminderOutbox) PublishJobs(ctx context.Context, jobs ...outbound.Job) error {
	msgs := make([]Message, 0, len(jobs))
	for _, j := range jobs {
		body, err := json.Marshal(j)
		if err != nil {
			return fmt.Errorf("queue: encode outbound job %s: %w", j.ID(), err)
		}
		msgs = append(msgs, Message{ID: j.ID(), Body: body, GroupID: j.ClinicID})
	}
	return o.Publisher.Publish(ctx, msgs)
}

// EnqueueAfter publishes jobs, each visible after its delay (at most SQS's 15
// minutes). On a *PublishError, FailedIDs are the jobs' IDs (for reminders,
// reminder.Job.ID, as Enqueue's).
func (o ReminderOutbox) EnqueueAfter(ctx context.Context, jobs []outbound.Job, delays []time.Duration) error {
	msgs := make([]Message, 0, len(jobs))
	for i, j := range jobs {
		body, err := json.Marshal(j)
		if err != nil {
			return fmt.Errorf("queue: encode outbound job %s: %w", j.ID(), err)
		}
		m := Message{ID: j.ID(), Body: body, GroupID: j.ClinicID}
		if i < len(delays) {
			m.Delay = delays[i]
		}
		msgs = append(msgs, m)
	}
	return o.Publisher.Publish(ctx, msgs)
}

// RequeueJob is Requeue for any outbound job.
func (o ReminderOutbox) RequeueJob(ctx context.Context, job outbound.Job, delay time.Duration) error {
	body, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("queue: encode outbound job %s: %w", job.ID(), err)
	}
	return o.Publisher.Publish(ctx, []Message{{ID: job.ID(), Body: body, Delay: delay, GroupID: job.ClinicID}})
}

// EventOutbox puts clinic notifications on the ehr-outbox queue, grouped by clinic
// so that one clinic's backlog (a failing callback endpoint) does not delay others.
type EventOutbox struct{ *Publisher }

// Publish sends one message per event; the event id names it (and is the
// webhook-id the notifier signs, so a redelivery is recognisable by the clinic).
func (o EventOutbox) Publish(ctx context.Context, events ...clinic.Event) error {
	msgs := make([]Message, 0, len(events))
	for _, e := range events {
		body, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("queue: encode event %s: %w", e.ID, err)
		}
		msgs = append(msgs, Message{ID: e.ID, Body: body, GroupID: e.ClinicID})
	}
	return o.Publisher.Publish(ctx, msgs)
}

// InboundQueue parks verified WhatsApp webhook payloads for the inbound Lambda, so
// the webhook can answer Meta at once and nothing is lost if processing fails.
type InboundQueue struct{ *Publisher }

// Put publishes one payload as it arrived.
func (q InboundQueue) Put(ctx context.Context, payload []byte) error {
	return q.Publisher.Publish(ctx, []Message{{ID: "inbound", Body: SQSSafeJSON(payload)}})
}

// SQSSafeJSON rewrites the characters SQS refuses in a message body (U+FFFE, U+FFFF,
// control characters other than tab, newline and carriage return, invalid UTF-8) as
// JSON \u escapes. In valid JSON they can only occur inside strings, where the
// escape means the same text; so a patient's message with such a character is
// queued instead of being answered 503 (and retried by Meta for a week) forever.
func SQSSafeJSON(body []byte) []byte {
	if sqsSafe(body) {
		return body
	}
	out := make([]byte, 0, len(body)+16)
	for i := 0; i < len(body); {
		r, size := utf8.DecodeRune(body[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			out = append(out, `\ufffd`...)
		case allowedBySQS(r):
			out = append(out, body[i:i+size]...)
		default:
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += size
	}
	return out
}

func sqsSafe(body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	for _, r := range string(body) {
		if !allowedBySQS(r) {
			return false
		}
	}
	return true
}

// allowedBySQS is SQS's message character set: #x9 | #xA | #xD | #x20-#xD7FF |
// #xE000-#xFFFD | #x10000-#x10FFFF.
func allowedBySQS(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// Visibility changes how long a received message stays hidden, so a Lambda handler
// can give a failed item a growing backoff instead of the queue's fixed timeout.
type Visibility struct {
	client *sqs.Client
	url    string
}

// NewVisibility returns a Visibility for the queue at url.
func NewVisibility(client *sqs.Client, url string) *Visibility {
	return &Visibility{client: client, url: url}
}

// maxVisibility is SQS's upper bound for a visibility timeout.
const maxVisibility = 12 * time.Hour

// Delay hides the message for d from now (clamped to SQS's 0..12 h).
func (v *Visibility) Delay(ctx context.Context, receiptHandle string, d time.Duration) error {
	secs := int32(min(max(d, 0), maxVisibility) / time.Second)
	_, err := v.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(v.url), ReceiptHandle: aws.String(receiptHandle), VisibilityTimeout: secs,
	})
	if err != nil {
		return fmt.Errorf("queue: delay message on %s by %s: %w", queueName(v.url), d, err)
	}
	return nil
}
