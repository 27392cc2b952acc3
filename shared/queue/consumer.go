package queue

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// VisibilityChanger stretches a received message's visibility timeout, so a failed
// record's next attempt waits (Visibility implements it).
type VisibilityChanger interface {
	Delay(ctx context.Context, receiptHandle string, d time.Duration) error
}

var _ VisibilityChanger = (*Visibility)(nil)

// Backoff is the one retry schedule of the consumers: Base after the first
// failure, doubling per failure up to Max, plus up to Jitter times that as
// jitter. The jitter only ever lengthens a delay, so the time a message spends
// before the DLQ is predictable from below, and it spreads the retries of records
// that one outage failed together.
type Backoff struct {
	Base   time.Duration
	Max    time.Duration
	Jitter float64 // fraction of the delay added at most, e.g. 0.25
	// Rand returns a factor in [0,1); nil: math/rand/v2. Tests fix it. It is called
	// from concurrent records.
	Rand func() float64
}

// Delay is the wait after the n-th failure (n >= 1; lower counts as 1).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	r := b.Rand
	if r == nil {
		r = rand.Float64
	}
	return d + time.Duration(float64(d)*b.Jitter*r())
}

// WholeBatch as a Consumer's Concurrency handles every record of a batch at once.
const WholeBatch = -1

// Result is a consumer's decision about one record.
type Result struct {
	failed bool
	// delay is the failed record's visibility from now; keepVisibility leaves the
	// queue's timeout, useBackoff asks for the consumer's Backoff.
	delay  time.Duration
	reason string
	attrs  []slog.Attr
	// requeue, for a deferral, puts a new delayed copy of the job on the queue.
	requeue func(ctx context.Context) error
}

const (
	keepVisibility = time.Duration(-1)
	useBackoff     = time.Duration(-2)
)

// Ack deletes the record: handled, or never worth retrying.
func Ack() Result { return Result{} }

// Retry fails the record for another receive after delay (clamped to SQS's
// 0..12 h). reason and attrs go into the line logged when this was the last
// receive before the DLQ.
func Retry(delay time.Duration, reason string, attrs ...slog.Attr) Result {
	return Result{failed: true, delay: max(delay, 0), reason: reason, attrs: attrs}
}

// RetryWithBackoff fails the record for another receive after the consumer's
// Backoff at the record's receive count.
func RetryWithBackoff(reason string, attrs ...slog.Attr) Result {
	return Result{failed: true, delay: useBackoff, reason: reason, attrs: attrs}
}

// Fail fails the record without touching its visibility: it comes back after the
// queue's visibility timeout.
func Fail(reason string, attrs ...slog.Attr) Result {
	return Result{failed: true, delay: keepVisibility, reason: reason, attrs: attrs}
}

// HandBack returns the record untouched and unlogged (work not started, e.g.
// during a halt): the receive it spent is not a failure of the record.
func HandBack() Result { return Result{failed: true, delay: keepVisibility} }

// Defer makes a record that must wait not count against the DLQ budget: requeue
// puts a new copy of it on the queue, delayed, and the record is acknowledged (a
// new message starts at receive count zero). When requeue fails the record is
// retried after delay instead, which spends a receive.
func Defer(delay time.Duration, reason string, requeue func(ctx context.Context) error, attrs ...slog.Attr) Result {
	r := Retry(delay, reason, attrs...)
	r.requeue = requeue
	return r
}

// Consumer runs an SQS-triggered Lambda's batch (event source mapping with
// ReportBatchItemFailures): each record gets the consumer's decision, and
// Consumer turns the decisions into the partial batch response, the failed
// records' visibility backoff, and the line that says a record failed its last
// receive before the DLQ.
type Consumer struct {
	// Name names the consumer in its logs.
	Name string
	// DeadLetter is the message of the line logged on a record's last receive
	// ("sender.dead_letter"). Stable: a metric filter and its alarm match it, and
	// a test checks the code logs every alarmed key literally.
	DeadLetter string
	// Alert is the dead-letter line's alert key.
	Alert string
	// MaxReceives is the queue's maxReceiveCount: a failure on that receive is the
	// record's last before SQS moves it to the DLQ. It is logged as such and its
	// visibility is left alone, so it reaches the DLQ (and its alarm) without
	// waiting out a backoff. 0: never announced.
	MaxReceives int
	// Visibility delays failed records; nil: they come back after the queue's
	// visibility timeout.
	Visibility VisibilityChanger
	// Backoff serves RetryWithBackoff.
	Backoff Backoff
	// Concurrency is how many records are handled at once: 0 or 1 one after the
	// other in order, WholeBatch all at once.
	Concurrency int
	// Stopped, when set and true before a record starts, hands that record back
	// untouched (HandBack).
	Stopped func() bool
	// OnDeadLetter runs after the dead-letter line (e.g. to tell the clinic).
	OnDeadLetter func(ctx context.Context, rec events.SQSMessage)
	Log          *slog.Logger
}

// Handle runs handle on each record and reports the failed ones. It never fails
// the invocation: one bad record cannot make the whole batch redeliver.
func (c *Consumer) Handle(ctx context.Context, ev events.SQSEvent, handle func(ctx context.Context, rec events.SQSMessage) Result) events.SQSEventResponse {
	results := make([]Result, len(ev.Records))
	par := c.Concurrency
	switch {
	case par == WholeBatch:
		par = max(len(ev.Records), 1)
	case par < 1:
		par = 1
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, rec := range ev.Records {
		sem <- struct{}{}
		if c.Stopped != nil && c.Stopped() {
			<-sem
			results[i] = HandBack()
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = c.settle(ctx, rec, handle(ctx, rec))
		}()
	}
	wg.Wait()
	var resp events.SQSEventResponse
	for i, rec := range ev.Records {
		if results[i].failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp
}

// settle carries out a record's decision: its requeue, its dead-letter line or
// its visibility delay. The work of the record is done, so none of this is cut
// short by the invocation's context ending.
func (c *Consumer) settle(ctx context.Context, rec events.SQSMessage, r Result) Result {
	ctx = context.WithoutCancel(ctx)
	if r.requeue != nil {
		if r.requeue(ctx) == nil {
			return Ack()
		}
		r.requeue = nil
	}
	if !r.failed {
		return r
	}
	n := ReceiveCount(rec)
	if r.reason != "" && c.MaxReceives > 0 && n >= c.MaxReceives {
		attrs := make([]slog.Attr, 0, len(r.attrs)+4)
		attrs = append(attrs, slog.String("alert", c.Alert), slog.String("sqs_message_id", rec.MessageId))
		attrs = append(attrs, r.attrs...)
		attrs = append(attrs, slog.Int("receive_count", n), slog.String("error", r.reason))
		c.log().LogAttrs(ctx, slog.LevelError, c.deadLetter(), attrs...)
		if c.OnDeadLetter != nil {
			c.OnDeadLetter(ctx, rec)
		}
		return r
	}
	d := r.delay
	if d == useBackoff {
		d = c.Backoff.Delay(n)
	}
	if d < 0 || c.Visibility == nil || rec.ReceiptHandle == "" {
		return r
	}
	if err := c.Visibility.Delay(ctx, rec.ReceiptHandle, min(d, maxVisibility)); err != nil {
		// The record still comes back, after the queue's visibility timeout.
		c.log().LogAttrs(ctx, slog.LevelWarn, c.Name+".delay_failed",
			slog.String("sqs_message_id", rec.MessageId), slog.String("error", err.Error()))
	}
	return r
}

func (c *Consumer) log() *slog.Logger { return platform.LoggerOrDiscard(c.Log) }

func (c *Consumer) deadLetter() string {
	if c.DeadLetter != "" {
		return c.DeadLetter
	}
	return c.Name + ".dead_letter"
}
