package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/app"
	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

type onceStore map[string]bool

func (s onceStore) CountFact(_ context.Context, f metrics.Fact) (bool, error) {
	first := !s[f.Key]
	s[f.Key] = true
	return first, nil
}

// The dashboard's totals are EMF lines written once per first count, for the
// dashboard's counters only (histogram buckets stay in the per-clinic aggregate).
func TestMetricsEmitDashboardCountersOnce(t *testing.T) {
	var buf bytes.Buffer
	clock := platform.NewFakeClock(time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC))
	r := app.NewMetrics(onceStore{}, platform.NewLogger(&buf, nil), clock)
	at := clock.Now()
	booked := metrics.FromAppointment("America/New_York", appointment.Appointment{ClinicID: "c1", ID: "a1", Status: appointment.StatusBooked, UpdatedAt: at})
	for range 2 { // redelivered
		if err := r.Record(context.Background(), booked...); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Record(context.Background(), metrics.HandOffAnswered("c1", "America/New_York", "h1", at, at.Add(time.Minute))...); err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 1 {
		t.Fatalf("%d metric lines, want 1: %s", len(lines), buf.String())
	}
	m := lines[0]
	if m[platform.DimCounter] != metrics.Bookings || m[platform.MetricClinicCounts] != 1.0 || m["_aws"] == nil {
		t.Errorf("line %v", m)
	}
}
