package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/fnspec"
)

// TestConsoleSignIn checks the staff sign-in the stack declares: a user pool with
// MFA required and admin-only sign-up, managed login, a public code-flow client
// whose only callback is the console's, and the ehr-api function pointed at them.
func TestConsoleSignIn(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		pools := s.resources("AWS::Cognito::UserPool")
		if len(pools) != 1 {
			t.Fatalf("%d user pools, want 1", len(pools))
		}
		p := pools[0].P
		if p["MfaConfiguration"] != "ON" || p["UserPoolTier"] != "ESSENTIALS" {
			t.Errorf("pool MFA %v tier %v, want ON and ESSENTIALS", p["MfaConfiguration"], p["UserPoolTier"])
		}
		if admin, _ := p["AdminCreateUserConfig"].(map[string]any); admin["AllowAdminCreateUserOnly"] != true {
			t.Errorf("self sign-up is possible: %v", p["AdminCreateUserConfig"])
		}
		if mfa, _ := json.Marshal(p["EnabledMfas"]); !strings.Contains(string(mfa), "SOFTWARE_TOKEN_MFA") || strings.Contains(string(mfa), "SMS") {
			t.Errorf("MFA factors %s, want the authenticator app only", mfa)
		}
		wantDeletion := "INACTIVE"
		if s.stage.Retain {
			wantDeletion = "ACTIVE"
		}
		if p["DeletionProtection"] != wantDeletion {
			t.Errorf("deletion protection %v, want %s", p["DeletionProtection"], wantDeletion)
		}

		domains := s.resources("AWS::Cognito::UserPoolDomain")
		if len(domains) != 1 || domains[0].P["ManagedLoginVersion"] != float64(2) {
			t.Errorf("managed login domain %v", domains)
		}
		if b := s.resources("AWS::Cognito::ManagedLoginBranding"); len(b) != 1 || b[0].P["UseCognitoProvidedValues"] != true {
			t.Errorf("managed login branding %v", b)
		}

		clients := s.resources("AWS::Cognito::UserPoolClient")
		if len(clients) != 1 {
			t.Fatalf("%d app clients, want 1", len(clients))
		}
		c := clients[0].P
		if c["GenerateSecret"] == true {
			t.Error("the console's client has a secret; it is a public PKCE client")
		}
		if flows, _ := c["AllowedOAuthFlows"].([]any); !slices.Equal(flows, []any{"code"}) || c["AllowedOAuthFlowsUserPoolClient"] != true {
			t.Errorf("OAuth flows %v", c["AllowedOAuthFlows"])
		}
		callbacks, _ := json.Marshal(c["CallbackURLs"])
		if n := len(c["CallbackURLs"].([]any)); n != 1 || !strings.Contains(string(callbacks), "/console/callback") ||
			!strings.Contains(string(callbacks), "/"+s.stage.Name+"/console/callback") {
			t.Errorf("callback URLs %s", callbacks)
		}

		fn := s.byProp(t, "AWS::Lambda::Function", "FunctionName", s.stage.Prefix()+FnEHRAPI)
		env := fn.P["Environment"].(map[string]any)["Variables"].(map[string]any)
		issuer, _ := json.Marshal(env[fnspec.EnvConsoleIssuer])
		if !strings.Contains(string(issuer), "cognito-idp.") || refID(env[fnspec.EnvConsoleClientID]) != clients[0].ID {
			t.Errorf("ehr-api console env: issuer %s, client %v", issuer, env[fnspec.EnvConsoleClientID])
		}
	})
}

func TestConsoleClinicsContext(t *testing.T) {
	if got := consoleClinics(" demo-clinic, ,second-clinic,"); !slices.Equal(got, []string{"demo-clinic", "second-clinic"}) {
		t.Fatalf("consoleClinics = %q", got)
	}
	if got := consoleClinics(""); got != nil {
		t.Fatalf("consoleClinics(\"\") = %q", got)
	}
}
