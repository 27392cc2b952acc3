// Package platform holds the process-level plumbing every Frontdesk binary shares:
// configuration from the environment, logging, the clock and identifiers.
package platform

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Env reads configuration from the environment and collects every problem, so a
// misconfigured deployment fails at start with one error naming everything missing
// rather than one variable per redeploy.
type Env struct {
	lookup  func(string) (string, bool)
	missing []string
	invalid []string
}

// NewEnv reads from the process environment.
func NewEnv() *Env { return &Env{lookup: os.LookupEnv} }

// NewEnvFrom reads from a map; tests use it.
func NewEnvFrom(m map[string]string) *Env {
	return &Env{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

// Required returns the variable's value and records it as missing when unset or empty.
func (e *Env) Required(name string) string {
	v, ok := e.lookup(name)
	if !ok || strings.TrimSpace(v) == "" {
		e.missing = append(e.missing, name)
		return ""
	}
	return v
}

// Optional returns the variable's value or def when unset or empty.
func (e *Env) Optional(name, def string) string {
	v, ok := e.lookup(name)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	return v
}

// Int returns an integer variable or def; a value that does not parse is recorded.
func (e *Env) Int(name string, def int) int {
	v, ok := e.lookup(name)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.invalid = append(e.invalid, fmt.Sprintf("%s=%q is not an integer", name, v))
		return def
	}
	return n
}

// Duration returns a Go duration variable ("90s", "5m") or def.
func (e *Env) Duration(name string, def time.Duration) time.Duration {
	v, ok := e.lookup(name)
	if !ok || v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.invalid = append(e.invalid, fmt.Sprintf("%s=%q is not a duration", name, v))
		return def
	}
	return d
}

// Bool returns a boolean variable or def.
func (e *Env) Bool(name string, def bool) bool {
	v, ok := e.lookup(name)
	if !ok || v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.invalid = append(e.invalid, fmt.Sprintf("%s=%q is not a boolean", name, v))
		return def
	}
	return b
}

// ErrConfig is wrapped by Err so callers can recognise configuration failures.
var ErrConfig = errors.New("configuration")

// Err returns nil when everything was present and valid, else one error listing
// every missing and invalid variable.
func (e *Env) Err() error {
	if len(e.missing) == 0 && len(e.invalid) == 0 {
		return nil
	}
	var parts []string
	if len(e.missing) > 0 {
		m := append([]string(nil), e.missing...)
		sort.Strings(m)
		parts = append(parts, "missing environment variables: "+strings.Join(m, ", "))
	}
	parts = append(parts, e.invalid...)
	return fmt.Errorf("%w: %s", ErrConfig, strings.Join(parts, "; "))
}

// RepoRoot walks up from the working directory to the folder holding go.mod. Dev
// tools and tests use it to find node_modules, fixtures and ../shared/reference.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("platform: go.mod not found above the working directory")
		}
		dir = parent
	}
}
