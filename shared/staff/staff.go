// Package staff is a clinic staff member's console session: who signed in, for which
// clinics, and when the session ends. Pure Go: no AWS SDK, no net/http.
package staff

import (
	"errors"
	"time"
)

// Session lifetimes: a session ends after IdleTimeout without a request or
// AbsoluteTimeout after sign-in, whichever comes first.
const (
	IdleTimeout     = 30 * time.Minute
	AbsoluteTimeout = 12 * time.Hour
	// LoginTimeout bounds the round trip to the identity provider.
	LoginTimeout = 10 * time.Minute
)

// ErrExpired means a session or login exists but may no longer be used.
var ErrExpired = errors.New("staff: expired")

// Session is a signed-in staff member. It is stored server-side under a digest of
// the cookie's random id, so signing out or expiring it ends it everywhere.
type Session struct {
	Subject  string
	Name     string
	Clinics  []string
	CSRF     string // the synchronizer token every state-changing form carries
	SignedIn time.Time
	LastSeen time.Time
}

// ExpiresAt is when the session ends unless it is used again.
func (s Session) ExpiresAt() time.Time {
	idle := s.LastSeen.Add(IdleTimeout)
	if abs := s.AbsoluteEnd(); abs.Before(idle) {
		return abs
	}
	return idle
}

// AbsoluteEnd is when the session ends however active it is.
func (s Session) AbsoluteEnd() time.Time { return s.SignedIn.Add(AbsoluteTimeout) }

// Check returns ErrExpired when the session may not be used at now.
func (s Session) Check(now time.Time) error {
	if s.SignedIn.IsZero() || !now.Before(s.ExpiresAt()) {
		return ErrExpired
	}
	return nil
}

// Login is one sign-in in flight: what the callback needs to finish the OpenID
// Connect code flow (the PKCE verifier and the nonce) and where to go afterwards.
type Login struct {
	Verifier  string
	Nonce     string
	ReturnTo  string
	StartedAt time.Time
}

// Check returns ErrExpired when the login is too old to finish at now.
func (l Login) Check(now time.Time) error {
	if l.StartedAt.IsZero() || !now.Before(l.StartedAt.Add(LoginTimeout)) {
		return ErrExpired
	}
	return nil
}
