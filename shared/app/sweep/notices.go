package sweep

import (
	"context"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/notices"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/waitlist"
)

// Schedule is what EventBridge runs every minute: the reminder sweep (with its
// reaper), then the notices whose time came (a notice accepted in quiet hours, a
// recall, a feedback question), then the waitlist step (lapsed holds, due waves of
// offers). Reminders, useful only until the visit, go first.
type Schedule struct {
	Sweeper  *outreach.Sweeper
	Notices  *notices.Dispatcher
	Waitlist *waitlist.Sweep
	Log      *slog.Logger
}

// Handle is the Lambda entry point. A returned error makes EventBridge retry the
// invocation, which is safe: every step claims its work with conditional writes;
// one step failing does not skip the others.
func (s *Schedule) Handle(ctx context.Context, ev events.CloudWatchEvent) error {
	err := s.Sweeper.Handle(ctx, ev)
	if s.Notices != nil && ctx.Err() == nil {
		if _, nerr := s.Notices.Dispatch(ctx); nerr != nil {
			s.log().Error("notices.dispatch_failed", "event_id", ev.ID, "error", nerr.Error())
			err = errors.Join(err, nerr)
		}
	}
	if s.Waitlist != nil && ctx.Err() == nil {
		if werr := s.Waitlist.Run(ctx); werr != nil {
			s.log().Error("waitlist_sweep.failed", "event_id", ev.ID, "error", werr.Error())
			err = errors.Join(err, werr)
		}
	}
	return err
}

func (s *Schedule) log() *slog.Logger { return platform.LoggerOrDiscard(s.Log) }

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
