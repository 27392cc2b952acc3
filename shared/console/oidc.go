package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// DefaultGroupsClaim is where Cognito puts a user's groups in the ID token.
const DefaultGroupsClaim = "cognito:groups"

// OIDC is the Authenticator for any OpenID Connect provider (Cognito, Entra ID,
// Google Workspace, the dev provider): discovery, the code flow with PKCE (S256)
// and ID token verification with go-oidc and x/oauth2.
type OIDC struct {
	Issuer       string
	ClientID     string
	ClientSecret string // empty for a public client (PKCE only)
	// ClientSecretFrom, when set, supplies the secret instead (Secrets Manager).
	ClientSecretFrom func(context.Context) (string, error)
	RedirectURL      string
	// GroupsClaim names the ID token claim listing the user's groups; groups named
	// clinic:<clinicId> grant that clinic. Default cognito:groups.
	GroupsClaim string
	Scopes      []string // default openid, email, profile
	// AuthStyle is how the client authenticates at the token endpoint; zero
	// auto-detects (Cognito and most providers accept either).
	AuthStyle oauth2.AuthStyle
	Clock     platform.Clock
	HTTP      *http.Client

	mu       sync.Mutex
	ready    bool
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// setup runs discovery once it succeeds; a provider that is down at start-up is
// retried on the next sign-in instead of failing the whole API.
func (o *OIDC) setup(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ready {
		return nil
	}
	if o.Issuer == "" || o.ClientID == "" || o.RedirectURL == "" {
		return errors.New("console: OIDC issuer, client id and redirect URL are required")
	}
	ctx = o.client(ctx)
	p, err := oidc.NewProvider(ctx, o.Issuer)
	if err != nil {
		return fmt.Errorf("console: OIDC discovery of %s: %w", o.Issuer, err)
	}
	secret := o.ClientSecret
	if o.ClientSecretFrom != nil {
		if secret, err = o.ClientSecretFrom(ctx); err != nil {
			return fmt.Errorf("console: OIDC client secret: %w", err)
		}
	}
	scopes := o.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	endpoint := p.Endpoint()
	endpoint.AuthStyle = o.AuthStyle
	o.oauth = oauth2.Config{ClientID: o.ClientID, ClientSecret: secret, RedirectURL: o.RedirectURL,
		Endpoint: endpoint, Scopes: scopes}
	cfg := &oidc.Config{ClientID: o.ClientID}
	if o.Clock != nil {
		cfg.Now = o.Clock.Now
	}
	o.verifier = p.Verifier(cfg)
	o.ready = true
	return nil
}

func (o *OIDC) client(ctx context.Context) context.Context {
	h := o.HTTP
	if h == nil {
		h = &http.Client{Timeout: 10 * time.Second}
	}
	return oidc.ClientContext(ctx, h)
}

// AuthURL is the provider's authorization URL for this sign-in.
func (o *OIDC) AuthURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	if err := o.setup(ctx); err != nil {
		return "", err
	}
	return o.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// Identify redeems the code with the PKCE verifier and verifies the ID token:
// signature, issuer, audience, expiry and the nonce of this sign-in.
func (o *OIDC) Identify(ctx context.Context, code, verifier, nonce string) (Identity, error) {
	if err := o.setup(ctx); err != nil {
		return Identity{}, err
	}
	if code == "" {
		return Identity{}, errors.New("console: OIDC callback without a code")
	}
	ctx = o.client(ctx)
	tok, err := o.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("console: OIDC code exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, errors.New("console: OIDC token response without an id_token")
	}
	idt, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("console: OIDC ID token: %w", err)
	}
	if idt.Nonce != nonce {
		return Identity{}, errors.New("console: OIDC ID token nonce does not match this sign-in")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("console: OIDC claims: %w", err)
	}
	groupsClaim := o.GroupsClaim
	if groupsClaim == "" {
		groupsClaim = DefaultGroupsClaim
	}
	return Identity{Subject: idt.Subject, Name: displayName(claims, idt.Subject), Groups: stringsClaim(claims[groupsClaim])}, nil
}

// displayName is the name the audit trail and the header show.
func displayName(claims map[string]any, subject string) string {
	for _, k := range []string{"name", "email", "preferred_username", "cognito:username"} {
		if v, ok := claims[k].(string); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return subject
}

// stringsClaim reads a group claim as providers send it: a JSON array of strings,
// or one space- or comma-separated string.
func stringsClaim(v any) []string {
	switch x := v.(type) {
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case string:
		return strings.FieldsFunc(x, func(r rune) bool { return r == ' ' || r == ',' })
	}
	return nil
}
