package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// Reminder attribute names used in conditions and updates.
const (
	attrState      = "state"
	attrGeneration = "generation"
	attrLeaseUntil = "leaseUntil"
	attrAttempts   = "attempts"
	attrUpdatedAt  = "updatedAt"
	attrReason     = "reason"
	attrErrorCode  = "errorCode"
	attrWAMID      = "wamid"
	attrReaps      = "reaps"
)

// reminderItem is a reminder row. Due always holds the due time; DueShard and DueAt
// (unix seconds) exist only while the reminder is scheduled, which is what makes the
// "due" index sparse: a sweep reads only reminders still waiting to be enqueued.
// Likewise AttemptShard and NextAttemptAt (unix seconds) exist only while it is
// queued or sending: the "next-attempt" index lists exactly the reminders a sender
// owes an attempt, so the reaper finds lost jobs without a scan.
type reminderItem struct {
	PK            string         `dynamodbav:"pk"`
	SK            string         `dynamodbav:"sk"`
	ClinicID      string         `dynamodbav:"clinicId"`
	AppointmentID string         `dynamodbav:"appointmentId"`
	Kind          reminder.Kind  `dynamodbav:"kind"`
	Due           time.Time      `dynamodbav:"due,omitempty"`
	NotAfter      time.Time      `dynamodbav:"notAfter,omitempty"`
	State         reminder.State `dynamodbav:"state"`
	Reason        string         `dynamodbav:"reason,omitempty"`
	ErrorCode     int            `dynamodbav:"errorCode,omitempty"`
	WAMID         string         `dynamodbav:"wamid,omitempty"`
	Generation    string         `dynamodbav:"generation"`
	UpdatedAt     time.Time      `dynamodbav:"updatedAt,omitempty"`
	DueShard      string         `dynamodbav:"dueShard,omitempty"`
	DueAt         int64          `dynamodbav:"dueAt,omitempty"`
	LeaseUntil    int64          `dynamodbav:"leaseUntil,omitempty"` // unix ns
	Attempts      int            `dynamodbav:"attempts,omitempty"`
	AttemptShard  string         `dynamodbav:"attemptShard,omitempty"`
	NextAttemptAt int64          `dynamodbav:"nextAttemptAt,omitempty"`
	Reaps         int            `dynamodbav:"reaps,omitempty"`
}

// dueIndexSeconds rounds up so a reminder is never listed before its due time.
func dueIndexSeconds(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return sec
}

func (s *Store) toReminderItem(pk string, r reminder.Reminder) reminderItem {
	it := reminderItem{
		PK: pk, SK: skReminder + string(r.Kind), ClinicID: r.ClinicID, AppointmentID: r.AppointmentID, Kind: r.Kind,
		Due: r.DueAt, NotAfter: r.NotAfter, State: r.State, Reason: r.Reason, ErrorCode: r.ErrorCode, WAMID: r.WAMID,
		Generation: r.Generation, UpdatedAt: r.UpdatedAt,
	}
	if r.State == reminder.StateScheduled {
		it.DueShard, it.DueAt = s.shardOf(pk), dueIndexSeconds(r.DueAt)
	}
	if r.State == reminder.StateQueued || r.State == reminder.StateSending {
		next := r.NextAttemptAt
		if next.IsZero() {
			next = s.now()
		}
		it.AttemptShard, it.NextAttemptAt = s.shardOf(pk), dueIndexSeconds(next)
		it.Attempts, it.Reaps = r.Attempts, r.Reaps
	}
	return it
}

func decodeReminder(av map[string]types.AttributeValue) (reminder.Reminder, error) {
	var it reminderItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return reminder.Reminder{}, fmt.Errorf("decode reminder: %w", err)
	}
	r := reminder.Reminder{
		ClinicID: it.ClinicID, AppointmentID: it.AppointmentID, Kind: it.Kind, DueAt: it.Due, NotAfter: it.NotAfter,
		State: it.State, Reason: it.Reason, ErrorCode: it.ErrorCode, WAMID: it.WAMID, Generation: it.Generation,
		UpdatedAt: it.UpdatedAt, Attempts: it.Attempts, Reaps: it.Reaps,
	}
	if it.NextAttemptAt != 0 {
		r.NextAttemptAt = time.Unix(it.NextAttemptAt, 0).UTC()
	}
	return r, nil
}

func reminderOp(verb string, clinicID, appointmentID string, kind reminder.Kind) string {
	return fmt.Sprintf("%s reminder %s/%s/%s", verb, clinicID, appointmentID, kind)
}

// DueReminders lists scheduled reminders of one shard due at or before now, oldest
// first. A non-nil cursor means there may be more. The index is eventually
// consistent: callers must still MarkQueued (conditional) before enqueueing.
func (s *Store) DueReminders(ctx context.Context, shard int, now time.Time, limit int, startAfter *reminder.Cursor) ([]reminder.Reminder, *reminder.Cursor, error) {
	return s.remindersUpTo(ctx, fmt.Sprintf("due reminders shard %d", shard), IndexDue, AttrDueShard, AttrDueAt, shard, now, limit, startAfter)
}

// remindersUpTo reads one page of a sharded sparse reminder index (the due index or
// the next-attempt index): the reminders of one shard whose time is at or before
// upTo, oldest first, with a cursor when there may be more.
func (s *Store) remindersUpTo(ctx context.Context, op, index, shardAttr, timeAttr string, shard int, upTo time.Time, limit int, startAfter *reminder.Cursor) ([]reminder.Reminder, *reminder.Cursor, error) {
	if shard < 0 || shard >= s.shards {
		return nil, nil, fmt.Errorf("dynamo: %s: shard out of range 0..%d", op, s.shards-1)
	}
	in, err := keyQuery(s.names.Appointments, index,
		expression.Key(shardAttr).Equal(expression.Value(fmt.Sprintf("%02d", shard))).
			And(expression.Key(timeAttr).LessThanEqual(expression.Value(upTo.Unix()))), false)
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	in.ScanIndexForward = aws.Bool(true)
	if limit > 0 {
		in.Limit = aws.Int32(int32(limit)) //nolint:gosec // G115: a page size the sweep or the reaper chooses, far below 2^31
	}
	if startAfter != nil {
		if in.ExclusiveStartKey, err = cursorKey(startAfter); err != nil {
			return nil, nil, fmt.Errorf("dynamo: %s: %w", op, err)
		}
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	rs := make([]reminder.Reminder, 0, len(out.Items))
	for _, av := range out.Items {
		r, err := decodeReminder(av)
		if err != nil {
			return nil, nil, fmt.Errorf("dynamo: %s: %w", op, err)
		}
		rs = append(rs, r)
	}
	cur, err := cursorFrom(out.LastEvaluatedKey)
	if err != nil {
		return nil, nil, fmt.Errorf("dynamo: %s: cursor: %w", op, err)
	}
	return rs, cur, nil
}

func (s *Store) reminderKey(r reminder.Reminder) (pk, sk string) {
	return appointmentPK(r.ClinicID, r.AppointmentID), skReminder + string(r.Kind)
}

// MarkQueued takes a scheduled reminder of the same generation out of the due index
// before it is enqueued. Of concurrent sweepers exactly one succeeds; the others get
// ErrConditionFailed and skip it.
func (s *Store) MarkQueued(ctx context.Context, r reminder.Reminder) error {
	pk, sk := s.reminderKey(r)
	cond := expression.Name(attrState).Equal(expression.Value(reminder.StateScheduled)).
		And(expression.Name(attrGeneration).Equal(expression.Value(r.Generation)))
	// Expected on the queue at once: if the enqueue never happens (the sweep died
	// between this write and the enqueue) the reaper finds it a few minutes later.
	upd := expression.Set(expression.Name(attrState), expression.Value(reminder.StateQueued)).
		Set(expression.Name(attrUpdatedAt), expression.Value(s.now())).
		Set(expression.Name(AttrAttemptShard), expression.Value(s.shardOf(pk))).
		Set(expression.Name(AttrNextAttemptAt), expression.Value(dueIndexSeconds(s.now()))).
		Remove(expression.Name(AttrDueShard)).Remove(expression.Name(AttrDueAt))
	return wrap(reminderOp("mark queued", r.ClinicID, r.AppointmentID, r.Kind),
		s.update(ctx, s.names.Appointments, pk, sk, upd, &cond))
}

// UnmarkQueued puts a queued reminder back in the due index after its enqueue
// failed, so the next sweep picks it up again.
func (s *Store) UnmarkQueued(ctx context.Context, r reminder.Reminder) error {
	pk, sk := s.reminderKey(r)
	cond := expression.Name(attrState).Equal(expression.Value(reminder.StateQueued)).
		And(expression.Name(attrGeneration).Equal(expression.Value(r.Generation)))
	upd := expression.Set(expression.Name(attrState), expression.Value(reminder.StateScheduled)).
		Set(expression.Name(attrUpdatedAt), expression.Value(s.now())).
		Set(expression.Name(AttrDueShard), expression.Value(s.shardOf(pk))).
		Set(expression.Name(AttrDueAt), expression.Value(dueIndexSeconds(r.DueAt))).
		Remove(expression.Name(AttrAttemptShard)).Remove(expression.Name(AttrNextAttemptAt))
	return wrap(reminderOp("unmark queued", r.ClinicID, r.AppointmentID, r.Kind),
		s.update(ctx, s.names.Appointments, pk, sk, upd, &cond))
}

// GetReminder reads one reminder (strongly consistent).
func (s *Store) GetReminder(ctx context.Context, clinicID, appointmentID string, kind reminder.Kind) (reminder.Reminder, error) {
	op := reminderOp("get", clinicID, appointmentID, kind)
	out, err := s.getRaw(ctx, s.names.Appointments, appointmentPK(clinicID, appointmentID), skReminder+string(kind))
	if err != nil {
		return reminder.Reminder{}, wrap(op, err)
	}
	if out == nil {
		return reminder.Reminder{}, notFound(op)
	}
	r, err := decodeReminder(out)
	if err != nil {
		return reminder.Reminder{}, fmt.Errorf("dynamo: %s: %w", op, err)
	}
	return r, nil
}

// ClaimSend makes the caller the one sender of a reminder until leaseUntil: the
// reminder must have the same generation and be queued, or be sending under a lease
// that has expired (a sender that crashed mid-send). Concurrent claims: one wins,
// the rest get ErrConditionFailed, so a redelivered SQS message never sends twice.
func (s *Store) ClaimSend(ctx context.Context, r reminder.Reminder, leaseUntil time.Time) error {
	pk, sk := s.reminderKey(r)
	state := expression.Name(attrState)
	cond := expression.Name(attrGeneration).Equal(expression.Value(r.Generation)).And(
		state.Equal(expression.Value(reminder.StateQueued)).Or(
			state.Equal(expression.Value(reminder.StateSending)).
				And(expression.Name(attrLeaseUntil).LessThan(expression.Value(unixNanos(s.now()))))))
	// The lease's end is when the reaper may look: a sender that died holding the
	// claim leaves the reminder listed, due once the lease has run out.
	upd := expression.Set(state, expression.Value(reminder.StateSending)).
		Set(expression.Name(attrLeaseUntil), expression.Value(unixNanos(leaseUntil))).
		Set(expression.Name(attrUpdatedAt), expression.Value(s.now())).
		Set(expression.Name(AttrAttemptShard), expression.Value(s.shardOf(pk))).
		Set(expression.Name(AttrNextAttemptAt), expression.Value(dueIndexSeconds(leaseUntil))).
		Remove(expression.Name(attrReaps))
	return wrap(reminderOp("claim send", r.ClinicID, r.AppointmentID, r.Kind),
		s.update(ctx, s.names.Appointments, pk, sk, upd, &cond))
}

// ReleaseSend gives a claimed reminder back after a retryable send failure: it
// returns to queued, its lease is dropped, its attempt count grows and its next
// attempt is due now.
func (s *Store) ReleaseSend(ctx context.Context, r reminder.Reminder, reason string, code int) error {
	return s.DeferSend(ctx, r, reminder.Deferral{Reason: reason, ErrorCode: code, Failed: true, Until: s.now()})
}

// DeferSend gives a claimed reminder back until d.Until: it returns to queued with
// its lease dropped and its next attempt time set, so the reaper leaves it alone
// until then.
func (s *Store) DeferSend(ctx context.Context, r reminder.Reminder, d reminder.Deferral) error {
	pk, sk := s.reminderKey(r)
	cond := expression.Name(attrState).Equal(expression.Value(reminder.StateSending)).
		And(expression.Name(attrGeneration).Equal(expression.Value(r.Generation)))
	upd := expression.Set(expression.Name(attrState), expression.Value(reminder.StateQueued)).
		Set(expression.Name(attrUpdatedAt), expression.Value(s.now())).
		Set(expression.Name(AttrAttemptShard), expression.Value(s.shardOf(pk))).
		Set(expression.Name(AttrNextAttemptAt), expression.Value(dueIndexSeconds(d.Until))).
		Remove(expression.Name(attrLeaseUntil))
	if d.Failed {
		attempts := expression.Name(attrAttempts)
		upd = upd.Set(attempts, expression.Plus(expression.IfNotExists(attempts, expression.Value(0)), expression.Value(1)))
	}
	upd = setOrRemove(upd, attrReason, d.Reason, d.Reason != "")
	upd = setOrRemove(upd, attrErrorCode, d.ErrorCode, d.ErrorCode != 0)
	return wrap(reminderOp("defer send", r.ClinicID, r.AppointmentID, r.Kind),
		s.update(ctx, s.names.Appointments, pk, sk, upd, &cond))
}

// StalledReminders lists queued or sending reminders of one shard whose next
// attempt time is at or before before, oldest first: their job was lost (a sweep
// that died before enqueueing, a sender that died holding a claim, a message past
// the queue's retention). A non-nil cursor means there may be more.
func (s *Store) StalledReminders(ctx context.Context, shard int, before time.Time, limit int, startAfter *reminder.Cursor) ([]reminder.Reminder, *reminder.Cursor, error) {
	return s.remindersUpTo(ctx, fmt.Sprintf("stalled reminders shard %d", shard), IndexNextAttempt, AttrAttemptShard, AttrNextAttemptAt, shard, before, limit, startAfter)
}

// MarkReaped records that the reaper is enqueueing a new job for a stalled reminder
// (as StalledReminders returned it) and moves its next attempt time to next. The
// condition on the listed next attempt time makes overlapping reapers enqueue it
// once; a reminder that moved on meanwhile (claimed, sent, re-planned) gets
// ErrConditionFailed.
func (s *Store) MarkReaped(ctx context.Context, r reminder.Reminder, next time.Time) error {
	pk, sk := s.reminderKey(r)
	state := expression.Name(attrState)
	cond := expression.Name(attrGeneration).Equal(expression.Value(r.Generation)).
		And(expression.Name(AttrNextAttemptAt).Equal(expression.Value(r.NextAttemptAt.Unix()))).
		And(state.Equal(expression.Value(reminder.StateQueued)).Or(state.Equal(expression.Value(reminder.StateSending))))
	reaps := expression.Name(attrReaps)
	upd := expression.Set(expression.Name(AttrNextAttemptAt), expression.Value(dueIndexSeconds(next))).
		Set(reaps, expression.Plus(expression.IfNotExists(reaps, expression.Value(0)), expression.Value(1))).
		Set(expression.Name(attrUpdatedAt), expression.Value(s.now()))
	return wrap(reminderOp("mark reaped", r.ClinicID, r.AppointmentID, r.Kind),
		s.update(ctx, s.names.Appointments, pk, sk, upd, &cond))
}

// BackfillAttemptIndex lists every reminder that is queued or sending but not yet
// in the next-attempt index (written before the index existed) and adds it, due
// at once (queued) or when its lease ends (sending), so the reaper can find any
// whose job is gone. It scans the table: a one-off for a deploy, not a routine
// path. It returns how many reminders it added; running it again adds none.
func (s *Store) BackfillAttemptIndex(ctx context.Context) (int, error) {
	const op = "backfill next-attempt index"
	filt := expression.Name(AttrSK).BeginsWith(skReminder).
		And(expression.AttributeNotExists(expression.Name(AttrAttemptShard))).
		And(expression.Name(attrState).In(expression.Value(reminder.StateQueued), expression.Value(reminder.StateSending)))
	added := 0
	err := scanEach(ctx, s, op, s.names.Appointments, filt, func(it reminderItem) error {
		next := dueIndexSeconds(s.now())
		if it.State == reminder.StateSending && it.LeaseUntil != 0 {
			next = dueIndexSeconds(time.Unix(0, it.LeaseUntil))
		}
		cond := expression.Name(attrState).Equal(expression.Value(it.State)).
			And(expression.AttributeNotExists(expression.Name(AttrAttemptShard)))
		upd := expression.Set(expression.Name(AttrAttemptShard), expression.Value(s.shardOf(it.PK))).
			Set(expression.Name(AttrNextAttemptAt), expression.Value(next))
		err := s.update(ctx, s.names.Appointments, it.PK, it.SK, upd, &cond)
		switch {
		case err == nil:
			added++
		case conditionFailed(err):
			// Moved on (sent, claimed through the new code) since the scan: nothing to add.
		default:
			return wrap(reminderOp("backfill", it.ClinicID, it.AppointmentID, it.Kind), err)
		}
		return nil
	})
	return added, err
}

func setOrRemove(u expression.UpdateBuilder, name string, v any, set bool) expression.UpdateBuilder {
	if set {
		return u.Set(expression.Name(name), expression.Value(v))
	}
	return u.Remove(expression.Name(name))
}

// AdvanceReminder moves a reminder to `to` when its stored state is one of
// reminder.AllowedFrom(to). A move that is not allowed (a late "delivered" after
// "read") returns false and no error; a missing reminder is fault.ErrNotFound.
func (s *Store) AdvanceReminder(ctx context.Context, clinicID, appointmentID string, kind reminder.Kind, to reminder.State, u reminder.Update) (bool, error) {
	op := reminderOp("advance to "+string(to), clinicID, appointmentID, kind)
	from := reminder.AllowedFrom(to)
	pk, sk := appointmentPK(clinicID, appointmentID), skReminder+string(kind)
	if len(from) == 0 {
		return false, nil
	}
	cond := inStates(attrState, from)
	if u.Generation != "" {
		cond = cond.And(expression.Name(attrGeneration).Equal(expression.Value(u.Generation)))
	}
	upd := expression.Set(expression.Name(attrState), expression.Value(to)).
		Set(expression.Name(attrUpdatedAt), expression.Value(s.now())).
		Remove(expression.Name(AttrDueShard)).Remove(expression.Name(AttrDueAt)).
		Remove(expression.Name(attrLeaseUntil)).
		Remove(expression.Name(AttrAttemptShard)).Remove(expression.Name(AttrNextAttemptAt))
	if u.WAMID != "" {
		upd = upd.Set(expression.Name(attrWAMID), expression.Value(u.WAMID))
	}
	if u.Reason != "" {
		upd = upd.Set(expression.Name(attrReason), expression.Value(u.Reason))
	}
	if u.ErrorCode != 0 {
		upd = upd.Set(expression.Name(attrErrorCode), expression.Value(u.ErrorCode))
	}
	return s.advance(ctx, op, s.names.Appointments, pk, sk, upd, cond)
}

// advance runs a forward-only update: a failed condition is "not allowed" (false)
// unless the item is missing.
func (s *Store) advance(ctx context.Context, op, table, pk, sk string, upd expression.UpdateBuilder, cond expression.ConditionBuilder) (bool, error) {
	err := s.update(ctx, table, pk, sk, upd, &cond)
	if err == nil {
		return true, nil
	}
	if !conditionFailed(err) {
		return false, wrap(op, err)
	}
	ok, err := s.exists(ctx, table, pk, sk)
	if err != nil {
		return false, wrap(op, err)
	}
	if !ok {
		return false, notFound(op)
	}
	return false, nil
}

func inStates[T ~string](attr string, states []T) expression.ConditionBuilder {
	vals := make([]expression.OperandBuilder, 0, len(states)-1)
	for _, st := range states[1:] {
		vals = append(vals, expression.Value(st))
	}
	return expression.Name(attr).In(expression.Value(states[0]), vals...)
}

func (s *Store) getRaw(ctx context.Context, table, pk, sk string) (map[string]types.AttributeValue, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table), Key: itemKey(pk, sk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// DeferReminder gives a claimed reminder back to the due index at until (state
// scheduled again), with the reason it waits: the SQS job is then acknowledged, so a
// long wait (a paused template) costs no receives and never reaches the DLQ.
func (s *Store) DeferReminder(ctx context.Context, r reminder.Reminder, until time.Time, reason string) error {
	pk, sk := s.reminderKey(r)
	cond := expression.Name(attrState).Equal(expression.Value(reminder.StateSending)).
		And(expression.Name(attrGeneration).Equal(expression.Value(r.Generation)))
	upd := expression.Set(expression.Name(attrState), expression.Value(reminder.StateScheduled)).
		Set(expression.Name(attrUpdatedAt), expression.Value(s.now())).
		Set(expression.Name(AttrDueShard), expression.Value(s.shardOf(pk))).
		Set(expression.Name(AttrDueAt), expression.Value(dueIndexSeconds(until))).
		Set(expression.Name(attrReason), expression.Value(reason)).
		Remove(expression.Name(attrLeaseUntil))
	return wrap(reminderOp("defer", r.ClinicID, r.AppointmentID, r.Kind),
		s.update(ctx, s.names.Appointments, pk, sk, upd, &cond))
}
