package outreach

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

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
	ctx, cancel := context.WithTimeout(ctx, s.SendTimeout)
	defer cancel()
	return s.Messenger.Send(ctx, phoneNumberID, msg)
}

func (s *Sender) recordSent(ctx context.Context, j *sendJob, a appointment.Appointment, wamid string) outcome {
	// The send happened: the records must be written even if the invocation is being
	// cancelled, and a failure here must not send again (see the type's comment).
	bg := context.WithoutCancel(ctx)
	now := s.Clock.Now()
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
		return s.deferClaimed(ctx, j, s.Backoff(j.rem.Attempts+1), class.String(), code, true)
	case whatsapp.ClassThroughput:
		// Not the message's fault: slow the number down and come back soon.
		s.slowDown(c.PhoneNumberID)
		j.log.LogAttrs(ctx, slog.LevelWarn, "sender.throughput", slog.String("phone_number_id", c.PhoneNumberID),
			slog.Int("code", code))
		return s.deferClaimed(ctx, j, jitter(2*time.Second), class.String(), code, true)
	case whatsapp.ClassPairRate:
		// Only this recipient is too busy: push its slot and retry after the gap.
		j.log.LogAttrs(ctx, slog.LevelWarn, "sender.pair_rate", slog.Int("code", code))
		return s.deferClaimed(ctx, j, s.PairGap+jitter(s.PairGap), class.String(), code, true)
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
	ev := clinic.NewMessageFailed(eventID(job, "failed"), job.ClinicID, s.Clock.Now(), clinic.MessageFailed{
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
