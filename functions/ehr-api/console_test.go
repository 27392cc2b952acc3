package main

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/app/apptest"
	"github.com/frontdesk-health/frontdesk/shared/console/devoidc"
)

// TestConsoleThroughTheLambda sends console requests through the ehr-api entry point
// as API Gateway delivers them for the /console/{proxy+} resource on the
// execute-api URL: links keep the stage path the browser sees, cookies are
// __Host- and Secure, the sign-in is a PKCE code flow against the configured issuer.
func TestConsoleThroughTheLambda(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	idp, err := devoidc.Start(ln, []devoidc.User{{Subject: "s1", Name: "Alex Example", Groups: []string{"clinic:demo-clinic"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Stop)
	base := "https://k7w2m9q4ze.execute-api.us-east-1.amazonaws.com/prod"
	st := apptest.Start(t, map[string]string{"API_STAGE_NAME": "prod", "CONSOLE_OIDC_ISSUER": idp.Issuer(),
		"CONSOLE_OIDC_CLIENT_ID": devoidc.ClientID, "CONSOLE_BASE_URL": base})
	h := proxy(t, st)
	get := func(path string) events.APIGatewayProxyResponse {
		req := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-healthz.json")
		req.Path, req.Resource = path, "/console/{proxy+}"
		req.RequestContext.Path, req.RequestContext.ResourcePath = "/prod"+path, "/console/{proxy+}"
		req.PathParameters = map[string]string{"proxy": strings.TrimPrefix(path, "/console/")}
		return invoke(t, h, req)
	}

	resp := get("/console/clinics/demo-clinic/today")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(header(resp, "Location"), "/prod/console/login?return=") {
		t.Fatalf("signed-out visit: %d %v", resp.StatusCode, resp.MultiValueHeaders)
	}
	if csp := header(resp, "Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || header(resp, "X-Frame-Options") != "DENY" {
		t.Fatalf("security headers: %v", resp.MultiValueHeaders)
	}

	resp = get("/console/login")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login: %d %s", resp.StatusCode, resp.Body)
	}
	to, err := url.Parse(header(resp, "Location"))
	if err != nil || !strings.HasPrefix(to.String(), idp.Issuer()+"/authorize") {
		t.Fatalf("login redirects to %v", header(resp, "Location"))
	}
	q := to.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("client_id") != devoidc.ClientID || q.Get("redirect_uri") != base+"/console/callback" {
		t.Fatalf("authorization request %s", to.RawQuery)
	}
	cookie := append(resp.MultiValueHeaders["Set-Cookie"], resp.Headers["Set-Cookie"])
	if c := strings.Join(cookie, "\n"); !strings.Contains(c, "__Host-fd_login=") || !strings.Contains(c, "Secure") || !strings.Contains(c, "HttpOnly") {
		t.Fatalf("login cookie %q", c)
	}

	resp = get("/console/static/console.css")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stylesheet: %d", resp.StatusCode)
	}
}

func TestConsoleOffWithoutIssuer(t *testing.T) {
	st := apptest.Start(t, map[string]string{"API_STAGE_NAME": "prod"})
	req := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-healthz.json")
	req.Path = "/console/"
	if resp := invoke(t, proxy(t, st), req); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("console without configuration: %d", resp.StatusCode)
	}
}

// header reads a response header whichever of the proxy's two maps holds it.
func header(resp events.APIGatewayProxyResponse, name string) string {
	if v := resp.Headers[name]; v != "" {
		return v
	}
	if vs := resp.MultiValueHeaders[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}
