package dynamo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Store is the repository over every Frontdesk table. It is safe for concurrent use;
// all cross-process coordination (optimistic locking, claims, leases) happens in
// DynamoDB conditions, never in memory, because senders and sweepers run as many
// Lambda instances at once.
type Store struct {
	db     *dynamodb.Client
	names  TableNames
	clock  platform.Clock
	shards int
}

// NewStore returns a Store. shards is how many partitions the sparse due index is
// spread over (values below 1 mean 1); it must stay the same for the lifetime of the
// data, because a reminder's shard is computed once when it is scheduled.
func NewStore(client *dynamodb.Client, names TableNames, clock platform.Clock, shards int) *Store {
	if shards < 1 {
		shards = 1
	}
	if clock == nil {
		clock = platform.SystemClock{}
	}
	return &Store{db: client, names: names, clock: clock, shards: shards}
}

// Shards is the number of due-index shards a sweep must cover.
func (s *Store) Shards() int { return s.shards }

// ErrConditionFailed matches (errors.Is) every ConditionFailedError, as does the
// domain's fault.ErrConflict, which is what services test.
var ErrConditionFailed = errors.New("dynamo: condition failed")

// ErrInProgress is returned by ClaimIdempotency while the first caller is still
// working; it is a fault.InProgress.
var ErrInProgress = fault.New(fault.InProgress, "idempotency key in progress")

// ConditionFailedError says a conditional write lost: the item was not in the state
// the caller expected (stale revision, already claimed, already exists). The caller
// re-reads and decides; it is not a fault.
type ConditionFailedError struct {
	Op  string
	Err error
}

func (e *ConditionFailedError) Error() string {
	return fmt.Sprintf("dynamo: %s: condition failed: %v", e.Op, e.Err)
}

// Is makes errors.Is(err, ErrConditionFailed) and errors.Is(err, fault.ErrConflict) true.
func (e *ConditionFailedError) Is(target error) bool {
	return target == ErrConditionFailed || target == fault.ErrConflict
}

// Unwrap exposes the SDK error.
func (e *ConditionFailedError) Unwrap() error { return e.Err }

// conditionFailed reports whether err is a lost conditional write: a plain
// ConditionalCheckFailedException, or a cancelled transaction whose reasons include a
// failed condition or a conflicting concurrent transaction on the same item (both
// mean "someone else wrote first; re-read and retry").
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed", "TransactionConflict":
				return true
			}
		}
	}
	return false
}

// wrap turns SDK errors into the package's errors, naming the operation.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if conditionFailed(err) {
		return &ConditionFailedError{Op: op, Err: err}
	}
	return fmt.Errorf("dynamo: %s: %w", op, err)
}

func notFound(op string) error {
	return &fault.Error{Code: fault.NotFound, Op: "dynamo: " + op, Msg: "not found"}
}

// Key prefixes. Keys carry the tenant so no query can cross clinics by accident.
const (
	prefixAppointment = "APPT#"
	prefixPatient     = "PAT#"
	prefixMessage     = "MSG#"
	prefixClinic      = "CLINIC#"
	prefixIdempotency = "IDEM#"

	skAppointment   = "A"
	skReminder      = "R#"
	skPatient       = "P"
	skConsent       = "C#"
	skConsentMarker = "CID#"
	skMessage       = "M"
)

func appointmentPK(clinicID, id string) string { return prefixAppointment + clinicID + "#" + id }
func patientPK(clinicID, id string) string     { return prefixPatient + clinicID + "#" + id }

func itemKey(pk, sk string) map[string]types.AttributeValue {
	k := map[string]types.AttributeValue{AttrPK: &types.AttributeValueMemberS{Value: pk}}
	if sk != "" {
		k[AttrSK] = &types.AttributeValueMemberS{Value: sk}
	}
	return k
}

// sortableTime is a fixed-width UTC layout: RFC3339Nano trims trailing zeros, which
// breaks lexicographic order in sort keys and range conditions.
const sortableTime = "2006-01-02T15:04:05.000000000Z"

func formatSortable(t time.Time) string { return t.UTC().Format(sortableTime) }

func parseSortable(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// unixNanos stores instants that conditions compare (leases, pacing, last inbound)
// as numbers, exact to the nanosecond so they round-trip unchanged.
func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func marshal(v any) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMapWithOptions(v, func(o *attributevalue.EncoderOptions) { o.OmitEmptyTime = true })
}

func (s *Store) now() time.Time { return s.clock.Now().UTC() }

// shardOf spreads due reminders over shards by their partition key, so a sweep can
// read shards in parallel and no single index partition gets hot.
func (s *Store) shardOf(pk string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(pk))
	return fmt.Sprintf("%02d", h.Sum32()%uint32(s.shards)) //nolint:gosec // G115: shards is at least 1 (NewStore) and a small configured count
}

// exists tells a failed condition on an item that was missing from one that was in
// the wrong state, which callers handle differently (not found vs. refused).
func (s *Store) exists(ctx context.Context, table, pk, sk string) (bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table), Key: itemKey(pk, sk), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String(AttrPK),
	})
	if err != nil {
		return false, err
	}
	return len(out.Item) > 0, nil
}

func (s *Store) getItem(ctx context.Context, table, pk, sk string, v any) (bool, error) {
	raw, err := s.getRaw(ctx, table, pk, sk)
	if err != nil || raw == nil {
		return false, err
	}
	return true, attributevalue.UnmarshalMap(raw, v)
}

// update runs one conditional UpdateItem built from the expression builders.
func (s *Store) update(ctx context.Context, table, pk, sk string, upd expression.UpdateBuilder, cond *expression.ConditionBuilder) error {
	b := expression.NewBuilder().WithUpdate(upd)
	if cond != nil {
		b = b.WithCondition(*cond)
	}
	ex, err := b.Build()
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(table), Key: itemKey(pk, sk),
		UpdateExpression: ex.Update(), ConditionExpression: ex.Condition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
	})
	return err
}

// put runs one PutItem, conditional when cond is set.
func (s *Store) put(ctx context.Context, table string, item map[string]types.AttributeValue, cond *expression.ConditionBuilder) error {
	in := &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}
	if cond != nil {
		ex, err := expression.NewBuilder().WithCondition(*cond).Build()
		if err != nil {
			return err
		}
		in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues = ex.Condition(), ex.Names(), ex.Values()
	}
	_, err := s.db.PutItem(ctx, in)
	return err
}

// queryAll follows LastEvaluatedKey so callers get every matching item.
func (s *Store) queryAll(ctx context.Context, in *dynamodb.QueryInput) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		items = append(items, out.Items...)
	}
	return items, nil
}

// queryDomain runs one key query to its end and turns each item into its domain
// value.
func queryDomain[I, D any](ctx context.Context, s *Store, op, table, index string, cond expression.KeyConditionBuilder, consistent bool, domain func(I) D) ([]D, error) {
	in, err := keyQuery(table, index, cond, consistent)
	if err != nil {
		return nil, wrap(op, err)
	}
	items, err := s.queryAll(ctx, in)
	if err != nil {
		return nil, wrap(op, err)
	}
	return decodeAll(op, items, domain)
}

// decodeAll decodes items of one kind and turns each into its domain value.
func decodeAll[I, D any](op string, items []map[string]types.AttributeValue, domain func(I) D) ([]D, error) {
	out := make([]D, 0, len(items))
	for _, av := range items {
		var it I
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return nil, fmt.Errorf("dynamo: %s: decode: %w", op, err)
		}
		out = append(out, domain(it))
	}
	return out, nil
}

// scanEach scans a whole table for the items that match filt and hands each, decoded,
// to each, stopping at the first error. Only one-off backfills scan.
func scanEach[I any](ctx context.Context, s *Store, op, table string, filt expression.ConditionBuilder, each func(it I) error) error {
	ex, err := expression.NewBuilder().WithFilter(filt).Build()
	if err != nil {
		return wrap(op, err)
	}
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{
		TableName: aws.String(table), FilterExpression: ex.Filter(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return wrap(op, err)
		}
		for _, av := range page.Items {
			var it I
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return fmt.Errorf("dynamo: %s: decode: %w", op, err)
			}
			if err := each(it); err != nil {
				return err
			}
		}
	}
	return nil
}

// partitionPrefix is the key condition for the items of one partition whose sort
// key starts with prefix (a patient's notices or consent entries, a ledger's lines).
func partitionPrefix(pk, prefix string) expression.KeyConditionBuilder {
	return expression.Key(AttrPK).Equal(expression.Value(pk)).And(expression.Key(AttrSK).BeginsWith(prefix))
}

func keyQuery(table, index string, cond expression.KeyConditionBuilder, consistent bool) (*dynamodb.QueryInput, error) {
	ex, err := expression.NewBuilder().WithKeyCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(table), KeyConditionExpression: ex.KeyCondition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
	}
	if index != "" {
		in.IndexName = aws.String(index)
	} else {
		in.ConsistentRead = aws.Bool(consistent)
	}
	return in, nil
}

func condPtr(c expression.ConditionBuilder) *expression.ConditionBuilder { return &c }

var (
	nPK = expression.Name(AttrPK)
	nSK = expression.Name(AttrSK)
)
