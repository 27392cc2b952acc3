package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// The slots table (see Tables for its indexes). Access patterns:
//
//   - a slot by clinic + id: pk SLOT#<clinic>#<slotId>, sk "S". The EHR's writes
//     read it, order the event against it and write it back conditionally.
//   - a clinic's slots with start in [from, to): index slot-start (slotClinic, start).
//   - a clinic's free slots with start in [from, to): index slot-free (freeClinic,
//     start). freeClinic is set only while the slot is free, so a search for slots
//     to offer reads free ones only, and matching (slot.Matches) runs on those.
//   - a hold on a slot: a second item in the slot's partition (sk "H") written with
//     a condition (no hold, or the existing one expired) in a transaction with a
//     check that the slot item is still free, so at most one patient holds a slot.
//     Its expiresAt is the hold's end: TTL clears it, and the condition compares
//     times because TTL deletes lazily.
//
// A slot's writes update the EHR's attributes only (UpdateItem, never PutItem), so
// whatever Frontdesk records on the slot item itself survives the EHR's updates.
const (
	prefixSlot = "SLOT#"
	skSlot     = "S"
)

// SlotRetention is how long a slot is kept after its start: TTL then drops it.
// Past slots cannot be offered; the day left lets a late reader (a report of what
// was filled) still find it.
const SlotRetention = 24 * time.Hour

func slotPK(clinicID, id string) string { return prefixSlot + clinicID + "#" + id }

type slotItem struct {
	PK           string      `dynamodbav:"pk"`
	SK           string      `dynamodbav:"sk"`
	SlotClinic   string      `dynamodbav:"slotClinic"`
	FreeClinic   string      `dynamodbav:"freeClinic,omitempty"`
	ClinicID     string      `dynamodbav:"clinicId"`
	ID           string      `dynamodbav:"slotId"`
	Start        string      `dynamodbav:"start"` // sortableTime: both indexes sort on it
	DurationNs   int64       `dynamodbav:"durationNs"`
	Status       slot.Status `dynamodbav:"status"`
	Location     string      `dynamodbav:"location,omitempty"`
	Practitioner string      `dynamodbav:"practitioner,omitempty"`
	VisitType    string      `dynamodbav:"visitType,omitempty"`
	Version      int64       `dynamodbav:"version"`
	OrderingKey  string      `dynamodbav:"orderingKey,omitempty"`
	Revision     int64       `dynamodbav:"revision"`
	CreatedAt    time.Time   `dynamodbav:"createdAt,omitempty"`
	UpdatedAt    time.Time   `dynamodbav:"updatedAt,omitempty"`
	ExpiresAt    int64       `dynamodbav:"expiresAt"`
	HeldUntil    int64       `dynamodbav:"heldUntil,omitempty"` // unix nanos; written by HoldSlot only
}

func (it slotItem) domain() (slot.Slot, error) {
	start, err := parseSortable(it.Start)
	if err != nil {
		return slot.Slot{}, fmt.Errorf("start: %w", err)
	}
	return slot.Slot{
		ClinicID: it.ClinicID, ID: it.ID, Start: start, Duration: time.Duration(it.DurationNs), Status: it.Status,
		Location: it.Location, Practitioner: it.Practitioner, VisitType: it.VisitType,
		Version: it.Version, OrderingKey: it.OrderingKey, Revision: it.Revision, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
		HeldUntil: fromUnixNanos(it.HeldUntil),
	}, nil
}

// SaveSlot writes the EHR's view of a slot. s.Revision is the revision the caller
// read (0: must not exist yet); the stored revision becomes s.Revision+1. A lost
// race returns ErrConditionFailed.
func (s *Store) SaveSlot(ctx context.Context, sl slot.Slot) error {
	op := fmt.Sprintf("save slot %s/%s", sl.ClinicID, sl.ID)
	if err := sl.Validate(); err != nil {
		return fmt.Errorf("dynamo: %s: %w", op, err)
	}
	now := s.now()
	set := func(u expression.UpdateBuilder, name string, v any) expression.UpdateBuilder {
		return u.Set(expression.Name(name), expression.Value(v))
	}
	optional := func(u expression.UpdateBuilder, name, v string) expression.UpdateBuilder {
		if v == "" {
			return u.Remove(expression.Name(name))
		}
		return set(u, name, v)
	}
	upd := expression.Set(expression.Name(AttrSlotClinic), expression.Value(sl.ClinicID))
	for name, v := range map[string]any{
		"clinicId": sl.ClinicID, "slotId": sl.ID, AttrStart: formatSortable(sl.Start), "durationNs": int64(sl.Duration),
		"status": sl.Status, "version": sl.Version, "revision": sl.Revision + 1, "updatedAt": now,
		AttrExpiresAt: sl.Start.Add(SlotRetention).Unix(),
	} {
		upd = set(upd, name, v)
	}
	upd = upd.Set(expression.Name("createdAt"), expression.IfNotExists(expression.Name("createdAt"), expression.Value(now)))
	upd = optional(upd, "location", sl.Location)
	upd = optional(upd, "practitioner", sl.Practitioner)
	upd = optional(upd, "visitType", sl.VisitType)
	upd = optional(upd, "orderingKey", sl.OrderingKey)
	free := ""
	if sl.Status == slot.Free {
		free = sl.ClinicID
	}
	upd = optional(upd, AttrFreeClinic, free)

	cond := nPK.AttributeNotExists()
	if sl.Revision != 0 {
		cond = expression.Name("revision").Equal(expression.Value(sl.Revision))
	}
	return wrap(op, s.update(ctx, s.names.Slots, slotPK(sl.ClinicID, sl.ID), skSlot, upd, &cond))
}

// GetSlot reads one slot (strongly consistent: the EHR's next write orders against it).
func (s *Store) GetSlot(ctx context.Context, clinicID, id string) (slot.Slot, error) {
	op := fmt.Sprintf("get slot %s/%s", clinicID, id)
	var it slotItem
	ok, err := s.getItem(ctx, s.names.Slots, slotPK(clinicID, id), skSlot, &it)
	if err != nil {
		return slot.Slot{}, wrap(op, err)
	}
	if !ok {
		return slot.Slot{}, notFound(op)
	}
	sl, err := it.domain()
	if err != nil {
		return slot.Slot{}, fmt.Errorf("dynamo: %s: decode: %w", op, err)
	}
	return sl, nil
}

// maxSlotPage bounds one page (and one DynamoDB query) of slots.
const maxSlotPage = 1000

// Slots lists a clinic's slots with start in [q.From, q.To), in start order, one page.
func (s *Store) Slots(ctx context.Context, q slot.Query) (slot.Page, error) {
	op := fmt.Sprintf("slots of %s", q.ClinicID)
	if !q.To.After(q.From) {
		return slot.Page{}, nil
	}
	index, pkAttr := IndexSlotStart, AttrSlotClinic
	if q.FreeOnly {
		index, pkAttr = IndexSlotFree, AttrFreeClinic
	}
	last := q.To.Add(-time.Nanosecond) // BETWEEN is inclusive; To is not
	in, err := keyQuery(s.names.Slots, index, expression.Key(pkAttr).Equal(expression.Value(q.ClinicID)).
		And(expression.Key(AttrStart).Between(expression.Value(formatSortable(q.From)), expression.Value(formatSortable(last)))), false)
	if err != nil {
		return slot.Page{}, wrap(op, err)
	}
	limit := q.Limit
	if limit <= 0 || limit > maxSlotPage {
		limit = maxSlotPage
	}
	in.Limit = aws.Int32(int32(limit))
	if q.After != nil {
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			AttrPK:    &types.AttributeValueMemberS{Value: slotPK(q.ClinicID, q.After.ID)},
			AttrSK:    &types.AttributeValueMemberS{Value: skSlot},
			pkAttr:    &types.AttributeValueMemberS{Value: q.ClinicID},
			AttrStart: &types.AttributeValueMemberS{Value: formatSortable(q.After.Start)},
		}
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return slot.Page{}, wrap(op, err)
	}
	page := slot.Page{Slots: make([]slot.Slot, 0, len(out.Items))}
	for _, av := range out.Items {
		var it slotItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return slot.Page{}, fmt.Errorf("dynamo: %s: decode: %w", op, err)
		}
		sl, err := it.domain()
		if err != nil {
			return slot.Page{}, fmt.Errorf("dynamo: %s: decode: %w", op, err)
		}
		page.Slots = append(page.Slots, sl)
	}
	if len(out.LastEvaluatedKey) > 0 && len(page.Slots) > 0 {
		l := page.Slots[len(page.Slots)-1]
		page.Next = &slot.Key{Start: l.Start, ID: l.ID}
	}
	return page, nil
}
