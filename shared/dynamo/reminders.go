package dynamo

import (
	"context"
	"fmt"
	"strconv"
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
)

// reminderItem is a reminder row. Due always holds the due time; DueShard and DueAt
// (unix seconds) exist only while the reminder is scheduled, which is what makes the
// "due" index sparse: a sweep reads only reminders still waiting to be enqueued.
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
	return it
}

func decodeReminder(av map[string]types.AttributeValue) (reminder.Reminder, error) {
	var it reminderItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return reminder.Reminder{}, fmt.Errorf("decode reminder: %w", err)
	}
	return reminder.Reminder{
		ClinicID: it.ClinicID, AppointmentID: it.AppointmentID, Kind: it.Kind, DueAt: it.Due, NotAfter: it.NotAfter,
		State: it.State, Reason: it.Reason, ErrorCode: it.ErrorCode, WAMID: it.WAMID, Generation: it.Generation,
		UpdatedAt: it.UpdatedAt,
	}, nil
}

func reminderOp(verb string, clinicID, appointmentID string, kind reminder.Kind) string {
	return fmt.Sprintf("%s reminder %s/%s/%s", verb, clinicID, appointmentID, kind)
}

// DueCursor continues a DueReminders listing. Its fields are exported so a sweep
// can carry it across invocations (for example in a Step Functions state).
type DueCursor struct {
	PK, SK   string
	DueShard string
	DueAt    int64
}

func (c *DueCursor) key() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: &types.AttributeValueMemberS{Value: c.PK}, AttrSK: &types.AttributeValueMemberS{Value: c.SK},
		AttrDueShard: &types.AttributeValueMemberS{Value: c.DueShard},
		AttrDueAt:    &types.AttributeValueMemberN{Value: strconv.FormatInt(c.DueAt, 10)},
	}
}

func cursorFrom(k map[string]types.AttributeValue) (*DueCursor, error) {
	if len(k) == 0 {
		return nil, nil
	}
	var c struct {
		PK       string `dynamodbav:"pk"`
		SK       string `dynamodbav:"sk"`
		DueShard string `dynamodbav:"dueShard"`
		DueAt    int64  `dynamodbav:"dueAt"`
	}
	if err := attributevalue.UnmarshalMap(k, &c); err != nil {
		return nil, err
	}
	return &DueCursor{PK: c.PK, SK: c.SK, DueShard: c.DueShard, DueAt: c.DueAt}, nil
}

// DueReminders lists scheduled reminders of one shard due at or before now, oldest
// first. A non-nil cursor means there may be more. The index is eventually
// consistent: callers must still MarkQueued (conditional) before enqueueing.
func (s *Store) DueReminders(ctx context.Context, shard int, now time.Time, limit int, startAfter *DueCursor) ([]reminder.Reminder, *DueCursor, error) {
	op := fmt.Sprintf("due reminders shard %d", shard)
	if shard < 0 || shard >= s.shards {
		return nil, nil, fmt.Errorf("dynamo: %s: shard out of range 0..%d", op, s.shards-1)
	}
	in, err := keyQuery(s.names.Appointments, IndexDue,
		expression.Key(AttrDueShard).Equal(expression.Value(fmt.Sprintf("%02d", shard))).
			And(expression.Key(AttrDueAt).LessThanEqual(expression.Value(now.Unix()))), false)
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	in.ScanIndexForward = aws.Bool(true)
	if limit > 0 {
		in.Limit = aws.Int32(int32(limit)) //nolint:gosec // G115: a page size the sweep chooses, far below 2^31
	}
	if startAfter != nil {
		in.ExclusiveStartKey = startAfter.key()
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
	upd := expression.Set(expression.Name(attrState), expression.Value(reminder.StateQueued)).
		Set(expression.Name(attrUpdatedAt), expression.Value(s.now())).
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
		Set(expression.Name(AttrDueAt), expression.Value(dueIndexSeconds(r.DueAt)))
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
	upd := expression.Set(state, expression.Value(reminder.StateSending)).
		Set(expression.Name(attrLeaseUntil), expression.Value(unixNanos(leaseUntil))).
		Set(expression.Name(attrUpdatedAt), expression.Value(s.now()))
	return wrap(reminderOp("claim send", r.ClinicID, r.AppointmentID, r.Kind),
		s.update(ctx, s.names.Appointments, pk, sk, upd, &cond))
}

// ReleaseSend gives a claimed reminder back (a retryable send failure): it returns
// to queued, its lease is dropped and its attempt count grows.
func (s *Store) ReleaseSend(ctx context.Context, r reminder.Reminder, reason string, code int) error {
	pk, sk := s.reminderKey(r)
	cond := expression.Name(attrState).Equal(expression.Value(reminder.StateSending)).
		And(expression.Name(attrGeneration).Equal(expression.Value(r.Generation)))
	attempts := expression.Name(attrAttempts)
	upd := expression.Set(expression.Name(attrState), expression.Value(reminder.StateQueued)).
		Set(attempts, expression.Plus(expression.IfNotExists(attempts, expression.Value(0)), expression.Value(1))).
		Set(expression.Name(attrUpdatedAt), expression.Value(s.now())).
		Remove(expression.Name(attrLeaseUntil))
	upd = setOrRemove(upd, attrReason, reason, reason != "")
	upd = setOrRemove(upd, attrErrorCode, code, code != 0)
	return wrap(reminderOp("release send", r.ClinicID, r.AppointmentID, r.Kind),
		s.update(ctx, s.names.Appointments, pk, sk, upd, &cond))
}

func setOrRemove(u expression.UpdateBuilder, name string, v any, set bool) expression.UpdateBuilder {
	if set {
		return u.Set(expression.Name(name), expression.Value(v))
	}
	return u.Remove(expression.Name(name))
}

// ReminderUpdate carries what a state move learned: the wamid of a send, the reason
// for a skip or failure, the Graph API error code.
type ReminderUpdate struct {
	WAMID, Reason string
	ErrorCode     int
	// Generation, when set, makes the move conditional on the reminder still being
	// the one planned for that start time: news about an old send (a late status, a
	// stale job) must not move a reminder re-planned for a new time.
	Generation string
}

// AdvanceReminder moves a reminder to `to` when its stored state is one of
// reminder.AllowedFrom(to). A move that is not allowed (a late "delivered" after
// "read") returns false and no error; a missing reminder is appointment.ErrNotFound.
func (s *Store) AdvanceReminder(ctx context.Context, clinicID, appointmentID string, kind reminder.Kind, to reminder.State, u ReminderUpdate) (bool, error) {
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
		Remove(expression.Name(attrLeaseUntil))
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
