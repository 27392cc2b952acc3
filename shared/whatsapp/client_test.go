package whatsapp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

func newClient(t *testing.T, h http.HandlerFunc) *whatsapp.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &whatsapp.Client{BaseURL: srv.URL + "/", Token: func(context.Context) (string, error) { return "tok", nil }}
}

func TestSendSuccess(t *testing.T) {
	m, err := whatsapp.TextMessage("+15550142", "See you soon.")
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v23.0/106540352242922/messages" {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v", r.Header)
		}
		body, _ := io.ReadAll(r.Body)
		want, _ := json.Marshal(m)
		if string(body) != string(want) {
			t.Errorf("body %s", body)
		}
		_, _ = io.WriteString(w, `{"messaging_product":"whatsapp","contacts":[{"input":"15550142","wa_id":"15550142"}],"messages":[{"id":"wamid.OK1"}]}`)
	})
	wamid, err := c.Send(context.Background(), "106540352242922", m)
	if err != nil || wamid != "wamid.OK1" {
		t.Fatalf("%q %v", wamid, err)
	}
}

func TestSendGraphErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		check  func(t *testing.T, e *whatsapp.APIError)
	}{
		{"throughput", 400, `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"error_data":{"messaging_product":"whatsapp","details":"too many messages"},"error_subcode":2494055,"fbtrace_id":"Az8or2"}}`,
			func(t *testing.T, e *whatsapp.APIError) {
				if e.Code != 130429 || e.Subcode != 2494055 || e.Type != "OAuthException" || e.Details != "too many messages" ||
					e.FBTraceID != "Az8or2" || e.HTTPStatus != 400 || e.Class() != whatsapp.ClassThroughput {
					t.Errorf("%+v", e)
				}
			}},
		{"expired token", 401, `{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"A1"}}`,
			func(t *testing.T, e *whatsapp.APIError) {
				if e.Class() != whatsapp.ClassAuth {
					t.Errorf("%+v", e)
				}
			}},
		{"template missing", 404, `{"error":{"message":"(#132001) Template name does not exist in the translation","type":"OAuthException","code":132001,"fbtrace_id":"A2"}}`,
			func(t *testing.T, e *whatsapp.APIError) {
				if e.Class() != whatsapp.ClassTemplate {
					t.Errorf("%+v", e)
				}
			}},
		{"html from a proxy", 502, `<html>Bad Gateway</html>`,
			func(t *testing.T, e *whatsapp.APIError) {
				if e.Code != 0 || e.Class() != whatsapp.ClassRetryable {
					t.Errorf("%+v", e)
				}
			}},
		{"empty 400", 400, ``,
			func(t *testing.T, e *whatsapp.APIError) {
				if e.Class() != whatsapp.ClassPermanent {
					t.Errorf("%+v", e)
				}
			}},
	}
	m, _ := whatsapp.TextMessage("15550142", "x")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			_, err := c.Send(context.Background(), "1065", m)
			var e *whatsapp.APIError
			if !errors.As(err, &e) {
				t.Fatalf("not an APIError: %v", err)
			}
			if e.Op != "send" {
				t.Errorf("op %q", e.Op)
			}
			tc.check(t, e)
		})
	}
}

func TestSendTransportFailures(t *testing.T) {
	m, _ := whatsapp.TextMessage("15550142", "x")
	t.Run("timeout", func(t *testing.T) {
		c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
			// The server notices the client hanging up only once the body is consumed.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		})
		c.Timeout = 50 * time.Millisecond
		_, err := c.Send(context.Background(), "1065", m)
		if !errors.Is(err, context.DeadlineExceeded) || whatsapp.Classify(err) != whatsapp.ClassRetryable {
			t.Fatalf("%v", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		c := &whatsapp.Client{BaseURL: url, Token: func(context.Context) (string, error) { return "tok", nil }}
		if _, err := c.Send(context.Background(), "1065", m); err == nil || whatsapp.Classify(err) != whatsapp.ClassRetryable {
			t.Fatalf("%v", err)
		}
	})
	t.Run("success without id", func(t *testing.T) {
		c := newClient(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"messages":[]}`) })
		if _, err := c.Send(context.Background(), "1065", m); err == nil {
			t.Fatal("accepted an answer without wamid")
		}
	})
	t.Run("token lookup fails", func(t *testing.T) {
		called := false
		c := newClient(t, func(w http.ResponseWriter, r *http.Request) { called = true })
		c.Token = func(context.Context) (string, error) { return "", errors.New("secrets manager down") }
		if _, err := c.Send(context.Background(), "1065", m); err == nil || whatsapp.Classify(err) != whatsapp.ClassRetryable || called {
			t.Fatalf("%v called=%v", err, called)
		}
	})
	t.Run("no phone number id", func(t *testing.T) {
		c := newClient(t, func(w http.ResponseWriter, r *http.Request) {})
		if _, err := c.Send(context.Background(), "", m); !errors.Is(err, whatsapp.ErrInvalidMessage) {
			t.Fatalf("%v", err)
		}
	})
}

func TestListTemplatesFollowsCursors(t *testing.T) {
	var calls []string
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v23.0/waba1/message_templates" || r.Method != http.MethodGet {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		calls = append(calls, r.URL.RawQuery)
		if r.URL.Query().Get("after") == "" {
			_, _ = io.WriteString(w, `{"data":[{"id":"1","name":"a","language":"en_US","status":"APPROVED","category":"UTILITY"}],
				"paging":{"cursors":{"before":"x","after":"c1"},"next":"https://graph.facebook.com/v23.0/waba1/message_templates?after=c1"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"data":[{"id":"2","name":"a","language":"es","status":"REJECTED","rejected_reason":"INVALID_FORMAT"}],"paging":{"cursors":{"before":"c1","after":"c2"}}}`)
	})
	got, err := c.ListTemplates(context.Background(), "waba1", "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Status != "REJECTED" || got[1].RejectedReason != "INVALID_FORMAT" {
		t.Fatalf("%+v", got)
	}
	if len(calls) != 2 || !strings.Contains(calls[1], "after=c1") || !strings.Contains(calls[1], "name=a") {
		t.Fatalf("calls %v", calls)
	}
}

func TestSubmitTemplate(t *testing.T) {
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		var def map[string]any
		if err := json.NewDecoder(r.Body).Decode(&def); err != nil {
			t.Error(err)
		}
		if def["name"] != "reminder" || def["category"] != "UTILITY" || def["message_send_ttl_seconds"] != float64(7200) || def["parameter_format"] != "named" {
			t.Errorf("body %v", def)
		}
		_, _ = io.WriteString(w, `{"id":"1689556908129832","status":"PENDING","category":"UTILITY"}`)
	})
	got, err := c.SubmitTemplate(context.Background(), "waba1", whatsapp.TemplateDefinition{
		Name: "reminder", Language: "en_US", Category: "UTILITY", ParameterFormat: "named", MessageSendTTLSeconds: 7200,
		Components: []whatsapp.TemplateDefinitionComponent{{Type: "BODY", Text: "{{clinic_name}}"}},
	})
	if err != nil || got.Status != "PENDING" || got.ID == "" {
		t.Fatalf("%+v %v", got, err)
	}
}

// TestEveryCallHasItsOwnTimeout: a Lambda's context carries the invocation's
// deadline (30 s away for the sender and inbound), which used to switch the
// per-call timeout off, so one hung Graph call ate the whole invocation. Each call
// must give up after Client.Timeout, with an error the sender retries.
func TestEveryCallHasItsOwnTimeout(t *testing.T) {
	m, _ := whatsapp.TextMessage("+15550100143", "x")
	calls := []struct {
		name string
		call func(ctx context.Context, c *whatsapp.Client) error
	}{
		{"send", func(ctx context.Context, c *whatsapp.Client) error {
			_, err := c.Send(ctx, "1065", m)
			return err
		}},
		{"submit template", func(ctx context.Context, c *whatsapp.Client) error {
			_, err := c.SubmitTemplate(ctx, "waba1", whatsapp.TemplateDefinition{Name: "reminder", Language: "en_US", Category: "UTILITY"})
			return err
		}},
		{"list templates", func(ctx context.Context, c *whatsapp.Client) error {
			_, err := c.ListTemplates(ctx, "waba1", "")
			return err
		}},
	}
	deadlines := []struct {
		name    string
		timeout time.Duration
		ctx     time.Duration // the caller's deadline; 0: none
	}{
		{"the caller's deadline is later (a Lambda's)", 50 * time.Millisecond, 30 * time.Second},
		{"no deadline on the caller", 50 * time.Millisecond, 0},
	}
	for _, call := range calls {
		for _, dl := range deadlines {
			t.Run(call.name+"/"+dl.name, func(t *testing.T) {
				release := make(chan struct{})
				c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
					select {
					case <-release:
					case <-r.Context().Done():
					}
				})
				t.Cleanup(func() { close(release) }) // runs before the server's Close
				c.Timeout = dl.timeout
				ctx := context.Background()
				if dl.ctx > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, dl.ctx)
					defer cancel()
				}
				err := call.call(ctx, c)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want a deadline error", err)
				}
				if got := whatsapp.Classify(err); got != whatsapp.ClassRetryable {
					t.Errorf("class = %v, want retryable", got)
				}
				if ctx.Err() != nil {
					t.Errorf("the call ran until the caller's deadline instead of its own timeout")
				}
			})
		}
	}
}

func TestEarlierCallerDeadlineWins(t *testing.T) {
	release := make(chan struct{})
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	c.Timeout = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	m, _ := whatsapp.TextMessage("+15550100143", "x")
	if _, err := c.Send(ctx, "1065", m); !errors.Is(err, context.DeadlineExceeded) || whatsapp.Classify(err) != whatsapp.ClassRetryable {
		t.Fatalf("err = %v, want a retryable deadline error", err)
	}
}
