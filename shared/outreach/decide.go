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
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

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
	now := s.Clock.Now()
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
	go func() { defer wg.Done(); claimErr = s.Store.ClaimSend(ctx, rem, now.Add(s.Lease)) }()
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
			o2.paced, o2.place = o2.wait, o.place
			return o2, err
		}
	}
	wait, err := s.Store.ReservePairSlot(ctx, job.ClinicID, a.PatientID, now, s.PairGap)
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
	ev := clinic.NewMessageFailed(eventID(job, ReasonExpired), job.ClinicID, s.Clock.Now(), clinic.MessageFailed{
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
