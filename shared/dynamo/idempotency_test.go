package dynamo_test

import (
	"errors"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
)

// A key is bound to the request it was first claimed for: another request gets
// ErrKeyReused whether the first is in progress or done, and the first request's
// redelivery still gets its answer.
func TestClaimRequestBindsTheKeyToItsRequest(t *testing.T) {
	s, clock := newStore(t)
	ctx := ctxT(t)
	const ttl = time.Hour
	steps := []struct {
		name        string
		do          func() (*dynamo.IdempotentResponse, error)
		wantErr     error
		wantReplay  bool
		fingerprint string
	}{
		{name: "first claim", do: func() (*dynamo.IdempotentResponse, error) { return s.ClaimRequest(ctx, "k", "PUT /a sha-1", ttl) }},
		{name: "other request while in progress", wantErr: dynamo.ErrKeyReused,
			do: func() (*dynamo.IdempotentResponse, error) { return s.ClaimRequest(ctx, "k", "PUT /a sha-2", ttl) }},
		{name: "same request while in progress", wantErr: dynamo.ErrInProgress,
			do: func() (*dynamo.IdempotentResponse, error) { return s.ClaimRequest(ctx, "k", "PUT /a sha-1", ttl) }},
		{name: "complete", do: func() (*dynamo.IdempotentResponse, error) {
			return nil, s.CompleteIdempotency(ctx, "k", dynamo.IdempotentResponse{Status: 201, ContentType: "application/json",
				Body: []byte(`{}`), Fingerprint: "PUT /a sha-1"}, ttl)
		}},
		{name: "other route when done", wantErr: dynamo.ErrKeyReused,
			do: func() (*dynamo.IdempotentResponse, error) { return s.ClaimRequest(ctx, "k", "PUT /b sha-1", ttl) }},
		{name: "same request when done", wantReplay: true, fingerprint: "PUT /a sha-1",
			do: func() (*dynamo.IdempotentResponse, error) { return s.ClaimRequest(ctx, "k", "PUT /a sha-1", ttl) }},
		{name: "unbound claim (inbox keys) still replays", wantReplay: true, fingerprint: "PUT /a sha-1",
			do: func() (*dynamo.IdempotentResponse, error) { return s.ClaimIdempotency(ctx, "k", ttl) }},
		{name: "after expiry the key is free for anything", do: func() (*dynamo.IdempotentResponse, error) {
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
