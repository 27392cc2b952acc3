package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/idempotency"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// IdempotencyStore claims keys so that a redelivered request or event is handled
// once.
type IdempotencyStore interface {
	ClaimIdempotency(ctx context.Context, key string, ttl time.Duration) (*idempotency.Response, error)
	ClaimRequest(ctx context.Context, key, fingerprint string, ttl time.Duration) (*idempotency.Response, error)
	CompleteIdempotency(ctx context.Context, key string, resp idempotency.Response, ttl time.Duration) error
	ReleaseIdempotency(ctx context.Context, key string) error
	ClaimOnce(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// Idempotency asserts claim, in progress (fault.ErrInProgress), complete and
// replay, release, expiry by the injected clock, one winner of racing claims, and
// keys bound to their request (idempotency.ErrKeyReused).
func Idempotency[S IdempotencyStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	open := func(t *testing.T) (IdempotencyStore, *platform.FakeClock) {
		clock := platform.NewFakeClock(t0)
		return newStore(t, clock), clock
	}
	t.Run("claim, complete, release", func(t *testing.T) { idempotencyLifecycle(t, open) })
	t.Run("claimOnce", func(t *testing.T) { claimOnce(t, open) })
	t.Run("claimRequestBindsTheKeyToItsRequest", func(t *testing.T) { claimRequestBindsTheKeyToItsRequest(t, open) })
}

func idempotencyLifecycle(t *testing.T, newStore func(*testing.T) (IdempotencyStore, *platform.FakeClock)) {
	s, clock := newStore(t)
	ctx := ctxT(t)
	ttl := time.Hour
	resp, err := s.ClaimIdempotency(ctx, "k1", ttl)
	if err != nil || resp != nil {
		t.Fatalf("first claim: %v, %v", resp, err)
	}
	if _, err := s.ClaimIdempotency(ctx, "k1", ttl); !errors.Is(err, fault.ErrInProgress) {
		t.Fatalf("claim while in progress: %v, want ErrInProgress", err)
	}
	want := idempotency.Response{Status: 201, ContentType: "application/json", Body: []byte(`{"ok":true}`)}
	if err := s.CompleteIdempotency(ctx, "k1", want, ttl); err != nil {
		t.Fatal(err)
	}
	resp, err = s.ClaimIdempotency(ctx, "k1", ttl)
	if err != nil || resp == nil || resp.Status != 201 || resp.ContentType != want.ContentType || string(resp.Body) != string(want.Body) {
		t.Fatalf("claim after completion: %+v, %v", resp, err)
	}
	want.Body[0], resp.Body[0] = 'x', 'x' // neither the completer's nor a reader's buffer is the stored one
	if again, err := s.ClaimIdempotency(ctx, "k1", ttl); err != nil || again == nil || string(again.Body) != `{"ok":true}` {
		t.Fatalf("stored response changed through a caller's buffer: %+v, %v", again, err)
	}
	if err := s.ReleaseIdempotency(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if resp, err := s.ClaimIdempotency(ctx, "k1", ttl); err != nil || resp == nil {
		t.Fatalf("release must not drop a completed response: %v, %v", resp, err)
	}

	// A failed first attempt releases the key so the retry processes it.
	if _, err := s.ClaimIdempotency(ctx, "k2", ttl); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseIdempotency(ctx, "k2"); err != nil {
		t.Fatal(err)
	}
	if resp, err := s.ClaimIdempotency(ctx, "k2", ttl); err != nil || resp != nil {
		t.Fatalf("claim after release: %v, %v", resp, err)
	}
	if wins := race(t, 5, func() error {
		_, err := s.ClaimIdempotency(ctxT(t), "k3", ttl)
		if errors.Is(err, fault.ErrInProgress) {
			return fault.Wrap(fault.Conflict, "test", err)
		}
		return err
	}); wins != 1 {
		t.Fatalf("%d concurrent first claims, want 1", wins)
	}
	// An expired in-progress marker (a crashed holder) no longer blocks, even before TTL deletion.
	clock.Advance(ttl + time.Second)
	if resp, err := s.ClaimIdempotency(ctx, "k2", ttl); err != nil || resp != nil {
		t.Fatalf("claim after expiry: %v, %v", resp, err)
	}
	if err := s.ReleaseIdempotency(ctx, "never-claimed"); err != nil {
		t.Fatalf("release of unknown key: %v", err)
	}
}

func claimOnce(t *testing.T, newStore func(*testing.T) (IdempotencyStore, *platform.FakeClock)) {
	s, clock := newStore(t)
	ctx := ctxT(t)
	steps := []struct {
		advance time.Duration
		want    bool
	}{{0, true}, {0, false}, {time.Hour, false}, {2 * time.Hour, true}}
	for i, st := range steps {
		clock.Advance(st.advance)
		first, err := s.ClaimOnce(ctx, "status:wamid.X:delivered", 2*time.Hour)
		if err != nil || first != st.want {
			t.Fatalf("step %d: first = %v, %v; want %v", i, first, err, st.want)
		}
	}
	other, err := s.ClaimOnce(ctx, "status:wamid.X:read", time.Hour)
	if err != nil || !other {
		t.Fatalf("other key: %v, %v", other, err)
	}
}

// A key is bound to the request it was first claimed for: another request gets
// ErrKeyReused whether the first is in progress or done, and the first request's
// redelivery still gets its answer.
func claimRequestBindsTheKeyToItsRequest(t *testing.T, newStore func(*testing.T) (IdempotencyStore, *platform.FakeClock)) {
	s, clock := newStore(t)
	ctx := ctxT(t)
	const ttl = time.Hour
	steps := []struct {
		name        string
		do          func() (*idempotency.Response, error)
		wantErr     error
		wantReplay  bool
		fingerprint string
	}{
		{name: "first claim", do: func() (*idempotency.Response, error) { return s.ClaimRequest(ctx, "k", "PUT /a sha-1", ttl) }},
		{name: "other request while in progress", wantErr: idempotency.ErrKeyReused,
			do: func() (*idempotency.Response, error) { return s.ClaimRequest(ctx, "k", "PUT /a sha-2", ttl) }},
		{name: "same request while in progress", wantErr: fault.ErrInProgress,
			do: func() (*idempotency.Response, error) { return s.ClaimRequest(ctx, "k", "PUT /a sha-1", ttl) }},
		{name: "complete", do: func() (*idempotency.Response, error) {
			return nil, s.CompleteIdempotency(ctx, "k", idempotency.Response{Status: 201, ContentType: "application/json",
				Body: []byte(`{}`), Fingerprint: "PUT /a sha-1"}, ttl)
		}},
		{name: "other route when done", wantErr: idempotency.ErrKeyReused,
			do: func() (*idempotency.Response, error) { return s.ClaimRequest(ctx, "k", "PUT /b sha-1", ttl) }},
		{name: "same request when done", wantReplay: true, fingerprint: "PUT /a sha-1",
			do: func() (*idempotency.Response, error) { return s.ClaimRequest(ctx, "k", "PUT /a sha-1", ttl) }},
		{name: "unbound claim (inbox keys) still replays", wantReplay: true, fingerprint: "PUT /a sha-1",
			do: func() (*idempotency.Response, error) { return s.ClaimIdempotency(ctx, "k", ttl) }},
		{name: "after expiry the key is free for anything", do: func() (*idempotency.Response, error) {
			clock.Advance(ttl + time.Second)
			return s.ClaimRequest(ctx, "k", "PUT /b sha-9", ttl)
		}},
	}
	for _, st := range steps {
		resp, err := st.do()
		switch {
		case st.wantErr != nil:
			if !errors.Is(err, st.wantErr) {
				t.Fatalf("%s: err %v, want %v", st.name, err, st.wantErr)
			}
		case err != nil:
			t.Fatalf("%s: %v", st.name, err)
		case st.wantReplay != (resp != nil):
			t.Fatalf("%s: replay %v, want %v", st.name, resp, st.wantReplay)
		case st.wantReplay && (resp.Status != 201 || resp.Fingerprint != st.fingerprint):
			t.Fatalf("%s: replayed %+v", st.name, resp)
		}
	}
}
