// Package idempotency holds the answer an idempotent operation stored the first
// time it ran, which a retry of the same operation gets back. Pure Go.
package idempotency

import "github.com/frontdesk-health/frontdesk/shared/fault"

// Response is the stored answer to a request that was already processed.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
	// Fingerprint is the request the answer belongs to (method, path and body
	// digest): the same key sent with another request is refused, not replayed.
	Fingerprint string
}

// ErrKeyReused: the key was first used for a different request (another route or
// body); the request is neither processed nor replayed.
var ErrKeyReused = fault.New(fault.Unprocessable, "idempotency key reused for a different request")
