package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/idempotency"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// tblIdempotency maps key(idempotency key) to an idemRec.
const tblIdempotency = "idempotency"

const (
	idemInProgress = "in_progress"
	idemDone       = "done"
	idemMarker     = "seen"
)

// idemRec is one claimed key. expiresAt is in whole Unix seconds, like DynamoDB's
// TTL attribute: a key is claimable again once that second has passed.
type idemRec struct {
	state     string
	resp      idempotency.Response
	expiresAt int64
}

// claimable reports whether k may be claimed now; the caller holds the lock.
func (s *Store) claimable(k string) (idemRec, bool) {
	rec, ok := get[idemRec](s, tblIdempotency, k)
	return rec, !ok || rec.expiresAt < s.now().Unix()
}

// ClaimIdempotency claims key for ttl: nil, nil for the first caller; the stored
// response once the first caller completed; fault.ErrInProgress while it works.
func (s *Store) ClaimIdempotency(ctx context.Context, k string, ttl time.Duration) (*idempotency.Response, error) {
	return s.ClaimRequest(ctx, k, "", ttl)
}

// ClaimRequest is ClaimIdempotency for a request with a body fingerprint: the same
// key with another fingerprint is idempotency.ErrKeyReused.
func (s *Store) ClaimRequest(_ context.Context, k, fingerprint string, ttl time.Duration) (*idempotency.Response, error) {
	op := "claim idempotency key " + platform.Hash(k)
	defer s.lock()()
	rec, free := s.claimable(key(k))
	switch {
	case free:
		put(s, tblIdempotency, key(k), idemRec{state: idemInProgress, resp: idempotency.Response{Fingerprint: fingerprint},
			expiresAt: s.now().Add(ttl).Unix()})
		return nil, nil
	case fingerprint != "" && rec.resp.Fingerprint != "" && rec.resp.Fingerprint != fingerprint:
		return nil, fmt.Errorf("memstore: %s: %w", op, idempotency.ErrKeyReused)
	case rec.state == idemDone:
		resp := rec.resp
		resp.Body = slices.Clone(resp.Body)
		return &resp, nil
	}
	return nil, &fault.Error{Code: fault.InProgress, Op: "memstore: " + op, Msg: "idempotency key in progress"}
}

// CompleteIdempotency stores the response for key, kept for ttl.
func (s *Store) CompleteIdempotency(_ context.Context, k string, resp idempotency.Response, ttl time.Duration) error {
	defer s.lock()()
	resp.Body = slices.Clone(resp.Body)
	put(s, tblIdempotency, key(k), idemRec{state: idemDone, resp: resp, expiresAt: s.now().Add(ttl).Unix()})
	return nil
}

// ReleaseIdempotency frees a key still in progress (the work failed and may be
// retried); a completed key is kept.
func (s *Store) ReleaseIdempotency(_ context.Context, k string) error {
	defer s.lock()()
	if rec, ok := get[idemRec](s, tblIdempotency, key(k)); ok && rec.state == idemInProgress {
		del(s, tblIdempotency, key(k))
	}
	return nil
}

// ClaimOnce marks key as seen for ttl; true for the first caller only.
func (s *Store) ClaimOnce(_ context.Context, k string, ttl time.Duration) (bool, error) {
	defer s.lock()()
	if _, free := s.claimable(key(k)); !free {
		return false, nil
	}
	put(s, tblIdempotency, key(k), idemRec{state: idemMarker, expiresAt: s.now().Add(ttl).Unix()})
	return true, nil
}
