package handoff

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/thread"
)

// TrackerStore is what Tracker writes (dynamo.Store).
type TrackerStore interface {
	MarkThreadMessage(ctx context.Context, clinicID string, m thread.Message) error
}

// Tracker is the sender's completion hook for staff_reply jobs: the staff message
// in its thread follows its job, accepted with its wamid (which links Meta's later
// statuses to it) or failed with the reason, where staff and the API see it.
type Tracker struct {
	Store TrackerStore
	Log   *slog.Logger
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
	t.log().Warn("handoff staff reply failed", "clinic_id", job.ClinicID, "conversation_id", m.ConversationID,
		"message_id", m.ID, "reason", reason)
	return nil
}

func (t *Tracker) log() *slog.Logger {
	if t.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return t.Log
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
