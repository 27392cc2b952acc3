package notices

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/notice"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// JobPublisher puts jobs on the outbound queue (queue.ReminderOutbox).
type JobPublisher interface {
	PublishJobs(ctx context.Context, jobs ...outbound.Job) error
}

// Queued is the Outbox: a notice travels as a notice job on the outbound queue, so
// it takes its number's send budget at the lowest priority, waits out the clinic's
// quiet hours and pauses, and ends in the DLQ like every other job. The sender
// tells the notice what became of it through Tracker.
type Queued struct {
	Jobs JobPublisher
}

// EnqueueNotice publishes s's job. Publishing it again is harmless: the job's key
// is the notice's, which the sender sends once.
func (o Queued) EnqueueNotice(ctx context.Context, s Send) error {
	if err := o.Jobs.PublishJobs(ctx, Job(s)); err != nil {
		return fmt.Errorf("notices: publish %s: %w", s.Notice.ID, err)
	}
	return nil
}

// Job is the outbound job of a notice: its Ref is the notice id (the patient id
// travels as the job's PatientID), which Tracker and the message log read back.
func Job(s Send) outbound.Job {
	n, msg := s.Notice, s.Message
	return outbound.Job{Type: outbound.KindNotice, Job: reminder.Job{ClinicID: n.ClinicID, NotBefore: s.NotBefore},
		ContactKey: s.ContactKey, PatientID: n.PatientID, Key: "notice:" + n.ClinicID + ":" + n.ID, Message: &msg,
		ExpiresAt: s.ExpiresAt, WindowEndsAt: s.WindowEndsAt, Ref: n.ID}
}

// TrackerStore is what Tracker reads and writes (the DynamoDB store).
type TrackerStore interface {
	GetNotice(ctx context.Context, clinicID, patientID, id string) (notice.Notice, error)
	SetNoticeState(ctx context.Context, n notice.Notice, state notice.State, reason string, from ...notice.State) error
}

// Tracker moves a notice along with its message: the sender's completion hook for
// notice jobs (sent, or failed with why) and the inbox's for Meta's statuses.
// Every move is forward-only, so repeated or late calls change nothing.
type Tracker struct {
	Store  TrackerStore
	Events Events
	Clock  platform.Clock
	Log    *slog.Logger
}

func jobNotice(job outbound.Job) notice.Notice {
	return notice.Notice{ClinicID: job.ClinicID, PatientID: job.PatientID, ID: job.Ref}
}

// Sent records that Meta accepted the notice's message.
func (t *Tracker) Sent(ctx context.Context, job outbound.Job, wamid string) error {
	n := jobNotice(job)
	if err := t.move(ctx, n, notice.StateSent, "", notice.StateQueued); err != nil {
		return err
	}
	t.log().Info("notice.sent", "clinic_id", n.ClinicID, "notice_id", n.ID, platform.WAMID("wamid", wamid))
	return nil
}

// Failed records why the notice will never be sent and tells the clinic once
// (message.failed's id is derived from the notice id). A notice already sent is
// left alone: the failure was a later delivery's of a job that went out.
func (t *Tracker) Failed(ctx context.Context, job outbound.Job, reason string) error {
	n := jobNotice(job)
	if err := t.move(ctx, n, notice.StateFailed, reason, notice.StateQueued); err != nil {
		return err
	}
	stored, err := t.Store.GetNotice(ctx, n.ClinicID, n.PatientID, n.ID)
	if err != nil {
		return fmt.Errorf("notices: read %s: %w", n.ID, err)
	}
	if stored.State != notice.StateFailed {
		return nil
	}
	if t.Events != nil {
		// Published on every call that finds it failed: a retry after a lost publish
		// must still reach the clinic, which deduplicates by the event id.
		if err := t.Events.Publish(ctx, FailedEvent(stored, stored.Reason, t.now())); err != nil {
			return fmt.Errorf("notices: publish failure of %s: %w", n.ID, err)
		}
	}
	t.log().Warn("notice.failed", "clinic_id", n.ClinicID, "notice_id", n.ID, "kind", string(stored.Kind), "reason", stored.Reason)
	return nil
}

// deliveryFrom lists the states each of Meta's statuses moves a notice from; a
// feedback question already answered stays answered.
var deliveryFrom = map[string]struct {
	to   notice.State
	from []notice.State
}{
	whatsapp.StatusSent:      {notice.StateSent, []notice.State{notice.StateQueued}},
	whatsapp.StatusDelivered: {notice.StateDelivered, []notice.State{notice.StateQueued, notice.StateSent}},
	whatsapp.StatusRead:      {notice.StateRead, []notice.State{notice.StateQueued, notice.StateSent, notice.StateDelivered}},
	whatsapp.StatusFailed:    {notice.StateFailed, []notice.State{notice.StateQueued, notice.StateSent, notice.StateDelivered}},
}

// NoticeDelivery moves a notice to the status Meta reported for its message
// (sent, delivered, read, failed); reason is a failure's error class. The inbox
// tells the clinic of a failed message itself (message.failed with the notice id).
func (t *Tracker) NoticeDelivery(ctx context.Context, clinicID, patientID, noticeID, status, reason string) error {
	d, ok := deliveryFrom[status]
	if !ok {
		return nil
	}
	return t.move(ctx, notice.Notice{ClinicID: clinicID, PatientID: patientID, ID: noticeID}, d.to, reason, d.from...)
}

func (t *Tracker) move(ctx context.Context, n notice.Notice, to notice.State, reason string, from ...notice.State) error {
	err := t.Store.SetNoticeState(ctx, n, to, reason, from...)
	if err != nil && !errors.Is(err, fault.ErrConflict) {
		return fmt.Errorf("notices: move %s to %s: %w", n.ID, to, err)
	}
	return nil
}

func (t *Tracker) now() time.Time { return platform.NowOf(t.Clock) }

func (t *Tracker) log() *slog.Logger { return platform.LoggerOrDiscard(t.Log) }
