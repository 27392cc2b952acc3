// Package devoidc is the OpenID provider `make dev` and the console's tests sign in
// with: oauth2-proxy/mockoidc (discovery, code flow with PKCE, signed ID tokens)
// with a dev-only page in front of its authorization endpoint where one picks a
// demo staff member instead of typing a password. Development only: anyone who
// reaches it can be anyone on its list.
package devoidc

import (
	"encoding/json"
	"errors"
	"html/template"
	"net"
	"net/http"
	"sync"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// User is a demo staff member. Groups go into the ID token as cognito:groups, as
// Cognito sends them, so the console's default configuration works unchanged.
type User struct {
	Subject string
	Name    string
	Email   string
	Groups  []string
}

// Fixed client credentials: nothing outside this machine trusts this provider.
const (
	ClientID     = "frontdesk-console-dev"
	ClientSecret = "dev-console-client-secret" //nolint:gosec // G101: make dev's fixed provider credential, trusted by nothing outside this machine
)

// Provider is a running dev OpenID provider.
type Provider struct {
	Users []User
	m     *mockoidc.MockOIDC
	// mu pairs the picked user with the authorization request that pops it from
	// mockoidc's queue, so two sign-ins at once cannot swap users.
	mu sync.Mutex
}

// Start serves the provider on ln (127.0.0.1 only, by the caller's choice).
func Start(ln net.Listener, users []User) (*Provider, error) {
	if len(users) == 0 {
		return nil, errors.New("devoidc: no users")
	}
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		return nil, err
	}
	m.ClientID, m.ClientSecret = ClientID, ClientSecret
	p := &Provider{Users: users, m: m}
	if err := m.AddMiddleware(p.picker); err != nil {
		return nil, err
	}
	if err := m.Start(ln, nil); err != nil {
		return nil, err
	}
	return p, nil
}

// Issuer is the provider's issuer URL (discovery at Issuer + /.well-known/openid-configuration).
func (p *Provider) Issuer() string { return p.m.Issuer() }

// Stop shuts the provider down.
func (p *Provider) Stop() { _ = p.m.Shutdown() }

var pickerPage = template.Must(template.New("picker").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in (development)</title></head>
<body><main>
<h1>Sign in to Frontdesk (development provider)</h1>
<p>Pick a demo staff member. This page exists only in <code>make dev</code>.</p>
<ul>
{{range .Users}}<li><form method="get" action="">
{{range $k, $vs := $.Query}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
<input type="hidden" name="login_user" value="{{.Subject}}">
<button type="submit" id="user-{{.Subject}}">{{.Name}}</button> ({{.Email}}, {{range .Groups}}{{.}} {{end}})
</form></li>
{{end}}
</ul>
</main></body></html>`))

func (p *Provider) picker(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != mockoidc.AuthorizationEndpoint {
			next.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		sub := q.Get("login_user")
		if sub == "" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_ = pickerPage.Execute(w, map[string]any{"Users": p.Users, "Query": q})
			return
		}
		for _, u := range p.Users {
			if u.Subject == sub {
				p.mu.Lock()
				defer p.mu.Unlock()
				p.m.QueueUser(&staffUser{u})
				next.ServeHTTP(w, r)
				return
			}
		}
		http.Error(w, "devoidc: unknown user", http.StatusBadRequest)
	})
}

// staffUser puts a User's claims into mockoidc's tokens.
type staffUser struct{ User }

func (u *staffUser) ID() string { return u.Subject }

func (u *staffUser) Userinfo([]string) ([]byte, error) {
	return jsonMarshal(map[string]any{"sub": u.Subject, "name": u.Name, "email": u.Email})
}

type staffClaims struct {
	*mockoidc.IDTokenClaims
	Name   string   `json:"name,omitempty"`
	Email  string   `json:"email,omitempty"`
	Groups []string `json:"cognito:groups,omitempty"`
}

func (u *staffUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return &staffClaims{IDTokenClaims: base, Name: u.Name, Email: u.Email, Groups: u.Groups}, nil
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
