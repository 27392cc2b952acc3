package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// Synthesizing starts a Node process and takes seconds, so the test binary
// synthesizes one app holding both stages once and every test reads the result.
type synthesized struct {
	stage    Stage
	f        *Frontdesk
	raw      []byte         // the CloudFormation template as JSON
	template map[string]any // the same, decoded
	errors   []string       // cdk-nag (and other) error annotations
	warnings []string
	infos    []string // cdk-nag logs each suppressed finding here (LogIgnores)
}

var stacks = map[string]*synthesized{}

func TestMain(m *testing.M) {
	flag.Parse()
	useBundledNode()
	start := time.Now()
	var code int
	_, err := synthesizeAll()
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "synthesized dev and prod in %s\n", time.Since(start).Round(time.Millisecond))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	} else {
		code = m.Run()
	}
	closeQuietly()
	os.Exit(code)
}

func synthesizeAll() (int, error) {
	tmp, err := os.MkdirTemp("", "frontdesk-infra-test-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(tmp)
	// Placeholder code: the tests check the infrastructure, not the binaries, so
	// they do not depend on `make build`.
	assets := filepath.Join(tmp, "build")
	for _, name := range FunctionNames {
		dir := filepath.Join(assets, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 1, err
		}
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("placeholder "+name), 0o755); err != nil {
			return 1, err
		}
	}

	// The same context `npx cdk synth` uses (feature flags included).
	ctx, err := cdkJSONContext()
	if err != nil {
		return 1, err
	}
	t0 := time.Now()
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(filepath.Join(tmp, "cdk.out"))})
	for _, overrides := range []map[string]string{
		{CtxStage: "dev"},
		{CtxStage: "prod", CtxAlarmEmail: "ops@example.com"},
	} {
		st, err := StageFromContext(func(k string) string {
			if v, ok := overrides[k]; ok {
				return v
			}
			s, _ := ctx[k].(string)
			return s
		})
		if err != nil {
			return 1, err
		}
		stacks[st.Name] = &synthesized{stage: st, f: NewApp(app, st, assets)}
	}
	ApplyNag(app, NagOptions{LogIgnores: true})
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "constructed in %s\n", time.Since(t0).Round(time.Millisecond))
	}

	for _, s := range stacks {
		t0 := time.Now()
		tpl := assertions.Template_FromStack(s.f.Stack, nil)
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "template %s after %s (%s)\n", s.stage.Name, time.Since(t0).Round(time.Millisecond), time.Now().Format("15:04:05.000"))
		}
		raw, err := json.Marshal(tpl.ToJSON())
		if err != nil {
			return 1, err
		}
		s.raw = raw
		if err := json.Unmarshal(raw, &s.template); err != nil {
			return 1, err
		}
		ann := assertions.Annotations_FromStack(s.f.Stack)
		any := assertions.Match_AnyValue()
		for _, m := range *ann.FindError(jsii.String("*"), any) {
			s.errors = append(s.errors, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
		}
		for _, m := range *ann.FindInfo(jsii.String("*"), any) {
			s.infos = append(s.infos, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
		}
		for _, m := range *ann.FindWarning(jsii.String("*"), any) {
			s.warnings = append(s.warnings, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
		}
	}
	return 0, nil
}

func cdkJSONContext() (map[string]any, error) {
	root, ok := repoRoot()
	if !ok {
		return nil, fmt.Errorf("infra test: no go.mod above the working directory")
	}
	b, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err != nil {
		return nil, fmt.Errorf("infra test: read cdk.json: %w", err)
	}
	var cfg struct {
		App     string         `json:"app"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("infra test: parse cdk.json: %w", err)
	}
	if cfg.App != "go run ./infra" {
		return nil, fmt.Errorf("infra test: cdk.json app is %q, want %q", cfg.App, "go run ./infra")
	}
	return cfg.Context, nil
}

// --- template helpers -----------------------------------------------------------

type resource struct {
	ID   string
	Type string
	Raw  map[string]any
	P    map[string]any // Properties
}

func (s *synthesized) resources(typ string) []resource {
	var out []resource
	res, _ := s.template["Resources"].(map[string]any)
	ids := make([]string, 0, len(res))
	for id := range res {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := res[id].(map[string]any)
		if r["Type"] == typ {
			p, _ := r["Properties"].(map[string]any)
			out = append(out, resource{ID: id, Type: typ, Raw: r, P: p})
		}
	}
	return out
}

func (s *synthesized) byProp(t *testing.T, typ, prop, value string) resource {
	t.Helper()
	for _, r := range s.resources(typ) {
		if r.P[prop] == value {
			return r
		}
	}
	t.Fatalf("%s: no %s with %s=%q", s.stage.Name, typ, prop, value)
	return resource{}
}

// refID returns the logical ID an intrinsic ({"Ref": id} or {"Fn::GetAtt": [id, attr]}) points at.
func refID(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
		s, _ := ga[0].(string)
		return s
	}
	return ""
}

func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	default:
		return []any{x}
	}
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return -1
}

func forEachStage(t *testing.T, fn func(t *testing.T, s *synthesized)) {
	for _, name := range []string{"dev", "prod"} {
		s := stacks[name]
		t.Run(name, func(t *testing.T) { fn(t, s) })
	}
}

// --- tests ------------------------------------------------------------------------

func TestNoUnsuppressedNagErrors(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		if len(s.errors) > 0 {
			t.Errorf("%d unsuppressed error annotations (cdk-nag AwsSolutions/HIPAA.Security):\n%s",
				len(s.errors), strings.Join(s.errors, "\n"))
		}
		for _, w := range s.warnings {
			t.Logf("warning: %s", w)
		}
	})
}

// TestEverySuppressionIsUsed keeps the suppression list honest: an entry whose
// rule no longer fires on its resource is stale and must go.
func TestEverySuppressionIsUsed(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		root := "/" + StackName(s.stage) + "/"
		for _, sup := range Suppressions(s.stage) {
			used := false
			for _, info := range s.infos {
				if strings.HasPrefix(info, root+sup.Path+"/") && strings.Contains(info, " "+sup.Rule+" was triggered but suppressed") {
					used = true
					break
				}
			}
			if !used {
				t.Errorf("suppression %s on %s is never triggered: remove it", sup.Rule, sup.Path)
			}
		}
	})
}

func TestSuppressionsAreSpecific(t *testing.T) {
	for _, st := range []Stage{stacks["dev"].stage, stacks["prod"].stage} {
		for _, s := range Suppressions(st) {
			if !strings.HasPrefix(s.Rule, "AwsSolutions-") && !strings.HasPrefix(s.Rule, "HIPAA.Security-") {
				t.Errorf("suppression %+v: rule must name a pack rule", s)
			}
			if s.Path == "" || len(s.Reason) < 60 {
				t.Errorf("suppression %s on %q: needs a resource path and a specific reason", s.Rule, s.Path)
			}
			if s.Rule == "AwsSolutions-IAM5" && len(s.AppliesTo) == 0 {
				t.Errorf("IAM5 suppression on %s must name the finding it accepts (appliesTo)", s.Path)
			}
		}
	}
}

func TestFunctionsAreArm64AL2023(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		fns := s.resources("AWS::Lambda::Function")
		if len(fns) != len(FunctionNames) {
			t.Fatalf("%d functions, want %d", len(fns), len(FunctionNames))
		}
		for _, fn := range fns {
			name := fn.P["FunctionName"]
			if fn.P["Runtime"] != "provided.al2023" || fn.P["Handler"] != "bootstrap" {
				t.Errorf("%v: runtime %v handler %v, want provided.al2023 / bootstrap", name, fn.P["Runtime"], fn.P["Handler"])
			}
			if !reflect.DeepEqual(fn.P["Architectures"], []any{"arm64"}) {
				t.Errorf("%v: architectures %v, want [arm64]", name, fn.P["Architectures"])
			}
			if lc, _ := fn.P["LoggingConfig"].(map[string]any); lc["LogFormat"] != "JSON" || refID(lc["LogGroup"]) == "" {
				t.Errorf("%v: logging %v, want JSON into the stack's log group", name, fn.P["LoggingConfig"])
			}
			if tc, _ := fn.P["TracingConfig"].(map[string]any); tc["Mode"] != "Active" {
				t.Errorf("%v: tracing %v, want Active", name, fn.P["TracingConfig"])
			}
			if num(fn.P["ReservedConcurrentExecutions"]) < 1 {
				t.Errorf("%v: reserved concurrency not set", name)
			}
		}
	})
}

func TestLogGroupsEncryptedWithRetention(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		groups := s.resources("AWS::Logs::LogGroup")
		if len(groups) < len(FunctionNames)+2 {
			t.Fatalf("%d log groups, want one per function plus API access and execution logs", len(groups))
		}
		for _, g := range groups {
			if refID(g.P["KmsKeyId"]) == "" || num(g.P["RetentionInDays"]) <= 0 {
				t.Errorf("log group %v: KmsKeyId %v retention %v", g.P["LogGroupName"], g.P["KmsKeyId"], g.P["RetentionInDays"])
			}
		}
	})
}

func TestQueueMappingsReportBatchItemFailures(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		maps := s.resources("AWS::Lambda::EventSourceMapping")
		if len(maps) != len(queue.Queues()) {
			t.Fatalf("%d event source mappings, want %d (one per work queue)", len(maps), len(queue.Queues()))
		}
		for _, def := range queue.Queues() {
			q := s.byProp(t, "AWS::SQS::Queue", "QueueName", s.stage.Prefix()+def.Name)
			var found bool
			for _, m := range maps {
				if refID(m.P["EventSourceArn"]) != q.ID {
					continue
				}
				found = true
				if !reflect.DeepEqual(m.P["FunctionResponseTypes"], []any{"ReportBatchItemFailures"}) {
					t.Errorf("%s mapping: FunctionResponseTypes %v", def.Name, m.P["FunctionResponseTypes"])
				}
				if num(m.P["BatchSize"]) != float64(def.BatchSize) {
					t.Errorf("%s mapping: batch size %v, want %d", def.Name, m.P["BatchSize"], def.BatchSize)
				}
				fn := s.template["Resources"].(map[string]any)[refID(m.P["FunctionName"])].(map[string]any)
				want := s.stage.Prefix() + queueConsumers[def.Name]
				if got := fn["Properties"].(map[string]any)["FunctionName"]; got != want {
					t.Errorf("%s mapping invokes %v, want %s", def.Name, got, want)
				}
			}
			if !found {
				t.Errorf("no event source mapping reads %s", def.Name)
			}
		}
	})
}

func TestQueuesEncryptedWithRedrive(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		for _, q := range s.resources("AWS::SQS::Queue") {
			if refID(q.P["KmsMasterKeyId"]) == "" {
				t.Errorf("queue %v is not encrypted with a customer-managed key", q.P["QueueName"])
			}
		}
		for _, def := range queue.Queues() {
			q := s.byProp(t, "AWS::SQS::Queue", "QueueName", s.stage.Prefix()+def.Name)
			rp, _ := q.P["RedrivePolicy"].(map[string]any)
			dlq := s.byProp(t, "AWS::SQS::Queue", "QueueName", s.stage.Prefix()+def.DLQName())
			if rp == nil || refID(rp["deadLetterTargetArn"]) != dlq.ID {
				t.Errorf("%s: redrive policy %v does not target %s", def.Name, rp, def.DLQName())
			}
		}
		// Every queue enforces TLS through its queue policy.
		secured := map[string]bool{}
		for _, p := range s.resources("AWS::SQS::QueuePolicy") {
			doc, _ := json.Marshal(p.P["PolicyDocument"])
			if strings.Contains(string(doc), `"aws:SecureTransport":"false"`) {
				for _, q := range asList(p.P["Queues"]) {
					secured[refID(q)] = true
				}
			}
		}
		for _, q := range s.resources("AWS::SQS::Queue") {
			if !secured[q.ID] {
				t.Errorf("queue %v does not deny non-TLS access", q.P["QueueName"])
			}
		}
	})
}

// dlqIDs are every queue something dead-letters into: SQS redrive targets, Lambda
// async DLQs and EventBridge target DLQs.
func (s *synthesized) dlqIDs() map[string]bool {
	ids := map[string]bool{}
	for _, q := range s.resources("AWS::SQS::Queue") {
		if rp, ok := q.P["RedrivePolicy"].(map[string]any); ok {
			ids[refID(rp["deadLetterTargetArn"])] = true
		}
	}
	for _, fn := range s.resources("AWS::Lambda::Function") {
		if dl, ok := fn.P["DeadLetterConfig"].(map[string]any); ok {
			ids[refID(dl["TargetArn"])] = true
		}
	}
	for _, r := range s.resources("AWS::Events::Rule") {
		for _, tg := range asList(r.P["Targets"]) {
			if dl, ok := tg.(map[string]any)["DeadLetterConfig"].(map[string]any); ok {
				ids[refID(dl["Arn"])] = true
			}
		}
	}
	delete(ids, "")
	return ids
}

func TestEveryDLQHasAnAlarm(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		dlqs := s.dlqIDs()
		if len(dlqs) != len(queue.Queues())+1 {
			t.Errorf("%d DLQs, want one per work queue plus the sweep's", len(dlqs))
		}
		topic := s.alarmTopics()
		if len(topic) != 1 || refID(topic[0].P["KmsMasterKeyId"]) == "" {
			t.Fatalf("want one KMS-encrypted alarm topic, got %v", topic)
		}
		alarmed := map[string]bool{}
		for _, a := range s.resources("AWS::CloudWatch::Alarm") {
			if a.P["Namespace"] != "AWS/SQS" || a.P["MetricName"] != "ApproximateNumberOfMessagesVisible" {
				continue
			}
			if a.P["ComparisonOperator"] != "GreaterThanThreshold" || num(a.P["Threshold"]) != 0 {
				t.Errorf("alarm %s: %v %v, want > 0", a.ID, a.P["ComparisonOperator"], a.P["Threshold"])
			}
			acts := asList(a.P["AlarmActions"])
			if len(acts) == 0 || refID(acts[0]) != topic[0].ID {
				t.Errorf("alarm %s does not notify the alarm topic", a.ID)
			}
			for _, d := range asList(a.P["Dimensions"]) {
				alarmed[refID(d.(map[string]any)["Value"])] = true
			}
		}
		for id := range dlqs {
			if !alarmed[id] {
				t.Errorf("DLQ %s has no depth alarm", id)
			}
		}
		// And the age of the oldest message on every work queue.
		aged := map[string]bool{}
		for _, a := range s.resources("AWS::CloudWatch::Alarm") {
			if a.P["MetricName"] == "ApproximateAgeOfOldestMessage" {
				for _, d := range asList(a.P["Dimensions"]) {
					aged[refID(d.(map[string]any)["Value"])] = true
				}
			}
		}
		for _, def := range queue.Queues() {
			if q := s.byProp(t, "AWS::SQS::Queue", "QueueName", s.stage.Prefix()+def.Name); !aged[q.ID] {
				t.Errorf("work queue %s has no oldest-message alarm", def.Name)
			}
		}
	})
}

func TestTablesHavePITRAndCustomerManagedKey(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		tables := s.resources("AWS::DynamoDB::Table")
		if len(tables) != len(dynamo.Tables()) {
			t.Fatalf("%d tables, want %d", len(tables), len(dynamo.Tables()))
		}
		res := s.template["Resources"].(map[string]any)
		for _, tb := range tables {
			name := tb.P["TableName"]
			pitr, _ := tb.P["PointInTimeRecoverySpecification"].(map[string]any)
			if pitr["PointInTimeRecoveryEnabled"] != true {
				t.Errorf("%v: PITR %v", name, pitr)
			}
			sse, _ := tb.P["SSESpecification"].(map[string]any)
			keyID := refID(sse["KMSMasterKeyId"])
			if sse["SSEEnabled"] != true || sse["SSEType"] != "KMS" || keyID == "" {
				t.Fatalf("%v: SSE %v, want KMS with the stack's key", name, sse)
			}
			key := res[keyID].(map[string]any)
			if key["Type"] != "AWS::KMS::Key" || key["Properties"].(map[string]any)["EnableKeyRotation"] != true {
				t.Errorf("%v: key %s is not a rotating customer-managed key", name, keyID)
			}
			if tb.P["BillingMode"] != "PAY_PER_REQUEST" {
				t.Errorf("%v: billing %v, want on-demand", name, tb.P["BillingMode"])
			}
			retained := tb.Raw["DeletionPolicy"] == "Retain" && tb.P["DeletionProtectionEnabled"] == true
			if retained != s.stage.Retain {
				t.Errorf("%v: DeletionPolicy %v protection %v in %s", name, tb.Raw["DeletionPolicy"], tb.P["DeletionProtectionEnabled"], s.stage.Name)
			}
		}
	})
}

// TestTemplateMatchesSharedDefinitions is the parity check: the tables and queues
// the CDK stack declares are exactly what the local stack creates from
// shared/dynamo and shared/queue (keys, indexes, projections, TTL, redrive,
// visibility, retention).
func TestTemplateMatchesSharedDefinitions(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		for _, def := range dynamo.Tables() {
			name := s.stage.Prefix() + def.Name
			tb := s.byProp(t, "AWS::DynamoDB::Table", "TableName", name)
			local := def.CreateTableInput(name) // what the local stack sends to DynamoDB Local

			keySchema := func(v any) [][2]string {
				var out [][2]string
				for _, e := range asList(v) {
					m := e.(map[string]any)
					out = append(out, [2]string{m["AttributeName"].(string), m["KeyType"].(string)})
				}
				return out
			}
			var wantKeys [][2]string
			for _, k := range local.KeySchema {
				wantKeys = append(wantKeys, [2]string{*k.AttributeName, string(k.KeyType)})
			}
			if got := keySchema(tb.P["KeySchema"]); !reflect.DeepEqual(got, wantKeys) {
				t.Errorf("%s key schema %v, want %v", def.Name, got, wantKeys)
			}

			gotAttrs, wantAttrs := map[string]string{}, map[string]string{}
			for _, a := range asList(tb.P["AttributeDefinitions"]) {
				m := a.(map[string]any)
				gotAttrs[m["AttributeName"].(string)] = m["AttributeType"].(string)
			}
			for _, a := range local.AttributeDefinitions {
				wantAttrs[*a.AttributeName] = string(a.AttributeType)
			}
			if !reflect.DeepEqual(gotAttrs, wantAttrs) {
				t.Errorf("%s attributes %v, want %v", def.Name, gotAttrs, wantAttrs)
			}

			type gsi struct {
				Keys       [][2]string
				Projection string
			}
			gotGSI, wantGSI := map[string]gsi{}, map[string]gsi{}
			for _, g := range asList(tb.P["GlobalSecondaryIndexes"]) {
				m := g.(map[string]any)
				gotGSI[m["IndexName"].(string)] = gsi{keySchema(m["KeySchema"]), m["Projection"].(map[string]any)["ProjectionType"].(string)}
			}
			for _, g := range local.GlobalSecondaryIndexes {
				var ks [][2]string
				for _, k := range g.KeySchema {
					ks = append(ks, [2]string{*k.AttributeName, string(k.KeyType)})
				}
				wantGSI[*g.IndexName] = gsi{ks, string(g.Projection.ProjectionType)}
			}
			if !reflect.DeepEqual(gotGSI, wantGSI) {
				t.Errorf("%s indexes %v, want %v", def.Name, gotGSI, wantGSI)
			}

			ttl, _ := tb.P["TimeToLiveSpecification"].(map[string]any)
			switch {
			case def.TTLAttribute == "" && ttl != nil:
				t.Errorf("%s: TTL %v, want none", def.Name, ttl)
			case def.TTLAttribute != "" && (ttl["AttributeName"] != def.TTLAttribute || ttl["Enabled"] != true):
				t.Errorf("%s: TTL %v, want %s enabled", def.Name, ttl, def.TTLAttribute)
			}
		}

		for _, def := range queue.Queues() {
			q := s.byProp(t, "AWS::SQS::Queue", "QueueName", s.stage.Prefix()+def.Name)
			dlq := s.byProp(t, "AWS::SQS::Queue", "QueueName", s.stage.Prefix()+def.DLQName())
			rp, _ := q.P["RedrivePolicy"].(map[string]any)
			checks := []struct {
				what      string
				got, want float64
			}{
				{"maxReceiveCount", num(rp["maxReceiveCount"]), float64(def.MaxReceiveCount)},
				{"visibility timeout", num(q.P["VisibilityTimeout"]), def.VisibilityTimeout.Seconds()},
				{"retention", num(q.P["MessageRetentionPeriod"]), def.Retention.Seconds()},
				{"DLQ retention", num(dlq.P["MessageRetentionPeriod"]), def.DLQRetention.Seconds()},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s %s = %v, want %v (shared/queue)", def.Name, c.what, c.got, c.want)
				}
			}
			// The consumer must finish well inside the visibility timeout, or a
			// message is handed to a second consumer while the first still works.
			fn := s.byProp(t, "AWS::Lambda::Function", "FunctionName", s.stage.Prefix()+queueConsumers[def.Name])
			if timeout := num(fn.P["Timeout"]); timeout <= 0 || timeout*6 > def.VisibilityTimeout.Seconds() {
				t.Errorf("%s: consumer timeout %vs vs visibility %s: want at most a sixth", def.Name, timeout, def.VisibilityTimeout)
			}
		}
	})
}

func TestAPIStage(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		stages := s.resources("AWS::ApiGateway::Stage")
		if len(stages) != 1 {
			t.Fatalf("%d API stages, want 1", len(stages))
		}
		st := stages[0].P
		if st["StageName"] != s.stage.Name || st["TracingEnabled"] != true {
			t.Errorf("stage %v tracing %v", st["StageName"], st["TracingEnabled"])
		}
		if als, _ := st["AccessLogSetting"].(map[string]any); refID(als["DestinationArn"]) == "" {
			t.Errorf("no access log destination: %v", st["AccessLogSetting"])
		}
		throttled := map[string][2]float64{}
		for _, ms := range asList(st["MethodSettings"]) {
			m := ms.(map[string]any)
			if m["DataTraceEnabled"] == true {
				t.Errorf("data trace enabled on %v: request bodies (PHI) would be logged", m["ResourcePath"])
			}
			throttled[fmt.Sprint(m["ResourcePath"], " ", m["HttpMethod"])] = [2]float64{num(m["ThrottlingRateLimit"]), num(m["ThrottlingBurstLimit"])}
		}
		if got := throttled["/* *"]; got != [2]float64{APIRateLimit, APIBurstLimit} {
			t.Errorf("default throttling %v, want %d/%d (settings %v)", got, APIRateLimit, APIBurstLimit, throttled)
		}
		if got := throttled["/~1webhooks~1whatsapp POST"]; got != [2]float64{WebhookRateLimit, WebhookBurstLimit} {
			t.Errorf("webhook throttling %v, want %d/%d (settings %v)", got, WebhookRateLimit, WebhookBurstLimit, throttled)
		}

		// Routes: the paths the routers serve, each method validated.
		paths := map[string]string{}
		res := s.template["Resources"].(map[string]any)
		var pathOf func(id string) string
		pathOf = func(id string) string {
			r, ok := res[id].(map[string]any)
			if !ok || r["Type"] != "AWS::ApiGateway::Resource" {
				return ""
			}
			p := r["Properties"].(map[string]any)
			return pathOf(refID(p["ParentId"])) + "/" + p["PathPart"].(string)
		}
		for _, m := range s.resources("AWS::ApiGateway::Method") {
			if refID(m.P["RequestValidatorId"]) == "" {
				t.Errorf("method %s has no request validator", m.ID)
			}
			integ := m.P["Integration"].(map[string]any)
			if integ["Type"] != "AWS_PROXY" {
				t.Errorf("method %s integration %v, want AWS_PROXY", m.ID, integ["Type"])
			}
			paths[m.P["HttpMethod"].(string)+" "+pathOf(refID(m.P["ResourceId"]))] = m.ID
		}
		for _, want := range []string{"ANY /v1/{proxy+}", "GET /healthz", "GET /openapi.yaml", "GET /webhooks/whatsapp", "POST /webhooks/whatsapp", "ANY /console", "ANY /console/{proxy+}"} {
			if _, ok := paths[want]; !ok {
				t.Errorf("route %s missing (have %v)", want, paths)
			}
		}
		for _, r := range routeRoots {
			if r == s.stage.Name {
				t.Errorf("stage name %q shadows a route", r)
			}
		}
	})
}

func TestSweepScheduleRetriesIntoDLQ(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		rules := s.resources("AWS::Events::Rule")
		if len(rules) != 1 || rules[0].P["ScheduleExpression"] != "rate(1 minute)" {
			t.Fatalf("want one rate(1 minute) rule, got %v", rules)
		}
		tg := asList(rules[0].P["Targets"])[0].(map[string]any)
		sweep := s.byProp(t, "AWS::Lambda::Function", "FunctionName", s.stage.Prefix()+FnReminderSweep)
		if refID(tg["Arn"]) != sweep.ID {
			t.Errorf("rule targets %v, want the sweep", tg["Arn"])
		}
		rp, _ := tg["RetryPolicy"].(map[string]any)
		if num(rp["MaximumRetryAttempts"]) < 1 || tg["DeadLetterConfig"] == nil {
			t.Errorf("target retry %v DLQ %v", rp, tg["DeadLetterConfig"])
		}
		if num(sweep.P["ReservedConcurrentExecutions"]) != 1 {
			t.Errorf("sweep concurrency %v, want 1", sweep.P["ReservedConcurrentExecutions"])
		}
	})
}

// policyDocs returns every IAM policy document in the template (managed,
// standalone and inline), by the resource that holds it.
func (s *synthesized) policyDocs() map[string][]any {
	out := map[string][]any{}
	for _, typ := range []string{"AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"} {
		for _, p := range s.resources(typ) {
			out[p.ID] = append(out[p.ID], p.P["PolicyDocument"])
		}
	}
	for _, r := range s.resources("AWS::IAM::Role") {
		for _, p := range asList(r.P["Policies"]) {
			out[r.ID] = append(out[r.ID], p.(map[string]any)["PolicyDocument"])
		}
	}
	return out
}

func statements(doc any) []map[string]any {
	var out []map[string]any
	for _, st := range asList(doc.(map[string]any)["Statement"]) {
		out = append(out, st.(map[string]any))
	}
	return out
}

func TestNoWildcardActions(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		docs := s.policyDocs()
		if len(docs) < len(FunctionNames) {
			t.Fatalf("found %d policies", len(docs))
		}
		for id, ds := range docs {
			for _, d := range ds {
				for _, st := range statements(d) {
					for _, a := range asList(st["Action"]) {
						if strings.Contains(a.(string), "*") {
							t.Errorf("%s allows wildcard action %v", id, a)
						}
					}
					if st["NotAction"] != nil || st["NotResource"] != nil {
						t.Errorf("%s uses NotAction/NotResource", id)
					}
				}
			}
		}
		if ip := s.resources("AWS::IAM::Policy"); len(ip) > 0 {
			t.Errorf("inline policies %v: every permission should be in a managed policy", ip[0].ID)
		}
	})
}

// TestLeastPrivilege checks which tables, queues and secrets each function's
// role reaches, against the design.
func TestLeastPrivilege(t *testing.T) {
	type grants struct{ read, write, send, consume, secrets []string }
	want := map[string]grants{
		// ehr-outbox: a notice that cannot be sent is reported to the clinic.
		FnEHRAPI: {read: []string{"clinics"}, write: []string{"appointments", "audit", "conversations", "idempotency", "messages", "metrics", "patients", "slots"},
			send: []string{"ehr-outbox", "outbound"}, secrets: []string{"access-token", "clinic"}},
		FnWhatsAppWebhook: {send: []string{"inbound"}, secrets: []string{"app-secret", "verify-token"}},
		// Due notices (patients) and the waitlist step: waiters' consent, holds and waves, slot metrics, lapsed holds to the clinic.
		FnReminderSweep: {read: []string{"clinics"}, write: []string{"appointments", "idempotency", "metrics", "patients", "slots"},
			send: []string{"ehr-outbox", "outbound", "sweep-dlq"}},
		FnSender: {read: []string{"clinics"}, write: []string{"appointments", "conversations", "idempotency", "messages", "patients"},
			send: []string{"ehr-outbox", "outbound"}, consume: []string{"outbound"}, secrets: []string{"access-token"}},
		// clinics: template states Meta reports (TEMPLATE# items).
		// slots: the reschedule list and holds.
		FnInbound: {read: []string{}, write: []string{"appointments", "clinics", "conversations", "idempotency", "messages", "metrics", "patients", "slots"},
			send: []string{"ehr-outbox", "outbound"}, consume: []string{"inbound"}, secrets: []string{"access-token"}},
		FnEHRNotifier: {read: []string{"clinics"}, consume: []string{"ehr-outbox"}, secrets: []string{"clinic"}},
	}
	forEachStage(t, func(t *testing.T, s *synthesized) {
		res := s.template["Resources"].(map[string]any)
		prefix := s.stage.Prefix()
		nameOf := func(v any) string {
			id := refID(v)
			m, isMap := v.(map[string]any)
			if id == "" {
				if !isMap {
					return ""
				}
				if j, ok := m["Fn::Join"]; ok && strings.Contains(fmt.Sprint(j), s.stage.ClinicSecretPrefix) {
					return "clinic"
				}
				return ""
			}
			r := res[id].(map[string]any)
			p, _ := r["Properties"].(map[string]any)
			for _, k := range []string{"TableName", "QueueName", "Name"} {
				if n, ok := p[k].(string); ok {
					n = strings.TrimPrefix(n, prefix)
					n = strings.TrimPrefix(n, "frontdesk/"+s.stage.Name+"/whatsapp/")
					return strings.TrimPrefix(n, "frontdesk/"+s.stage.Name+"/")
				}
			}
			return id
		}
		for _, fnName := range FunctionNames {
			fn := s.byProp(t, "AWS::Lambda::Function", "FunctionName", prefix+fnName)
			role := res[refID(fn.P["Role"])].(map[string]any)["Properties"].(map[string]any)
			got := map[string]map[string]bool{}
			add := func(kind, name string) {
				if got[kind] == nil {
					got[kind] = map[string]bool{}
				}
				got[kind][name] = true
			}
			for _, mp := range asList(role["ManagedPolicyArns"]) {
				doc := res[refID(mp)].(map[string]any)["Properties"].(map[string]any)["PolicyDocument"]
				for _, st := range statements(doc) {
					acts := fmt.Sprint(st["Action"])
					for _, r := range asList(st["Resource"]) {
						n := nameOf(r)
						switch {
						case n == "":
						case strings.Contains(acts, "dynamodb:PutItem"):
							add("write", n)
						case strings.Contains(acts, "dynamodb:GetItem"):
							add("read", n)
						case strings.Contains(acts, "sqs:ReceiveMessage"):
							add("consume", n)
						case strings.Contains(acts, "sqs:SendMessage"):
							add("send", n)
						case strings.Contains(acts, "secretsmanager:GetSecretValue"):
							add("secrets", n)
						}
					}
				}
			}
			keys := func(m map[string]bool) []string {
				var out []string
				for k := range m {
					out = append(out, k)
				}
				sort.Strings(out)
				return out
			}
			w := want[fnName]
			// Every function reads the deployment's log digest key.
			w.secrets = append(append([]string{}, w.secrets...), "log-digest-key")
			sort.Strings(w.secrets)
			for kind, list := range map[string][]string{"read": w.read, "write": w.write, "send": w.send, "consume": w.consume, "secrets": w.secrets} {
				if g := keys(got[kind]); !reflect.DeepEqual(g, list) && !(len(g) == 0 && len(list) == 0) {
					t.Errorf("%s %s: %v, want %v", fnName, kind, g, list)
				}
			}
		}
	})
}

func TestSenderHaltsOnlyItsOwnMapping(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		var found bool
		for _, p := range s.resources("AWS::IAM::ManagedPolicy") {
			for _, st := range statements(p.P["PolicyDocument"]) {
				if !strings.Contains(fmt.Sprint(st["Action"]), "lambda:UpdateEventSourceMapping") {
					continue
				}
				found = true
				b, _ := json.Marshal(st["Resource"])
				esm := s.resources("AWS::Lambda::EventSourceMapping")
				var senderESM string
				for _, m := range esm {
					if strings.Contains(fmt.Sprint(m.P["FunctionName"]), "Sender") {
						senderESM = m.ID
					}
				}
				if senderESM == "" || !strings.Contains(string(b), `{"Ref":"`+senderESM+`"}`) || strings.Contains(string(b), `"*"`) {
					t.Errorf("UpdateEventSourceMapping on %s, want only the sender's mapping %s", b, senderESM)
				}
				roles := asList(p.P["Roles"])
				if len(roles) != 1 || !strings.Contains(refID(roles[0]), "SenderRole") {
					t.Errorf("halt policy attached to %v, want the sender's role", roles)
				}
			}
		}
		if !found {
			t.Error("the sender cannot disable its mapping")
		}
	})
}

func TestFunctionEnvironment(t *testing.T) {
	common := []string{platform.EnvTablePrefix, platform.EnvSweepShards, platform.EnvLogDigestKey + "_SECRET_ARN"}
	want := map[string][]string{
		FnEHRAPI: {EnvAPIStageName, platform.EnvWhatsAppAccessTokenSecretARN, platform.EnvWhatsAppAPIBaseURL, platform.EnvWhatsAppAPIVersion,
			fnspec.EnvConsoleBaseURL, fnspec.EnvConsoleIssuer, fnspec.EnvConsoleClientID, fnspec.EnvConsoleLogoutURL, platform.EnvEHROutboxQueueURL, platform.EnvOutboundQueueURL},
		FnWhatsAppWebhook: {EnvAPIStageName, platform.EnvInboundQueueURL,
			platform.EnvWhatsAppAppSecretSecretARN, platform.EnvWhatsAppVerifyTokenSecretARN},
		FnReminderSweep: {platform.EnvOutboundQueueURL, platform.EnvEHROutboxQueueURL},
		FnSender: {platform.EnvOutboundQueueURL, platform.EnvEHROutboxQueueURL, platform.EnvWhatsAppAccessTokenSecretARN,
			platform.EnvWhatsAppAPIBaseURL, platform.EnvWhatsAppAPIVersion, platform.EnvMessagesPerSecond, platform.EnvSenderConcurrency},
		FnInbound: {platform.EnvInboundQueueURL, platform.EnvEHROutboxQueueURL, platform.EnvOutboundQueueURL,
			platform.EnvWhatsAppAccessTokenSecretARN, platform.EnvWhatsAppAPIBaseURL, platform.EnvWhatsAppAPIVersion,
			platform.EnvMessagesPerSecond, platform.EnvConversationAlertTopicARN},
		FnEHRNotifier: {platform.EnvEHROutboxQueueURL},
	}
	forEachStage(t, func(t *testing.T, s *synthesized) {
		for _, name := range FunctionNames {
			fn := s.byProp(t, "AWS::Lambda::Function", "FunctionName", s.stage.Prefix()+name)
			env, _ := fn.P["Environment"].(map[string]any)["Variables"].(map[string]any)
			var got []string
			for k := range env {
				got = append(got, k)
			}
			exp := append(append([]string{}, common...), want[name]...)
			sort.Strings(got)
			sort.Strings(exp)
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("%s env %v, want %v", name, got, exp)
			}
			if env[platform.EnvTablePrefix] != s.stage.Prefix() {
				t.Errorf("%s TABLE_PREFIX %v", name, env[platform.EnvTablePrefix])
			}
			for k, v := range env {
				if strings.Contains(k, "SECRET") && !strings.HasSuffix(k, "_SECRET_ARN") {
					t.Errorf("%s: %s carries a secret value; only *_SECRET_ARN references belong in the environment", name, k)
				}
				_ = v
			}
			if name == FnSender {
				conc, _ := strconv.Atoi(fmt.Sprint(env[platform.EnvSenderConcurrency]))
				if float64(conc) != num(fn.P["ReservedConcurrentExecutions"]) {
					t.Errorf("sender %s=%d but reserved concurrency %v: pacing would be split wrong",
						platform.EnvSenderConcurrency, conc, fn.P["ReservedConcurrentExecutions"])
				}
				if env[platform.EnvWhatsAppAPIBaseURL] != "https://graph.facebook.com" || env[platform.EnvWhatsAppAPIVersion] != "v23.0" {
					t.Errorf("sender Graph API %v %v", env[platform.EnvWhatsAppAPIBaseURL], env[platform.EnvWhatsAppAPIVersion])
				}
			}
		}
	})
}

func TestSecretsHaveNoValuesInTemplate(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		secrets := s.resources("AWS::SecretsManager::Secret")
		if len(secrets) != 4 {
			t.Fatalf("%d secrets, want 4 (three WhatsApp secrets, the log digest key)", len(secrets))
		}
		for _, sec := range secrets {
			if sec.P["SecretString"] != nil || sec.P["GenerateSecretString"] == nil || refID(sec.P["KmsKeyId"]) == "" {
				t.Errorf("secret %v: want a generated placeholder encrypted with the stack's key", sec.P["Name"])
			}
		}
	})
}

func TestDashboardCoversTheSignals(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		d := s.resources("AWS::CloudWatch::Dashboard")
		if len(d) != 1 {
			t.Fatalf("%d dashboards", len(d))
		}
		body := fmt.Sprint(d[0].P["DashboardBody"])
		for _, want := range []string{"/webhooks/whatsapp", MetricSendsByStatus, MetricReplies, MetricSweepLag,
			"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage", MetricClinicCounts, `"Counter","noShows"`} {
			if !strings.Contains(body, want) {
				t.Errorf("dashboard lacks %s", want)
			}
		}
	})
}

func TestStageFromContext(t *testing.T) {
	cases := []struct {
		name    string
		ctx     map[string]string
		wantErr string
		check   func(t *testing.T, s Stage)
	}{
		{name: "default is dev", ctx: map[string]string{}, check: func(t *testing.T, s Stage) {
			if s.Name != "dev" || s.Retain || s.Prefix() != "frontdesk-dev-" || s.ClinicSecretPrefix != "frontdesk/dev/clinic/" {
				t.Errorf("got %+v", s)
			}
		}},
		{name: "prod retains", ctx: map[string]string{CtxStage: "prod", CtxAlarmEmail: "ops@example.com"}, check: func(t *testing.T, s Stage) {
			if !s.Retain || s.RemovalPolicy() != awscdk.RemovalPolicy_RETAIN || s.PITRDays != 35 {
				t.Errorf("got %+v", s)
			}
		}},
		{name: "prod needs an alarm address", ctx: map[string]string{CtxStage: "prod"}, wantErr: "alarmEmail"},
		{name: "unknown stage", ctx: map[string]string{CtxStage: "staging"}, wantErr: "want dev or prod"},
		{name: "domain without certificate", ctx: map[string]string{CtxDomainName: "api.example.com"}, wantErr: "certificateArn"},
		{name: "bad web ACL", ctx: map[string]string{CtxWebACLArn: "arn:aws:wafv2:us-east-1:123456789012:global/webacl/x"}, wantErr: "webAclArn"},
		{name: "every problem at once", ctx: map[string]string{CtxStage: "prod", CtxWebACLArn: "nope"}, wantErr: "alarmEmail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := StageFromContext(func(k string) string { return c.ctx[k] })
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want one mentioning %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, s)
		})
	}
}

func TestCheckAssetsNamesTheFix(t *testing.T) {
	dir := t.TempDir()
	err := CheckAssets(dir)
	if err == nil || !strings.Contains(err.Error(), "make build") || !strings.Contains(err.Error(), "sender") {
		t.Fatalf("err %v, want the missing functions and `make build`", err)
	}
	for _, name := range FunctionNames {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "bootstrap"), []byte("x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := CheckAssets(dir); err != nil {
		t.Fatal(err)
	}
}

// alarmTopics returns the SNS topic(s) CloudWatch alarms go to; the conversation
// alert topic is for clinics' on-call people, not ops.
func (s *synthesized) alarmTopics() []resource {
	var out []resource
	for _, t := range s.resources("AWS::SNS::Topic") {
		if name, _ := t.P["TopicName"].(string); strings.HasSuffix(name, "-alarms") {
			out = append(out, t)
		}
	}
	return out
}

func TestConversationAlertTopic(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		topic := s.byProp(t, "AWS::SNS::Topic", "TopicName", s.stage.Prefix()+"conversation-alerts")
		if refID(topic.P["KmsMasterKeyId"]) == "" {
			t.Errorf("the conversation alert topic is not KMS-encrypted: %v", topic.P)
		}
	})
}
