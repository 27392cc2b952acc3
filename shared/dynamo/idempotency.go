package dynamo

import (
	"github.com/frontdesk-health/frontdesk/shared/idempotency"
	"github.com/frontdesk-health/frontdesk/shared/platform"

	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

const (
	idemInProgress = "in_progress"
	idemDone       = "done"
	idemMarker     = "seen"
)

type idempotencyItem struct {
	PK          string `dynamodbav:"pk"`
	State       string `dynamodbav:"state"`
	Status      int    `dynamodbav:"status,omitempty"`
	ContentType string `dynamodbav:"contentType,omitempty"`
	Body        []byte `dynamodbav:"body,omitempty"`
	// Fingerprint binds the key to the request it was first used for (route and
	// body digest), so the key cannot replay one request's answer for another.
	Fingerprint string    `dynamodbav:"fingerprint,omitempty"`
	ExpiresAt   time.Time `dynamodbav:"expiresAt,unixtime"`
}

// claimable: DynamoDB's TTL deletes expired items only eventually (up to days
// later), so an expired key must count as absent or it would block for that long.
func (s *Store) claimable() expression.ConditionBuilder {
	return nPK.AttributeNotExists().Or(expression.Name(AttrExpiresAt).LessThan(expression.Value(s.now().Unix())))
}

// ClaimIdempotency makes the first caller of key the one that processes it: it gets
// (nil, nil) and an in-progress marker is stored for ttl. Later callers get the
// stored response once CompleteIdempotency ran, or ErrInProgress before that.
func (s *Store) ClaimIdempotency(ctx context.Context, key string, ttl time.Duration) (*idempotency.Response, error) {
	return s.ClaimRequest(ctx, key, "", ttl)
}

// ClaimRequest is ClaimIdempotency for a key bound to one request: fingerprint
// (e.g. route and body digest) is stored with the claim and the answer, and a
// later claim of the key with another fingerprint gets idempotency.ErrKeyReused, whether the
// first request is still in progress or done. An empty fingerprint matches any.
func (s *Store) ClaimRequest(ctx context.Context, key, fingerprint string, ttl time.Duration) (*idempotency.Response, error) {
	op := "claim idempotency key " + platform.Hash(key) // keys can hold wamids, which embed phone numbers
	pk := prefixIdempotency + key
	// Two rounds: the holder can release the key between our failed claim and our read.
	for range 2 {
		item, err := marshal(idempotencyItem{PK: pk, State: idemInProgress, Fingerprint: fingerprint, ExpiresAt: s.now().Add(ttl)})
		if err != nil {
			return nil, fmt.Errorf("dynamo: %s: %w", op, err)
		}
		err = s.put(ctx, s.names.Idempotency, item, condPtr(s.claimable()))
		if err == nil {
			return nil, nil
		}
		if !conditionFailed(err) {
			return nil, wrap(op, err)
		}
		var it idempotencyItem
		ok, err := s.getItem(ctx, s.names.Idempotency, pk, "", &it)
		if err != nil {
			return nil, wrap(op, err)
		}
		switch {
		case !ok:
			continue
		case fingerprint != "" && it.Fingerprint != "" && it.Fingerprint != fingerprint:
			return nil, fmt.Errorf("dynamo: %s: %w", op, idempotency.ErrKeyReused)
		case it.State == idemDone:
			return &idempotency.Response{Status: it.Status, ContentType: it.ContentType, Body: it.Body, Fingerprint: it.Fingerprint}, nil
		default:
			return nil, fmt.Errorf("dynamo: %s: %w", op, ErrInProgress)
		}
	}
	return nil, fmt.Errorf("dynamo: %s: %w", op, ErrInProgress)
}

// CompleteIdempotency stores the response later callers of key receive.
func (s *Store) CompleteIdempotency(ctx context.Context, key string, resp idempotency.Response, ttl time.Duration) error {
	op := "complete idempotency key " + platform.Hash(key)
	item, err := marshal(idempotencyItem{PK: prefixIdempotency + key, State: idemDone, Status: resp.Status,
		ContentType: resp.ContentType, Body: resp.Body, Fingerprint: resp.Fingerprint, ExpiresAt: s.now().Add(ttl)})
	if err != nil {
		return fmt.Errorf("dynamo: %s: %w", op, err)
	}
	return wrap(op, s.put(ctx, s.names.Idempotency, item, nil))
}

// ReleaseIdempotency drops an in-progress claim whose processing failed, so a
// retry can process the request. A completed key is left alone.
func (s *Store) ReleaseIdempotency(ctx context.Context, key string) error {
	op := "release idempotency key " + platform.Hash(key)
	ex, err := expression.NewBuilder().WithCondition(expression.Name("state").Equal(expression.Value(idemInProgress))).Build()
	if err != nil {
		return fmt.Errorf("dynamo: %s: %w", op, err)
	}
	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.names.Idempotency), Key: itemKey(prefixIdempotency+key, ""),
		ConditionExpression: ex.Condition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
	})
	if conditionFailed(err) {
		return nil
	}
	return wrap(op, err)
}

// ClaimOnce stores a dedupe marker for ttl; first is true only for the first caller.
func (s *Store) ClaimOnce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	op := "claim once " + platform.Hash(key)
	item, err := marshal(idempotencyItem{PK: prefixIdempotency + key, State: idemMarker, ExpiresAt: s.now().Add(ttl)})
	if err != nil {
		return false, fmt.Errorf("dynamo: %s: %w", op, err)
	}
	err = s.put(ctx, s.names.Idempotency, item, condPtr(s.claimable()))
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap(op, err)
	}
	return true, nil
}
