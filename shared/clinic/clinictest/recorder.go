// Package clinictest has test doubles for code that tells clinics about events.
package clinictest

import (
	"context"
	"sync"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
)

// Recorder keeps every event published to it, in place of the ehr-outbox queue.
type Recorder struct {
	mu  sync.Mutex
	all []clinic.Event
}

// Publish records the events.
func (r *Recorder) Publish(_ context.Context, evs ...clinic.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, evs...)
	return nil
}

// Events returns a copy of what was published, in order.
func (r *Recorder) Events() []clinic.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]clinic.Event(nil), r.all...)
}

// Reset forgets what was published.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.all = nil
	r.mu.Unlock()
}
