package main

import (
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/frontdesk-health/frontdesk/shared/app/apptest"
	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// proxy is what main hands to lambda.Start, built from a freshly loaded App so the
// test sees the environment the way a cold start does.
func proxy(t *testing.T, st *apptest.Stack) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	t.Helper()
	return httpadapter.New(newHandler(st.Load(t))).ProxyWithContext
}

func invoke(t *testing.T, h func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error), req events.APIGatewayProxyRequest) events.APIGatewayProxyResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := h(ctx, req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.HTTPMethod, req.Path, err)
	}
	return resp
}

func TestHealthz(t *testing.T) {
	st := apptest.Start(t, nil)
	cases := []struct {
		name, file, stage string
		want              int
	}{
		{"execute-api path", "apigw-healthz.json", "prod", http.StatusOK},
		{"execute-api path without API_STAGE_NAME", "apigw-healthz.json", "", http.StatusOK},
		{"stage-prefixed path", "apigw-healthz-stage-path.json", "prod", http.StatusOK},
		// The trap API_STAGE_NAME exists for: without it the prefixed path is not a route.
		{"stage-prefixed path without API_STAGE_NAME", "apigw-healthz-stage-path.json", "", http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(fnspec.EnvAPIStageName, tc.stage)
			req := apptest.Envelope[events.APIGatewayProxyRequest](t, tc.file)
			resp := invoke(t, proxy(t, st), req)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, resp.Body)
			}
			if tc.want == http.StatusOK && strings.TrimSpace(resp.Body) != `{"status":"ok"}` {
				t.Errorf("body %s", resp.Body)
			}
		})
	}
}

// TestAppointmentLifecycle sends the EHR's PUT and GET envelopes through the Lambda
// entry point: signature and bearer checks, storage, idempotent replay.
func TestAppointmentLifecycle(t *testing.T) {
	st := apptest.Start(t, map[string]string{fnspec.EnvAPIStageName: "prod"})
	st.PutClinic(t, apptest.DemoClinic(""))
	h := proxy(t, st)
	ctx := context.Background()

	put := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-put-appointment.json")
	body := []byte(put.Body)
	signedAtItsOwnTime(t, put)

	t.Run("stale signature is refused", func(t *testing.T) {
		resp := invoke(t, h, put)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401: %s", resp.StatusCode, resp.Body)
		}
		if _, _, err := st.Store.GetAppointment(ctx, apptest.ClinicID, apptest.AppointmentID); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("a refused request stored something: %v", err)
		}
	})

	// Standard Webhooks timestamps expire after 5 minutes: sign again now, keeping
	// the envelope's webhook-id.
	hdr, err := ehr.SignHeaders(apptest.EHRSecret, put.Headers[ehr.HeaderWebhookID], time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{ehr.HeaderWebhookID, ehr.HeaderWebhookTimestamp, ehr.HeaderWebhookSignature} {
		apptest.SetHeader(&put, k, hdr.Get(k))
	}

	var created ehr.AppointmentState
	t.Run("signed PUT creates the appointment", func(t *testing.T) {
		resp := invoke(t, h, put)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("status %d, want 201: %s", resp.StatusCode, resp.Body)
		}
		if err := json.Unmarshal([]byte(resp.Body), &created); err != nil {
			t.Fatalf("answer: %v: %s", err, resp.Body)
		}
		wantStart := time.Date(2035, 3, 15, 13, 30, 0, 0, time.UTC)
		if created.AppointmentID != apptest.AppointmentID || created.PatientID != apptest.PatientID ||
			created.Status != appointment.StatusBooked || !created.Start.Equal(wantStart) || created.Consent.State != consent.OptedIn {
			t.Errorf("answer %+v", created)
		}
		a, rems, err := st.Store.GetAppointment(ctx, apptest.ClinicID, apptest.AppointmentID)
		if err != nil {
			t.Fatalf("stored appointment: %v", err)
		}
		if a.PatientID != apptest.PatientID || !a.Start.Equal(wantStart) || a.Version != 1 {
			t.Errorf("stored %+v", a)
		}
		states := map[reminder.Kind]reminder.State{}
		for _, r := range rems {
			states[r.Kind] = r.State
		}
		want := map[reminder.Kind]reminder.State{reminder.KindDayBefore: reminder.StateScheduled, reminder.KindSameDay: reminder.StateScheduled}
		if len(states) != len(want) || states[reminder.KindDayBefore] != want[reminder.KindDayBefore] || states[reminder.KindSameDay] != want[reminder.KindSameDay] {
			t.Errorf("stored reminders %v, want %v", states, want)
		}
		p, err := st.Store.GetPatient(ctx, apptest.ClinicID, apptest.PatientID)
		if err != nil || p.Phone != apptest.PatientPhone {
			t.Errorf("stored patient %+v, %v", p, err)
		}
	})

	t.Run("redelivered PUT replays the first answer", func(t *testing.T) {
		resp := invoke(t, h, put)
		if resp.StatusCode != http.StatusCreated || apptest.Header(resp, "Idempotent-Replayed") != "true" {
			t.Fatalf("status %d, Idempotent-Replayed %q: %s", resp.StatusCode, apptest.Header(resp, "Idempotent-Replayed"), resp.Body)
		}
		a, _, err := st.Store.GetAppointment(ctx, apptest.ClinicID, apptest.AppointmentID)
		if err != nil || a.Revision != 1 {
			t.Errorf("the replay wrote again: revision %d, %v", a.Revision, err)
		}
	})

	get := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-get-appointment.json")
	t.Run("GET with the clinic's bearer token", func(t *testing.T) {
		resp := invoke(t, h, get)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200: %s", resp.StatusCode, resp.Body)
		}
		var got ehr.AppointmentState
		if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
			t.Fatal(err)
		}
		if got.AppointmentID != created.AppointmentID || !got.Start.Equal(created.Start) || len(got.Reminders) != 2 {
			t.Errorf("GET %+v, PUT answered %+v", got, created)
		}
	})
	t.Run("GET with another token", func(t *testing.T) {
		wrong := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-get-appointment.json")
		apptest.SetHeader(&wrong, "Authorization", "Bearer not-the-clinic-token")
		if resp := invoke(t, h, wrong); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401: %s", resp.StatusCode, resp.Body)
		}
	})
}

// TestConversationListThroughTheEntryPoint lists conversations through the Lambda
// entry point with the clinic's write token (200, audited) and refuses the read token.
func TestConversationListThroughTheEntryPoint(t *testing.T) {
	st := apptest.Start(t, map[string]string{"API_STAGE_NAME": "prod"})
	st.PutClinic(t, apptest.DemoClinic(""))
	h := proxy(t, st)
	req := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-list-conversations.json")
	resp := invoke(t, h, req)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(resp.Body) != `{"conversations":[]}` {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	trail, _, err := st.Store.AuditTrail(context.Background(), apptest.ClinicID, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), "", 10)
	if err != nil || len(trail) != 1 || trail[0].Action != "list_conversations" || trail[0].Actor != "token:write" {
		t.Fatalf("audit trail %+v, %v", trail, err)
	}
	apptest.SetHeader(&req, "Authorization", "Bearer "+apptest.APIToken)
	if resp := invoke(t, h, req); resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Body, "token-scope") {
		t.Fatalf("read token: status %d: %s", resp.StatusCode, resp.Body)
	}
}

// envelopeTypes names the aws-lambda-go type of every file in events/; a new file
// must be added here, which keeps it round-trip checked.
var envelopeTypes = map[string]func(testing.TB, string){
	"apigw-healthz.json":            apptest.RoundTrip[events.APIGatewayProxyRequest],
	"apigw-healthz-stage-path.json": apptest.RoundTrip[events.APIGatewayProxyRequest],
	"apigw-put-appointment.json":    apptest.RoundTrip[events.APIGatewayProxyRequest],
	"apigw-get-appointment.json":    apptest.RoundTrip[events.APIGatewayProxyRequest],
	"apigw-list-conversations.json": apptest.RoundTrip[events.APIGatewayProxyRequest],
	"apigw-put-slot.json":           apptest.RoundTrip[events.APIGatewayProxyRequest],
	"apigw-get-slots.json":          apptest.RoundTrip[events.APIGatewayProxyRequest],
	"apigw-webhook-verify.json":     apptest.RoundTrip[events.APIGatewayProxyRequest],
	"apigw-webhook-message.json":    apptest.RoundTrip[events.APIGatewayProxyRequest],
	"eventbridge-sweep.json":        apptest.RoundTrip[events.CloudWatchEvent],
	"sqs-outbound-reminder.json":    apptest.RoundTrip[events.SQSEvent],
	"sqs-inbound-webhook.json":      apptest.RoundTrip[events.SQSEvent],
	"sqs-ehr-outbox-event.json":     apptest.RoundTrip[events.SQSEvent],
}

func TestEveryEnvelopeRoundTrips(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(apptest.EventsDir(t), "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		seen[name] = true
		check, ok := envelopeTypes[name]
		if !ok {
			t.Errorf("events/%s has no entry in envelopeTypes: add its aws-lambda-go type", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			check(t, name)
			if strings.HasPrefix(name, "sqs-") {
				apptest.CheckSQSDigests(t, name, apptest.Envelope[events.SQSEvent](t, name))
			}
		})
	}
	for name := range envelopeTypes {
		if !seen[name] {
			t.Errorf("events/%s is missing", name)
		}
	}
}

// TestBootstraps checks what `make build` produced: one arm64 Linux executable per
// function, statically linked (the provided.al2023 runtime has no Go toolchain and
// no guaranteed libc), built from that function's package with the Makefile's flags.
func TestBootstraps(t *testing.T) {
	root := apptest.RepoRoot(t)
	buildDir := filepath.Join(root, "build")
	if _, err := os.Stat(buildDir); errors.Is(err, fs.ErrNotExist) {
		t.Skip("build/ is absent: run `make build` (make test does) to check the Lambda bootstraps")
	}
	mains, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil || len(mains) == 0 {
		t.Fatalf("no functions/*/main.go: %v", err)
	}
	var names []string
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	sort.Strings(names)
	if len(names) != 6 {
		t.Errorf("functions %v: want the six Lambdas", names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(buildDir, name, "bootstrap")
			f, err := elf.Open(path)
			if err != nil {
				t.Fatalf("%v: run `make build`", err)
			}
			defer f.Close()
			if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
				t.Errorf("%s: machine %v class %v type %v, want EM_AARCH64 ELFCLASS64 ET_EXEC", path, f.Machine, f.Class, f.Type)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
					t.Errorf("%s: has %v: dynamically linked (build with CGO_ENABLED=0)", path, p.Type)
				}
			}
			info, err := buildinfo.ReadFile(path)
			if err != nil {
				t.Fatalf("%s: build info: %v", path, err)
			}
			if want := info.Main.Path + "/functions/" + name; info.Path != want {
				t.Errorf("%s was built from %s, want %s", path, info.Path, want)
			}
			settings := map[string]string{}
			for _, s := range info.Settings {
				settings[s.Key] = s.Value
			}
			for k, want := range map[string]string{"GOOS": "linux", "GOARCH": "arm64", "CGO_ENABLED": "0", "-tags": "lambda.norpc", "-trimpath": "true"} {
				if settings[k] != want {
					t.Errorf("%s: build setting %s=%q, want %q", path, k, settings[k], want)
				}
			}
		})
	}
}

// signedAtItsOwnTime requires an envelope's stored headers to be a genuine
// signature of its body at the stored time, so the file is what an EHR really
// sent; only its age is wrong for today.
func signedAtItsOwnTime(t *testing.T, put events.APIGatewayProxyRequest) {
	t.Helper()
	sentAt, err := strconv.ParseInt(put.Headers[ehr.HeaderWebhookTimestamp], 10, 64)
	if err != nil {
		t.Fatalf("webhook-timestamp: %v", err)
	}
	stored := http.Header{}
	for k, v := range put.Headers {
		stored.Set(k, v)
	}
	verifier := ehr.Verifier{Clock: platform.NewFakeClock(time.Unix(sentAt, 0))}
	if err := verifier.Verify(apptest.EHRSecret, []byte(put.Body), stored); err != nil {
		t.Fatalf("the envelope's signature does not verify at its own timestamp: %v", err)
	}
}
