package outreach

import (
	"context"
	"log/slog"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/templatestate"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// TemplateGate is what the sender reads about templates before a send, and how it
// hands a reminder back to wait.
type TemplateGate interface {
	TemplateState(ctx context.Context, waba, name, lang string) (templatestate.State, error)
	DeferReminder(ctx context.Context, r reminder.Reminder, until time.Time, reason string) error
}

// TemplateRecheck is how long a reminder held back by its template waits before the
// sweep hands it to the sender again: Meta's first pause lasts 3 hours, and an
// approval is seen within this long.
const TemplateRecheck = 15 * time.Minute

// holdForTemplate keeps a reminder whose template Meta paused, disabled or
// re-categorised from reaching the Graph API: every such send would fail, and the
// failure is the template's, not the patient's. While the reminder is still useful it
// goes back to the due index (deferred, not failed, and the SQS job is acknowledged,
// so waiting never reaches the DLQ); once it is not, it is skipped with the
// template's reason. held=false lets the send go on.
func (s *Sender) holdForTemplate(ctx context.Context, j *sendJob, c clinic.Clinic, p appointment.Patient, rem reminder.Reminder, now time.Time) (outcome, bool, error) {
	if s.Templates == nil {
		return ack, false, nil
	}
	t, err := templateFor(c, rem.Kind, p.Language)
	if err != nil {
		return ack, false, nil // composeReminder reports it
	}
	st, err := s.Templates.TemplateState(ctx, c.WABAID, t.Name, t.Language)
	if err != nil {
		return ack, true, err
	}
	reason := st.Blocked()
	if reason == "" {
		return ack, false, nil
	}
	until := now.Add(s.TemplateRecheck)
	if !reminder.Useful(rem, until) {
		// It would be late by the next check: skipped now, with the template's reason.
		o, err := s.skip(ctx, j, reason)
		return o, true, err
	}
	if err := s.Templates.DeferReminder(context.WithoutCancel(ctx), rem, until, reason); err != nil {
		return ack, true, err
	}
	j.claimed = false
	j.log.LogAttrs(ctx, slog.LevelInfo, "sender.deferred", slog.String("reason", reason),
		slog.String("template", t.Name), slog.Time("until", until))
	return ack, true, nil
}

// holdPreparedForTemplate is the template gate for a prepared job that carries a
// template (an offer, a notice, a reply outside the window). It runs before the
// once-only claim, so a held job holds no claim. While the job is still useful at
// the next check it waits on the queue (requeued, not failed, so waiting never
// reaches the DLQ); once it is not, it is dropped with the template's reason. A job
// without an expiry waits only out a pause (Meta lifts those within hours); any
// other block drops it at once rather than let it circle forever.
func (s *Sender) holdPreparedForTemplate(ctx context.Context, j *sendJob, c clinic.Clinic, now time.Time) (outcome, bool, error) {
	msg := j.out.Message
	if s.Templates == nil || msg == nil || msg.Type != whatsapp.TypeTemplate || msg.Template == nil {
		return ack, false, nil
	}
	st, err := s.Templates.TemplateState(ctx, c.WABAID, msg.Template.Name, msg.Template.Language.Code)
	if err != nil {
		return ack, true, err
	}
	reason := st.Blocked()
	if reason == "" {
		return ack, false, nil
	}
	until := now.Add(s.TemplateRecheck)
	expires := j.out.ExpiresAt
	if (expires.IsZero() && reason != templatestate.ReasonPaused) || (!expires.IsZero() && !until.Before(expires)) {
		j.log.LogAttrs(ctx, slog.LevelInfo, "sender.skipped", slog.String("reason", reason),
			slog.String("template", msg.Template.Name))
		platform.Count(ctx, s.Logger, s.Clock, platform.MetricSendsByStatus, platform.DimStatus, "skipped")
		return ack, true, nil
	}
	j.log.LogAttrs(ctx, slog.LevelInfo, "sender.held", slog.String("reason", reason),
		slog.String("template", msg.Template.Name), slog.Time("until", until))
	return outcome{fail: true, delay: s.TemplateRecheck, reason: reason, wait: true}, true, nil
}
