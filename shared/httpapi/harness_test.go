package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/frontdesk-health/frontdesk/shared/app/ehrapi"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/httpapi"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

const (
	testSecret = "whsec_dGVzdC1zZWNyZXQtZm9yLWZyb250ZGVzay10ZXN0cw=="
	testToken  = "clinic-api-token-1"
	clinicID   = "test-clinic"
)

// harness is the EHR API over a real DynamoDB Local store with a fake clock.
type harness struct {
	t      *testing.T
	client *dynamodb.Client
	names  dynamo.TableNames
	store  *dynamo.Store
	clock  *platform.FakeClock
	srv    *httptest.Server
	seq    int
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	client, names := localtest.Dynamo(t)
	clock := platform.NewFakeClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	store := dynamo.NewStore(client, names, clock, 4)
	c := clinic.Clinic{
		ID: clinicID, Name: "Test Clinic", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: "100000000000009", WABAID: "200000000000009", DefaultLanguage: "en-US",
		QuietHours: reminder.QuietHours{Start: "21:00", End: "08:00"}, ReminderPolicy: reminder.DefaultPolicy(),
		EmergencyNumber: "911", WebhookSecretRef: "env:TEST_EHR_SECRET", APITokenHash: ehr.HashToken(testToken),
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := store.PutClinic(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	log := platform.NewLogger(io.Discard, nil)
	// The deployed wiring (the Verifier's tolerance is the default 5 minutes).
	api := ehrapi.New(ehrapi.Deps{
		Store: store,
		Secrets: &platform.Secrets{Lookup: func(k string) (string, bool) {
			return testSecret, k == "TEST_EHR_SECRET"
		}},
		Clock: clock,
		Log:   log,
	})
	srv := httptest.NewServer(httpapi.NewRouter(api, nil, log, clock, ""))
	t.Cleanup(srv.Close)
	return &harness{t: t, client: client, names: names, store: store, clock: clock, srv: srv}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signed sends a Standard Webhooks signed request. msgID "" picks a fresh one.
func (h *harness) signed(method, path, contentType, msgID string, body []byte) *http.Response {
	h.t.Helper()
	if msgID == "" {
		h.seq++
		msgID = "msg_" + strconv.Itoa(h.seq)
	}
	hdr, err := ehr.SignHeaders(testSecret, msgID, h.clock.Now(), body)
	if err != nil {
		h.t.Fatal(err)
	}
	req, _ := http.NewRequest(method, h.srv.URL+path, bytes.NewReader(body))
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	return h.do(req)
}

func (h *harness) get(path, token string) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.do(req)
}

func (h *harness) do(req *http.Request) *http.Response {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

func readAll(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}

// itemCounts scans every table: the ground truth for "nothing was stored".
func (h *harness) itemCounts() map[string]int {
	h.t.Helper()
	out := map[string]int{}
	for _, name := range []string{h.names.Appointments, h.names.Patients, h.names.Messages, h.names.Clinics, h.names.Idempotency, h.names.Conversations, h.names.Audit, h.names.Slots, h.names.Metrics} {
		res, err := h.client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(name), Select: "COUNT"})
		if err != nil {
			h.t.Fatal(err)
		}
		out[name[strings.Index(name, "-")+1:]] = int(res.Count)
	}
	return out
}

func expectStatus(t *testing.T, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, readAll(resp))
	}
}

var _ = fmt.Sprintf
