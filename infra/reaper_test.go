package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
)

// The reaper runs in the sweep function: it must be able to query the next-attempt
// index, and what it counts must reach an alarm on the alarm topic.
func TestReaperHasItsIndexAndAlarm(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		topic := s.alarmTopics() // not the conversation alert topic, which is clinics' on-call
		alarmed := false
		for _, a := range s.resources("AWS::CloudWatch::Alarm") {
			if a.P["Namespace"] != MetricNamespace || a.P["MetricName"] != MetricRemindersReaped {
				continue
			}
			acts := asList(a.P["AlarmActions"])
			if a.P["ComparisonOperator"] != "GreaterThanThreshold" || num(a.P["Threshold"]) != 0 || a.P["Statistic"] != "Sum" ||
				len(acts) == 0 || len(topic) != 1 || refID(acts[0]) != topic[0].ID {
				t.Errorf("reaper alarm %s: %v %v %v, actions %v; want Sum > 0 notifying the alarm topic",
					a.ID, a.P["Statistic"], a.P["ComparisonOperator"], a.P["Threshold"], acts)
			}
			alarmed = true
		}
		if !alarmed {
			t.Errorf("no alarm on %s", MetricRemindersReaped)
		}

		res := s.template["Resources"].(map[string]any)
		fn := s.byProp(t, "AWS::Lambda::Function", "FunctionName", s.stage.Prefix()+FnReminderSweep)
		role := res[refID(fn.P["Role"])].(map[string]any)["Properties"].(map[string]any)
		queried := map[string]bool{}
		for _, mp := range asList(role["ManagedPolicyArns"]) {
			doc := res[refID(mp)].(map[string]any)["Properties"].(map[string]any)["PolicyDocument"]
			for _, st := range statements(doc) {
				if fmt.Sprint(st["Action"]) != "dynamodb:Query" {
					continue
				}
				for _, r := range asList(st["Resource"]) {
					for _, ix := range []string{dynamo.IndexDue, dynamo.IndexNextAttempt} {
						if strings.Contains(fmt.Sprint(r), "/index/"+ix) {
							queried[ix] = true
						}
					}
				}
			}
		}
		for _, ix := range []string{dynamo.IndexDue, dynamo.IndexNextAttempt} {
			if !queried[ix] {
				t.Errorf("the sweep function cannot query index %s", ix)
			}
		}
	})
}
