package outboundtest_test

import (
	"context"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/outbound/outboundtest"
)

// What a test reads back is what was published, in order; a job taken is gone from
// Jobs but still counted.
func TestRecorderKeepsJobsInOrderUntilTaken(t *testing.T) {
	var r outboundtest.Recorder
	ctx := context.Background()
	if err := r.PublishJobs(ctx, outbound.Job{Key: "a"}, outbound.Job{Key: "b"}); err != nil {
		t.Fatal(err)
	}
	if got := r.Jobs(); len(got) != 2 || got[0].Key != "a" || got[1].Key != "b" {
		t.Fatalf("jobs %+v, want a then b", got)
	}
	if got := r.Take(); len(got) != 2 {
		t.Fatalf("took %d, want 2", len(got))
	}
	if err := r.PublishJobs(ctx, outbound.Job{Key: "c"}); err != nil {
		t.Fatal(err)
	}
	if got := r.Jobs(); len(got) != 1 || got[0].Key != "c" || r.Published() != 3 {
		t.Fatalf("after a take: jobs %+v, published %d; want c, 3", got, r.Published())
	}
}
