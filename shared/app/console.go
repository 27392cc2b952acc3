package app

import (
	"github.com/frontdesk-health/frontdesk/shared/console"
)

// Console environment. The console is on when CONSOLE_OIDC_ISSUER is set.
const (
	EnvConsoleBaseURL      = "CONSOLE_BASE_URL"       // https://api.example.org, or the execute-api URL with the stage
	EnvConsoleIssuer       = "CONSOLE_OIDC_ISSUER"    // e.g. https://cognito-idp.<region>.amazonaws.com/<pool id>
	EnvConsoleClientID     = "CONSOLE_OIDC_CLIENT_ID" // the app client (public, PKCE)
	EnvConsoleClientSecret = "CONSOLE_OIDC_CLIENT_SECRET"
	EnvConsoleGroupsClaim  = "CONSOLE_OIDC_GROUPS_CLAIM" // default cognito:groups
	EnvConsoleLogoutURL    = "CONSOLE_LOGOUT_URL"        // the IdP's logout endpoint, optional
)

// Console builds the front-desk console from the environment, or returns nil when
// the deployment has none. The caller sets Conversations (ehr-api: the conversation
// service through console.Handoff).
func (a *App) Console() *console.Console {
	issuer := a.Env.Optional(EnvConsoleIssuer, "")
	if issuer == "" {
		return nil
	}
	base := a.Env.Required(EnvConsoleBaseURL)
	auth := &console.OIDC{Issuer: issuer, ClientID: a.Env.Required(EnvConsoleClientID),
		RedirectURL: base + console.Prefix + "/callback", GroupsClaim: a.Env.Optional(EnvConsoleGroupsClaim, console.DefaultGroupsClaim)}
	if a.Env.Optional(EnvConsoleClientSecret, "") != "" || a.Env.Optional(EnvConsoleClientSecret+"_SECRET_ARN", "") != "" {
		auth.ClientSecretFrom = a.Secrets.Value(a.Env, EnvConsoleClientSecret)
	}
	return &console.Console{
		Config: console.Config{BaseURL: base, LogoutURL: a.Env.Optional(EnvConsoleLogoutURL, "")},
		Auth:   auth, Sessions: a.Store, Logins: a.Store, Clinics: a.Store, Appointments: a.Store, Patients: a.Store,
		Clock: a.Clock, Log: a.Log.With("component", "console"),
	}
}
