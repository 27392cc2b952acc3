package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// Holds. A hold is the item (pk SLOT#<clinic>#<slot>, sk "H") beside its slot,
// written in one transaction with the slot item's heldUntil:
//
//   - the slot item's update is conditional on the slot being free and not held
//     (no heldUntil, or one in the past), so of any number of concurrent attempts
//     one wins, and the reschedule list (which reads free slots) leaves held ones
//     out without reading the holds;
//   - the hold item rides the sparse slot-free index under its own partition
//     (freeClinic "HOLD#<clinic>", start = the hold's end), so the sweep finds a
//     clinic's expired holds with one query on that partition, never a scan.
//     A clinic's free slots (freeClinic = <clinic>) never include holds.
//
// TTL keeps an expired hold for a day after its end, so the sweep, not TTL,
// is what releases it and tells the patient and the clinic.
const (
	skHold         = "H"
	prefixHoldFree = "HOLD#"
	attrHeldUntil  = "heldUntil"
	holdRetention  = 24 * time.Hour
	holdAttempts   = 8
	holdPause      = 20 * time.Millisecond
)

type holdItem struct {
	PK            string `dynamodbav:"pk"`
	SK            string `dynamodbav:"sk"`
	FreeClinic    string `dynamodbav:"freeClinic"` // "HOLD#<clinic>": the sweep's partition
	Start         string `dynamodbav:"start"`      // the hold's end, sortable: the sweep's range
	ClinicID      string `dynamodbav:"clinicId"`
	SlotID        string `dynamodbav:"slotId"`
	SlotStart     int64  `dynamodbav:"slotStart"`
	AppointmentID string `dynamodbav:"appointmentId"`
	PatientID     string `dynamodbav:"patientId,omitempty"`
	Reason        string `dynamodbav:"reason"`
	HeldAt        int64  `dynamodbav:"heldAt"`
	HeldUntil     int64  `dynamodbav:"heldUntil"`
	ExpiresAt     int64  `dynamodbav:"expiresAt"`
	ConfirmedAt   int64  `dynamodbav:"confirmedAt,omitempty"`
}

func (it holdItem) domain() slot.Hold {
	return slot.Hold{
		ClinicID: it.ClinicID, SlotID: it.SlotID, SlotStart: fromUnixNanos(it.SlotStart), AppointmentID: it.AppointmentID,
		PatientID: it.PatientID, Reason: slot.Reason(it.Reason), HeldAt: fromUnixNanos(it.HeldAt), ExpiresAt: fromUnixNanos(it.HeldUntil),
		ConfirmedAt: fromUnixNanos(it.ConfirmedAt),
	}
}

// HoldSlot places h on its slot unless another unexpired hold is there. It answers
// Won (h is now the slot's hold), Mine (an unexpired hold for the same appointment
// is there: a redelivered acceptance), Taken (another appointment holds it) or
// Gone (the slot is not free, or not published), with the slot's current hold
// for Won and Mine. h.HeldAt is the caller's now.
func (s *Store) HoldSlot(ctx context.Context, h slot.Hold) (slot.Claim, slot.Hold, error) {
	op := fmt.Sprintf("hold slot %s/%s", h.ClinicID, h.SlotID)
	if err := h.Validate(); err != nil {
		return "", slot.Hold{}, fmt.Errorf("dynamo: %s: %w", op, err)
	}
	pk := slotPK(h.ClinicID, h.SlotID)
	item, err := marshal(holdItem{
		PK: pk, SK: skHold, FreeClinic: prefixHoldFree + h.ClinicID, Start: formatSortable(h.ExpiresAt),
		ClinicID: h.ClinicID, SlotID: h.SlotID, SlotStart: unixNanos(h.SlotStart), AppointmentID: h.AppointmentID,
		PatientID: h.PatientID, Reason: string(h.Reason), HeldAt: unixNanos(h.HeldAt), HeldUntil: unixNanos(h.ExpiresAt),
		ExpiresAt: h.ExpiresAt.Add(holdRetention).Unix(),
	})
	if err != nil {
		return "", slot.Hold{}, fmt.Errorf("dynamo: %s: %w", op, err)
	}
	held := expression.Name(attrHeldUntil)
	cond := expression.Name("status").Equal(expression.Value(slot.Free)).
		And(held.AttributeNotExists().Or(held.LessThanEqual(expression.Value(unixNanos(h.HeldAt)))))
	ex, err := expression.NewBuilder().WithCondition(cond).
		WithUpdate(expression.Set(held, expression.Value(unixNanos(h.ExpiresAt)))).Build()
	if err != nil {
		return "", slot.Hold{}, fmt.Errorf("dynamo: %s: %w", op, err)
	}
	markSlot := types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.names.Slots), Key: itemKey(pk, skSlot),
		UpdateExpression: ex.Update(), ConditionExpression: ex.Condition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
	}}
	putHold := types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.names.Slots), Item: item}}

	for attempt := 1; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{markSlot, putHold}})
		if err == nil {
			return slot.Won, h, nil
		}
		if !conditionFailed(err) {
			return "", slot.Hold{}, wrap(op, err)
		}
		// Lost, or collided with a concurrent attempt: the stored state decides.
		// A collision can leave no hold yet (the other attempt may lose too), so
		// that case tries again rather than answering Taken.
		claim, cur, err := s.holdState(ctx, h)
		if err != nil {
			return "", slot.Hold{}, wrap(op, err)
		}
		if claim != "" {
			return claim, cur, nil
		}
		if attempt == holdAttempts {
			return "", slot.Hold{}, wrap(op, errors.New("slot kept changing concurrently"))
		}
		select {
		case <-ctx.Done():
			return "", slot.Hold{}, wrap(op, ctx.Err())
		case <-time.After(time.Duration(attempt) * holdPause):
		}
	}
}

// holdState reads the slot and its hold (strongly consistent) to tell why h could
// not be placed; "" means nothing stops it now.
func (s *Store) holdState(ctx context.Context, h slot.Hold) (slot.Claim, slot.Hold, error) {
	sl, err := s.GetSlot(ctx, h.ClinicID, h.SlotID)
	if errors.Is(err, fault.ErrNotFound) {
		return slot.Gone, slot.Hold{}, nil
	}
	if err != nil {
		return "", slot.Hold{}, err
	}
	cur, ok, err := s.GetHold(ctx, h.ClinicID, h.SlotID)
	if err != nil {
		return "", slot.Hold{}, err
	}
	if ok && cur.Active(h.HeldAt) {
		if cur.AppointmentID == h.AppointmentID {
			return slot.Mine, cur, nil
		}
		return slot.Taken, cur, nil
	}
	if sl.Status != slot.Free {
		return slot.Gone, slot.Hold{}, nil
	}
	return "", slot.Hold{}, nil
}

// GetHold reads a slot's hold item, expired or not (strongly consistent).
func (s *Store) GetHold(ctx context.Context, clinicID, slotID string) (slot.Hold, bool, error) {
	var it holdItem
	ok, err := s.getItem(ctx, s.names.Slots, slotPK(clinicID, slotID), skHold, &it)
	if err != nil || !ok {
		return slot.Hold{}, false, wrap(fmt.Sprintf("get hold on %s/%s", clinicID, slotID), err)
	}
	return it.domain(), true, nil
}

// ExpiredHolds lists a clinic's holds that ended at or before now, oldest first,
// at most limit (one query on the hold partition of the slot-free index).
func (s *Store) ExpiredHolds(ctx context.Context, clinicID string, now time.Time, limit int) ([]slot.Hold, error) {
	return slotFreeUpTo(ctx, s, fmt.Sprintf("expired holds of %s", clinicID), prefixHoldFree+clinicID, now, limit, holdItem.domain)
}

// slotFreeUpTo reads one page of a partition of the slot-free index (a clinic's
// holds or its releases' waves): at most limit items whose time is at or before
// now, oldest first, each turned into its domain value.
func slotFreeUpTo[I, D any](ctx context.Context, s *Store, op, partition string, now time.Time, limit int, domain func(I) D) ([]D, error) {
	in, err := keyQuery(s.names.Slots, IndexSlotFree, expression.Key(AttrFreeClinic).Equal(expression.Value(partition)).
		And(expression.Key(AttrStart).LessThanEqual(expression.Value(formatSortable(now)))), false)
	if err != nil {
		return nil, wrap(op, err)
	}
	if limit <= 0 || limit > maxSlotPage {
		limit = maxSlotPage
	}
	in.Limit = aws.Int32(int32(limit))
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, wrap(op, err)
	}
	return decodeAll(op, out.Items, domain)
}

// ReleaseHold removes h (the hold as read: same appointment and start) and clears
// the slot's heldUntil if it is still h's, so the slot is offerable again. It
// answers false when h is no longer the slot's hold (released before, or replaced
// after it expired): the caller then has nothing to announce.
func (s *Store) ReleaseHold(ctx context.Context, h slot.Hold) (bool, error) {
	op := fmt.Sprintf("release hold on %s/%s", h.ClinicID, h.SlotID)
	pk := slotPK(h.ClinicID, h.SlotID)
	del, err := expression.NewBuilder().WithCondition(
		expression.Name("appointmentId").Equal(expression.Value(h.AppointmentID)).
			And(expression.Name("heldAt").Equal(expression.Value(unixNanos(h.HeldAt))))).Build()
	if err != nil {
		return false, wrap(op, err)
	}
	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.names.Slots), Key: itemKey(pk, skHold), ConditionExpression: del.Condition(),
		ExpressionAttributeNames: del.Names(), ExpressionAttributeValues: del.Values(),
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap(op, err)
	}
	cond := expression.Name(attrHeldUntil).Equal(expression.Value(unixNanos(h.ExpiresAt)))
	err = s.update(ctx, s.names.Slots, pk, skSlot, expression.Remove(expression.Name(attrHeldUntil)), &cond)
	if err != nil && !conditionFailed(err) {
		return false, wrap(op, err)
	}
	return true, nil
}

// MarkHoldConfirmed records that the patient was told the EHR moved their visit
// to h's slot. It answers false when h is no longer the slot's hold, or was
// marked before (by a concurrent sweep).
func (s *Store) MarkHoldConfirmed(ctx context.Context, h slot.Hold, at time.Time) (bool, error) {
	op := fmt.Sprintf("mark hold on %s/%s confirmed", h.ClinicID, h.SlotID)
	cond := expression.Name("appointmentId").Equal(expression.Value(h.AppointmentID)).
		And(expression.Name("heldAt").Equal(expression.Value(unixNanos(h.HeldAt)))).
		And(expression.Name("confirmedAt").AttributeNotExists())
	err := s.update(ctx, s.names.Slots, slotPK(h.ClinicID, h.SlotID), skHold,
		expression.Set(expression.Name("confirmedAt"), expression.Value(unixNanos(at))), &cond)
	if conditionFailed(err) {
		return false, nil
	}
	return err == nil, wrap(op, err)
}
