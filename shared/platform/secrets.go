package platform

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// SecretGetter is the one Secrets Manager call Frontdesk makes (SecretsManager
// implements it): the secret's SecretString.
type SecretGetter interface {
	SecretString(ctx context.Context, id string) (string, error)
}

// Secrets resolves secret references: "env:NAME" reads the environment (local
// development only) and a Secrets Manager ARN is fetched once and cached for TTL,
// so a warm Lambda does not call Secrets Manager per request yet picks up a rotated
// value within TTL.
type Secrets struct {
	Client SecretGetter // nil: only env: references resolve
	TTL    time.Duration
	Clock  Clock
	Lookup func(string) (string, bool) // defaults to os.LookupEnv

	mu    sync.Mutex
	cache map[string]cachedSecret
}

type cachedSecret struct {
	value   string
	fetched time.Time
}

// Resolve returns the secret's value.
func (s *Secrets) Resolve(ctx context.Context, ref string) (string, error) {
	switch {
	case strings.HasPrefix(ref, "env:"):
		lookup := s.Lookup
		if lookup == nil {
			lookup = os.LookupEnv
		}
		v, ok := lookup(strings.TrimPrefix(ref, "env:"))
		if !ok || v == "" {
			return "", fmt.Errorf("platform: secret %s is not set", ref)
		}
		return v, nil
	case strings.HasPrefix(ref, "arn:"):
	default:
		return "", fmt.Errorf("platform: secret reference %q must be env:NAME or an ARN", ref)
	}
	clock := s.Clock
	if clock == nil {
		clock = SystemClock{}
	}
	ttl := s.TTL
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	s.mu.Lock()
	if c, ok := s.cache[ref]; ok && clock.Now().Sub(c.fetched) < ttl {
		s.mu.Unlock()
		return c.value, nil
	}
	s.mu.Unlock()
	if s.Client == nil {
		return "", fmt.Errorf("platform: no Secrets Manager client to resolve %s", ref)
	}
	v, err := s.Client.SecretString(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("platform: get secret %s: %w", ref, err)
	}
	if v == "" {
		return "", fmt.Errorf("platform: secret %s is empty: fill it (see README, deploy guide)", ref)
	}
	s.mu.Lock()
	if s.cache == nil {
		s.cache = map[string]cachedSecret{}
	}
	s.cache[ref] = cachedSecret{value: v, fetched: clock.Now()}
	s.mu.Unlock()
	return v, nil
}

// Value returns a function that resolves the variable name's value: NAME directly
// when set (local development), else the secret named by NAME_SECRET_ARN. Functions
// use it for the WhatsApp token and secrets.
func (s *Secrets) Value(env *Env, name string) func(context.Context) (string, error) {
	if v := env.Optional(name, ""); v != "" {
		return func(context.Context) (string, error) { return v, nil }
	}
	arn := env.Required(name + "_SECRET_ARN")
	return func(ctx context.Context) (string, error) { return s.Resolve(ctx, arn) }
}
