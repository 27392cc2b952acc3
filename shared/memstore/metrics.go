package memstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/metrics"
)

// Metrics: a counter map per clinic and local day, and a marker per counted fact
// key that expires, as the DynamoDB store's TTL'd markers do.
const (
	tblMetricDays = "metricDays"
	tblMetricSeen = "metricSeen"

	// metricMarkerTTL is the DynamoDB store's: longer than any retry and report.
	metricMarkerTTL = 400 * 24 * time.Hour
)

var _ metrics.Store = (*Store)(nil)

// CountFact counts f unless its key was counted before and its marker has not
// expired (counted false).
func (s *Store) CountFact(_ context.Context, f metrics.Fact) (bool, error) {
	if f.ClinicID == "" || f.Key == "" || f.Day == "" || len(f.Add) == 0 {
		return false, fmt.Errorf("memstore: count metrics fact for %s on %s: incomplete fact", f.ClinicID, f.Day)
	}
	defer s.lock()()
	now := s.now()
	mk := key(f.ClinicID, f.Key)
	// The DynamoDB store compares the marker's expiry in whole seconds.
	if exp, ok := get[time.Time](s, tblMetricSeen, mk); ok && exp.Unix() >= now.Unix() {
		return false, nil
	}
	put(s, tblMetricSeen, mk, now.Add(metricMarkerTTL))
	dk := key(f.ClinicID, f.Day)
	counts, _ := get[map[string]int64](s, tblMetricDays, dk)
	next := make(map[string]int64, len(counts)+len(f.Add))
	for name, v := range counts {
		next[name] = v
	}
	for name, v := range f.Add {
		next[name] += v
	}
	put(s, tblMetricDays, dk, next)
	return true, nil
}

// MetricDays reads a clinic's counters for the local dates from..to (inclusive,
// "2006-01-02"), in date order; days with nothing counted are absent.
func (s *Store) MetricDays(_ context.Context, clinicID, from, to string) ([]metrics.DayCounts, error) {
	defer s.lock()()
	prefix := key(clinicID)
	var out []metrics.DayCounts
	for k, v := range s.table(tblMetricDays) {
		if len(k) <= len(prefix) || k[:len(prefix)] != prefix {
			continue
		}
		day := k[len(prefix) : len(k)-1]
		if day < from || day > to {
			continue
		}
		counts := map[string]int64{}
		for name, n := range v.(map[string]int64) { // the table holds counter maps only
			counts[name] = n
		}
		out = append(out, metrics.DayCounts{Day: day, Counts: counts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day < out[j].Day })
	return append(make([]metrics.DayCounts, 0, len(out)), out...), nil
}
