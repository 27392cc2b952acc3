package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/idempotency"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Completion is told the outcome of a prepared job of one kind, so that the record
// the job came from (job.Ref: a notice, a staff message in its thread) follows it:
// the wamid once Meta accepted the message, or why it will never be sent (window_closed,
// opted_out, expired, a permanent Graph error class, retries_exhausted). A call may
// be repeated after a failure, so both must be idempotent; a Failed after Sent for
// the same job must change nothing.
type Completion interface {
	Sent(ctx context.Context, job outbound.Job, wamid string) error
	Failed(ctx context.Context, job outbound.Job, reason string) error
}

// ReasonQuietHours is why a notice waits, or why it expired waiting.
const ReasonQuietHours = "quiet_hours"

func (s *Sender) completion(k outbound.Kind) Completion {
	if s.Completions == nil {
		return nil
	}
	return s.Completions[k]
}

// refuse settles a prepared job that will never be sent. Its key is claimed and
// completed as failed before the origin hears why, so a redelivered job, or one a
// previous delivery already sent, is not reported (nor reported failed) twice.
// held says the caller already holds the claim. A kind without a completion hook
// is only acknowledged, as before hooks existed.
func (s *Sender) refuse(ctx context.Context, j *sendJob, reason string, held bool) outcome {
	hook := s.completion(j.out.MessageKind())
	if hook == nil || s.Claims == nil {
		return ack
	}
	key := j.out.Key
	if !held {
		done, err := s.Claims.ClaimIdempotency(ctx, key, s.Lease)
		switch {
		case errors.Is(err, fault.ErrInProgress):
			return outcome{fail: true, delay: s.Lease, reason: "claim_held", wait: true}
		case err != nil:
			return s.preparedRetry(ctx, j, err)
		case done != nil:
			return ack
		}
	}
	bg := context.WithoutCancel(ctx)
	if err := retryInPlace(func() error { return hook.Failed(bg, j.out, reason) }); err != nil {
		// Handed back with its claim released: a later delivery, or the DLQ, tells it.
		if rerr := s.Claims.ReleaseIdempotency(bg, key); rerr != nil {
			j.log.LogAttrs(ctx, slog.LevelWarn, "sender.release_failed", slog.String("error", rerr.Error()))
		}
		return s.preparedRetry(ctx, j, err)
	}
	if err := s.Claims.CompleteIdempotency(bg, key, failedClaim, preparedDoneTTL); err != nil {
		j.log.LogAttrs(ctx, slog.LevelWarn, "sender.claim_not_completed", slog.String("error", err.Error()))
	}
	j.log.LogAttrs(ctx, slog.LevelInfo, "sender.refused", slog.String("reason", reason))
	return ack
}

// failedClaim marks a prepared message that failed for good.
var failedClaim = idempotency.Response{Status: 500}

// completeSent tells the origin the wamid. The message is out: a failure here is
// logged with the alert key, never retried through the queue (that would send again).
func (s *Sender) completeSent(ctx context.Context, j *sendJob, wamid string) {
	hook := s.completion(j.out.MessageKind())
	if hook == nil {
		return
	}
	bg := context.WithoutCancel(ctx)
	if err := retryInPlace(func() error { return hook.Sent(bg, j.out, wamid) }); err != nil {
		j.log.LogAttrs(ctx, slog.LevelError, "sender.unrecorded", slog.String("alert", AlertUnrecorded),
			platform.WAMID("wamid", wamid), slog.String("error", err.Error()))
	}
}

// waitOutQuietHours holds a notice during the clinic's quiet hours: it comes back
// when they end if it is still useful then, and fails "expired" otherwise.
// Replies, staff replies and offers answer or serve the patient now and go out.
func (s *Sender) waitOutQuietHours(ctx context.Context, j *sendJob, c clinic.Clinic, now time.Time) (outcome, bool) {
	if j.out.MessageKind() != outbound.KindNotice {
		return ack, false
	}
	loc, err := c.Location()
	if err != nil {
		return ack, false
	}
	_, until, quiet := c.QuietHours.Period(now, loc)
	if !quiet {
		return ack, false
	}
	if !j.out.ExpiresAt.IsZero() && !until.Before(j.out.ExpiresAt) {
		j.log.LogAttrs(ctx, slog.LevelInfo, "sender.skipped", slog.String("reason", outbound.ReasonExpired),
			slog.String("because", ReasonQuietHours))
		return s.refuse(ctx, j, outbound.ReasonExpired, false), true
	}
	return outcome{fail: true, delay: until.Sub(now) + jitter(time.Minute), reason: ReasonQuietHours, wait: true}, true
}

// tellPreparedDeadLettered tells a prepared job's origin that every retry failed
// (the job is in the DLQ). A redrive can still send it; the origin's hook decides
// whether a later "sent" may move it again.
func (s *Sender) tellPreparedDeadLettered(ctx context.Context, rec events.SQSMessage) bool {
	var job outbound.Job
	if json.Unmarshal([]byte(rec.Body), &job) != nil || job.MessageKind() == outbound.KindReminder {
		return false
	}
	hook := s.completion(job.MessageKind())
	if hook == nil {
		return true
	}
	bg := context.WithoutCancel(ctx)
	if err := retryInPlace(func() error { return hook.Failed(bg, job, ReasonRetriesExhausted) }); err != nil {
		s.Logger.LogAttrs(ctx, slog.LevelError, "sender.unrecorded", slog.String("alert", AlertUnrecorded),
			slog.String("message_id", rec.MessageId), slog.String("error", err.Error()))
	}
	return true
}
