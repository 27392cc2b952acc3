package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// LogKeyAlarm turns a log key the README's runbooks name into an alarm. A key is
// either the value of a line's "alert" attribute or its message ("msg"); the metric
// filter matches both, so a runbook may name whichever an operator sees first.
type LogKeyAlarm struct {
	Key string
	// Functions whose log groups carry the key.
	Functions []string
	// Threshold: the alarm fires when more lines than this arrive in 5 minutes.
	Threshold   float64
	Description string
}

// LogKeyAlarms lists every runbook log key. The infra tests read the README's
// runbooks and fail on a key missing here, and check that the code logs each key.
var LogKeyAlarms = []LogKeyAlarm{
	{Key: "whatsapp_auth_halt", Functions: []string{FnSender},
		Description: "The WhatsApp access token was rejected and the sender halted (README runbook: Sender halted)"},
	{Key: "whatsapp_quality_pause", Functions: []string{FnSender},
		Description: "Meta limited a clinic's number for quality; its sends wait (README runbook: Quality or policy block)"},
	{Key: "whatsapp_policy_block", Functions: []string{FnSender},
		Description: "Meta blocked a clinic's number for policy; its sends wait (README runbook: Quality or policy block)"},
	{Key: "whatsapp_template_rejected", Functions: []string{FnSender},
		Description: "A message template is rejected or paused; its sends fail (README runbook: Template rejected or paused)"},
	{Key: "whatsapp_template_blocked", Functions: []string{FnInbound},
		Description: "Meta paused, disabled or re-categorised a template; its reminders wait (README runbook: Template paused or re-categorised by Meta)"},
	{Key: "sender.dead_letter", Functions: []string{FnSender},
		Description: "A reminder job used its last attempt and goes to the outbound DLQ (README runbook: A DLQ alarm)"},
	// Every failed attempt logs this line and most are retried successfully, so
	// only a burst alarms; a record that keeps failing reaches the DLQ, whose alarm
	// fires on the first message.
	{Key: "inbound record failed", Functions: []string{FnInbound}, Threshold: 10,
		Description: "Inbound webhook records keep failing (README runbook: A DLQ alarm)"},
	{Key: "notify.dead_letter", Functions: []string{FnEHRNotifier},
		Description: "A clinic callback used its last attempt and goes to the ehr-outbox DLQ (README runbook: A DLQ alarm)"},
}

// LogKeyMetricName is the metric a key's filter counts, in MetricNamespace.
func LogKeyMetricName(key string) string {
	return "LogKey_" + strings.NewReplacer(" ", "_", ".", "_").Replace(key)
}

// LogKeyFilterPattern matches a JSON log line whose alert or message is key.
func LogKeyFilterPattern(key string) string {
	return fmt.Sprintf(`{ ($.alert = %q) || ($.msg = %q) }`, key, key)
}

// newLogKeyAlarms adds, per key, one metric filter on each log group that carries
// it (all counting into the same metric) and one alarm on that metric.
func newLogKeyAlarms(stack awscdk.Stack, f *Frontdesk, alarm func(id, description string, metric awscloudwatch.IMetric, threshold float64, op awscloudwatch.ComparisonOperator) awscloudwatch.Alarm) map[string]awscloudwatch.Alarm {
	five := awscdk.Duration_Minutes(jsii.Number(5))
	out := map[string]awscloudwatch.Alarm{}
	for _, k := range LogKeyAlarms {
		id := "LogKey" + logicalID(strings.NewReplacer(" ", "-", ".", "-", "_", "-").Replace(k.Key))
		var metric awscloudwatch.IMetric
		for _, fn := range k.Functions {
			mf := awslogs.NewMetricFilter(stack, jsii.String(id+logicalID(fn)+"Filter"), &awslogs.MetricFilterProps{
				LogGroup:        f.Functions[fn].LogGroup,
				FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(LogKeyFilterPattern(k.Key))),
				MetricNamespace: jsii.String(MetricNamespace),
				MetricName:      jsii.String(LogKeyMetricName(k.Key)),
				MetricValue:     jsii.String("1"),
			})
			metric = mf.Metric(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")})
		}
		out[k.Key] = alarm(id, k.Description+fmt.Sprintf(" [log key %q]", k.Key), metric, k.Threshold,
			awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)
	}
	return out
}
