package outreach_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

// graphFake stands in for the Graph API's send endpoint. It mirrors the fault model
// of scripts/internal/graphstub (every-Nth faults over authorised, valid sends; a
// hanging timeout that sends nothing), which a package under shared/ cannot import
// (Go's internal rule). It validates every body against Meta's Message schema when
// the spec is available.
type graphFake struct {
	t *testing.T

	mu     sync.Mutex
	n      int
	faults fakeFaults
	sent   []fakeSend
	stats  fakeStats
	stop   chan struct{}
}

type fakeFaults struct {
	ServerErrorEvery, ThrottleEvery, TimeoutEvery, PairRateEvery int
	TemplateErrors                                               map[string]int
	AuthFail                                                     bool
}

type fakeSend struct {
	PhoneNumberID string
	Message       whatsapp.Message
	WAMID         string // empty when refused
	Code          int
}

func (s fakeSend) Accepted() bool { return s.WAMID != "" }

type fakeStats struct {
	Requests, Accepted, Invalid, AuthFailures                               int
	InjectedServerErrors, InjectedThrottles, InjectedTimeouts, InjectedPair int
	TemplateErrors                                                          int
}

func newGraphFake(t *testing.T, f fakeFaults) (*graphFake, *httptest.Server) {
	if whatsappspec.SpecAvailable() {
		// Compile the schema now: a first send that waits seconds for it would time
		// out at the client and be retried, which is not what a test means to model.
		if _, err := whatsappspec.Default(); err != nil {
			t.Fatalf("load Meta's spec: %v", err)
		}
	}
	g := &graphFake{t: t, faults: f, stop: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(func() { close(g.stop); srv.Close() })
	return g, srv
}

func (g *graphFake) setFaults(f fakeFaults) { g.mu.Lock(); g.faults = f; g.n = 0; g.mu.Unlock() }

func (g *graphFake) Stats() fakeStats { g.mu.Lock(); defer g.mu.Unlock(); return g.stats }

func (g *graphFake) Sent() []fakeSend {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]fakeSend(nil), g.sent...)
}

func (g *graphFake) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if r.Method != http.MethodPost || len(parts) != 3 || parts[2] != "messages" {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	g.stats.Requests++
	f := g.faults
	g.mu.Unlock()
	if f.AuthFail || r.Header.Get("Authorization") != "Bearer "+testToken {
		g.mu.Lock()
		g.stats.AuthFailures++
		g.mu.Unlock()
		writeGraphError(w, http.StatusUnauthorized, whatsapp.CodeAccessToken, "Error validating access token: Session has expired")
		return
	}
	var msg whatsapp.Message
	err := json.Unmarshal(body, &msg)
	if err == nil && whatsappspec.SpecAvailable() {
		err = whatsappspec.ValidateMessage(body)
	}
	if err != nil {
		g.mu.Lock()
		g.stats.Invalid++
		g.mu.Unlock()
		g.t.Errorf("graph fake: invalid send: %v", err)
		writeGraphError(w, http.StatusBadRequest, whatsapp.CodeInvalidParameter, "(#100) Invalid parameter")
		return
	}
	rec := fakeSend{PhoneNumberID: parts[1], Message: msg}
	if r.Context().Err() != nil {
		return // the client gave up before the send was processed: nothing was sent
	}
	g.mu.Lock()
	g.n++
	every := func(k int) bool { return k > 0 && g.n%k == 0 }
	status, code := http.StatusOK, 0
	switch {
	case every(f.TimeoutEvery):
		g.stats.InjectedTimeouts++
		status, code = http.StatusGatewayTimeout, whatsapp.CodeAPIService
	case every(f.ServerErrorEvery):
		g.stats.InjectedServerErrors++
		status, code = http.StatusInternalServerError, whatsapp.CodeAPIService
	case every(f.ThrottleEvery):
		g.stats.InjectedThrottles++
		status, code = http.StatusBadRequest, whatsapp.CodeThroughput
	case every(f.PairRateEvery):
		g.stats.InjectedPair++
		status, code = http.StatusBadRequest, whatsapp.CodePairRate
	case msg.Template != nil && f.TemplateErrors[msg.Template.Name] != 0:
		g.stats.TemplateErrors++
		status, code = http.StatusBadRequest, f.TemplateErrors[msg.Template.Name]
	default:
		g.stats.Accepted++
		rec.WAMID = fmt.Sprintf("wamid.FAKE%06d", g.stats.Accepted)
	}
	rec.Code = code
	g.sent = append(g.sent, rec)
	g.mu.Unlock()
	if status == http.StatusGatewayTimeout {
		// A request lost before Meta processed it: nothing is sent, the client gives up.
		select {
		case <-r.Context().Done():
		case <-g.stop:
		case <-time.After(10 * time.Second):
		}
		writeGraphError(w, status, code, "timeout")
		return
	}
	if status != http.StatusOK {
		writeGraphError(w, status, code, "injected")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"messaging_product": "whatsapp",
		"contacts": []map[string]string{{"input": msg.To, "wa_id": msg.To}},
		"messages": []map[string]string{{"id": rec.WAMID, "message_status": "accepted"}}})
}

func writeGraphError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(whatsapp.GraphErrorBody{Error: whatsapp.GraphError{Message: message, Type: "OAuthException", Code: code, FBTraceID: "Afake"}})
}
