package platform

import (
	"context"
	"log/slog"
	"time"
)

// Custom metrics, emitted as CloudWatch Embedded Metric Format through the JSON
// log, in namespace MetricNamespace. The CDK dashboard and alarms use these same
// constants; each metric has exactly the dimension named here (or none), because
// CloudWatch matches the dimension set exactly.
const (
	MetricNamespace = "Frontdesk"
	// MetricSendsByStatus counts sends by outcome: dimension Status =
	// sent|delivered|read|failed|skipped (sender and inbound status handling).
	MetricSendsByStatus = "SendsByStatus"
	DimStatus           = "Status"
	// MetricReplies counts patient replies: dimension Action =
	// confirm|reschedule|cancel|stop|start|other (inbound).
	MetricReplies = "Replies"
	DimAction     = "Action"
	// MetricSweepLag is, per sweep run, how late the most overdue reminder it
	// enqueued was (now - dueAt, seconds; 0 when nothing was due). No dimensions.
	MetricSweepLag = "SweepLagSeconds"
	// MetricRemindersEnqueued counts reminders a sweep run enqueued. No dimensions.
	MetricRemindersEnqueued = "RemindersEnqueued"
	// MetricRemindersReaped counts reminders a reaper run enqueued again because
	// their job was lost. No dimensions.
	MetricRemindersReaped = "RemindersReaped"
	// MetricClinicCounts is the clinics' numbers summed over every clinic, each
	// counted once when its event is first recorded: dimension Counter = a name
	// in metrics.DashboardCounters (bookings, confirmations, noShows, ...).
	MetricClinicCounts = "ClinicCounts"
	DimCounter         = "Counter"
)

// Metric writes one EMF record: CloudWatch Logs turns the log line into a metric
// value, with no API call on the request path. dim is an optional name/value pair.
func Metric(ctx context.Context, log *slog.Logger, clock Clock, name string, value float64, unit string, dim ...string) {
	if log == nil {
		return
	}
	if clock == nil {
		clock = SystemClock{}
	}
	dims := []string{}
	attrs := []slog.Attr{slog.Float64(name, value)}
	if len(dim) == 2 {
		dims = append(dims, dim[0])
		attrs = append(attrs, slog.String(dim[0], dim[1]))
	}
	directive := map[string]any{
		"Timestamp": clock.Now().UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  MetricNamespace,
			"Dimensions": [][]string{dims},
			"Metrics":    []map[string]string{{"Name": name, "Unit": unit}},
		}},
	}
	attrs = append(attrs, slog.Any("_aws", directive))
	log.LogAttrs(ctx, slog.LevelInfo, "metric", attrs...)
}

// Count is Metric for a count of one.
func Count(ctx context.Context, log *slog.Logger, clock Clock, name string, dim ...string) {
	Metric(ctx, log, clock, name, 1, "Count", dim...)
}

// Seconds is Metric for a duration in seconds.
func Seconds(ctx context.Context, log *slog.Logger, clock Clock, name string, d time.Duration) {
	Metric(ctx, log, clock, name, d.Seconds(), "Seconds")
}
