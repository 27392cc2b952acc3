package main

import (
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/platform"

	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// Custom metrics the functions emit with CloudWatch embedded metric format (EMF)
// in namespace MetricNamespace. Each metric has exactly the dimension named here
// (or none), because dashboards and alarms match the dimension set exactly.
const (
	MetricNamespace         = platform.MetricNamespace
	MetricSendsByStatus     = platform.MetricSendsByStatus
	DimStatus               = platform.DimStatus
	MetricReplies           = platform.MetricReplies
	DimAction               = platform.DimAction
	MetricSweepLag          = platform.MetricSweepLag
	MetricRemindersEnqueued = platform.MetricRemindersEnqueued
	MetricRemindersReaped   = platform.MetricRemindersReaped
	MetricClinicCounts      = platform.MetricClinicCounts
	DimCounter              = platform.DimCounter
)

// oldestMessageAlarm is how old the oldest message on a work queue may get before
// ops hear of it: replies should be handled in seconds, reminders within minutes,
// clinic callbacks tolerate an outage of the clinic's endpoint for a while.
var oldestMessageAlarm = map[string]time.Duration{
	queue.Inbound:   5 * time.Minute,
	queue.Outbound:  15 * time.Minute,
	queue.EHROutbox: 30 * time.Minute,
}

// SweepLagAlarm: reminders going out this late mean the sweep is not keeping up.
const SweepLagAlarm = 5 * time.Minute

// Observability is the alarm topic, the alarms and the dashboard.
type Observability struct {
	Topic     awssns.Topic
	Alarms    []awscloudwatch.Alarm
	DLQAlarms map[string]awscloudwatch.Alarm // by DLQ logical name
	LogAlarms map[string]awscloudwatch.Alarm // by runbook log key (LogKeyAlarms)
	Dashboard awscloudwatch.Dashboard
}

func newObservability(stack awscdk.Stack, f *Frontdesk) *Observability {
	st := f.Stage
	o := &Observability{DLQAlarms: map[string]awscloudwatch.Alarm{}}
	o.Topic = awssns.NewTopic(stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		TopicName:   jsii.String(st.Prefix() + "alarms"),
		DisplayName: jsii.String("Frontdesk " + st.Name + " alarms"),
		MasterKey:   f.Keys.Messaging,
		EnforceSSL:  jsii.Bool(true),
	})
	// The topic policy (TLS-only) replaces SNS's default one, so CloudWatch's
	// right to publish alarms from this account is stated explicitly.
	o.Topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*o.Topic.TopicArn()),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": *awscdk.Aws_ACCOUNT_ID()}},
	}))
	if st.AlarmEmail != "" {
		o.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(st.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(o.Topic)
	five := awscdk.Duration_Minutes(jsii.Number(5))

	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64, op awscloudwatch.ComparisonOperator) awscloudwatch.Alarm {
		a := awscloudwatch.NewAlarm(stack, jsii.String(id+"Alarm"), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(st.Prefix() + id),
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			ComparisonOperator: op,
			EvaluationPeriods:  jsii.Number(1),
			// No data means nothing happened (no messages, no invocations).
			TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		a.AddOkAction(action)
		o.Alarms = append(o.Alarms, a)
		return a
	}
	gt := awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD

	dlqs := map[string]awssqs.Queue{"sweep-dlq": f.SweepDLQ}
	for _, def := range queue.Queues() {
		dlqs[def.DLQName()] = f.Queues[def.Name].DLQ
		age := oldestMessageAlarm[def.Name]
		alarm(logicalID(def.Name)+"OldestMessage",
			fmt.Sprintf("Oldest message on %s%s is older than %s: its consumer is failing or too slow", st.Prefix(), def.Name, age),
			f.Queues[def.Name].Queue.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}),
			age.Seconds(), gt)
	}
	for _, name := range sortedQueueNames(dlqs) {
		o.DLQAlarms[name] = alarm(logicalID(name)+"Depth",
			fmt.Sprintf("%s%s holds messages: something a patient, Meta or an EHR sent was not processed (see README: redriving a DLQ)", st.Prefix(), name),
			dlqs[name].MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}),
			0, gt)
	}
	for _, name := range FunctionNames {
		fn := f.Functions[name].Fn
		alarm(logicalID(name)+"Errors", "Lambda "+st.Prefix()+name+" invocations failed",
			fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 0, gt)
		alarm(logicalID(name)+"Throttles", "Lambda "+st.Prefix()+name+" was throttled at its reserved concurrency",
			fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 0, gt)
	}
	alarm("Api5xx", "The API answered 5xx: clinics' EHR calls or Meta's webhooks are failing",
		f.API.Rest.MetricServerError(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 0, gt)
	alarm("SweepLag", fmt.Sprintf("Reminders are being enqueued more than %s after they were due", SweepLagAlarm),
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String(MetricNamespace), MetricName: jsii.String(MetricSweepLag),
			Period: five, Statistic: jsii.String("Maximum")}), SweepLagAlarm.Seconds(), gt)
	o.LogAlarms = newLogKeyAlarms(stack, f, alarm)
	alarm("RemindersReaped", "The reaper re-enqueued reminders whose job was lost (a sweep or sender died mid-way, "+
		"a send went unrecorded, or the sender is halted past the queue's retention): see the reaper.requeued log lines",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String(MetricNamespace), MetricName: jsii.String(MetricRemindersReaped),
			Period: five, Statistic: jsii.String("Sum")}), 0, gt)

	o.Dashboard = newDashboard(stack, f, o, dlqs)
	return o
}

func newDashboard(stack awscdk.Stack, f *Frontdesk, o *Observability, dlqs map[string]awssqs.Queue) awscloudwatch.Dashboard {
	st := f.Stage
	five := awscdk.Duration_Minutes(jsii.Number(5))
	apiName, stage := *f.API.Rest.RestApiName(), st.Name
	apiMetric := func(name, method, resource, stat, label string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/ApiGateway"), MetricName: jsii.String(name), Statistic: jsii.String(stat),
			Period: five, Label: jsii.String(label),
			DimensionsMap: &map[string]*string{
				"ApiName": jsii.String(apiName), "Stage": jsii.String(stage),
				"Method": jsii.String(method), "Resource": jsii.String(resource),
			},
		})
	}
	graph := func(title string, left []awscloudwatch.IMetric, right []awscloudwatch.IMetric) awscloudwatch.IWidget {
		p := &awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Width: jsii.Number(8), Height: jsii.Number(6), Left: &left}
		if len(right) > 0 {
			p.Right = &right
		}
		return awscloudwatch.NewGraphWidget(p)
	}
	search := func(expr, label string) awscloudwatch.IMetric {
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(expr), Label: jsii.String(label), Period: five,
			UsingMetrics: &map[string]awscloudwatch.IMetric{},
		})
	}
	hook := f.Functions[FnWhatsAppWebhook].Fn
	sweep := f.Functions[FnReminderSweep].Fn
	sent := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(MetricNamespace), MetricName: jsii.String(MetricSendsByStatus),
		DimensionsMap: &map[string]*string{DimStatus: jsii.String("sent")}, Statistic: jsii.String("Sum"), Period: five,
	})
	repliesSearch := fmt.Sprintf(`SEARCH('{%s,%s} MetricName="%s"', 'Sum', 300)`, MetricNamespace, DimAction, MetricReplies)

	var dlqDepth, queueAge []awscloudwatch.IMetric
	for _, name := range sortedQueueNames(dlqs) {
		dlqDepth = append(dlqDepth, dlqs[name].MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: five, Statistic: jsii.String("Maximum"), Label: jsii.String(name)}))
	}
	for _, def := range queue.Queues() {
		queueAge = append(queueAge, f.Queues[def.Name].Queue.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{
			Period: five, Statistic: jsii.String("Maximum"), Label: jsii.String(def.Name)}))
	}
	var fnErrors, fnThrottles []awscloudwatch.IMetric
	for _, name := range FunctionNames {
		fn := f.Functions[name].Fn
		fnErrors = append(fnErrors, fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum"), Label: jsii.String(name)}))
		fnThrottles = append(fnThrottles, fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum"), Label: jsii.String(name)}))
	}
	rows := [][]awscloudwatch.IWidget{
		{
			graph("Webhook latency (POST /webhooks/whatsapp)", []awscloudwatch.IMetric{
				apiMetric("Latency", "POST", "/webhooks/whatsapp", "p50", "p50"),
				apiMetric("Latency", "POST", "/webhooks/whatsapp", "p99", "p99"),
				hook.MetricDuration(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("p99"), Label: jsii.String("Lambda p99")}),
			}, nil),
			graph("Webhook errors", []awscloudwatch.IMetric{
				apiMetric("4XXError", "POST", "/webhooks/whatsapp", "Sum", "4xx (bad signature, throttled)"),
				apiMetric("5XXError", "POST", "/webhooks/whatsapp", "Sum", "5xx"),
				hook.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum"), Label: jsii.String("Lambda errors")}),
			}, nil),
			graph("EHR API", []awscloudwatch.IMetric{
				f.API.Rest.MetricCount(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum"), Label: jsii.String("requests")}),
				f.API.Rest.MetricClientError(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum"), Label: jsii.String("4xx")}),
				f.API.Rest.MetricServerError(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum"), Label: jsii.String("5xx")}),
			}, nil),
		},
		{
			graph("Sends by status", []awscloudwatch.IMetric{
				search(fmt.Sprintf(`SEARCH('{%s,%s} MetricName="%s"', 'Sum', 300)`, MetricNamespace, DimStatus, MetricSendsByStatus), ""),
			}, nil),
			graph("Replies and reply rate", []awscloudwatch.IMetric{search(repliesSearch, "")},
				[]awscloudwatch.IMetric{awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
					Expression:   jsii.String("100 * SUM(" + repliesSearch + ") / sent"),
					Label:        jsii.String("reply rate % of sent"),
					Period:       five,
					UsingMetrics: &map[string]awscloudwatch.IMetric{"sent": sent},
				})}),
			graph("Sweep lag and volume", []awscloudwatch.IMetric{
				awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String(MetricNamespace), MetricName: jsii.String(MetricSweepLag),
					Statistic: jsii.String("Maximum"), Period: five, Label: jsii.String("lag seconds (max)")}),
				sweep.MetricDuration(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum"), Label: jsii.String("sweep duration ms")}),
			}, []awscloudwatch.IMetric{
				awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String(MetricNamespace), MetricName: jsii.String(MetricRemindersEnqueued),
					Statistic: jsii.String("Sum"), Period: five, Label: jsii.String("reminders enqueued")}),
			}),
		},
		clinicNumbersRow(five),
		{
			graph("DLQ depths (should be 0)", dlqDepth, nil),
			graph("Age of oldest message (s)", queueAge, nil),
			graph("Lambda errors / throttles", fnErrors, fnThrottles),
		},
	}
	var widgets []*[]awscloudwatch.IWidget
	for i := range rows {
		widgets = append(widgets, &rows[i])
	}
	return awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName:   jsii.String(st.Prefix() + "overview"),
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
		Widgets:         &widgets,
	})
}

func sortedQueueNames(m map[string]awssqs.Queue) []string {
	names := make(map[string]string, len(m))
	for k := range m {
		names[k] = k
	}
	return sortedKeys(names)
}

// clinicNumbersRow shows the clinics' numbers summed over every clinic: totals over
// the dashboard's time range, per day, and the two headline rates (a clinic's own
// numbers, in its time zone, come from GET .../metrics).
func clinicNumbersRow(five awscdk.Duration) []awscloudwatch.IWidget {
	counter := func(name string, period awscdk.Duration) awscloudwatch.Metric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(MetricNamespace), MetricName: jsii.String(MetricClinicCounts),
			DimensionsMap: &map[string]*string{DimCounter: jsii.String(name)}, Statistic: jsii.String("Sum"),
			Period: period, Label: jsii.String(name),
		})
	}
	var totals []awscloudwatch.IMetric
	for _, name := range metrics.DashboardCounters {
		totals = append(totals, counter(name, five))
	}
	day := awscdk.Duration_Days(jsii.Number(1))
	rate := func(label, num, den string) awscloudwatch.IMetric {
		// Ids are per graph, so each rate names its own.
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(fmt.Sprintf("100 * %s / %s", num, den)), Label: jsii.String(label), Period: day,
			UsingMetrics: &map[string]awscloudwatch.IMetric{num: counter(num, day), den: counter(den, day)},
		})
	}
	perDay := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(fmt.Sprintf(`SEARCH('{%s,%s} MetricName="%s"', 'Sum', 86400)`, MetricNamespace, DimCounter, MetricClinicCounts)),
		Label:      jsii.String(""), Period: day, UsingMetrics: &map[string]awscloudwatch.IMetric{},
	})
	return []awscloudwatch.IWidget{
		awscloudwatch.NewSingleValueWidget(&awscloudwatch.SingleValueWidgetProps{
			Title: jsii.String("Clinic numbers, all clinics (totals over the time range)"), Metrics: &totals,
			SetPeriodToTimeRange: jsii.Bool(true), Width: jsii.Number(8), Height: jsii.Number(6),
		}),
		awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String("Clinic numbers per day (UTC days)"), Left: &[]awscloudwatch.IMetric{perDay},
			Width: jsii.Number(8), Height: jsii.Number(6),
		}),
		awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String("Confirmation and no-show rates % (per day)"), Width: jsii.Number(8), Height: jsii.Number(6),
			Left: &[]awscloudwatch.IMetric{
				rate("confirmations per reminded appointment", "confirmations", "remindedAppointments"),
				rate("no-shows per booking", "noShows", "bookings"),
			},
		}),
	}
}
