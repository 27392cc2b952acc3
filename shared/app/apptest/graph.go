package apptest

import (
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// Graph is the Graph API stand-in (whatsapptest) the functions under test call. It
// checks the bearer token and Meta's Message schema and fails the test for a send
// the real API would refuse as malformed; Sends decodes what it accepted so the
// functions' tests can assert on it directly.
type Graph struct {
	*whatsapptest.Server
	t testing.TB
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
	return &Graph{Server: whatsapptest.NewServer(t, whatsapptest.Config{AccessToken: token, AppSecret: AppSecret}), t: t}
}

// Sends returns the accepted sends, oldest first.
func (g *Graph) Sends() []Send {
	g.t.Helper()
	var out []Send
	for _, r := range g.Sent() {
		if !r.Accepted() {
			continue
		}
		m, err := r.Message()
		if err != nil {
			g.t.Fatalf("apptest: %v", err)
		}
		out = append(out, Send{Version: r.Version, PhoneNumberID: r.PhoneNumberID, Body: r.Body, Message: m, WAMID: r.WAMID})
	}
	return out
}
