package apptest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

// Graph stands in for the Graph API's send endpoint (POST /{version}/{phone-number-id}/messages).
// scripts/internal/graphstub is the full stand-in, but Go's internal rule keeps it
// out of reach of functions/ and shared/; the functions' tests need only this: a
// bearer check, Meta's Message schema (when the spec is available), a wamid
// answer, and a record of what was sent.
type Graph struct {
	URL string

	t     testing.TB
	token string

	mu    sync.Mutex
	sends []Send
}

// Send is one accepted send request.
type Send struct {
	Version       string
	PhoneNumberID string
	Body          []byte
	Message       whatsapp.Message
	WAMID         string
}

// NewGraph starts the stand-in; it stops when the test ends.
func NewGraph(t testing.TB, token string) *Graph {
	t.Helper()
	if whatsappspec.SpecAvailable() {
		// Compile the schema before the first send: a send that waits a second for it
		// could hit the client's timeout and be retried.
		if _, err := whatsappspec.Default(); err != nil {
			t.Fatalf("apptest: load Meta's spec: %v", err)
		}
	} else {
		t.Logf("apptest: sends are not schema-checked: %s", whatsappspec.SkipMessage(whatsappspec.SpecPath()))
	}
	g := &Graph{t: t, token: token}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{version}/{phoneNumberID}/messages", g.send)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

// Sends returns the accepted sends, oldest first.
func (g *Graph) Sends() []Send {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Send(nil), g.sends...)
}

func (g *Graph) send(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+g.token {
		graphError(w, http.StatusUnauthorized, whatsapp.CodeAccessToken, "Error validating access token")
		return
	}
	body, err := io.ReadAll(r.Body)
	var msg whatsapp.Message
	if err == nil {
		err = json.Unmarshal(body, &msg)
	}
	if err == nil && whatsappspec.SpecAvailable() {
		err = whatsappspec.ValidateMessage(body)
	}
	if err != nil {
		// A send the real API would refuse is a bug in the function, not a scenario.
		g.t.Errorf("apptest: graph: invalid send: %v\n%s", err, body)
		graphError(w, http.StatusBadRequest, whatsapp.CodeInvalidParameter, "(#100) Invalid parameter")
		return
	}
	g.mu.Lock()
	s := Send{Version: r.PathValue("version"), PhoneNumberID: r.PathValue("phoneNumberID"), Body: body, Message: msg,
		WAMID: fmt.Sprintf("wamid.APPTEST%06d", len(g.sends)+1)}
	g.sends = append(g.sends, s)
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"messaging_product": "whatsapp",
		"contacts": []map[string]string{{"input": msg.To, "wa_id": msg.To}},
		"messages": []map[string]string{{"id": s.WAMID}}})
}

func graphError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(whatsapp.GraphErrorBody{Error: whatsapp.GraphError{
		Message: message, Type: "OAuthException", Code: code, FBTraceID: "AapptestTrace"}})
}
