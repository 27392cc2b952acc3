package staff

import (
	"errors"
	"testing"
	"time"
)

func TestSessionCheck(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		lastSeen time.Time
		now      time.Time
		expired  bool
	}{
		{"just signed in", t0, t0, false},
		{"idle 29m59s", t0, t0.Add(IdleTimeout - time.Second), false},
		{"idle 30m", t0, t0.Add(IdleTimeout), true},
		{"active all day, 11h59m", t0.Add(11*time.Hour + 50*time.Minute), t0.Add(11*time.Hour + 59*time.Minute), false},
		{"active all day, 12h", t0.Add(11*time.Hour + 59*time.Minute), t0.Add(AbsoluteTimeout), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Session{Subject: "sub-1", SignedIn: t0, LastSeen: c.lastSeen}
			err := s.Check(c.now)
			if got := errors.Is(err, ErrExpired); got != c.expired {
				t.Fatalf("Check(%v) = %v, want expired=%v", c.now.Sub(t0), err, c.expired)
			}
		})
	}
	if err := (Session{}).Check(t0); !errors.Is(err, ErrExpired) {
		t.Fatalf("zero session: %v, want ErrExpired", err)
	}
}

func TestLoginCheck(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	l := Login{Verifier: "v", Nonce: "n", StartedAt: t0}
	if err := l.Check(t0.Add(LoginTimeout - time.Second)); err != nil {
		t.Fatalf("fresh login: %v", err)
	}
	if err := l.Check(t0.Add(LoginTimeout)); !errors.Is(err, ErrExpired) {
		t.Fatalf("old login: %v, want ErrExpired", err)
	}
}
