package handoff

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/thread"
)

// TrackerStore is what Tracker writes (dynamo.Store).
type TrackerStore interface {
	MarkThreadMessage(ctx context.Context, clinicID string, m thread.Message) error
}

// Events tells the clinic that a staff message will not go out (queue.EventOutbox).
type Events interface {
	Publish(ctx context.Context, evs ...clinic.Event) error
}

// Tracker is the sender's completion hook for staff_reply jobs: the staff message
// in its thread follows its job, accepted with its wamid (which links Meta's later
// statuses to it) or failed with the reason, where staff and the API see it; an
// integration that posted the reply (answered 202 queued) hears of a failure as
// message.failed.
type Tracker struct {
	Store  TrackerStore
	Events Events // nil tells nobody
	Clock  platform.Clock
	Log    *slog.Logger
}

// Sent records the wamid on the staff message. The reopen template's job leaves
// the waiting text pending: that goes out once the patient answers.
func (t *Tracker) Sent(ctx context.Context, job outbound.Job, wamid string) error {
	m, reopen, ok := parseRef(job.Ref)
	if !ok || reopen {
		return nil
	}
	m.Status, m.WAMID = thread.StatusAccepted, wamid
	if err := t.Store.MarkThreadMessage(ctx, job.ClinicID, m); err != nil {
		return fmt.Errorf("handoff: record the sent reply: %w", err)
	}
	t.log().Info("handoff staff reply sent", "clinic_id", job.ClinicID, "conversation_id", m.ConversationID,
		"message_id", m.ID, platform.WAMID("wamid", wamid))
	return nil
}

// Failed marks the staff message failed with why. For the reopen template, the
// text waiting on it is marked: the patient was not asked to answer.
func (t *Tracker) Failed(ctx context.Context, job outbound.Job, reason string) error {
	m, _, ok := parseRef(job.Ref)
	if !ok {
		return nil
	}
	m.Status, m.Reason = thread.StatusFailed, reason
	if err := t.Store.MarkThreadMessage(ctx, job.ClinicID, m); err != nil {
		return fmt.Errorf("handoff: record the failed reply: %w", err)
	}
	if t.Events != nil {
		at := time.Now().UTC()
		if t.Clock != nil {
			at = t.Clock.Now()
		}
		if err := t.Events.Publish(ctx, FailedReplyEvent(job.ClinicID, m, reason, at)); err != nil {
			return fmt.Errorf("handoff: publish the failed reply: %w", err)
		}
	}
	t.log().Warn("handoff staff reply failed", "clinic_id", job.ClinicID, "conversation_id", m.ConversationID,
		"message_id", m.ID, "reason", reason)
	return nil
}

func (t *Tracker) log() *slog.Logger { return platform.LoggerOrDiscard(t.Log) }

// FailedReplyEvent is the clinic's message.failed for a staff message that will not
// go out: ids and a reason only, never the text. Its id derives from the message,
// so a repeated report is deduplicated by the clinic.
func FailedReplyEvent(clinicID string, m thread.Message, reason string, at time.Time) clinic.Event {
	sum := sha256.Sum256([]byte("frontdesk-staff-reply-failed:" + clinicID + ":" + m.ConversationID + ":" + m.ID))
	return clinic.NewMessageFailed("evt_"+hex.EncodeToString(sum[:16]), clinicID, at.UTC(),
		clinic.MessageFailed{ConversationID: m.ConversationID, MessageID: m.ID, Reason: reason})
}

// refReopen marks the ref of a reopen template's job.
const refReopen = "reopen"

// jobRef names thread message m in its job: its item is keyed by conversation,
// time and id.
func jobRef(m thread.Message, reopen bool) string {
	ref := m.ConversationID + " " + m.ID + " " + m.At.UTC().Format(time.RFC3339Nano)
	if reopen {
		ref += " " + refReopen
	}
	return ref
}

func parseRef(ref string) (m thread.Message, reopen bool, ok bool) {
	parts := strings.Split(ref, " ")
	if len(parts) < 3 || len(parts) > 4 || !ValidID(parts[0]) || parts[1] == "" {
		return thread.Message{}, false, false
	}
	at, err := time.Parse(time.RFC3339Nano, parts[2])
	if err != nil {
		return thread.Message{}, false, false
	}
	return thread.Message{ConversationID: parts[0], ID: parts[1], At: at}, len(parts) == 4 && parts[3] == refReopen, true
}
