package outreach

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/idempotency"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// ReasonNumberBudget is the deferral reason of a job whose number's budget was spent.
const ReasonNumberBudget = "number_budget"

// preparedDoneTTL keeps a prepared message's "sent" claim longer than its job can
// live anywhere (queue retention, DLQ retention and a redrive).
const preparedDoneTTL = 20 * 24 * time.Hour

// maxPreparedAttempts bounds the retries of a prepared message without an expiry.
const maxPreparedAttempts = 20

// malformed says why a decoded job can never be handled, or "".
func malformed(j outbound.Job, decodeErr error) string {
	switch {
	case decodeErr != nil:
		return decodeErr.Error()
	case j.ClinicID == "":
		return "missing clinicId"
	case j.MessageKind() == outbound.KindReminder:
		if j.AppointmentID == "" || j.Kind == "" {
			return "missing clinicId, appointmentId or kind"
		}
	case !j.Type.Valid():
		return "unknown type"
	case j.Message == nil || (j.Message.To == "" && j.Message.Recipient == "") || j.Key == "":
		return "missing message, recipient or key"
	}
	return ""
}

// NumberRate is the clinic's number's messages per second.
func (s *Sender) NumberRate(c clinic.Clinic) int {
	if c.MessagesPerSecond > 0 {
		return c.MessagesPerSecond
	}
	return int(s.MessagesPerSecond)
}

// takeBudget takes one send of the clinic's number's shared budget for the job,
// just before the Graph call. spent means the budget is gone for now and o is the
// job's deferral: a refused job takes a place at the end of the number's line (it
// comes back when the sends queued before it had their turn, at least a second
// later, SQS's shortest delay). A job back for its place first books one of the
// next windows, up to its place's, and waits for it; only when they are full too
// does it go to the end of the line again (or, when the line ends within the
// lookahead, book a window up to its new place). It does not come back within a
// second or two: a line that runs a tenth faster than the budget would then keep a
// surplus on the queue that grows as long as the backlog lasts.
func (s *Sender) takeBudget(ctx context.Context, j *sendJob, c clinic.Clinic) (o outcome, spent bool, err error) {
	if s.Pacer == nil {
		return ack, false, nil
	}
	rate := s.NumberRate(c)
	now := s.Clock.Now()
	ceiling := outbound.Ceiling(rate, j.out.MessageKind().Priority())
	w := outbound.WindowStart(now)
	if j.now {
		return s.bookAhead(ctx, j, c, w, ceiling)
	}
	ok, err := s.Pacer.TakeSendSlot(ctx, c.PhoneNumberID, w, ceiling)
	if err != nil || ok {
		return ack, err != nil, err
	}
	tried := 0
	if j.out.Paced {
		// Back for its place, but SQS (whole-second delays) may hand it over up to a
		// second before the place comes up: it books one of the next windows, at most
		// SlotLookahead, and waits for it in its own goroutine; the batch's other jobs
		// go on. A job that knows its place (handed over as its place's window opens,
		// or sent back to the line) books no window past its place's. While a backlog
		// drains every window the lookahead reaches is booked, so a job that booked
		// the last one would hold its sender instance for most of a second, and a
		// whole second's jobs held at once take every instance.
		tried = placeLookahead(j.out.Place, w, s.SlotLookahead)
		if ok, err := s.bookWindows(ctx, c.PhoneNumberID, w, 1, tried, ceiling); ok || err != nil {
			return ack, err != nil, err
		}
	}
	place, err := s.Pacer.TakeQueueSlots(ctx, c.PhoneNumberID, now, lineSpacing(rate), 1)
	if err != nil {
		return ack, true, err
	}
	if reach := windowsAhead(place, w); j.out.Paced && !j.out.Place.IsZero() &&
		reach <= min(s.SlotLookahead, maxSlotLookahead) {
		// The line ends within reach (the last jobs of a backlog): the job books a
		// window up to its new place rather than come back a whole second later; the
		// place it took only spaces the line by one.
		if ok, err := s.bookWindows(ctx, c.PhoneNumberID, w, tried+1, reach, ceiling); ok || err != nil {
			return ack, err != nil, err
		}
	}
	delay := secondsUntil(now, place)
	j.log.LogAttrs(ctx, slog.LevelDebug, "sender.budget_spent", slog.String("phone_number_id", c.PhoneNumberID),
		slog.Int64("delay_ms", delay.Milliseconds()))
	return outcome{fail: true, delay: delay, reason: ReasonNumberBudget, wait: true, paced: true, place: place}, true, nil
}

// bookWindows takes a send in the first of the windows from..to after w with room
// and waits for it to open; ok reports it got one (and its wait ended).
func (s *Sender) bookWindows(ctx context.Context, phoneNumberID string, w time.Time, from, to, ceiling int) (ok bool, err error) {
	for k := from; k <= to; k++ {
		window := w.Add(time.Duration(k) * outbound.Window)
		ok, err := s.Pacer.TakeSendSlot(ctx, phoneNumberID, window, ceiling)
		if err != nil {
			return false, err
		}
		if ok {
			return true, s.Wait(ctx, window.Sub(s.Clock.Now()))
		}
	}
	return false, nil
}

// placeLookahead is how many windows after the current one w a job whose place
// comes up at place may book: those up to its place's, at most lookahead (and
// maxSlotLookahead). A job without a place (queued before places were carried)
// may book lookahead windows.
func placeLookahead(place, w time.Time, lookahead int) int {
	n := min(lookahead, maxSlotLookahead)
	if !place.IsZero() {
		n = min(n, windowsAhead(place, w))
	}
	return max(n, 0)
}

// windowsAhead is how many budget windows after w the one holding t starts.
func windowsAhead(t, w time.Time) int { return int(outbound.WindowStart(t).Sub(w) / outbound.Window) }

// secondsUntil is the whole-second delay (SQS's unit) that brings a job back within
// half a second of place, never sooner than a second from now. One that comes back
// early may wait for a window up to its place's; one that comes back late takes the
// current window or goes back to the line. (A delay SQS truncated would bring every
// job back up to a second early, to wait in a sender instance; one rounded up would
// bring every job late, and the last second of a backlog would go out half empty.)
func secondsUntil(now, place time.Time) time.Duration {
	return max(place.Sub(now).Round(time.Second), time.Second)
}

// bookAhead takes a slot for a job sent in its caller's process: the first window
// with room among the current one and the next replyLookahead, waited for (at most
// a second). None: the job is deferred like a queued job that found the budget spent.
func (s *Sender) bookAhead(ctx context.Context, j *sendJob, c clinic.Clinic, w time.Time, ceiling int) (outcome, bool, error) {
	for range replyLookahead + 1 {
		ok, err := s.Pacer.TakeSendSlot(ctx, c.PhoneNumberID, w, ceiling)
		if err != nil {
			return ack, true, err
		}
		if ok {
			if wait := w.Sub(s.Clock.Now()); wait > 0 {
				return ack, false, s.Wait(ctx, wait)
			}
			return ack, false, nil
		}
		w = w.Add(outbound.Window)
	}
	j.log.LogAttrs(ctx, slog.LevelDebug, "sender.budget_spent", slog.String("phone_number_id", c.PhoneNumberID))
	return outcome{fail: true, delay: time.Second + jitter(time.Second), reason: ReasonNumberBudget, wait: true, paced: true}, true, nil
}

// replyLookahead is how far ahead a job sent in its caller's process (a patient's
// reply) may book its number's budget: one window further than any queued job may
// (maxSlotLookahead), so a reply goes out within a second of being written, ahead
// of the messages still queued.
const replyLookahead = 4

// sendPrepared sends a job that carries its message (a reply, a staff reply, an
// offer, a notice), off the queue.
func (s *Sender) sendPrepared(ctx context.Context, j *sendJob, clinics *clinicCache) outcome {
	c, err := clinics.get(ctx, j.out.ClinicID)
	if errors.Is(err, fault.ErrNotFound) {
		j.log.LogAttrs(ctx, slog.LevelError, "sender.clinic_missing", slog.String("alert", AlertMissingClinic))
		return ack
	}
	if err != nil {
		return s.preparedRetry(ctx, j, err)
	}
	return s.sendPreparedFrom(ctx, j, c)
}

// sendPreparedFrom sends a prepared job from the clinic's number, off the queue or
// in its caller's process. The checks run in order, each a reason not to send now:
// pause, opt-out / window / usefulness, the template's state (before the claim, so
// a held job holds no claim), the once-only claim, budget, pair pacing.
func (s *Sender) sendPreparedFrom(ctx context.Context, j *sendJob, c clinic.Clinic) outcome {
	job := &j.out
	now := s.Clock.Now()
	if until, ok := s.pausedUntil(c.ID); ok {
		return outcome{fail: true, delay: until.Sub(now), reason: "clinic_paused", wait: true}
	}
	if o, held := s.waitOutQuietHours(ctx, j, c, now); held {
		return o
	}
	// A message by business-scoped user id has no number: the contact's key (its
	// number when it has one) names whose STOP holds.
	address := job.Message.To
	if address == "" {
		address = job.ContactKey
	}
	number, err := s.Store.ContactOfPhone(ctx, c.ID, address)
	if err != nil {
		return s.preparedRetry(ctx, j, err)
	}
	if why := job.WhyNot(now, job.HeldByOptOut(number.Statements())); why != "" {
		j.log.LogAttrs(ctx, slog.LevelInfo, "sender.skipped", slog.String("reason", why))
		platform.Count(ctx, s.Logger, s.Clock, platform.MetricSendsByStatus, platform.DimStatus, "skipped")
		return s.refuse(ctx, j, why, false)
	}
	// A template Meta paused, disabled or re-categorised holds the job back before
	// the claim, as it holds reminders back.
	if o, held, err := s.holdPreparedForTemplate(ctx, j, c, now); err != nil {
		return s.preparedRetry(ctx, j, err)
	} else if held {
		return o
	}
	if s.Claims == nil {
		return s.preparedRetry(ctx, j, errors.New("outreach: no claimer for prepared messages"))
	}
	done, err := s.Claims.ClaimIdempotency(ctx, job.Key, s.Lease)
	switch {
	case errors.Is(err, fault.ErrInProgress):
		// Another delivery is sending it; come back after its lease in case it dies.
		return outcome{fail: true, delay: s.Lease, reason: "claim_held", wait: true}
	case err != nil:
		return s.preparedRetry(ctx, j, err)
	case done != nil:
		j.log.LogAttrs(ctx, slog.LevelInfo, "sender.dropped", slog.String("reason", "already_sent"))
		return ack
	}
	bg := context.WithoutCancel(ctx)
	release := func() {
		if err := s.Claims.ReleaseIdempotency(bg, job.Key); err != nil {
			j.log.LogAttrs(ctx, slog.LevelWarn, "sender.release_failed", slog.String("error", err.Error()))
		}
	}
	// The number's slot before the patient's pair slot, which a job sent back to wait
	// for the budget must not hold.
	if o, spent, err := s.takeBudget(ctx, j, c); err != nil {
		release()
		return s.preparedRetry(ctx, j, err)
	} else if spent {
		release()
		return o
	}
	if job.PatientID != "" {
		wait, err := s.Store.ReservePairSlot(ctx, job.ClinicID, job.PatientID, now, s.PairGap)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			release()
			return s.preparedRetry(ctx, j, err)
		}
		// A patient who just wrote gets the answer now (Meta tolerates a short burst
		// to one recipient); a slot it took still spaces the messages queued after it.
		if wait > 0 && !j.now {
			release()
			return outcome{fail: true, delay: wait + jitter(time.Second), reason: "pair_pacing", wait: true}
		}
	}
	wamid, err := s.sendOnce(ctx, c.PhoneNumberID, *job.Message)
	if err != nil {
		class := whatsapp.Classify(err)
		j.log.LogAttrs(ctx, slog.LevelWarn, "sender.retry", slog.String("class", class.String()), slog.String("error", err.Error()))
		switch {
		case class == whatsapp.ClassAuth && j.now:
			// Not this sender's queue to halt: the caller retries, and the sender's
			// own jobs halt it.
			release()
			return retry(0, class.String())
		case class == whatsapp.ClassAuth:
			release()
			return s.halt(ctx, j, err)
		case class.Retryable() || class == whatsapp.ClassThroughput || class == whatsapp.ClassPairRate:
			release()
			job.Attempts++
			// A job that stops being useful at some point waits out an outage of any
			// length, as reminders do; WhyNot ends it then.
			if job.Attempts >= maxPreparedAttempts && job.ExpiresAt.IsZero() {
				break
			}
			return outcome{fail: true, delay: s.Backoff(job.Attempts), reason: class.String(), wait: true}
		}
		// Sending it again cannot succeed: keep it from being tried again.
		j.log.LogAttrs(ctx, slog.LevelError, "sender.failed", slog.String("class", class.String()), slog.Int("attempts", job.Attempts))
		platform.Count(ctx, s.Logger, s.Clock, platform.MetricSendsByStatus, platform.DimStatus, "failed")
		reason := class.String()
		if job.Attempts >= maxPreparedAttempts {
			reason = ReasonRetriesExhausted
		}
		if s.completion(job.MessageKind()) != nil {
			return s.refuse(ctx, j, reason, true)
		}
		if cerr := s.Claims.CompleteIdempotency(bg, job.Key, failedClaim, preparedDoneTTL); cerr != nil {
			j.log.LogAttrs(ctx, slog.LevelWarn, "sender.claim_not_completed", slog.String("error", cerr.Error()))
		}
		return ack
	}
	// Sent: failing from here on would only risk sending it again. The origin
	// first, then the message log: the inbox applies Meta's statuses once the log
	// has the message, and they must then find the origin (a thread message) moved.
	// Meta's first status follows the send within milliseconds and is retried only
	// after the inbound queue's visibility timeout, so the claim (still held against
	// a duplicate delivery) is completed after these two writes.
	s.completeSent(ctx, j, wamid)
	if j.onSent != nil {
		j.onSent(bg, wamid)
	}
	j.wamid = wamid
	noticeID := ""
	if job.MessageKind() == outbound.KindNotice {
		noticeID = job.Ref
	}
	logged := retryInPlace(func() error {
		_, err := s.Store.PutMessage(bg, messagelog.Record{WAMID: wamid, Direction: messagelog.Outbound, ClinicID: job.ClinicID,
			PatientID: job.PatientID, AppointmentID: job.AppointmentID, NoticeID: noticeID, Type: job.Message.Type, Status: messagelog.StatusAccepted, CreatedAt: now, UpdatedAt: now})
		return err
	})
	if err := retryInPlace(func() error {
		return s.Claims.CompleteIdempotency(bg, job.Key, idempotency.Response{Status: 200, Body: []byte(wamid)}, preparedDoneTTL)
	}); err != nil || logged != nil {
		j.log.LogAttrs(ctx, slog.LevelError, "sender.unrecorded", slog.String("alert", AlertUnrecorded),
			platform.WAMID("wamid", wamid), slog.String("error", errors.Join(logged, err).Error()))
		return ack
	}
	j.log.LogAttrs(ctx, slog.LevelInfo, "sender.sent", platform.WAMID("wamid", wamid), slog.String("type", job.Message.Type))
	return ack
}

// preparedRetry hands a prepared job back after an infrastructure failure: it
// spends a receive, so storage that stays down ends in the DLQ.
func (s *Sender) preparedRetry(ctx context.Context, j *sendJob, err error) outcome {
	s.logRetry(ctx, j, "error", 0, err)
	return retry(s.Backoff(j.receives), err.Error())
}

// lineSpacing books a number's line a tenth faster than its budget: SQS hands jobs
// back up to a second early or late, and a few spare arrivals keep every window full.
func lineSpacing(rate int) time.Duration { return time.Second * 10 / time.Duration(max(rate, 1)*11) }

// maxSlotLookahead bounds how long a job at its place may wait for a window: under
// a second, so a wait never outlasts what SQS's delays could do instead.
const maxSlotLookahead = 3

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
