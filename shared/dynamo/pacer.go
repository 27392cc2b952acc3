package dynamo

import (
	"context"
	"strconv"
	"time"

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
