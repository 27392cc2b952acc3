// Package console is the front-desk console: server-rendered pages under /console
// where a clinic's staff sign in through OpenID Connect, see the day's appointments
// and answer the conversations Frontdesk handed to a person. The same handler runs
// in `make dev` and behind API Gateway.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/staff"
)

// Prefix is where the console is served.
const Prefix = "/console"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// SessionStore keeps console sessions server-side, under digests of the random
// values the browser holds. RefreshStaffSession fails on a session that no longer
// exists, so a request racing a sign-out cannot revive it.
type SessionStore interface {
	GetStaffSession(ctx context.Context, key string) (staff.Session, error)
	RefreshStaffSession(ctx context.Context, key string, s staff.Session) error
	DeleteStaffSession(ctx context.Context, key string) error
}

// LoginStore holds what signing in writes: a sign-in between the redirect to the
// identity provider and its callback (TakeStaffLogin returns it once), then the
// new session.
type LoginStore interface {
	PutStaffLogin(ctx context.Context, key string, l staff.Login) error
	TakeStaffLogin(ctx context.Context, key string) (staff.Login, error)
	PutStaffSession(ctx context.Context, key string, s staff.Session) error
}

// ClinicReader reads a clinic's configuration (name, time zone).
type ClinicReader interface {
	GetClinic(ctx context.Context, id string) (clinic.Clinic, error)
}

// DayLister lists a clinic's appointments starting in a time range.
type DayLister interface {
	AppointmentsBetween(ctx context.Context, clinicID string, from, to time.Time) ([]dynamo.ScheduledAppointment, error)
}

// PatientReader reads a patient's contact record (the given name shown on Today).
type PatientReader interface {
	GetPatient(ctx context.Context, clinicID, patientID string) (appointment.Patient, error)
}

// Identity is who the identity provider says signed in.
type Identity struct {
	Subject string
	Name    string
	Groups  []string
}

// Authenticator runs the OpenID Connect code flow with PKCE: AuthURL is where the
// browser goes to sign in; Identify redeems the code the provider sent back.
type Authenticator interface {
	AuthURL(ctx context.Context, state, nonce, verifier string) (string, error)
	Identify(ctx context.Context, code, verifier, nonce string) (Identity, error)
}

// Config is the console's deployment settings.
type Config struct {
	// BaseURL is where the API is reached (https://api.example.org, or the
	// execute-api URL with its stage path, which the browser sees but the router does
	// not); the callback is BaseURL + /console/callback, links and redirects start
	// with its path, and state-changing requests must come from its origin.
	BaseURL string
	// InsecureLoopback allows a plain-http BaseURL on 127.0.0.1 or localhost (make
	// dev); anywhere else cookies are Secure and the BaseURL must be https.
	InsecureLoopback bool
	// LogoutURL, when set, is where sign-out sends the browser after ending the
	// session here, to end the identity provider's session too (Cognito's /logout).
	LogoutURL string
}

// Console serves the pages. Conversations may be nil until the conversation
// service is deployed: the Inbox then says so rather than showing an
// empty list that would look like "nothing to answer".
type Console struct {
	Config        Config
	Auth          Authenticator
	Sessions      SessionStore
	Logins        LoginStore
	Clinics       ClinicReader
	Appointments  DayLister
	Patients      PatientReader
	Conversations Conversations
	Clock         platform.Clock
	Log           *slog.Logger

	base    *url.URL
	root    string // BaseURL's path: "" on a custom domain, "/<stage>" on the execute-api URL
	secure  bool
	pages   map[string]*template.Template
	handler http.Handler
}

// New checks the configuration and builds the handler.
func (c *Console) New() error {
	if c.Auth == nil || c.Sessions == nil || c.Logins == nil || c.Clinics == nil || c.Appointments == nil || c.Clock == nil || c.Log == nil {
		return errors.New("console: Auth, Sessions, Logins, Clinics, Appointments, Clock and Log are required")
	}
	u, err := url.Parse(strings.TrimRight(c.Config.BaseURL, "/"))
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("console: base URL %q must be an origin such as https://api.example.org, optionally with the stage path", c.Config.BaseURL)
	}
	c.root, u.Path = strings.TrimRight(u.Path, "/"), ""
	switch {
	case u.Scheme == "https":
		c.secure = true
	case u.Scheme == "http" && c.Config.InsecureLoopback && isLoopback(u.Hostname()):
	default:
		return fmt.Errorf("console: base URL %q must be https (plain http only on 127.0.0.1 or localhost in development)", c.Config.BaseURL)
	}
	c.base = u
	if c.pages, err = parsePages(); err != nil {
		return err
	}
	c.handler = c.routes()
	return nil
}

// link is the browser's path to a console page.
func (c *Console) link(p string) string { return c.root + Prefix + p }

func isLoopback(host string) bool { return host == "127.0.0.1" || host == "localhost" || host == "::1" }

// Mount serves the console under /console and everything else with api.
func (c *Console) Mount(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == Prefix || strings.HasPrefix(r.URL.Path, Prefix+"/") {
			c.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// ServeHTTP serves one console request.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /console/login", c.login)
	mux.HandleFunc("GET /console/callback", c.callback)
	mux.HandleFunc("GET /console/signed-out", c.signedOut)
	mux.HandleFunc("POST /console/logout", c.withSession(c.logout))
	mux.HandleFunc("GET /console", c.withSession(c.home))
	mux.HandleFunc("GET /console/{$}", c.withSession(c.home))
	mux.HandleFunc("GET /console/clinics/{clinicId}/today", c.withClinic(c.today))
	mux.HandleFunc("GET /console/clinics/{clinicId}/inbox", c.withClinic(c.inbox))
	mux.HandleFunc("GET /console/clinics/{clinicId}/conversations/{conversationId}", c.withClinic(c.thread))
	mux.HandleFunc("POST /console/clinics/{clinicId}/conversations/{conversationId}/reply", c.withClinic(c.reply))
	mux.HandleFunc("POST /console/clinics/{clinicId}/conversations/{conversationId}/close", c.withClinic(c.close))
	return c.withHeaders(c.withLogging(mux, func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			c.errorPage(w, r, http.StatusNotFound, "There is no such page.")
			return
		}
		mux.ServeHTTP(w, r)
	}))
}

// withHeaders sets the security headers on every console answer: scripts and styles
// from this origin only (no inline script can run, so an injected tag is inert),
// never framed, no referrer leaving with a URL that names a conversation, and no
// caching of pages that hold patient data.
func (c *Console) withHeaders(next http.Handler) http.Handler {
	formAction := "'self'"
	if c.Config.LogoutURL != "" {
		if u, err := url.Parse(c.Config.LogoutURL); err == nil && u.Host != "" {
			formAction += " " + u.Scheme + "://" + u.Host // sign-out redirects there after the form posts
		}
	}
	csp := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
		"form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin") // "no-referrer" would make browsers send "Origin: null" on our own POSTs
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if !strings.HasPrefix(r.URL.Path, "/console/static/") {
			h.Set("Cache-Control", "no-store")
		}
		if c.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// withLogging logs one line per request with the route pattern, never the path:
// paths name clinics' conversations and query strings can carry codes.
func (c *Console) withLogging(mux *http.ServeMux, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := c.Clock.Now()
		_, route := mux.Handler(r)
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if v := recover(); v != nil {
				c.Log.Error("console panic", "route", route, "error", fmt.Sprint(v))
				c.errorPage(rec, r, http.StatusInternalServerError, "Something went wrong. Try again.")
			}
			c.Log.Info("console request", "method", r.Method, "route", route, "status", rec.status,
				"duration_ms", c.Clock.Now().Sub(start).Milliseconds())
		}()
		next(rec, r)
	})
}
