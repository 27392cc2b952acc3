package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// benchWaitlistLatency starts the dev stack (its own servers on free ports, the
// deployed builders, a 5 s sweep, the demo clinic without quiet hours) and
// measures, n times: from the EHR's cancellation of an appointment in a published
// busy slot reaching the API until the Graph API stand-in accepts the
// waitlist_offer template to the one patient waiting for an earlier time. The
// path is the deployed one: the API frees the slot, the sweep's waitlist step
// queues the offer, the sender sends it. Each cancellation comes at a seeded
// random phase of the sweep's period. It prints the median and p95.
func benchWaitlistLatency(ctx context.Context, n int) error {
	stack, cfg, err := startDevStack(ctx)
	if err != nil {
		return err
	}
	defer stack.Stop()
	b := &wlBench{stack: stack, cfg: cfg, http: &http.Client{Timeout: 10 * time.Second}, rng: rand.New(rand.NewPCG(1, 2))}

	var lat []time.Duration
	for i := range n {
		d, err := b.cancellationToOffer(ctx, i)
		if err != nil {
			return err
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	p95 := lat[min(len(lat)-1, (len(lat)*95+99)/100-1)]
	fmt.Printf("waitlist-latency (%d cancellations through the dev stack, sweep every %s)\n", n, cfg.SweepEvery)
	fmt.Printf("  EHR cancellation PUT -> first waitlist offer accepted by the stand-in: median %s, p95 %s (min %s, max %s)\n",
		median(lat), p95.Round(time.Millisecond), lat[0].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	return nil
}

type wlBench struct {
	stack *devstack.Stack
	cfg   devstack.Config
	http  *http.Client
	// rng spreads the cancellations over the sweep's period (seeded: the same
	// phases every run); without it each run would start just after the sweep
	// that sent the previous offer, and measure only the worst case.
	rng *rand.Rand
}

func (b *wlBench) put(ctx context.Context, path string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := b.cfg.SignedEHRRequest(ctx, http.MethodPut, b.stack.APIURL+"/v1/clinics/"+devstack.DemoClinicID+path, time.Now(), raw)
	if err != nil {
		return err
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return err
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("PUT %s: HTTP %d: %s", path, resp.StatusCode, out)
	}
	return nil
}

func (b *wlBench) appointment(ctx context.Context, id, phone, status string, start time.Time, waitlist bool, version int) error {
	now := time.Now().UTC()
	return b.put(ctx, "/appointments/"+id, map[string]any{"status": status, "start": start.Format(time.RFC3339), "durationMinutes": 30,
		"waitlist": waitlist, "slotId": "bench-slot-" + id,
		"patient": map[string]string{"id": "pat-" + id, "phone": phone, "givenName": "Bench", "language": "en-US"},
		"consent": map[string]string{"whatsapp": "opted_in", "at": now.Add(-time.Hour).Format(time.RFC3339), "source": "bench", "evidence": "bench"},
		"version": version})
}

// cancellationToOffer books a waiting patient and a visit in a busy slot,
// cancels the visit and times the offer's arrival at the stand-in.
func (b *wlBench) cancellationToOffer(ctx context.Context, i int) (time.Duration, error) {
	now := time.Now().UTC()
	waiter := fmt.Sprintf("+1555010%04d", 4000+i) // +1 555 010 4000...: fictional
	if err := b.appointment(ctx, fmt.Sprintf("bench-wait-%d", i), waiter, "booked", now.Add(6*24*time.Hour+time.Duration(i)*time.Hour).Truncate(time.Minute), true, 1); err != nil {
		return 0, err
	}
	gone := fmt.Sprintf("bench-gone-%d", i)
	slotStart := now.Add(30*time.Hour + time.Duration(i)*30*time.Minute).Truncate(time.Minute)
	if err := b.put(ctx, "/slots/bench-slot-"+gone, map[string]any{"start": slotStart.Format(time.RFC3339), "durationMinutes": 30,
		"status": "busy", "version": 1}); err != nil {
		return 0, err
	}
	visitor := fmt.Sprintf("+1555010%04d", 5000+i)
	if err := b.appointment(ctx, gone, visitor, "booked", slotStart, false, 1); err != nil {
		return 0, err
	}
	time.Sleep(time.Duration(b.rng.Int64N(int64(b.cfg.SweepEvery)))) // a phase, not a synchronisation
	start := time.Now()
	if err := b.appointment(ctx, gone, visitor, "cancelled", slotStart, false, 2); err != nil {
		return 0, err
	}
	want := strings.TrimPrefix(waiter, "+")
	for time.Since(start) < 60*time.Second {
		for _, r := range b.stack.Stub.Sent() {
			if r.Template != reminder.TemplateWaitlistOffer || r.WAMID == "" || r.At.Before(start) {
				continue
			}
			var m struct {
				To string `json:"to"`
			}
			if json.Unmarshal(r.Body, &m) == nil && strings.TrimPrefix(m.To, "+") == want {
				return r.At.Sub(start), nil
			}
		}
		time.Sleep(20 * time.Millisecond) // polling the stand-in's record, not synchronising
	}
	return 0, fmt.Errorf("run %d: no offer reached the stand-in within 60 s", i)
}
