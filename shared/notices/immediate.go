package notices

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/idempotency"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/notice"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// Messenger sends one WhatsApp message from a clinic's number (whatsapp.Client).
type Messenger interface {
	Send(ctx context.Context, phoneNumberID string, msg whatsapp.Message) (string, error)
}

// SendStore is what an immediate send records (the DynamoDB store).
type SendStore interface {
	ClaimIdempotency(ctx context.Context, key string, ttl time.Duration) (*idempotency.Response, error)
	CompleteIdempotency(ctx context.Context, key string, resp idempotency.Response, ttl time.Duration) error
	ReleaseIdempotency(ctx context.Context, key string) error
	SetNoticeState(ctx context.Context, n notice.Notice, state notice.State, reason string, from ...notice.State) error
	PutMessage(ctx context.Context, m messagelog.Record) (bool, error)
}

// Immediate is the Outbox until notices ride the shared outbound queue: it sends
// the notice through the Graph API at once, claimed under the notice id so a
// retried request sends it once, the way the inbox sends its replies. It does not
// take the number's send budget or wait out quiet hours: a notice accepted in the
// clinic's quiet hours stays queued (see Accept), and volume is bounded by the
// EHR's request rate.
type Immediate struct {
	Store     SendStore
	Messenger Messenger
	Events    Events
	Clock     platform.Clock
	Log       *slog.Logger
}

// Claims on immediate sends: a lease longer than one Graph call, and the done
// marker kept past the notice's usefulness.
const (
	sendLease = 30 * time.Second
	sendDone  = Useful + 24*time.Hour
)

// EnqueueNotice sends s now. A failure a retry may fix is returned (the request
// answers 5xx and the EHR retries it under the same webhook-id); one it cannot fix
// fails the notice and tells the clinic.
func (o *Immediate) EnqueueNotice(ctx context.Context, s Send) error {
	n := s.Notice
	if !o.Clock.Now().Before(s.ExpiresAt) {
		return o.failed(ctx, n, "expired")
	}
	key := "notice:" + n.ClinicID + ":" + n.ID
	done, err := o.Store.ClaimIdempotency(ctx, key, sendLease)
	if err != nil {
		return fmt.Errorf("notices: claim %s: %w", n.ID, err)
	}
	if done != nil {
		return nil
	}
	wamid, err := o.Messenger.Send(ctx, s.PhoneNumberID, s.Message)
	if err == nil {
		return o.sent(ctx, key, s, wamid)
	}
	bg := context.WithoutCancel(ctx)
	class := whatsapp.Classify(err)
	if class.Retryable() || class == whatsapp.ClassAuth || class == whatsapp.ClassThroughput || class == whatsapp.ClassPairRate {
		if rerr := o.Store.ReleaseIdempotency(bg, key); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return fmt.Errorf("notices: send %s: %w", n.ID, err)
	}
	if cerr := o.Store.CompleteIdempotency(bg, key, idempotency.Response{Status: 500}, sendDone); cerr != nil {
		o.log().Warn("notice.claim_not_completed", "clinic_id", n.ClinicID, "notice_id", n.ID, "error", cerr.Error())
	}
	return o.failed(ctx, n, class.String())
}

func (o *Immediate) sent(ctx context.Context, key string, s Send, wamid string) error {
	bg := context.WithoutCancel(ctx)
	n, now := s.Notice, o.Clock.Now()
	if err := o.Store.CompleteIdempotency(bg, key, idempotency.Response{Status: 200, Body: []byte(wamid)}, sendDone); err != nil {
		o.log().Error("notice.unrecorded", "clinic_id", n.ClinicID, "notice_id", n.ID, platform.WAMID("wamid", wamid), "error", err.Error())
	}
	if _, err := o.Store.PutMessage(bg, messagelog.Record{WAMID: wamid, Direction: messagelog.Outbound, ClinicID: n.ClinicID,
		PatientID: n.PatientID, AppointmentID: n.AppointmentID, Type: s.Message.Type, Status: messagelog.StatusAccepted,
		CreatedAt: now, UpdatedAt: now}); err != nil {
		o.log().Error("notice.unrecorded", "clinic_id", n.ClinicID, "notice_id", n.ID, platform.WAMID("wamid", wamid), "error", err.Error())
	}
	if err := o.Store.SetNoticeState(bg, n, notice.StateSent, "", notice.StateQueued); err != nil && !errors.Is(err, fault.ErrConflict) {
		return fmt.Errorf("notices: record send of %s: %w", n.ID, err)
	}
	o.log().Info("notice.sent", "clinic_id", n.ClinicID, "notice_id", n.ID, "kind", string(n.Kind), platform.WAMID("wamid", wamid))
	return nil
}

func (o *Immediate) failed(ctx context.Context, n notice.Notice, reason string) error {
	bg := context.WithoutCancel(ctx)
	if err := o.Store.SetNoticeState(bg, n, notice.StateFailed, reason, notice.StateQueued); err != nil && !errors.Is(err, fault.ErrConflict) {
		return fmt.Errorf("notices: fail %s: %w", n.ID, err)
	}
	if o.Events != nil {
		if err := o.Events.Publish(bg, FailedEvent(n, reason, o.Clock.Now())); err != nil {
			return fmt.Errorf("notices: publish failure of %s: %w", n.ID, err)
		}
	}
	o.log().Warn("notice.failed", "clinic_id", n.ClinicID, "notice_id", n.ID, "kind", string(n.Kind), "reason", reason)
	return nil
}

func (o *Immediate) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}
