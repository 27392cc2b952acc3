// Command bench measures the reminder pipeline against the local servers. It is a
// benchmark, not a test: it runs on the real clock, takes about a minute per case,
// and is not part of `make test`.
//
//	go run ./scripts/localstack -- go run ./scripts/bench -case throughput
//	go run ./scripts/localstack -- go run ./scripts/bench -case fairness
//	go run ./scripts/localstack -- go run ./scripts/bench -case sweep
//	go run ./scripts/localstack -- go run ./scripts/bench -case cost
//	go run ./scripts/bench -case conversation
//	go run ./scripts/bench -case outage          # against a running `make dev`
//	go run ./scripts/bench -case waitlist        # a simulation, no servers
//	go run ./scripts/bench -case waitlist-latency
//
// throughput: 2,000 reminders through SENDER_MAX_CONCURRENCY simulated sender
// instances against the Graph API stand-in enforcing 80 messages/s for one number.
// sweep: one sweep over 1,000 due reminders among 1,000 and then among 100,000
// future appointments on DynamoDB Local; the sparse due index keeps the ratio flat.
// cost: 300 reminders through every function's handler (EHR PUT, sweep, send, status
// webhooks, inbound), measuring durations, DynamoDB and SQS requests and log bytes,
// priced per 1,000 reminders as a Markdown table for the README.
// outage: the outage drill in real time against `make dev`: visits of the demo
// clinic booked while the Graph API stand-in fails every send for -outage (10 min),
// then healed; reports how each reminder ended and how long recovery took.
// conversation: through its own dev stack, the median time from a patient's message
// to the API listing it and to the bot's reply at the stand-in, and from a staff
// reply to the Graph API call.
// waitlist-latency: through its own dev stack (5 s sweep), the time from an EHR
// cancellation reaching the API to the waitlist offer accepted by the stand-in.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

func main() {
	which := flag.String("case", "", "throughput, fairness, sweep, cost, outage, conversation, waitlist or waitlist-latency")
	reminders := flag.Int("reminders", 2000, "throughput: reminders to send")
	rate := flag.Float64("rate", 80, "throughput: the number's messages per second (stand-in and sender)")
	instances := flag.Int("instances", 16, "throughput, fairness: sender instances (SENDER_MAX_CONCURRENCY, the sender's reserved concurrency)")
	due := flag.Int("due", 1000, "sweep: due reminders")
	small := flag.Int("small", 1000, "sweep: future appointments, first run")
	large := flag.Int("large", 100000, "sweep: future appointments, second run")
	runs := flag.Int("runs", 3, "sweep: sweeps per size; cost: runs per step (the median is reported)")
	costReminders := flag.Int("cost-reminders", 300, "cost: reminders through the path (a multiple of 10 x -runs)")
	conversations := flag.Int("conversations", 30, "conversation: messages and replies to time")
	outageReminders := flag.Int("outage-reminders", 100, "outage: visits to book")
	outage := flag.Duration("outage", 10*time.Minute, "outage: how long every send fails")
	callbackAddr := flag.String("callback-addr", "", "outage: listen here for the demo clinic's callbacks (make dev with DEMO_EHR_CALLBACK_URL=http://<addr>/)")
	aJobs := flag.Int("a-jobs", 5000, "fairness: clinic A's queued messages")
	bJobs := flag.Int("b-jobs", 200, "fairness: clinic B's due reminders per run")
	sharedBudget := flag.Bool("shared-budget", true, "throughput: pace with the number's budget in DynamoDB as deployed (false: the per-instance token buckets)")
	flag.BoolVar(&benchFIFO, "fifo", false, "throughput, fairness: the simulated outbound queue is one strict FIFO line instead of a model of an SQS fair queue (messages grouped by clinic)")
	flag.Uint64Var(&benchFairnessSeed, "fairness-seed", 1, "fairness: seed of the offsets into a budget window at which B's waves start (the same in both runs)")
	flag.IntVar(&benchLookahead, "lookahead", 3, "throughput, fairness: the senders' SlotLookahead (windows a job at its place may wait for)")
	verbose := flag.Bool("v", false, "fairness: the senders' warnings on stderr")
	wl := waitlistModel{Zone: "America/New_York", QuietHours: reminder.QuietHours{Start: "21:00", End: "08:00"}}
	flag.Uint64Var(&wl.Weeks, "weeks", 100, "waitlist: simulated weeks")
	flag.Uint64Var(&wl.Seed, "seed", 1, "waitlist: the first week's seed")
	flag.Float64Var(&wl.Cancel, "cancel", 0.05, "waitlist: share of visits the EHR cancels")
	flag.Float64Var(&wl.Join, "join", 0.25, "waitlist: share of visits on the waitlist")
	flag.Float64Var(&wl.OptedOut, "opted-out", 0.05, "waitlist: share of patients opted out")
	flag.Float64Var(&wl.Accept, "accept", 0.3, "waitlist: probability an offered patient accepts")
	flag.DurationVar(&wl.MaxDelay, "accept-delay", 90*time.Minute, "waitlist: an acceptance comes after U(0, this)")
	latencyRuns := flag.Int("latency-runs", 20, "waitlist-latency: cancellations to time")
	flag.Parse()
	if *verbose {
		benchLogger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	ctx := context.Background()
	var err error
	switch *which {
	case "throughput":
		err = benchThroughput(ctx, *reminders, *rate, *instances, *sharedBudget)
	case "fairness":
		err = benchFairness(ctx, *aJobs, *bJobs, *rate, *instances)
	case "sweep":
		err = benchSweep(ctx, *due, *small, *large, *runs)
	case "cost":
		err = benchCost(ctx, *costReminders, *runs)
	case "outage":
		err = benchOutage(ctx, *outageReminders, *outage, *callbackAddr)
	case "conversation":
		err = benchConversation(ctx, *conversations)
	case "waitlist":
		err = benchWaitlist(wl)
	case "waitlist-latency":
		err = benchWaitlistLatency(ctx, *latencyRuns)
	default:
		err = fmt.Errorf("-case must be throughput, fairness, sweep, cost, outage, conversation, waitlist or waitlist-latency")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// freshStore creates a new set of tables on DynamoDB Local.
func freshStore(ctx context.Context, clock platform.Clock, shards int) (*dynamo.Store, *dynamodb.Client, dynamo.TableNames, error) {
	if os.Getenv(platform.EnvDynamoEndpoint) == "" {
		return nil, nil, dynamo.TableNames{}, fmt.Errorf("%s is not set: run through `go run ./scripts/localstack -- ...`", platform.EnvDynamoEndpoint)
	}
	cfg, err := platform.AWSConfig(ctx)
	if err != nil {
		return nil, nil, dynamo.TableNames{}, err
	}
	db := dynamo.NewClient(cfg)
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "bench" + hex.EncodeToString(b[:]) + "-"
	if err := dynamo.CreateTables(ctx, db, prefix); err != nil {
		return nil, nil, dynamo.TableNames{}, err
	}
	names := dynamo.NamesWithPrefix(prefix)
	return dynamo.NewStore(db, names, clock, shards), db, names, nil
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(n, workers int, f func(i int) error) error {
	next := make(chan int)
	errs := make(chan error, workers)
	for range workers {
		go func() {
			var first error
			for i := range next {
				if err := f(i); err != nil && first == nil {
					first = err
				}
			}
			errs <- first
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func rateOf(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }
