package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
)

// prefixPace keys a phone number's send counters in the idempotency table: short
// lived, keyed by one string, expired by the same TTL.
const prefixPace = "PACE#"

// paceTTL keeps a window's counter long enough for every clock in the fleet to be
// past it; DynamoDB's TTL then removes it.
const paceTTL = time.Minute

const attrPaceCount = "n"

// TakeSendSlot counts one send of phoneNumberID in the budget window starting at
// window, if fewer than ceiling sends are counted there; ok is false when the
// window is full. It is one conditional UpdateItem on a per-number, per-window
// counter, so the budget holds across every sender and inbound instance.
func (s *Store) TakeSendSlot(ctx context.Context, phoneNumberID string, window time.Time, ceiling int) (bool, error) {
	pk := prefixPace + phoneNumberID + "#" + strconv.FormatInt(window.UnixMilli(), 10)
	n := expression.Name(attrPaceCount)
	cond := n.AttributeNotExists().Or(n.LessThan(expression.Value(ceiling)))
	upd := expression.Add(n, expression.Value(1)).
		Set(expression.Name(AttrExpiresAt), expression.Value(window.Add(paceTTL).Unix()))
	err := s.update(ctx, s.names.Idempotency, pk, "", upd, &cond)
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap("take send slot of number "+phoneNumberID, err)
	}
	return true, nil
}

const (
	attrPaceLine = "at"
	paceLineTTL  = 30 * time.Minute
)

// TakeQueueSlots gives n jobs of a number consecutive places in the number's line
// and returns when the first comes up; the others follow spacing apart. The first
// place is spacing after the last one handed out, or after now when the line is
// empty. Jobs of a busy number then become visible spread at its rate instead of
// all at once, so they do not crowd the queue ahead of other numbers' jobs. One
// UpdateItem, two when the line is not empty.
func (s *Store) TakeQueueSlots(ctx context.Context, phoneNumberID string, now time.Time, spacing time.Duration, n int) (time.Time, error) {
	op := "take queue slots of number " + phoneNumberID
	pk := prefixPace + phoneNumberID + "#line"
	at := expression.Name(attrPaceLine)
	n = max(n, 1)
	place := now.Add(spacing)
	expires := expression.Value(now.Add(paceLineTTL).Unix())
	cond := at.AttributeNotExists().Or(at.LessThan(expression.Value(unixNanos(now))))
	err := s.update(ctx, s.names.Idempotency, pk, "",
		expression.Set(at, expression.Value(unixNanos(now.Add(time.Duration(n)*spacing)))).Set(expression.Name(AttrExpiresAt), expires), &cond)
	if err == nil {
		return place, nil
	}
	if !conditionFailed(err) {
		return time.Time{}, wrap(op, err)
	}
	// The TTL stays well past any place a sender hands out (at most SQS's 15-minute delay ahead).
	old, err := s.updateOld(ctx, s.names.Idempotency, pk, "", expression.Add(at, expression.Value(int64(time.Duration(n)*spacing))).
		Set(expression.Name(AttrExpiresAt), expression.Value(now.Add(paceLineTTL).Unix())))
	if err != nil {
		return time.Time{}, wrap(op, err)
	}
	var prev struct {
		At int64 `dynamodbav:"at"`
	}
	if err := attributevalue.UnmarshalMap(old, &prev); err != nil {
		return time.Time{}, fmt.Errorf("dynamo: %s: %w", op, err)
	}
	return fromUnixNanos(prev.At).Add(spacing), nil
}
