package sweep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/notices"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// Schedule is what EventBridge runs every minute: the reminder sweep (with its
// reaper), then the notices whose time came (a notice accepted in quiet hours, a
// recall, a feedback question). The notices run after the sweep so that reminders,
// which are useful only until the visit, go first.
type Schedule struct {
	Sweeper *outreach.Sweeper
	Notices *notices.Dispatcher
	Log     *slog.Logger
}

// Handle is the Lambda entry point. A returned error makes EventBridge retry the
// invocation, which is safe: both steps claim their work with conditional writes.
func (s *Schedule) Handle(ctx context.Context, ev events.CloudWatchEvent) error {
	err := s.Sweeper.Handle(ctx, ev)
	if s.Notices != nil && ctx.Err() == nil {
		if _, nerr := s.Notices.Dispatch(ctx); nerr != nil {
			s.log().Error("notices.dispatch_failed", "event_id", ev.ID, "error", nerr.Error())
			err = errors.Join(err, nerr)
		}
	}
	return err
}

func (s *Schedule) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// NoticeStore is what the notice dispatch reads and writes (dynamo.Store).
type NoticeStore interface {
	notices.Store
	notices.DueStore
	notices.ClinicReader
}

// NewNotices builds the dispatch of due notices onto outbox, telling the clinic
// through events about those that cannot be sent.
func NewNotices(store NoticeStore, outbox notices.Outbox, events notices.Events, clock platform.Clock, log *slog.Logger) *notices.Dispatcher {
	svc := &notices.Service{Store: store, Outbox: outbox, Events: events, Clock: clock, Log: log}
	return &notices.Dispatcher{Service: svc, Due: store, Clinics: store}
}

// noticeJobs puts a due notice on the outbound queue as a notice job, which the
// sender paces with the number's other sends and sends once per key. The key is
// the one the ehr-api's immediate send claims, so a notice both paths hand on is
// sent once.
type noticeJobs struct{ Outbox queue.ReminderOutbox }

var _ notices.Outbox = noticeJobs{}

func (o noticeJobs) EnqueueNotice(ctx context.Context, s notices.Send) error {
	msg := s.Message
	job := outbound.Job{Type: outbound.KindNotice, Job: reminder.Job{ClinicID: s.Notice.ClinicID},
		ContactKey: s.ContactKey, PatientID: s.Notice.PatientID, Key: "notice:" + s.Notice.ClinicID + ":" + s.Notice.ID,
		Message: &msg, ExpiresAt: s.ExpiresAt, WindowEndsAt: s.WindowEndsAt}
	if err := o.Outbox.PublishJobs(ctx, job); err != nil {
		return fmt.Errorf("sweep: publish notice %s: %w", s.Notice.ID, err)
	}
	return nil
}
