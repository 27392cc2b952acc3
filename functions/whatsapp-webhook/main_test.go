package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/frontdesk-health/frontdesk/shared/app/apptest"
	"github.com/frontdesk-health/frontdesk/shared/fnspec"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

func invoke(t *testing.T, st *apptest.Stack, req events.APIGatewayProxyRequest) events.APIGatewayProxyResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// What main hands to lambda.Start.
	resp, err := httpadapter.New(newHandler(st.Load(t))).ProxyWithContext(ctx, req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.HTTPMethod, req.Path, err)
	}
	return resp
}

func TestEnvelopesRoundTrip(t *testing.T) {
	apptest.RoundTrip[events.APIGatewayProxyRequest](t, "apigw-webhook-verify.json")
	apptest.RoundTrip[events.APIGatewayProxyRequest](t, "apigw-webhook-message.json")
}

// TestVerificationHandshake answers Meta's subscription GET with the challenge only
// when hub.verify_token is the configured one.
func TestVerificationHandshake(t *testing.T) {
	st := apptest.Start(t, map[string]string{fnspec.EnvAPIStageName: "prod"})
	req := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-webhook-verify.json")
	challenge := req.QueryStringParameters["hub.challenge"]
	if req.QueryStringParameters["hub.verify_token"] != apptest.VerifyToken || challenge == "" {
		t.Fatalf("the envelope's query %v does not carry the demo verify token and a challenge", req.QueryStringParameters)
	}
	cases := []struct {
		name  string
		token string
		want  int
	}{
		{"configured token", apptest.VerifyToken, http.StatusOK},
		{"other token", "guessed-token", http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-webhook-verify.json")
			r.QueryStringParameters["hub.verify_token"] = tc.token
			r.MultiValueQueryStringParameters["hub.verify_token"] = []string{tc.token}
			resp := invoke(t, st, r)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, resp.Body)
			}
			if tc.want == http.StatusOK && resp.Body != challenge {
				t.Errorf("body %q, want the challenge %q", resp.Body, challenge)
			}
			if tc.want != http.StatusOK && resp.Body == challenge {
				t.Error("the challenge was echoed for a wrong token")
			}
		})
	}
}

// TestSignedNotification posts Meta's text-message notification: only a body signed
// with the app secret is accepted, and it lands on the inbound queue byte for byte.
func TestSignedNotification(t *testing.T) {
	st := apptest.Start(t, map[string]string{fnspec.EnvAPIStageName: "prod"})
	req := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-webhook-message.json")
	body := []byte(req.Body)
	if _, err := whatsapp.ParseNotification(body); err != nil {
		t.Fatalf("the envelope's body is not a webhook notification: %v", err)
	}

	t.Run("signature from another app secret", func(t *testing.T) {
		// The stored X-Hub-Signature-256 was not made with this deployment's secret.
		resp := invoke(t, st, req)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401: %s", resp.StatusCode, resp.Body)
		}
		if got := st.Receive(t, queue.Inbound); len(got) != 0 {
			t.Fatalf("a refused notification was queued: %d messages", len(got))
		}
	})

	t.Run("signed with the app secret", func(t *testing.T) {
		signed := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-webhook-message.json")
		apptest.SetHeader(&signed, "X-Hub-Signature-256", whatsapp.Sign([]byte(apptest.AppSecret), body))
		resp := invoke(t, st, signed)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200: %s", resp.StatusCode, resp.Body)
		}
		got := st.Receive(t, queue.Inbound)
		if len(got) != 1 {
			t.Fatalf("%d messages on the inbound queue, want 1", len(got))
		}
		if aws.ToString(got[0].Body) != req.Body {
			t.Errorf("queued body differs from the delivered one:\n%s\n%s", aws.ToString(got[0].Body), req.Body)
		}
	})

	t.Run("stage-prefixed path", func(t *testing.T) {
		signed := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-webhook-message.json")
		signed.Path = "/prod" + signed.Path
		apptest.SetHeader(&signed, "X-Hub-Signature-256", whatsapp.Sign([]byte(apptest.AppSecret), body))
		if resp := invoke(t, st, signed); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200: %s", resp.StatusCode, resp.Body)
		}
		if got := st.Receive(t, queue.Inbound); len(got) != 1 {
			t.Fatalf("%d messages on the inbound queue, want 1", len(got))
		}
	})
}
