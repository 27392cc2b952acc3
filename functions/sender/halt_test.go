package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// fakeLambda is the Lambda API: it cannot run here.
type fakeLambda struct {
	mappings []string
	listErr  error
	disabled []string
	asked    string
}

func (f *fakeLambda) MappingUUIDs(_ context.Context, function string) ([]string, error) {
	f.asked = function
	return f.mappings, f.listErr
}

func (f *fakeLambda) DisableMapping(_ context.Context, _, uuid string) error {
	f.disabled = append(f.disabled, uuid)
	return nil
}

func TestHaltDisablesOwnMapping(t *testing.T) {
	log := platform.NewLogger(io.Discard, nil)
	f := &fakeLambda{mappings: []string{"uuid-1"}}
	h := esmHalter{client: f, function: "frontdesk-prod-sender", log: log}
	if err := h.Halt(context.Background(), "token expired"); err != nil {
		t.Fatal(err)
	}
	if f.asked != "frontdesk-prod-sender" || len(f.disabled) != 1 || f.disabled[0] != "uuid-1" {
		t.Fatalf("asked for %q, disabled %v", f.asked, f.disabled)
	}
	if err := (esmHalter{client: &fakeLambda{}, function: "x", log: log}).Halt(context.Background(), "r"); err == nil {
		t.Fatal("no mapping must be an error: the halt did not happen")
	}
	if err := (esmHalter{client: &fakeLambda{listErr: errors.New("denied")}, function: "x", log: log}).Halt(context.Background(), "r"); err == nil {
		t.Fatal("a list failure must surface")
	}
}

// lambdaStandIn answers the two event source mapping calls as the Lambda REST API
// does (JSON, a NextMarker per page), and records what it was asked.
type lambdaStandIn struct {
	mu       sync.Mutex
	pages    [][]string
	failPut  bool
	requests []string
	bodies   []map[string]any
	auth     []string
}

func (l *lambdaStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests = append(l.requests, r.Method+" "+r.URL.RequestURI())
	l.auth = append(l.auth, r.Header.Get("Authorization"))
	switch {
	case r.Method == http.MethodGet && r.URL.Path == mappingsPath:
		page := 0
		if m := r.URL.Query().Get("Marker"); m != "" {
			page = int(m[0] - '0')
		}
		var out struct {
			EventSourceMappings []map[string]any
			NextMarker          string `json:",omitempty"`
		}
		for _, id := range l.pages[page] {
			out.EventSourceMappings = append(out.EventSourceMappings, map[string]any{"UUID": id, "State": "Enabled"})
		}
		if page+1 < len(l.pages) {
			out.NextMarker = string(rune('0' + page + 1))
		}
		_ = json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, mappingsPath):
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		l.bodies = append(l.bodies, body)
		if l.failPut {
			w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"message":"not authorized"}`)
			return
		}
		_, _ = io.WriteString(w, `{"UUID":"x","State":"Disabling"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func TestLambdaAPICalls(t *testing.T) {
	cases := []struct {
		name       string
		pages      [][]string
		failPut    bool
		wantErr    bool
		wantCalls  []string
		wantBodies int
	}{
		{name: "one mapping", pages: [][]string{{"uuid-1"}},
			wantCalls: []string{"GET " + mappingsPath + "?FunctionName=frontdesk-prod-sender", "PUT " + mappingsPath + "uuid-1"}, wantBodies: 1},
		{name: "mappings over two pages", pages: [][]string{{"uuid-1"}, {"uuid-2"}},
			wantCalls: []string{"GET " + mappingsPath + "?FunctionName=frontdesk-prod-sender",
				"GET " + mappingsPath + "?FunctionName=frontdesk-prod-sender&Marker=1",
				"PUT " + mappingsPath + "uuid-1", "PUT " + mappingsPath + "uuid-2"}, wantBodies: 2},
		{name: "refused update surfaces", pages: [][]string{{"uuid-1"}}, failPut: true, wantErr: true,
			wantCalls: []string{"GET " + mappingsPath + "?FunctionName=frontdesk-prod-sender", "PUT " + mappingsPath + "uuid-1"}, wantBodies: 1},
		{name: "no mapping", pages: [][]string{nil}, wantErr: true,
			wantCalls: []string{"GET " + mappingsPath + "?FunctionName=frontdesk-prod-sender"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := &lambdaStandIn{pages: c.pages, failPut: c.failPut}
			srv := httptest.NewServer(l)
			defer srv.Close()
			api := newLambdaAPI(aws.Config{Region: "eu-west-1",
				Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "token")})
			api.endpoint = srv.URL
			api.now = func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) }
			h := esmHalter{client: api, function: "frontdesk-prod-sender", log: platform.NewLogger(io.Discard, nil)}
			err := h.Halt(context.Background(), "token expired")
			if (err != nil) != c.wantErr {
				t.Fatalf("Halt: %v, want error: %v", err, c.wantErr)
			}
			if !slices.Equal(l.requests, c.wantCalls) {
				t.Errorf("calls %q, want %q", l.requests, c.wantCalls)
			}
			for _, a := range l.auth {
				if !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/eu-west-1/lambda/aws4_request") {
					t.Errorf("authorization %q: not signed for lambda in eu-west-1", a)
				}
			}
			if len(l.bodies) != c.wantBodies {
				t.Fatalf("%d updates, want %d", len(l.bodies), c.wantBodies)
			}
			for _, b := range l.bodies {
				if b["Enabled"] != false || b["FunctionName"] != "frontdesk-prod-sender" {
					t.Errorf("update %v, want Enabled false for the sender", b)
				}
			}
		})
	}
}

func TestLambdaAPIEndpointFollowsTheRegion(t *testing.T) {
	cases := map[string]string{"eu-west-1": "https://lambda.eu-west-1.amazonaws.com", "cn-north-1": "https://lambda.cn-north-1.amazonaws.com.cn"}
	for region, want := range cases {
		if got := newLambdaAPI(aws.Config{Region: region}).endpoint; got != want {
			t.Errorf("%s: %s, want %s", region, got, want)
		}
	}
}
