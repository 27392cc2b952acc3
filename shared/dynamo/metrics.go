package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/metrics"
)

// The metrics table. A clinic's partition holds its day items,
// sk "DAY#<local date>#<shard>", whose numeric attributes are counters, and one
// marker per counted fact, sk "SEEN#<fact key>", with a TTL.
//
// A fact is counted by one transaction: put the marker on condition it does not
// exist, and ADD the fact's amounts to its day item. A redelivered event finds the
// marker and the transaction changes nothing, so a count happens exactly once per
// fact key (while its marker lives), whatever the queue or the EHR retries; no
// crash can leave a marker without its count or a count without its marker.
//
// Each day is spread over metricShards items (the fact key picks one) so that
// concurrent transactions of a busy clinic seldom meet on one item; a report reads
// every shard of every day in its range with one query, so its cost grows with the
// number of days (times the shards), never with appointments or messages.
const (
	prefixMetrics     = "METRICS#"
	skMetricDay       = "DAY#"
	skMetricSeen      = "SEEN#"
	metricShards      = 4
	metricAttempts    = 6
	metricMarkerTTL   = 400 * 24 * time.Hour // longer than any retry and than the longest report
	metricRetryPause  = 20 * time.Millisecond
	attrMetricDayKeys = "day"
)

var _ metrics.Store = (*Store)(nil)

func metricsPK(clinicID string) string { return prefixMetrics + clinicID }

func metricDaySK(day, key string) string {
	shard := 0
	if key != "" {
		if n, err := strconv.ParseUint(key[:1], 16, 8); err == nil {
			shard = int(n) % metricShards
		}
	}
	return fmt.Sprintf("%s%s#%d", skMetricDay, day, shard)
}

// CountFact counts f unless its key was counted before (counted false).
func (s *Store) CountFact(ctx context.Context, f metrics.Fact) (bool, error) {
	op := fmt.Sprintf("count metrics fact for %s on %s", f.ClinicID, f.Day)
	if f.ClinicID == "" || f.Key == "" || f.Day == "" || len(f.Add) == 0 {
		return false, fmt.Errorf("dynamo: %s: incomplete fact", op)
	}
	marker, err := marshal(struct {
		PK        string    `dynamodbav:"pk"`
		SK        string    `dynamodbav:"sk"`
		Day       string    `dynamodbav:"day"`
		ExpiresAt time.Time `dynamodbav:"expiresAt,unixtime"`
	}{metricsPK(f.ClinicID), skMetricSeen + f.Key, f.Day, s.now().Add(metricMarkerTTL)})
	if err != nil {
		return false, fmt.Errorf("dynamo: %s: %w", op, err)
	}
	// An expired marker that TTL has not deleted yet counts as absent.
	putMarker, err := s.transactPut(s.names.Metrics, marker,
		nPK.AttributeNotExists().Or(expression.Name(AttrExpiresAt).LessThan(expression.Value(s.now().Unix()))))
	if err != nil {
		return false, fmt.Errorf("dynamo: %s: %w", op, err)
	}
	upd := expression.Set(expression.Name(attrMetricDayKeys), expression.Value(f.Day))
	for _, name := range f.Counters() {
		upd = upd.Add(expression.Name(name), expression.Value(f.Add[name]))
	}
	ex, err := expression.NewBuilder().WithUpdate(upd).Build()
	if err != nil {
		return false, fmt.Errorf("dynamo: %s: %w", op, err)
	}
	addDay := types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.names.Metrics), Key: itemKey(metricsPK(f.ClinicID), metricDaySK(f.Day, f.Key)),
		UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
	}}
	for attempt := 1; ; attempt++ {
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{putMarker, addDay}})
		if err == nil {
			return true, nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) || attempt == metricAttempts {
			return false, wrap(op, err)
		}
		if len(tce.CancellationReasons) > 0 && aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
			return false, nil // the marker exists: counted before
		}
		// Another transaction held the day item: nothing was written, try again.
		select {
		case <-ctx.Done():
			return false, wrap(op, ctx.Err())
		case <-time.After(time.Duration(attempt) * metricRetryPause):
		}
	}
}

// MetricDays reads a clinic's day items for the local dates from..to (inclusive,
// "2006-01-02"), shards summed: one query, one item per day and shard.
func (s *Store) MetricDays(ctx context.Context, clinicID, from, to string) ([]metrics.DayCounts, error) {
	op := fmt.Sprintf("metric days of %s %s..%s", clinicID, from, to)
	in, err := keyQuery(s.names.Metrics, "", expression.Key(AttrPK).Equal(expression.Value(metricsPK(clinicID))).
		And(expression.Key(AttrSK).Between(expression.Value(skMetricDay+from), expression.Value(skMetricDay+to+"#~"))), false)
	if err != nil {
		return nil, wrap(op, err)
	}
	items, err := s.queryAll(ctx, in)
	if err != nil {
		return nil, wrap(op, err)
	}
	byDay := map[string]map[string]int64{}
	var order []string
	for _, it := range items {
		sk, _ := it[AttrSK].(*types.AttributeValueMemberS)
		if sk == nil {
			continue
		}
		day, _, _ := strings.Cut(strings.TrimPrefix(sk.Value, skMetricDay), "#")
		counts := byDay[day]
		if counts == nil {
			counts = map[string]int64{}
			byDay[day] = counts
			order = append(order, day)
		}
		for name, av := range it {
			n, ok := av.(*types.AttributeValueMemberN)
			if !ok {
				continue
			}
			v, err := strconv.ParseInt(n.Value, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("dynamo: %s: counter %s: %w", op, name, err)
			}
			counts[name] += v
		}
	}
	out := make([]metrics.DayCounts, 0, len(order))
	for _, d := range order {
		out = append(out, metrics.DayCounts{Day: d, Counts: byDay[d]})
	}
	return out, nil
}
