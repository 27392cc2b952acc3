package queue_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/queue"
)

// fakeVisibility records each ChangeMessageVisibility the consumer asks for.
type fakeVisibility struct {
	mu   sync.Mutex
	got  map[string]time.Duration
	fail bool
}

func (f *fakeVisibility) Delay(_ context.Context, receiptHandle string, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("sqs unavailable")
	}
	if f.got == nil {
		f.got = map[string]time.Duration{}
	}
	f.got[receiptHandle] = d
	return nil
}

func record(id string, receives int) events.SQSMessage {
	return events.SQSMessage{MessageId: id, ReceiptHandle: "rh-" + id, Body: "{}",
		Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(receives)}}
}

func noJitter() float64 { return 0 }

func TestConsumerSettlesEachDecision(t *testing.T) {
	requeueErr := errors.New("queue full")
	cases := []struct {
		name       string
		receives   int
		result     func(requeued *int) queue.Result
		visFails   bool
		wantFailed bool
		wantDelay  time.Duration // -1: no visibility change
		wantDead   bool
		wantRequeu int
		wantLog    string
	}{
		{name: "ack", receives: 1, result: func(*int) queue.Result { return queue.Ack() }, wantDelay: -1},
		{name: "retry delays the record", receives: 2,
			result:     func(*int) queue.Result { return queue.Retry(45*time.Second, "graph 500") },
			wantFailed: true, wantDelay: 45 * time.Second},
		{name: "retry beyond SQS's ceiling is clamped to 12 h", receives: 1,
			result:     func(*int) queue.Result { return queue.Retry(48*time.Hour, "later") },
			wantFailed: true, wantDelay: 12 * time.Hour},
		{name: "negative retry delay is zero", receives: 1,
			result:     func(*int) queue.Result { return queue.Retry(-time.Second, "now") },
			wantFailed: true, wantDelay: 0},
		{name: "backoff at the third receive", receives: 3,
			result:     func(*int) queue.Result { return queue.RetryWithBackoff("callback 503") },
			wantFailed: true, wantDelay: 2 * time.Minute},
		{name: "fail keeps the queue's visibility", receives: 1,
			result:     func(*int) queue.Result { return queue.Fail("storage") },
			wantFailed: true, wantDelay: -1},
		{name: "hand back", receives: 5, result: func(*int) queue.Result { return queue.HandBack() },
			wantFailed: true, wantDelay: -1},
		{name: "last receive is announced and not delayed", receives: 5,
			result: func(*int) queue.Result {
				return queue.RetryWithBackoff("callback 503", slog.String("event_id", "evt_1"))
			},
			wantFailed: true, wantDelay: -1, wantDead: true,
			wantLog: `"msg":"test.dead_letter","alert":"test_dead_letter","sqs_message_id":"m1","event_id":"evt_1","receive_count":5,"error":"callback 503"`},
		{name: "beyond the last receive is announced too", receives: 7,
			result:     func(*int) queue.Result { return queue.Fail("storage") },
			wantFailed: true, wantDelay: -1, wantDead: true},
		{name: "hand back on the last receive is not announced", receives: 5,
			result: func(*int) queue.Result { return queue.HandBack() }, wantFailed: true, wantDelay: -1},
		{name: "deferral requeued is acknowledged whatever the receive", receives: 5,
			result: func(n *int) queue.Result {
				return queue.Defer(time.Minute, "quiet_hours", func(context.Context) error { *n++; return nil })
			},
			wantDelay: -1, wantRequeu: 1},
		{name: "deferral whose requeue fails waits on the visibility", receives: 2,
			result: func(n *int) queue.Result {
				return queue.Defer(time.Minute, "quiet_hours", func(context.Context) error { *n++; return requeueErr })
			},
			wantFailed: true, wantDelay: time.Minute, wantRequeu: 1},
		{name: "failed visibility change is logged, record still failed", receives: 1, visFails: true,
			result:     func(*int) queue.Result { return queue.Retry(time.Minute, "graph 500") },
			wantFailed: true, wantDelay: -1, wantLog: `"msg":"test.delay_failed"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			vis := &fakeVisibility{fail: c.visFails}
			var dead []string
			requeued := 0
			cons := queue.Consumer{Name: "test", Alert: "test_dead_letter", MaxReceives: 5, Visibility: vis,
				Backoff:      queue.Backoff{Base: 30 * time.Second, Max: 30 * time.Minute, Jitter: 0.25, Rand: noJitter},
				OnDeadLetter: func(_ context.Context, rec events.SQSMessage) { dead = append(dead, rec.MessageId) },
				Log:          slog.New(slog.NewJSONHandler(&logs, nil))}
			resp := cons.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{record("m1", c.receives)}},
				func(context.Context, events.SQSMessage) queue.Result { return c.result(&requeued) })
			if failed := len(resp.BatchItemFailures) == 1 && resp.BatchItemFailures[0].ItemIdentifier == "m1"; failed != c.wantFailed || len(resp.BatchItemFailures) > 1 {
				t.Errorf("batch item failures %+v, want m1 failed: %v", resp.BatchItemFailures, c.wantFailed)
			}
			d, delayed := vis.got["rh-m1"]
			if c.wantDelay < 0 && delayed {
				t.Errorf("visibility changed to %v, want untouched", d)
			}
			if c.wantDelay >= 0 && (!delayed || d != c.wantDelay) {
				t.Errorf("visibility %v (changed: %v), want %v", d, delayed, c.wantDelay)
			}
			if got := len(dead) == 1; got != c.wantDead {
				t.Errorf("dead-letter hook for %v, want called: %v", dead, c.wantDead)
			}
			if got := strings.Contains(logs.String(), `"msg":"test.dead_letter"`); got != c.wantDead {
				t.Errorf("dead-letter line logged: %v, want %v\n%s", got, c.wantDead, logs.String())
			}
			if requeued != c.wantRequeu {
				t.Errorf("requeued %d times, want %d", requeued, c.wantRequeu)
			}
			if c.wantLog != "" && !strings.Contains(logs.String(), c.wantLog) {
				t.Errorf("logs lack %s:\n%s", c.wantLog, logs.String())
			}
		})
	}
}

func TestConsumerWithoutVisibilityOrReceiptHandle(t *testing.T) {
	cases := []struct {
		name string
		vis  *fakeVisibility
		rec  events.SQSMessage
	}{
		{"no visibility changer", nil, record("m1", 1)},
		{"no receipt handle", &fakeVisibility{}, events.SQSMessage{MessageId: "m1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cons := queue.Consumer{Name: "test"}
			if c.vis != nil {
				cons.Visibility = c.vis
			}
			resp := cons.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{c.rec}},
				func(context.Context, events.SQSMessage) queue.Result { return queue.Retry(time.Minute, "x") })
			if len(resp.BatchItemFailures) != 1 {
				t.Fatalf("failures %+v, want m1", resp.BatchItemFailures)
			}
			if c.vis != nil && len(c.vis.got) != 0 {
				t.Errorf("visibility changed without a receipt handle: %v", c.vis.got)
			}
		})
	}
}

func TestConsumerPartialBatchInRecordOrder(t *testing.T) {
	var recs []events.SQSMessage
	for i := range 10 {
		recs = append(recs, record("m"+strconv.Itoa(i), 1))
	}
	for _, conc := range []int{0, 1, 3, queue.WholeBatch} {
		t.Run(strconv.Itoa(conc), func(t *testing.T) {
			cons := queue.Consumer{Name: "test", Concurrency: conc}
			resp := cons.Handle(context.Background(), events.SQSEvent{Records: recs},
				func(_ context.Context, rec events.SQSMessage) queue.Result {
					if n, _ := strconv.Atoi(strings.TrimPrefix(rec.MessageId, "m")); n%3 == 0 {
						return queue.Fail("odd one")
					}
					return queue.Ack()
				})
			var got []string
			for _, f := range resp.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			if want := []string{"m0", "m3", "m6", "m9"}; !slices.Equal(got, want) {
				t.Errorf("failures %v, want %v", got, want)
			}
		})
	}
}

// running counts records in flight; each record waits until its whole group is
// in flight, so a consumer running fewer at once than asked would never finish,
// and more at once shows in the peak.
func TestConsumerConcurrency(t *testing.T) {
	cases := []struct {
		name    string
		conc    int
		records int
		want    int
	}{
		{"one at a time by default", 0, 6, 1},
		{"bounded", 3, 9, 3},
		{"whole batch", queue.WholeBatch, 7, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var recs []events.SQSMessage
			for i := range c.records {
				recs = append(recs, record("m"+strconv.Itoa(i), 1))
			}
			var running, peak atomic.Int64
			var mu sync.Mutex
			arrived := 0
			gate := make(chan struct{})
			cons := queue.Consumer{Name: "test", Concurrency: c.conc}
			cons.Handle(context.Background(), events.SQSEvent{Records: recs}, func(context.Context, events.SQSMessage) queue.Result {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				mu.Lock()
				g := gate
				arrived++
				if arrived == c.want {
					arrived = 0
					close(gate)
					gate = make(chan struct{})
				}
				mu.Unlock()
				<-g
				running.Add(-1)
				return queue.Ack()
			})
			if got := int(peak.Load()); got != c.want {
				t.Errorf("%d records at once, want %d", got, c.want)
			}
		})
	}
}

func TestConsumerStoppedHandsBackWhatHasNotStarted(t *testing.T) {
	var recs []events.SQSMessage
	for i := range 5 {
		recs = append(recs, record("m"+strconv.Itoa(i), 6))
	}
	vis := &fakeVisibility{}
	var logs bytes.Buffer
	stopped := false
	var handled []string
	cons := queue.Consumer{Name: "test", Alert: "a", MaxReceives: 6, Visibility: vis, Stopped: func() bool { return stopped },
		Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	resp := cons.Handle(context.Background(), events.SQSEvent{Records: recs}, func(_ context.Context, rec events.SQSMessage) queue.Result {
		handled = append(handled, rec.MessageId)
		if rec.MessageId == "m1" {
			stopped = true
		}
		return queue.Ack()
	})
	if want := []string{"m0", "m1"}; !slices.Equal(handled, want) {
		t.Errorf("handled %v, want %v", handled, want)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if want := []string{"m2", "m3", "m4"}; !slices.Equal(failed, want) {
		t.Errorf("handed back %v, want %v", failed, want)
	}
	if len(vis.got) != 0 || logs.Len() != 0 {
		t.Errorf("handed-back records touched: visibility %v, logs %s", vis.got, logs.String())
	}
}

func TestBackoffSchedules(t *testing.T) {
	notifier := queue.Backoff{Base: 30 * time.Second, Max: 30 * time.Minute, Jitter: 0.25}
	sender := queue.Backoff{Base: 10 * time.Second, Max: 10 * time.Minute, Jitter: 0.5}
	cases := []struct {
		name   string
		b      queue.Backoff
		n      int
		rand   float64
		want   time.Duration
		wantHi time.Duration
	}{
		{"notifier first", notifier, 1, 0, 30 * time.Second, 0},
		{"notifier second", notifier, 2, 0, time.Minute, 0},
		{"notifier seventh", notifier, 7, 0, 30 * time.Minute, 0},
		{"notifier capped", notifier, 20, 0, 30 * time.Minute, 0},
		{"notifier full jitter", notifier, 1, 0.999999, 30 * time.Second, 30*time.Second + 30*time.Second/4},
		{"sender first", sender, 1, 0, 10 * time.Second, 0},
		{"sender sixth", sender, 6, 0, 320 * time.Second, 0},
		{"sender capped with jitter below 15 min", sender, 30, 0.999999, 10 * time.Minute, 15 * time.Minute},
		{"zero receives count as one", sender, 0, 0, 10 * time.Second, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.b
			b.Rand = func() float64 { return c.rand }
			got := b.Delay(c.n)
			hi := c.wantHi
			if hi == 0 {
				hi = c.want
			}
			if got < c.want || got > hi {
				t.Errorf("Delay(%d) = %v, want in [%v, %v]", c.n, got, c.want, hi)
			}
		})
	}
	// The jitter only lengthens, and stays within its fraction, with the default source.
	for n := 1; n <= 10; n++ {
		lo := queue.Backoff{Base: notifier.Base, Max: notifier.Max, Rand: noJitter}.Delay(n)
		for range 50 {
			if d := notifier.Delay(n); d < lo || d > lo+lo/4 {
				t.Fatalf("Delay(%d) = %v, want in [%v, %v]", n, d, lo, lo+lo/4)
			}
		}
	}
}
