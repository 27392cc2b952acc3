package whatsapptest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

// Server is a Stub listening on a loopback port for the length of one test, as
// httptest.Server is for a handler.
type Server struct {
	*Stub
	URL string // base URL for whatsapp.Client.BaseURL, e.g. http://127.0.0.1:41234

	srv *httptest.Server
}

// Client returns an HTTP client configured for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// NewServer starts a stub for t and stops it when the test ends. cfg is as for New;
// when cfg.Validator is nil it uses Meta's Message schema if the spec is available.
//
// A send the real API would refuse as malformed is a bug in the code under test,
// not a scenario, so NewServer fails t for every send the stub recorded as invalid.
// Tests that post invalid bodies on purpose use New with their own server.
func NewServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Validator == nil {
		if whatsappspec.SpecAvailable() {
			// Compiled here rather than on the first send: a send that waits seconds
			// for it would hit the client's timeout and be retried, which is not what
			// a test means to model.
			v, err := whatsappspec.Default()
			if err != nil {
				t.Fatalf("whatsapptest: load Meta's spec: %v", err)
			}
			cfg.Validator = v
		} else {
			t.Logf("whatsapptest: sends are only checked for to and type: %s", whatsappspec.SkipMessage(whatsappspec.SpecPath()))
		}
	}
	stub, err := New(cfg)
	if err != nil {
		t.Fatalf("whatsapptest: %v", err)
	}
	srv := httptest.NewServer(stub)
	t.Cleanup(func() {
		// Stop first: it releases requests hanging in an injected timeout, which
		// Close would otherwise wait for.
		stub.Stop()
		srv.Close()
		for _, r := range stub.Sent() {
			if r.Invalid {
				t.Errorf("whatsapptest: invalid send to %s: %s\n%s", r.PhoneNumberID, r.Error, strings.TrimSpace(string(r.Body)))
			}
		}
	})
	return &Server{Stub: stub, URL: srv.URL, srv: srv}
}
