package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/httpapi"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/staff"
)

// Cookie names. On https the __Host- prefix makes the browser refuse them unless
// Secure, host-only and Path=/, so a sibling subdomain cannot plant or shadow them.
func (c *Console) sessionCookie() string { return c.cookieName("fd_session") }
func (c *Console) loginCookie() string   { return c.cookieName("fd_login") }

func (c *Console) cookieName(n string) string {
	if c.secure {
		return "__Host-" + n
	}
	return n
}

// setCookie sets an HttpOnly cookie; SameSite=Lax because the sign-in callback is a
// top-level navigation from the identity provider's site, which Strict would strip.
// Cross-site POSTs carry no Lax cookie, and every POST is also checked for CSRF.
func (c *Console) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, //nolint:gosec // G124: Secure whenever the base URL is https; only make dev's loopback http console clears it
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode})
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// digest is the storage key of a cookie or state value, so the table holds nothing
// a thief could present.
func digest(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// safeReturn keeps a post-sign-in redirect inside the console.
func safeReturn(p string) string {
	if !strings.HasPrefix(p, Prefix+"/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return Prefix + "/"
	}
	return p
}

// login starts the code flow: a random state (bound to this browser by a cookie),
// a nonce for the ID token and a PKCE verifier, kept server-side until the callback.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := randomToken(), randomToken(), randomToken()
	l := staff.Login{Verifier: verifier, Nonce: nonce, ReturnTo: safeReturn(r.URL.Query().Get("return")), StartedAt: c.Clock.Now()}
	if err := c.Logins.PutStaffLogin(r.Context(), digest(state), l); err != nil {
		c.fail(w, r, "console: start sign-in", err)
		return
	}
	to, err := c.Auth.AuthURL(r.Context(), state, nonce, verifier)
	if err != nil {
		c.fail(w, r, "console: identity provider", err)
		return
	}
	c.setCookie(w, c.loginCookie(), state, int(staff.LoginTimeout.Seconds()))
	http.Redirect(w, r, to, http.StatusFound)
}

// callback finishes the code flow. The state must match this browser's cookie
// (a sign-in started elsewhere cannot be completed here) and is redeemed once.
func (c *Console) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	cookie, err := r.Cookie(c.loginCookie())
	if state == "" || err != nil || subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(state)) != 1 {
		c.errorPage(w, r, http.StatusBadRequest, "This sign-in link is not valid in this browser. Start again from the sign-in page.")
		return
	}
	c.setCookie(w, c.loginCookie(), "", -1)
	if e := q.Get("error"); e != "" {
		c.Log.Warn("console sign-in refused by the identity provider", "oidc_error", truncate(e, 64))
		c.errorPage(w, r, http.StatusUnauthorized, "The identity provider did not sign you in.")
		return
	}
	l, err := c.Logins.TakeStaffLogin(r.Context(), digest(state))
	if errors.Is(err, fault.ErrNotFound) || (err == nil && l.Check(c.Clock.Now()) != nil) {
		c.errorPage(w, r, http.StatusBadRequest, "This sign-in has expired or was already used. Start again from the sign-in page.")
		return
	}
	if err != nil {
		c.fail(w, r, "console: finish sign-in", err)
		return
	}
	id, err := c.Auth.Identify(r.Context(), q.Get("code"), l.Verifier, l.Nonce)
	if err != nil {
		c.Log.Warn("console sign-in failed", "error", err.Error())
		c.errorPage(w, r, http.StatusUnauthorized, "Sign-in failed. Start again from the sign-in page.")
		return
	}
	clinics := httpapi.ClinicsFromGroups(id.Groups)
	if len(clinics) == 0 {
		c.Log.Warn("console sign-in without a clinic", "subject", platform.Hash(id.Subject))
		c.errorPage(w, r, http.StatusForbidden, "Your account is not staff of any clinic. Ask your administrator to add you to your clinic's group.")
		return
	}
	if old, err := r.Cookie(c.sessionCookie()); err == nil && old.Value != "" && len(old.Value) <= 128 {
		// Signing in again replaces the browser's session: the old one ends here too.
		if err := c.Sessions.DeleteStaffSession(r.Context(), digest(old.Value)); err != nil {
			c.Log.Warn("console: end the replaced session", "error", err.Error())
		}
	}
	now := c.Clock.Now()
	token := randomToken()
	s := staff.Session{Subject: id.Subject, Name: id.Name, Clinics: clinics, CSRF: randomToken(), SignedIn: now, LastSeen: now}
	if err := c.Logins.PutStaffSession(r.Context(), digest(token), s); err != nil {
		c.fail(w, r, "console: store session", err)
		return
	}
	c.Log.Info("console signed in", "subject", platform.Hash(id.Subject), "clinics", len(clinics))
	c.setCookie(w, c.sessionCookie(), token, int(staff.AbsoluteTimeout.Seconds()))
	http.Redirect(w, r, c.root+l.ReturnTo, http.StatusSeeOther)
}

type sessionKey struct{}

type current struct {
	key     string
	session staff.Session
}

func sessionOf(ctx context.Context) current { v, _ := ctx.Value(sessionKey{}).(current); return v }

func (cur current) principal() httpapi.Principal {
	return httpapi.Principal{Actor: "staff:" + cur.session.Subject, Clinics: cur.session.Clinics}
}

// withSession admits requests with a live session: a GET without one is sent to
// sign in and comes back; a POST without one is refused (it may be forged, and its
// form would be lost anyway). Every POST must pass the CSRF checks. Each request
// refreshes the idle timer.
func (c *Console) withSession(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		post := r.Method != http.MethodGet && r.Method != http.MethodHead
		if post && !c.sameOrigin(r) {
			c.Log.Warn("console cross-site request refused", "sec_fetch_site", truncate(r.Header.Get("Sec-Fetch-Site"), 16))
			c.errorPage(w, r, http.StatusForbidden, "This request did not come from the console and was refused.")
			return
		}
		cur, ok := c.liveSession(w, r)
		if !ok {
			if post {
				c.errorPage(w, r, http.StatusForbidden, "Your session has ended. Sign in again; nothing was changed.")
				return
			}
			http.Redirect(w, r, c.link("/login")+"?return="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther) //nolint:gosec // G710: the target is the console's own login page; the request's path is only a query-escaped parameter
			return
		}
		if post {
			if err := r.ParseForm(); err != nil ||
				subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(cur.session.CSRF)) != 1 {
				c.Log.Warn("console CSRF token mismatch", "subject", platform.Hash(cur.session.Subject))
				c.errorPage(w, r, http.StatusForbidden, "This form has expired. Reload the page and try again; nothing was changed.")
				return
			}
		}
		next(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, cur)))
	}
}

func (c *Console) liveSession(w http.ResponseWriter, r *http.Request) (current, bool) {
	ck, err := r.Cookie(c.sessionCookie())
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return current{}, false
	}
	key := digest(ck.Value)
	s, err := c.Sessions.GetStaffSession(r.Context(), key)
	if err != nil {
		if !errors.Is(err, fault.ErrNotFound) {
			c.Log.Error("console session read failed", "error", err.Error())
		}
		c.setCookie(w, c.sessionCookie(), "", -1)
		return current{}, false
	}
	now := c.Clock.Now()
	if s.Check(now) != nil {
		_ = c.Sessions.DeleteStaffSession(r.Context(), key)
		c.setCookie(w, c.sessionCookie(), "", -1)
		return current{}, false
	}
	s.LastSeen = now
	if err := c.Sessions.RefreshStaffSession(r.Context(), key, s); err != nil {
		if !errors.Is(err, fault.ErrNotFound) {
			c.Log.Error("console session refresh failed", "error", err.Error())
		}
		c.setCookie(w, c.sessionCookie(), "", -1)
		return current{}, false // signed out meanwhile, or unreadable: ask to sign in again
	}
	return current{key: key, session: s}, true
}

// sameOrigin is the second CSRF line behind the token: browsers send Sec-Fetch-Site
// and Origin on POSTs, and a request another site triggered says so in both.
func (c *Console) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && !strings.EqualFold(o, c.base.Scheme+"://"+c.base.Host) {
		return false
	}
	return true
}

// withClinic adds the clinic check to withSession: one function, shared with the
// API, decides; a refusal shows nothing of the clinic, not even its name.
func (c *Console) withClinic(next http.HandlerFunc) http.HandlerFunc {
	return c.withSession(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("clinicId")
		if !clinic.ValidID(id) {
			c.errorPage(w, r, http.StatusNotFound, "There is no such clinic.")
			return
		}
		if err := httpapi.AuthorizeClinic(sessionOf(r.Context()).principal(), id); err != nil {
			c.Log.Warn("console clinic refused", "subject", platform.Hash(sessionOf(r.Context()).session.Subject), "clinic_id", id)
			c.errorPage(w, r, http.StatusForbidden, "You are not staff of this clinic.")
			return
		}
		next(w, r)
	})
}

// logout ends the session server-side, so the cookie is worthless even if kept.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	cur := sessionOf(r.Context())
	if err := c.Sessions.DeleteStaffSession(r.Context(), cur.key); err != nil {
		c.fail(w, r, "console: end session", err)
		return
	}
	c.setCookie(w, c.sessionCookie(), "", -1)
	c.Log.Info("console signed out", "subject", platform.Hash(cur.session.Subject))
	to := c.link("/signed-out")
	if c.Config.LogoutURL != "" {
		to = c.Config.LogoutURL
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
