package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// A runbook names the log keys it relies on as "log key `a`" or "log keys `a`,
// `b` and `c`"; other backticked text there (commands, event types) is not a key.
var (
	logKeyList = regexp.MustCompile("log keys? ((?:`[^`]+`(?:,? and |, | or )?)+)")
	backticked = regexp.MustCompile("`([^`]+)`")
)

// runbookLogKeys returns the log keys named in the README's runbooks (from the
// line starting "Runbooks" to the next level-2 heading), sorted and deduplicated.
func runbookLogKeys(readme string) ([]string, error) {
	readme = "\n" + readme
	start := strings.Index(readme, "\nRunbooks")
	if start < 0 {
		return nil, fmt.Errorf(`README has no "Runbooks" section`)
	}
	section := readme[start:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	// Markdown wraps lines anywhere, also inside a key with spaces.
	section = strings.Join(strings.Fields(section), " ")
	seen := map[string]bool{}
	var keys []string
	for _, list := range logKeyList.FindAllStringSubmatch(section, -1) {
		for _, m := range backticked.FindAllStringSubmatch(list[1], -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				keys = append(keys, m[1])
			}
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// keysWithoutAlarm returns each key that no alarm of the template covers: an alarm
// notifying the alarm topic on the metric of a metric filter that matches the key
// in a function's log group.
func keysWithoutAlarm(s *synthesized, keys []string) []string {
	topics := s.alarmTopics()
	logGroups := map[string]bool{}
	for _, name := range FunctionNames {
		logGroups[s.stage.Prefix()+name] = true
	}
	lgIDs := map[string]bool{}
	for _, lg := range s.resources("AWS::Logs::LogGroup") {
		if name, _ := lg.P["LogGroupName"].(string); logGroups[strings.TrimPrefix(name, "/aws/lambda/")] {
			lgIDs[lg.ID] = true
		}
	}
	var missing []string
	for _, key := range keys {
		metrics := map[string]bool{}
		for _, mf := range s.resources("AWS::Logs::MetricFilter") {
			pattern, _ := mf.P["FilterPattern"].(string)
			if pattern != LogKeyFilterPattern(key) || !lgIDs[refID(mf.P["LogGroupName"])] {
				continue
			}
			for _, tr := range asList(mf.P["MetricTransformations"]) {
				m := tr.(map[string]any)
				metrics[fmt.Sprint(m["MetricNamespace"], "/", m["MetricName"])] = true
			}
		}
		alarmed := false
		for _, a := range s.resources("AWS::CloudWatch::Alarm") {
			if !metrics[fmt.Sprint(a.P["Namespace"], "/", a.P["MetricName"])] || a.P["ComparisonOperator"] != "GreaterThanThreshold" {
				continue
			}
			for _, act := range asList(a.P["AlarmActions"]) {
				if len(topics) == 1 && refID(act) == topics[0].ID {
					alarmed = true
				}
			}
		}
		if !alarmed {
			missing = append(missing, key)
		}
	}
	return missing
}

func readREADME(t *testing.T) string {
	t.Helper()
	root, ok := repoRoot()
	if !ok {
		t.Fatal("no go.mod above the working directory")
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEveryRunbookLogKeyHasAnAlarm(t *testing.T) {
	keys, err := runbookLogKeys(readREADME(t))
	if err != nil {
		t.Fatal(err)
	}
	// The keys the runbooks named when this test was written: a parser that stops
	// finding them must not pass by checking nothing.
	for _, want := range []string{"whatsapp_auth_halt", "whatsapp_quality_pause", "whatsapp_policy_block",
		"whatsapp_template_rejected", "sender.dead_letter", "inbound record failed", "notify.dead_letter"} {
		if !contains(keys, want) {
			t.Errorf("runbook log key %q not found in the README (found %q)", want, keys)
		}
	}
	forEachStage(t, func(t *testing.T, s *synthesized) {
		if missing := keysWithoutAlarm(s, keys); len(missing) > 0 {
			t.Errorf("runbook log keys without an alarm: %q (add them to LogKeyAlarms)", missing)
		}
	})
}

func TestRunbookKeyWithoutAlarmIsReported(t *testing.T) {
	cases := []struct {
		name    string
		readme  string
		keys    []string
		missing []string
	}{
		{"one key", "# X\n\nRunbooks:\n- **Halt** (alarm on log key `whatsapp_auth_halt`): run `aws lambda x`.\n\n## Next\n\nlog key `outside_runbooks`\n",
			[]string{"whatsapp_auth_halt"}, nil},
		{"a list, wrapped, with an unknown key", "Runbooks:\n- the log keys `sender.dead_letter`, `inbound record\n  failed` and `made_up_key` carry `message.failed` (`retries_exhausted`)\n",
			[]string{"inbound record failed", "made_up_key", "sender.dead_letter"}, []string{"made_up_key"}},
		{"a key and other backticked text", "Runbooks:\n- (log key `whatsapp_template_rejected`, errors 132000-132016, `-redrive`)\n",
			[]string{"whatsapp_template_rejected"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			keys, err := runbookLogKeys(c.readme)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(keys, "|") != strings.Join(c.keys, "|") {
				t.Errorf("keys %q, want %q", keys, c.keys)
			}
			if missing := keysWithoutAlarm(stacks["dev"], keys); strings.Join(missing, "|") != strings.Join(c.missing, "|") {
				t.Errorf("without alarm %q, want %q", missing, c.missing)
			}
		})
	}
}

// TestLogKeysAreLogged: an alarm on a key nobody logs never fires. Each key must
// appear as a Go string literal (an "alert" value or a log message) in the code
// of the functions the alarm watches or the packages they share.
func TestLogKeysAreLogged(t *testing.T) {
	root, ok := repoRoot()
	if !ok {
		t.Fatal("no go.mod above the working directory")
	}
	var src strings.Builder
	for _, dir := range []string{"shared", "functions"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			b, err := os.ReadFile(p)
			src.Write(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range LogKeyAlarms {
		if !strings.Contains(src.String(), strconv.Quote(k.Key)) {
			t.Errorf("no code logs %q: its alarm could never fire", k.Key)
		}
		if len(k.Functions) == 0 || k.Description == "" {
			t.Errorf("%q: want the functions that log it and a description", k.Key)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
