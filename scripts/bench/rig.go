package main

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
	"github.com/frontdesk-health/frontdesk/scripts/internal/localstack"
	"github.com/frontdesk-health/frontdesk/shared/app/sender"
	"github.com/frontdesk-health/frontdesk/shared/app/sweep"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// sendRig is what the sending benchmarks stand on: fresh tables holding the
// clinics, and the Graph API stand-in, limited to mps per number, behind a server.
type sendRig struct {
	st   *dynamo.Store
	stub *whatsapptest.Stub
	srv  *httptest.Server
}

func newSendRig(ctx context.Context, clock platform.Clock, shards int, mps float64, clinics ...clinic.Clinic) (*sendRig, error) {
	st, _, _, err := freshStore(ctx, clock, shards)
	if err != nil {
		return nil, err
	}
	for _, c := range clinics {
		if err := st.PutClinic(ctx, c); err != nil {
			return nil, err
		}
	}
	stub, err := whatsapptest.New(whatsapptest.Config{AccessToken: benchToken, AppSecret: "bench-secret", RatePerSecond: mps})
	if err != nil {
		return nil, err
	}
	return &sendRig{st: st, stub: stub, srv: httptest.NewServer(stub)}, nil
}

func (r *sendRig) close() {
	r.stub.Stop()
	r.srv.Close()
}

func (r *sendRig) graph() *whatsapp.Client {
	return &whatsapp.Client{BaseURL: r.srv.URL, Token: func(context.Context) (string, error) { return benchToken, nil }, HTTP: r.srv.Client()}
}

// deployedSenders starts instances senders as deployed (the number's budget shared
// in DynamoDB, deferred jobs requeued on q), each acceptance logged in the answer.
// stop ends them and waits for them.
func (r *sendRig) deployedSenders(ctx context.Context, clock platform.Clock, q *simQueue, mps float64, instances int) (accepted *acceptLog, stop func()) {
	accepted = newAcceptLog(r.graph())
	mk := func() *outreach.Sender {
		return sender.New(sender.Deps{Store: r.st, Messenger: accepted, Events: nopEvents{}, Visibility: &delays{}, Requeue: q,
			Pacer: r.st, Claims: r.st, SlotLookahead: benchLookahead, Clock: clock, Log: benchLogger, MessagesPerSecond: mps, Concurrency: instances})
	}
	done := make(chan struct{})
	wg := runSenders(ctx, q, instances, mk, done)
	return accepted, func() { close(done); wg.Wait() }
}

// sweepEnqueue queues jobs the way the reminder sweep does: one Enqueue call per
// batch of outreach.DefaultSweepBatch jobs, one call after another, then Settle.
func sweepEnqueue(ctx context.Context, out *outreach.PacedOutbox, jobs []reminder.Job) error {
	for i := 0; i < len(jobs); i += outreach.DefaultSweepBatch {
		if err := out.Enqueue(ctx, jobs[i:min(i+outreach.DefaultSweepBatch, len(jobs))]); err != nil {
			return err
		}
	}
	_, err := out.Settle(ctx)
	return err
}

// sweepJobs runs one sweep of every shard and answers the jobs it queued.
func sweepJobs(ctx context.Context, st *dynamo.Store, clock platform.Clock) ([]reminder.Job, error) {
	out := &jobsOutbox{}
	if _, err := sweep.New(sweep.Deps{Store: st, Outbox: out, Clock: clock}).Sweep(ctx); err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	return out.jobs, nil
}

// waitAccepted waits until the stand-in accepted n messages from the number, or
// the deadline passes.
func waitAccepted(l *acceptLog, phoneNumberID string, n int, deadline time.Time) error {
	for l.count(phoneNumberID) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out: %d of %d accepted for %s", l.count(phoneNumberID), n, phoneNumberID)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// handleBatch hands one batch to a sender with Lambda's partial-batch semantics:
// each failed record comes back through again after the visibility delay the
// sender asked for, as its next receive. It answers how many records succeeded.
func handleBatch(ctx context.Context, s *outreach.Sender, dl *delays, batch []events.SQSMessage, again func(events.SQSMessage)) int {
	resp, _ := s.Handle(ctx, events.SQSEvent{Records: batch})
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	acked := 0
	for _, r := range batch {
		if !failed[r.MessageId] {
			acked++
			continue
		}
		d := time.Duration(0)
		if v, ok := dl.m.LoadAndDelete(r.ReceiptHandle); ok {
			d = v.(time.Duration)
		}
		receives, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
		next := record(r.MessageId, r.Body, receives+1)
		if g, ok := r.Attributes[attrGroup]; ok {
			next.Attributes[attrGroup] = g // a redelivery keeps its group
		}
		time.AfterFunc(d, func() { again(next) })
	}
	return acked
}

// startDevStack starts the dev stack for a benchmark: its own DynamoDB Local, moto,
// routers, queue consumers, Graph API stand-in and OpenID provider, every port a
// free one, and no log. The caller stops it.
func startDevStack(ctx context.Context) (*devstack.Stack, devstack.Config, error) {
	cfg, err := devstack.ConfigFromEnv(func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, cfg, err
	}
	for _, port := range []*int{&cfg.Port, &cfg.GraphPort, &cfg.OIDCPort} {
		if *port, err = localstack.FreePort(); err != nil {
			return nil, cfg, err
		}
	}
	cfg.TablePrefix, cfg.Log = "bench-", io.Discard
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	stack, err := devstack.Start(startCtx, cfg)
	return stack, cfg, err
}
