// Package outboundtest has test doubles for code that publishes outbound jobs.
package outboundtest

import (
	"context"
	"sync"

	"github.com/frontdesk-health/frontdesk/shared/outbound"
)

// Recorder keeps every job published to it, in place of the outbound queue, until
// a test takes them.
type Recorder struct {
	mu        sync.Mutex
	jobs      []outbound.Job
	published int
}

// PublishJobs records the jobs.
func (r *Recorder) PublishJobs(_ context.Context, jobs ...outbound.Job) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, jobs...)
	r.published += len(jobs)
	return nil
}

// Jobs returns a copy of the jobs not yet taken, in order.
func (r *Recorder) Jobs() []outbound.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]outbound.Job(nil), r.jobs...)
}

// Take returns the jobs not yet taken and forgets them, as a consumer would.
func (r *Recorder) Take() []outbound.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.jobs
	r.jobs = nil
	return out
}

// Published counts every job ever published, taken or not.
func (r *Recorder) Published() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.published
}
