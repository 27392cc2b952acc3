package platform

import (
	"context"
	"errors"
	"testing"
	"time"
)

type fakeSM struct {
	calls int
	value string
	err   error
}

func (f *fakeSM) SecretString(context.Context, string) (string, error) {
	f.calls++
	if f.err != nil {
		return "", f.err
	}
	return f.value, nil
}

func TestSecretsCacheAndRotation(t *testing.T) {
	sm := &fakeSM{value: "v1"}
	clock := NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := &Secrets{Client: sm, TTL: time.Minute, Clock: clock}
	ctx := context.Background()
	arn := "arn:aws:secretsmanager:us-east-1:111122223333:secret:frontdesk/x"
	for i := 0; i < 3; i++ {
		v, err := s.Resolve(ctx, arn)
		if err != nil || v != "v1" {
			t.Fatalf("resolve = %q, %v", v, err)
		}
	}
	if sm.calls != 1 {
		t.Fatalf("calls = %d, want 1 (cached)", sm.calls)
	}
	sm.value = "v2"
	clock.Advance(2 * time.Minute)
	if v, _ := s.Resolve(ctx, arn); v != "v2" {
		t.Fatalf("after ttl got %q, want rotated v2", v)
	}
}

func TestSecretsEnvAndErrors(t *testing.T) {
	s := &Secrets{Lookup: func(k string) (string, bool) { return map[string]string{"A": "x"}[k], k == "A" }}
	ctx := context.Background()
	if v, err := s.Resolve(ctx, "env:A"); err != nil || v != "x" {
		t.Fatalf("env:A = %q, %v", v, err)
	}
	if _, err := s.Resolve(ctx, "env:B"); err == nil {
		t.Fatal("unset env secret must fail")
	}
	if _, err := s.Resolve(ctx, "plain"); err == nil {
		t.Fatal("bad reference must fail")
	}
	s.Client = &fakeSM{err: errors.New("denied")}
	if _, err := s.Resolve(ctx, "arn:aws:secretsmanager:x"); err == nil {
		t.Fatal("client error must surface")
	}
	s.Client = &fakeSM{value: ""}
	if _, err := s.Resolve(ctx, "arn:aws:secretsmanager:y"); err == nil {
		t.Fatal("empty secret must fail")
	}
}
