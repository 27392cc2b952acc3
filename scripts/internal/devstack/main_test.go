package devstack_test

// The system tests in this package drive the whole dev stack (DynamoDB Local, moto,
// the routers, the queue consumers, the sweep, the Graph API stand-in) from the
// outside, the way the EHR, Meta and the clinic's callback receiver would. Starting
// Java and moto costs most of the run, so the tests share one stack, run one after
// another (none calls t.Parallel) and keep their data apart by patient, phone number
// and appointment id.

import (
	"errors"
	"syscall"

	"github.com/frontdesk-health/frontdesk/shared/localtest"

	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
	"github.com/frontdesk-health/frontdesk/scripts/internal/localstack"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

// Bounds of every wait. Generous because the CI box has 2 cores and other test
// packages (and their JVMs) run at the same time; a healthy stack needs a fraction.
const (
	startTimeout = 90 * time.Second
	waitTimeout  = 30 * time.Second
	pollEvery    = 100 * time.Millisecond
)

// world is the shared running stack and what the tests observe it through.
type world struct {
	stack    *devstack.Stack
	cfg      devstack.Config
	logs     *localtest.LogBuffer
	callback *callbackRecorder
	http     *http.Client
}

var (
	shared     *world
	sharedErr  error
	sharedOnce sync.Once
	cleanups   []func()
)

func TestMain(m *testing.M) {
	// DynamoDB Local writes dynamodb-local-metadata.json into its working directory,
	// which it inherits: run from the repository root (where that file already is)
	// so the test leaves no stray file in this package.
	if root, err := platform.RepoRoot(); err == nil {
		_ = os.Chdir(root)
	}
	code := m.Run()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	os.Exit(code)
}

// stackFor returns the shared stack, starting it on first use.
func stackFor(t *testing.T) *world {
	t.Helper()
	whatsappspec.RequireSpec(t) // the Graph API stand-in validates against it
	sharedOnce.Do(func() { shared, sharedErr = startWorld() })
	if sharedErr != nil {
		t.Fatalf("start the dev stack: %v", sharedErr)
	}
	return shared
}

// startWorld starts the shared stack on free ports. A free port is found by
// listening on port 0 and closing it, so another process on the machine can take
// it before the stack listens again: that start is retried on new ports.
func startWorld() (*world, error) {
	for attempt := 1; ; attempt++ {
		w, err := startWorldOnce()
		if err == nil || attempt == 3 || !errors.Is(err, syscall.EADDRINUSE) {
			return w, err
		}
		fmt.Fprintf(os.Stderr, "devstack: a port was taken before the stack listened (%v); retrying on new ports\n", err)
	}
}

func startWorldOnce() (*world, error) {
	port, err := localstack.FreePort()
	if err != nil {
		return nil, err
	}
	graphPort, err := localstack.FreePort()
	if err != nil {
		return nil, err
	}
	w := &world{logs: &localtest.LogBuffer{}, http: &http.Client{Timeout: 10 * time.Second}}
	w.callback, err = newCallbackRecorder(devstack.DefaultEHRSecret)
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, w.callback.srv.Close)
	// Defaults as `make dev` has them, except the ports and a fast sweep.
	w.cfg, err = devstack.ConfigFromEnv(func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, err
	}
	w.cfg.Port, w.cfg.GraphPort = port, graphPort
	if w.cfg.OIDCPort, err = localstack.FreePort(); err != nil {
		return nil, err
	}
	w.cfg.SweepEvery = 200 * time.Millisecond
	w.cfg.TablePrefix = "systest-"
	w.cfg.CallbackURL = w.callback.srv.URL
	w.cfg.Log = w.logs
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	start := time.Now()
	w.stack, err = devstack.Start(ctx, w.cfg)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "devstack: started in %s\n", time.Since(start).Round(time.Millisecond))
	cleanups = append(cleanups, w.stack.Stop)
	return w, nil
}

// ---- log capture -------------------------------------------------------------

// linesSince returns the complete log lines written since offset, decoded.
func linesSince(b *localtest.LogBuffer, offset int) []map[string]any {
	data := b.Since(offset)
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		} else {
			out = append(out, map[string]any{"level": "UNPARSED", "msg": sc.Text()})
		}
	}
	return out
}

// errorsSince returns the lines at level ERROR (or not JSON at all) since offset.
func errorsSince(b *localtest.LogBuffer, offset int) []string {
	var out []string
	for _, m := range linesSince(b, offset) {
		if lvl, _ := m["level"].(string); lvl == "ERROR" || lvl == "UNPARSED" {
			line, _ := json.Marshal(m)
			out = append(out, string(line))
		}
	}
	return out
}

// dumpOnFailure prints the stack's log lines of this test when it fails, so the
// reason is in the test output rather than only in a lost buffer.
func (w *world) dumpOnFailure(t *testing.T, offset int) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		var lines []map[string]any
		for _, m := range linesSince(w.logs, offset) {
			if m["msg"] != "metric" {
				lines = append(lines, m)
			}
		}
		if len(lines) > 200 {
			lines = lines[len(lines)-200:]
		}
		for _, m := range lines {
			b, _ := json.Marshal(m)
			t.Logf("stack log: %s", b)
		}
	})
}

// ---- polling -----------------------------------------------------------------

// eventually polls check until it reports done, failing the test after timeout
// with the last state it described. check may call t.Fatal to stop early.
func eventually(t *testing.T, timeout time.Duration, what string, check func() (done bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		done, state := check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s still waiting for %s; last state: %s", timeout, what, state)
		}
		<-tick.C
	}
}

// ---- the EHR side --------------------------------------------------------------

type patientSpec struct {
	id, phone, givenName string
}

// book PUTs a new appointment through the signed EHR API, as an EHR would, with the
// patient's opt-in, and requires 201 Created.
func (w *world) book(t *testing.T, apptID string, p patientSpec, in time.Duration) {
	t.Helper()
	now := time.Now().UTC()
	body, _ := json.Marshal(map[string]any{
		"status": "booked", "start": now.Add(in).Truncate(time.Minute).Format(time.RFC3339), "durationMinutes": 30,
		"location":     map[string]string{"name": "Demo Family Clinic", "address": "100 Example Ave, Springfield"},
		"practitioner": map[string]string{"display": "Dr. Demo Example"},
		"patient":      map[string]string{"id": p.id, "phone": p.phone, "givenName": p.givenName, "language": "en-US"},
		"consent":      map[string]string{"whatsapp": "opted_in", "at": now.Add(-time.Hour).Format(time.RFC3339), "source": "systest", "evidence": "intake form"},
		"updatedAt":    now.Format(time.RFC3339Nano),
	})
	code, b := w.signedEHR(t, http.MethodPut, "/v1/clinics/"+devstack.DemoClinicID+"/appointments/"+apptID, now, body)
	if code != http.StatusCreated {
		t.Fatalf("book %s: HTTP %d, want 201: %s", apptID, code, b)
	}
}

// signedEHR sends body to path as the EHR does (devstack's SignedEHRRequest) and
// answers the status and body.
func (w *world) signedEHR(t *testing.T, method, path string, at time.Time, body []byte) (int, []byte) {
	t.Helper()
	req, err := w.cfg.SignedEHRRequest(t.Context(), method, w.stack.APIURL+path, at, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := w.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, b
}

// appointment GETs the clinic's view of an appointment with the clinic's token.
func (w *world) appointment(t *testing.T, apptID string) ehr.AppointmentState {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.stack.APIURL+"/v1/clinics/"+devstack.DemoClinicID+"/appointments/"+apptID, nil)
	req.Header.Set("Authorization", "Bearer "+w.cfg.EHRAPIToken)
	resp, err := w.http.Do(req)
	if err != nil {
		t.Fatalf("get %s: %v", apptID, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get %s: HTTP %d: %s", apptID, resp.StatusCode, b)
	}
	var st ehr.AppointmentState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("get %s: decode: %v: %s", apptID, err, b)
	}
	return st
}

func reminderOf(st ehr.AppointmentState, kind string) (ehr.ReminderState, bool) {
	for _, r := range st.Reminders {
		if string(r.Kind) == kind {
			return r, true
		}
	}
	return ehr.ReminderState{}, false
}

// ---- the Meta side -------------------------------------------------------------

// postWebhook POSTs body to the stack's WhatsApp webhook, signed with the app
// secret as Meta signs it, and returns the HTTP status.
func (w *world) postWebhook(t *testing.T, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.stack.APIURL+"/webhooks/whatsapp", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign([]byte(w.cfg.AppSecret), body))
	resp, err := w.http.Do(req)
	if err != nil {
		t.Fatalf("post webhook: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// inboundMessage builds a messages webhook from a patient to the demo clinic's number.
func (w *world) inboundMessage(waID string, msg map[string]any) []byte {
	msg["from"] = waID
	if _, ok := msg["id"]; !ok {
		msg["id"] = "wamid.systest" + platform.NewID()
	}
	msg["timestamp"] = strconv.FormatInt(time.Now().Unix(), 10)
	body, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": "200000000000001", "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]string{"display_phone_number": "15550100000", "phone_number_id": w.cfg.PhoneNumberID},
			"contacts":          []any{map[string]any{"profile": map[string]string{"name": "Test Patient"}, "wa_id": waID}},
			"messages":          []any{msg},
		}}},
	}}})
	return body
}

// ---- queues --------------------------------------------------------------------

// queueDepth returns visible + in-flight (+ delayed) messages of a queue.
func (w *world) queueDepth(t *testing.T, name string) (visible, inFlight, delayed int) {
	t.Helper()
	url, ok := w.stack.Queues[name]
	if !ok {
		t.Fatalf("no queue %q in %v", name, w.stack.Queues)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := w.stack.Local.SQSClient().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed},
	})
	if err != nil {
		t.Fatalf("attributes of %s: %v", name, err)
	}
	n := func(a types.QueueAttributeName) int {
		v, _ := strconv.Atoi(out.Attributes[string(a)])
		return v
	}
	return n(types.QueueAttributeNameApproximateNumberOfMessages),
		n(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible),
		n(types.QueueAttributeNameApproximateNumberOfMessagesDelayed)
}

// waitDrained waits until the queue holds nothing, failing at once when the stack
// logs an error since offset: a failed record would only come back after the
// queue's visibility timeout (minutes), so waiting for it would only hide the cause.
func (w *world) waitDrained(t *testing.T, name string, offset int) {
	t.Helper()
	eventually(t, waitTimeout, "queue "+name+" to drain", func() (bool, string) {
		if errs := errorsSince(w.logs, offset); len(errs) > 0 {
			t.Fatalf("the stack logged errors while %s drained:\n%s", name, strings.Join(errs, "\n"))
		}
		v, f, d := w.queueDepth(t, name)
		return v+f+d == 0, fmt.Sprintf("visible=%d in-flight=%d delayed=%d", v, f, d)
	})
}

// ---- the clinic's callback receiver ----------------------------------------------

// callbackRecorder is the clinic's endpoint for Frontdesk's notifications: it
// verifies each Standard Webhooks signature with the clinic's secret (timestamp
// included) and records the events that pass.
type callbackRecorder struct {
	srv *httptest.Server
	wh  *standardwebhooks.Webhook

	mu       sync.Mutex
	events   []callbackEvent
	rejected []string
}

type callbackEvent struct {
	WebhookID string
	Type      string         `json:"type"`
	ID        string         `json:"id"`
	ClinicID  string         `json:"clinicId"`
	Data      map[string]any `json:"data"`
	// Raw is the body as posted, for checks against the OpenAPI document.
	Raw []byte `json:"-"`
}

func newCallbackRecorder(secret string) (*callbackRecorder, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, err
	}
	c := &callbackRecorder{wh: wh}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	return c, nil
}

func (c *callbackRecorder) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := c.wh.Verify(body, r.Header); err != nil {
		c.mu.Lock()
		c.rejected = append(c.rejected, err.Error())
		c.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var e callbackEvent
	if err := json.Unmarshal(body, &e); err != nil {
		c.mu.Lock()
		c.rejected = append(c.rejected, "not JSON: "+err.Error())
		c.mu.Unlock()
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	e.WebhookID, e.Raw = r.Header.Get(standardwebhooks.HeaderWebhookID), body
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (c *callbackRecorder) snapshot() (events []callbackEvent, rejected []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]callbackEvent(nil), c.events...), append([]string(nil), c.rejected...)
}
