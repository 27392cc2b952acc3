package app_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// TestEachServiceIsBuiltInOnePlace keeps every service struct literal in its
// builder, so a Lambda, the dev stack, the benchmarks and the test harness cannot
// drift apart in how they wire a function (a default set in one and not another).
// The services' own unit tests are exempt: they set knobs the builders do not expose.
func TestEachServiceIsBuiltInOnePlace(t *testing.T) {
	builders := map[string]string{
		"&outreach.Sender{":      "shared/app/sender/sender.go",
		"&outreach.Sweeper{":     "shared/app/sweep/sweep.go",
		"&outreach.Reaper{":      "shared/app/sweep/sweep.go",
		"&inbox.Service{":        "shared/app/inbound/inbound.go",
		"&notify.Service{":       "shared/app/notifier/notifier.go",
		"&intake.Service{":       "shared/app/ehrapi/ehrapi.go",
		"&httpapi.EHRAPI{":       "shared/app/ehrapi/ehrapi.go",
		"&whatsapphook.Webhook{": "shared/app/webhook/webhook.go",
		"&console.Console{":      "shared/app/ehrapi/ehrapi.go",
		"&handoff.Service{":      "shared/app/conversations/conversations.go",
		"&notices.Dispatcher{":   "shared/app/sweep/notices.go",
		"&waitlist.Desk{":        "shared/app/inbound/inbound.go",
		"&waitlist.Sweep{":       "shared/app/sweep/sweep.go",
		"&waitlist.Waves{":       "shared/app/sweep/sweep.go",
		"&waitlist.JobSender{":   "shared/app/sweep/sweep.go",
	}
	serviceTests := []string{"shared/outreach/", "shared/inbox/", "shared/intake/", "shared/notify/", "shared/httpapi/", "shared/console/", "shared/handoff/", "shared/integration/", "shared/notices/", "shared/waitlist/"}
	root, err := platform.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") || rel == "node_modules" || rel == "cdk.out" || rel == "build" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || rel == "shared/app/wiring_test.go" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for literal, builder := range builders {
			if !strings.Contains(string(b), literal) {
				continue
			}
			if rel == builder {
				found[literal] = true
				continue
			}
			exempt := false
			for _, dir := range serviceTests {
				exempt = exempt || (strings.HasPrefix(rel, dir) && strings.HasSuffix(rel, "_test.go"))
			}
			if !exempt {
				t.Errorf("%s builds %s itself: call the builder in %s", rel, literal, builder)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for literal, builder := range builders {
		if !found[literal] {
			t.Errorf("%s no longer holds %s: update this test's table", builder, literal)
		}
	}
}

// TestFunctionsLinkOnlyWhatTheyUse keeps costly packages out of the functions that
// do not need them: every linked package's init runs at every cold start.
// libphonenumber decodes its metadata at init, and only ehr-api normalises the
// numbers EHRs send; the WhatsApp webhook, whose latency Meta watches, has no
// tables and so no DynamoDB client. The EHR API links SQS for notices: a notice
// that cannot be sent is reported to the clinic on the ehr-outbox queue (and,
// once notices ride the outbound queue, is enqueued there).
func TestFunctionsLinkOnlyWhatTheyUse(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	root, err := platform.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	const (
		phonenumbers = "github.com/nyaruka/phonenumbers"
		dynamodb     = "github.com/aws/aws-sdk-go-v2/service/dynamodb"
		sqs          = "github.com/aws/aws-sdk-go-v2/service/sqs"
		// The SDK's credential chain: a function's credentials are in its environment.
		sdkConfig = "github.com/aws/aws-sdk-go-v2/config"
		sts       = "github.com/aws/aws-sdk-go-v2/service/sts"
		// The sender's halt calls the Lambda API directly.
		lambdaAPI = "github.com/aws/aws-sdk-go-v2/service/lambda"
		// Secrets are read with platform.SecretsManager.
		secretsManager = "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	)
	linksOnly := map[string][]string{ // package: the functions that may link it
		phonenumbers:   {fnspec.EHRAPI},
		dynamodb:       {fnspec.EHRAPI, fnspec.ReminderSweep, fnspec.Sender, fnspec.Inbound, fnspec.EHRNotifier},
		sqs:            {fnspec.EHRAPI, fnspec.WhatsAppWebhook, fnspec.ReminderSweep, fnspec.Sender, fnspec.Inbound, fnspec.EHRNotifier},
		sdkConfig:      {},
		sts:            {},
		lambdaAPI:      {},
		secretsManager: {},
	}
	for _, name := range fnspec.Names() {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", "./functions/"+name)
			cmd.Dir = root
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps ./functions/%s: %v", name, err)
			}
			linked := map[string]bool{}
			for _, pkg := range strings.Fields(string(out)) {
				linked[pkg] = true
			}
			for pkg, allowed := range linksOnly {
				if want := slices.Contains(allowed, name); linked[pkg] != want {
					t.Errorf("./functions/%s links %s: %v, want %v", name, pkg, linked[pkg], want)
				}
			}
		})
	}
}

// Services speak the domain's types and error codes; only the wiring layer and
// the adapter's own tests know the DynamoDB store.
func TestServicesDoNotImportTheStorageAdapter(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	root, err := platform.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	const adapter = "github.com/frontdesk-health/frontdesk/shared/dynamo"
	for _, svc := range []string{"outreach", "inbox", "intake", "notify", "handoff", "notices"} {
		t.Run(svc, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", "./shared/"+svc)
			cmd.Dir = root
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps ./shared/%s: %v", svc, err)
			}
			if slices.Contains(strings.Fields(string(out)), adapter) {
				t.Errorf("shared/%s (non-test files) depends on %s", svc, adapter)
			}
		})
	}
}
