package dynamo

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// Cursors hand a query's LastEvaluatedKey to the caller as an opaque token and read
// it back. Index keys here hold only strings and numbers.
type cursorAttr struct {
	S *string `json:"s,omitempty"`
	N *string `json:"n,omitempty"`
}

func cursorFrom(k map[string]types.AttributeValue) (*reminder.Cursor, error) {
	if len(k) == 0 {
		return nil, nil
	}
	m := make(map[string]cursorAttr, len(k))
	for name, av := range k {
		switch v := av.(type) {
		case *types.AttributeValueMemberS:
			m[name] = cursorAttr{S: &v.Value}
		case *types.AttributeValueMemberN:
			m[name] = cursorAttr{N: &v.Value}
		default:
			return nil, fmt.Errorf("cursor: key attribute %s has an unexpected type %T", name, av)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("cursor: %w", err)
	}
	return &reminder.Cursor{Token: string(b)}, nil
}

func cursorKey(c *reminder.Cursor) (map[string]types.AttributeValue, error) {
	var m map[string]cursorAttr
	if err := json.Unmarshal([]byte(c.Token), &m); err != nil {
		return nil, fmt.Errorf("cursor: %w", err)
	}
	k := make(map[string]types.AttributeValue, len(m))
	for name, a := range m {
		switch {
		case a.S != nil:
			k[name] = &types.AttributeValueMemberS{Value: *a.S}
		case a.N != nil:
			k[name] = &types.AttributeValueMemberN{Value: *a.N}
		default:
			return nil, fmt.Errorf("cursor: key attribute %s has no value", name)
		}
	}
	return k, nil
}
