package whatsapptest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

const (
	token     = "stub-token"
	appSecret = "stub-app-secret"
	pnid      = "106540352242922"
	patient   = "+15550142"
)

// webhookSink is the test's stand-in for Frontdesk's webhook: it verifies every
// signature and keeps the parsed notifications.
type webhookSink struct {
	mu       sync.Mutex
	statuses []whatsapp.Status
	metadata []whatsapp.Metadata
	badSigs  int
}

func (k *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := whatsapp.VerifySignature([]byte(appSecret), body, r.Header.Get(whatsapp.SignatureHeader)); err != nil {
		k.badSigs++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	n, err := whatsapp.ParseNotification(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, e := range n.Entry {
		for _, c := range e.Changes {
			k.statuses = append(k.statuses, c.Value.Statuses...)
			k.metadata = append(k.metadata, c.Value.Metadata)
		}
	}
}

type env struct {
	stub   *whatsapptest.Stub
	srv    *httptest.Server
	client *whatsapp.Client
	sink   *webhookSink
	clock  *platform.FakeClock
}

func newEnv(t *testing.T, cfg whatsapptest.Config) *env {
	t.Helper()
	e := &env{sink: &webhookSink{}, clock: platform.NewFakeClock(time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC))}
	hook := httptest.NewServer(e.sink)
	t.Cleanup(hook.Close)
	cfg.AccessToken, cfg.AppSecret = token, appSecret
	if cfg.WebhookURL == "" {
		cfg.WebhookURL = hook.URL
	}
	if cfg.Clock == nil {
		cfg.Clock = e.clock
	}
	stub, err := whatsapptest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.stub = stub
	e.srv = httptest.NewServer(stub)
	t.Cleanup(func() { e.srv.Close(); stub.Stop() })
	e.client = &whatsapp.Client{BaseURL: e.srv.URL, Token: func(context.Context) (string, error) { return token, nil }}
	return e
}

func templateMsg(t *testing.T, name string) whatsapp.Message {
	t.Helper()
	m, err := whatsapp.TemplateMessage(patient, name, "en_US",
		[]whatsapp.TemplateParam{{Name: "clinic_name", Text: "Clínica Sol"}}, []string{"confirm:a1", "cancel:a1"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func flush(t *testing.T, s *whatsapptest.Stub) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestValidSendAnswersRecordsAndPostsSignedStatuses(t *testing.T) {
	e := newEnv(t, whatsapptest.Config{})
	wamid, err := e.client.Send(context.Background(), pnid, templateMsg(t, "appointment_reminder"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(wamid, "wamid.") {
		t.Fatalf("wamid %q", wamid)
	}
	sent := e.stub.Sent()
	if len(sent) != 1 || sent[0].WAMID != wamid || sent[0].PhoneNumberID != pnid || !sent[0].Accepted() ||
		sent[0].Template != "appointment_reminder" || !sent[0].At.Equal(e.clock.Now()) {
		t.Fatalf("recorded %+v", sent)
	}
	if !json.Valid(sent[0].Body) || !bytes.Contains(sent[0].Body, []byte(`"confirm:a1"`)) {
		t.Fatalf("recorded body %s", sent[0].Body)
	}
	if sent[0].Version != whatsapp.DefaultVersion || sent[0].Error != "" || sent[0].Invalid {
		t.Errorf("recorded version %q, error %q, invalid %v", sent[0].Version, sent[0].Error, sent[0].Invalid)
	}
	if m, err := sent[0].Message(); err != nil || m.To != strings.TrimPrefix(patient, "+") || m.Template == nil || m.Template.Name != "appointment_reminder" {
		t.Errorf("decoded %+v, %v", m, err)
	}
	flush(t, e.stub)

	e.sink.mu.Lock()
	defer e.sink.mu.Unlock()
	if e.sink.badSigs != 0 {
		t.Fatalf("%d webhooks with bad signatures", e.sink.badSigs)
	}
	var got []string
	for _, st := range e.sink.statuses {
		got = append(got, st.Status)
		if st.ID != wamid || st.RecipientID != "15550142" || st.Timestamp == "" {
			t.Errorf("status %+v", st)
		}
	}
	if strings.Join(got, ",") != "sent,delivered,read" {
		t.Fatalf("statuses %v, want sent,delivered,read", got)
	}
	for _, m := range e.sink.metadata {
		if m.PhoneNumberID != pnid {
			t.Errorf("metadata %+v", m)
		}
	}
	if e.sink.statuses[0].Pricing == nil || e.sink.statuses[0].Pricing.Category != "utility" {
		t.Errorf("sent status pricing %+v", e.sink.statuses[0].Pricing)
	}
	if st := e.stub.Stats(); st.Accepted != 1 || st.WebhooksDelivered != 3 {
		t.Errorf("stats %+v", st)
	}
}

// The acceptance check of the foundation issue: a send that does not match Meta's
// Message schema gets a Graph-style 400.
func TestSchemaInvalidSendGetsGraphError(t *testing.T) {
	v := whatsappspec.RequireSpec(t)
	e := newEnv(t, whatsapptest.Config{Validator: v})
	cases := map[string]string{
		"four buttons": `{"messaging_product":"whatsapp","to":"15550142","type":"interactive","interactive":{"type":"button","body":{"text":"x"},"action":{"buttons":[` +
			`{"type":"reply","reply":{"id":"a","title":"A"}},{"type":"reply","reply":{"id":"b","title":"B"}},{"type":"reply","reply":{"id":"c","title":"C"}},{"type":"reply","reply":{"id":"d","title":"D"}}]}}}`,
		"no name":  `{"messaging_product":"whatsapp","to":"15550142","type":"template","template":{"language":{"code":"en_US"}}}`,
		"not json": `{"to":`,
		"fax":      `{"messaging_product":"whatsapp","to":"15550142","type":"fax"}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			status, gerr := postRaw(t, e.srv.URL+"/v23.0/"+pnid+"/messages", token, body)
			if status != http.StatusBadRequest || gerr.Code != 100 || gerr.Type != "OAuthException" || gerr.FBTraceID == "" ||
				gerr.ErrorData == nil || gerr.ErrorData.Details == "" {
				t.Fatalf("got %d %+v", status, gerr)
			}
		})
	}
	// And what the builders produce passes.
	if _, err := e.client.Send(context.Background(), pnid, templateMsg(t, "appointment_reminder")); err != nil {
		t.Fatal(err)
	}
	if st := e.stub.Stats(); st.Invalid != len(cases) || st.Accepted != 1 {
		t.Errorf("stats %+v", st)
	}
	for _, r := range e.stub.Sent() {
		if r.Accepted() == (r.Invalid || r.Error != "") {
			t.Errorf("recorded %+v: only refused sends are invalid and carry an error", r)
		}
	}
}

func postRaw(t *testing.T, url, bearer, body string) (int, whatsapp.GraphError) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb whatsapp.GraphErrorBody
	_ = json.NewDecoder(resp.Body).Decode(&eb)
	return resp.StatusCode, eb.Error
}

func TestMinimalValidationWithoutSpec(t *testing.T) {
	e := newEnv(t, whatsapptest.Config{})
	for _, body := range []string{`{"to":`, `{"messaging_product":"whatsapp","type":"text"}`, `[]`} {
		if status, gerr := postRaw(t, e.srv.URL+"/v23.0/"+pnid+"/messages", token, body); status != 400 || gerr.Code != 100 {
			t.Errorf("%s: got %d %+v", body, status, gerr)
		}
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, whatsapptest.Config{})
	status, gerr := postRaw(t, e.srv.URL+"/v23.0/"+pnid+"/messages", "wrong", `{}`)
	if status != http.StatusUnauthorized || gerr.Code != whatsapp.CodeAccessToken {
		t.Fatalf("wrong token: %d %+v", status, gerr)
	}
	e.stub.SetFaults(whatsapptest.Faults{AuthFail: true})
	_, err := e.client.Send(context.Background(), pnid, templateMsg(t, "t"))
	var apiErr *whatsapp.APIError
	if !errors.As(err, &apiErr) || apiErr.Class() != whatsapp.ClassAuth || apiErr.HTTPStatus != 401 || apiErr.Code != 190 {
		t.Fatalf("auth fault: %v", err)
	}
	if _, err := e.client.ListTemplates(context.Background(), "waba", ""); whatsapp.Classify(err) != whatsapp.ClassAuth {
		t.Fatalf("templates under auth fault: %v", err)
	}
	if st := e.stub.Stats(); st.AuthFailures != 2 || st.Accepted != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestThroughputLimitPerNumber(t *testing.T) {
	e := newEnv(t, whatsapptest.Config{RatePerSecond: 5})
	send := func(number string) error {
		_, err := e.client.Send(context.Background(), number, templateMsg(t, "t"))
		return err
	}
	for i := range 5 {
		if err := send(pnid); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	err := send(pnid)
	var apiErr *whatsapp.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != whatsapp.CodeThroughput || apiErr.HTTPStatus != 400 || apiErr.Class() != whatsapp.ClassThroughput {
		t.Fatalf("6th send: %v", err)
	}
	if err := send("106540352242923"); err != nil {
		t.Fatalf("another number has its own bucket: %v", err)
	}
	e.clock.Advance(200 * time.Millisecond) // one token at 5/s
	if err := send(pnid); err != nil {
		t.Fatalf("after refill: %v", err)
	}
	if err := send(pnid); err == nil {
		t.Fatal("second send after a one-token refill succeeded")
	}
	if st := e.stub.Stats(); st.Throttled != 2 || st.Accepted != 7 {
		t.Errorf("stats %+v", st)
	}
}

func TestFaultInjection(t *testing.T) {
	cases := []struct {
		name   string
		faults whatsapptest.Faults
		sends  int
		// failing lists the 1-based sends that fail, with their class.
		failing map[int]whatsapp.Class
		stat    func(whatsapptest.Stats) int
	}{
		{"next two server errors", whatsapptest.Faults{ServerErrorNext: 2}, 4,
			map[int]whatsapp.Class{1: whatsapp.ClassRetryable, 2: whatsapp.ClassRetryable},
			func(s whatsapptest.Stats) int { return s.InjectedServerErrors }},
		{"server error every 3rd", whatsapptest.Faults{ServerErrorEvery: 3}, 7,
			map[int]whatsapp.Class{3: whatsapp.ClassRetryable, 6: whatsapp.ClassRetryable},
			func(s whatsapptest.Stats) int { return s.InjectedServerErrors }},
		{"throttle every 2nd", whatsapptest.Faults{ThrottleEvery: 2}, 4,
			map[int]whatsapp.Class{2: whatsapp.ClassThroughput, 4: whatsapp.ClassThroughput},
			func(s whatsapptest.Stats) int { return s.InjectedThrottles }},
		{"pair rate every 4th", whatsapptest.Faults{PairRateEvery: 4}, 4,
			map[int]whatsapp.Class{4: whatsapp.ClassPairRate},
			func(s whatsapptest.Stats) int { return s.InjectedPairRate }},
		{"template error", whatsapptest.Faults{TemplateErrors: map[string]int{"broken": whatsapp.CodeTemplateMissing}}, 3,
			map[int]whatsapp.Class{1: whatsapp.ClassTemplate, 2: whatsapp.ClassTemplate, 3: whatsapp.ClassTemplate},
			func(s whatsapptest.Stats) int { return s.TemplateErrors }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, whatsapptest.Config{Faults: tc.faults})
			name := "fine"
			if tc.faults.TemplateErrors != nil {
				name = "broken"
			}
			for i := 1; i <= tc.sends; i++ {
				_, err := e.client.Send(context.Background(), pnid, templateMsg(t, name))
				want, shouldFail := tc.failing[i]
				switch {
				case shouldFail && err == nil:
					t.Errorf("send %d succeeded", i)
				case shouldFail && whatsapp.Classify(err) != want:
					t.Errorf("send %d: class %v, want %v (%v)", i, whatsapp.Classify(err), want, err)
				case !shouldFail && err != nil:
					t.Errorf("send %d: %v", i, err)
				}
			}
			if got := tc.stat(e.stub.Stats()); got != len(tc.failing) {
				t.Errorf("counter %d, want %d", got, len(tc.failing))
			}
			if got := e.stub.Stats().Accepted; got != tc.sends-len(tc.failing) {
				t.Errorf("accepted %d", got)
			}
		})
	}
}

func TestInjectedTimeoutIsRetryableAndNotSent(t *testing.T) {
	e := newEnv(t, whatsapptest.Config{Faults: whatsapptest.Faults{TimeoutEvery: 2, TimeoutDelay: time.Minute}})
	e.client.Timeout = 200 * time.Millisecond
	if _, err := e.client.Send(context.Background(), pnid, templateMsg(t, "t")); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.Send(context.Background(), pnid, templateMsg(t, "t"))
	if err == nil || whatsapp.Classify(err) != whatsapp.ClassRetryable {
		t.Fatalf("timed-out send: %v", err)
	}
	if st := e.stub.Stats(); st.InjectedTimeouts != 1 || st.Accepted != 1 {
		t.Errorf("stats %+v", st)
	}
}

// ServerErrorNext is one-shot: the count it was set to is used up, and the admin
// endpoint shows what is left.
func TestServerErrorNextCountsDown(t *testing.T) {
	e := newEnv(t, whatsapptest.Config{})
	resp, err := http.Post(e.srv.URL+"/_stub/faults", "application/json", strings.NewReader(`{"server_error_next":1,"server_error_every":3}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var apiErr *whatsapp.APIError
	if _, err := e.client.Send(context.Background(), pnid, templateMsg(t, "t")); !errors.As(err, &apiErr) ||
		apiErr.HTTPStatus != http.StatusInternalServerError || apiErr.Class() != whatsapp.ClassRetryable {
		t.Fatalf("first send: %v", err)
	}
	var left whatsapptest.Faults
	getJSON(t, e.srv.URL+"/_stub/faults", &left)
	if left.ServerErrorNext != 0 || left.ServerErrorEvery != 3 {
		t.Fatalf("faults after one send %+v, want server_error_next used up and the rest kept", left)
	}
	if _, err := e.client.Send(context.Background(), pnid, templateMsg(t, "t")); err != nil {
		t.Fatalf("second send: %v", err)
	}
	// The one-shot fault took the first place in the "every Nth" count too.
	if _, err := e.client.Send(context.Background(), pnid, templateMsg(t, "t")); whatsapp.Classify(err) != whatsapp.ClassRetryable {
		t.Fatalf("third send: %v, want the every-3rd server error", err)
	}
	if st := e.stub.Stats(); st.InjectedServerErrors != 2 || st.Accepted != 1 {
		t.Errorf("stats %+v", st)
	}
}

// A send whose client already hung up is dropped unsent and takes no place in the
// fault count. ServeHTTP is called directly so the hang-up is certain, not timed.
func TestSendFromAGoneClientIsNotSent(t *testing.T) {
	e := newEnv(t, whatsapptest.Config{Faults: whatsapptest.Faults{ServerErrorEvery: 2}})
	body, err := json.Marshal(templateMsg(t, "t"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v23.0/"+pnid+"/messages", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	e.stub.ServeHTTP(httptest.NewRecorder(), req)
	sent := e.stub.Sent()
	if len(sent) != 1 || sent[0].Accepted() || sent[0].WAMID != "" || sent[0].HTTPStatus != whatsapptest.StatusClientGone {
		t.Fatalf("recorded %+v, want one unsent request", sent)
	}
	if _, err := e.client.Send(context.Background(), pnid, templateMsg(t, "t")); err != nil {
		t.Fatalf("next send: %v (the gone request must not count as the 1st of every 2nd)", err)
	}
	if st := e.stub.Stats(); st.ClientGone != 1 || st.Accepted != 1 || st.Requests != 2 || st.InjectedServerErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

// tbRecorder is a testing.TB whose failures and cleanups the test inspects, so
// NewServer's own failure report can be checked without failing this test.
type tbRecorder struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (r *tbRecorder) Helper() {}
func (r *tbRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *tbRecorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *tbRecorder) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestNewServerServesAndReportsInvalidSends(t *testing.T) {
	rec := &tbRecorder{TB: t}
	srv := whatsapptest.NewServer(rec, whatsapptest.Config{AccessToken: token, AppSecret: appSecret})
	client := &whatsapp.Client{BaseURL: srv.URL, HTTP: srv.Client(), Token: func(context.Context) (string, error) { return token, nil }}
	wamid, err := client.Send(context.Background(), pnid, templateMsg(t, "appointment_reminder"))
	if err != nil {
		t.Fatal(err)
	}
	if sent := srv.Sent(); len(sent) != 1 || sent[0].WAMID != wamid {
		t.Fatalf("recorded %+v", sent)
	}
	if status, _ := postRaw(t, srv.URL+"/v23.0/"+pnid+"/messages", token, `{"messaging_product":"whatsapp","to":"15550142"}`); status != http.StatusBadRequest {
		t.Fatalf("invalid send answered %d", status)
	}
	rec.runCleanups()
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "invalid send") {
		t.Errorf("reported %q, want the one invalid send", rec.errors)
	}
	if err := srv.Flush(context.Background()); !errors.Is(err, whatsapptest.ErrStopped) {
		t.Errorf("after cleanup: %v, want the stub stopped", err)
	}
}

func TestAdminEndpoints(t *testing.T) {
	e := newEnv(t, whatsapptest.Config{})
	post := func(body string) *http.Response {
		resp, err := http.Post(e.srv.URL+"/_stub/faults", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if resp := post(`{"server_error_every":2,"timeout_delay":"2s","template_errors":{"x":132015}}`); resp.StatusCode != 200 {
		t.Fatalf("set faults: %d", resp.StatusCode)
	}
	f := e.stub.Faults()
	if f.ServerErrorEvery != 2 || f.TimeoutDelay != 2*time.Second || f.TemplateErrors["x"] != 132015 {
		t.Fatalf("faults %+v", f)
	}
	if resp := post(`{"server_error_evry":2}`); resp.StatusCode != 400 {
		t.Fatalf("misspelt fault accepted: %d", resp.StatusCode)
	}
	_, _ = e.client.Send(context.Background(), pnid, templateMsg(t, "t"))
	_, _ = e.client.Send(context.Background(), pnid, templateMsg(t, "t"))

	var recorded []whatsapptest.Recorded
	getJSON(t, e.srv.URL+"/_stub/messages", &recorded)
	if len(recorded) != 2 || !recorded[0].Accepted() || recorded[1].HTTPStatus != 500 {
		t.Fatalf("messages %+v", recorded)
	}
	var stats whatsapptest.Stats
	getJSON(t, e.srv.URL+"/_stub/stats", &stats)
	if stats.Requests != 2 || stats.InjectedServerErrors != 1 {
		t.Fatalf("stats %+v", stats)
	}
	var faults whatsapptest.Faults
	getJSON(t, e.srv.URL+"/_stub/faults", &faults)
	if faults.TimeoutDelay != 2*time.Second {
		t.Fatalf("faults round trip %+v", faults)
	}
	resp, err := http.Post(e.srv.URL+"/_stub/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(e.stub.Sent()) != 0 || e.stub.Stats().Requests != 0 {
		t.Fatal("reset left recordings")
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestTemplates(t *testing.T) {
	e := newEnv(t, whatsapptest.Config{})
	ctx := context.Background()
	def := whatsapp.TemplateDefinition{
		Name: "appointment_reminder_48h", Language: "en_US", Category: "UTILITY", ParameterFormat: "named",
		MessageSendTTLSeconds: 3600,
		Components: []whatsapp.TemplateDefinitionComponent{
			{Type: "BODY", Text: "{{clinic_name}}: see you on {{date}}.", Example: &whatsapp.TemplateExample{
				BodyTextNamedParams: []whatsapp.NamedParamExample{{ParamName: "clinic_name", Example: "Clínica Sol"}, {ParamName: "date", Example: "3 March"}}}},
			{Type: "BUTTONS", Buttons: []whatsapp.TemplateDefinitionButton{{Type: "QUICK_REPLY", Text: "Confirm"}}},
		},
	}
	got, err := e.client.SubmitTemplate(ctx, "waba1", def)
	if err != nil || got.ID == "" || got.Status != "APPROVED" {
		t.Fatalf("submit: %+v %v", got, err)
	}
	if _, err := e.client.SubmitTemplate(ctx, "waba1", def); err == nil {
		t.Fatal("duplicate name+language accepted")
	}
	def.Language = "es"
	if _, err := e.client.SubmitTemplate(ctx, "waba1", def); err != nil {
		t.Fatal(err)
	}
	list, err := e.client.ListTemplates(ctx, "waba1", "appointment_reminder_48h")
	if err != nil || len(list) != 2 || list[0].MessageSendTTL != 3600 || list[1].Language != "es" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if _, err := e.client.SubmitTemplate(ctx, "waba1", whatsapp.TemplateDefinition{Name: "Bad Name"}); whatsapp.Classify(err) != whatsapp.ClassPermanent {
		t.Fatalf("invalid template: %v", err)
	}
}

func TestStopEndsWorkersAndFlush(t *testing.T) {
	block := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(block); hook.Close() })
	e := newEnv(t, whatsapptest.Config{WebhookURL: hook.URL})
	if _, err := e.client.Send(context.Background(), pnid, templateMsg(t, "t")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.stub.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("flush with a stuck webhook: %v", err)
	}
	e.stub.Stop() // must return although the webhook never answers
	if err := e.stub.Flush(context.Background()); !errors.Is(err, whatsapptest.ErrStopped) {
		t.Fatalf("flush after stop: %v", err)
	}
}

func TestNewRequiresSecrets(t *testing.T) {
	if _, err := whatsapptest.New(whatsapptest.Config{AccessToken: "x"}); err == nil {
		t.Fatal("missing app secret accepted")
	}
}
