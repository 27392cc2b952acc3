package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// benchOutage is the outage drill in real time against a running `make dev` stack
// (ports and demo secrets from the same environment): it books n visits of the demo
// clinic, each for its own fictional patient, while the Graph API stand-in answers
// every send 500 or lets it time out, keeps the outage on for the given time, then
// heals the stand-in and waits until every reminder is settled. Every fourth visit
// starts shortly after the outage begins, so its reminder stops being useful during
// it. With `make dev` started with DEMO_EHR_CALLBACK_URL=http://<callbackAddr>/, the
// clinic's message.failed callbacks are counted too.
func benchOutage(ctx context.Context, n int, outage time.Duration, callbackAddr string) error {
	cfg, err := devstack.ConfigFromEnv(os.LookupEnv)
	if err != nil {
		return err
	}
	b := &outageBench{
		cfg: cfg, api: fmt.Sprintf("http://127.0.0.1:%d", cfg.Port), graph: fmt.Sprintf("http://127.0.0.1:%d", cfg.GraphPort),
		http: &http.Client{Timeout: 15 * time.Second}, failed: map[string][]string{}, seen: map[string]bool{},
	}
	if err := b.get("/healthz", b.api, nil); err != nil {
		return fmt.Errorf("is `make dev` running on %s? %w", b.api, err)
	}
	if callbackAddr != "" {
		stop, err := b.listen(callbackAddr)
		if err != nil {
			return err
		}
		defer stop()
	}
	run := platform.NewID()[:8]
	faults := map[string]any{"server_error_every": 1, "timeout_every": 4, "timeout_delay": "15s"}
	if err := b.post(b.graph+"/_stub/faults", faults); err != nil {
		return err
	}
	defer func() { _ = b.post(b.graph+"/_stub/faults", map[string]any{}) }()
	var before whatsapptest.Stats
	if err := b.get("/_stub/stats", b.graph, &before); err != nil {
		return err
	}
	start := time.Now()
	type visit struct {
		id      string
		expires bool
		phone   string
	}
	visits := make([]visit, n)
	for i := range visits {
		v := visit{id: fmt.Sprintf("outage-%s-%03d", run, i), expires: i%4 == 0, phone: fmt.Sprintf("+1555010%04d", i%10000)}
		in := 47 * time.Hour
		if v.expires {
			in = outage / 2
		}
		if err := b.book(v.id, i, v.phone, time.Now().UTC().Add(in)); err != nil {
			return err
		}
		visits[i] = v
	}
	fmt.Printf("booked %d visits (%d starting within the outage) at %s; Graph API down for %s\n",
		n, (n+3)/4, start.Format(time.TimeOnly), outage)
	select {
	case <-time.After(time.Until(start.Add(outage))):
	case <-ctx.Done():
		return ctx.Err()
	}
	var during whatsapptest.Stats
	if err := b.get("/_stub/stats", b.graph, &during); err != nil {
		return err
	}
	if err := b.post(b.graph+"/_stub/faults", map[string]any{}); err != nil {
		return err
	}
	healed := time.Now()
	fmt.Printf("healed at %s after %d Graph requests (%d answered 500, %d timed out)\n", healed.Format(time.TimeOnly),
		during.Requests-before.Requests, during.InjectedServerErrors-before.InjectedServerErrors, during.InjectedTimeouts-before.InjectedTimeouts)

	// Settled: every reminder sent (or further), skipped or failed. The backoff is at
	// most 15 minutes, so that bounds the wait after healing.
	deadline := healed.Add(20 * time.Minute)
	states := map[string]ehr.ReminderState{}
	for {
		pending := 0
		for _, v := range visits {
			st, err := b.reminder(v.id, v.expires)
			if err != nil {
				return err
			}
			states[v.id] = st
			if st.State == reminder.StateScheduled || st.State == reminder.StateQueued || st.State == reminder.StateSending {
				pending++
			}
		}
		if pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Second)
	}
	settled := time.Now()

	recs, err := b.recordings()
	if err != nil {
		return err
	}
	accepted := map[string]int{}
	var lastSend time.Time
	for _, r := range recs {
		if !r.Accepted() || r.At.Before(start) {
			continue
		}
		var m whatsapp.Message
		if json.Unmarshal(r.Body, &m) == nil {
			accepted[m.To]++
		}
		if r.At.After(lastSend) {
			lastSend = r.At
		}
	}
	var sentOnce, sentTwice, expired, other int
	var problems []string
	b.mu.Lock()
	for _, v := range visits {
		st := states[v.id]
		sends := accepted[strings.TrimPrefix(v.phone, "+")]
		expiredCallbacks := 0
		for _, reason := range b.failed[v.id] {
			if reason == "expired" {
				expiredCallbacks++
			}
		}
		switch {
		case st.State == reminder.StateSkipped && st.Reason == "expired" && sends == 0:
			expired++
			if callbackAddr != "" && expiredCallbacks != 1 {
				problems = append(problems, fmt.Sprintf("%s: %d expired callbacks, want 1", v.id, expiredCallbacks))
			}
		case sends == 1 && st.State != reminder.StateFailed && st.State != reminder.StateSkipped:
			sentOnce++
			if len(b.failed[v.id]) != 0 {
				problems = append(problems, fmt.Sprintf("%s: sent, yet message.failed %v", v.id, b.failed[v.id]))
			}
		case sends > 1:
			sentTwice++
			problems = append(problems, fmt.Sprintf("%s: sent %d times", v.id, sends))
		default:
			other++
			problems = append(problems, fmt.Sprintf("%s: %s (%s), %d sends", v.id, st.State, st.Reason, sends))
		}
	}
	callbacks := len(b.failed)
	b.mu.Unlock()
	sort.Strings(problems)
	fmt.Printf("settled %s after healing: %d sent once, %d skipped/expired, %d sent more than once, %d other\n",
		settled.Sub(healed).Round(time.Second), sentOnce, expired, sentTwice, other)
	if !lastSend.IsZero() {
		fmt.Printf("last send %s after healing\n", lastSend.Sub(healed).Round(time.Second))
	}
	if callbackAddr != "" {
		fmt.Printf("message.failed callbacks received for %d appointments\n", callbacks)
	} else {
		fmt.Println("callbacks not counted (start make dev with DEMO_EHR_CALLBACK_URL and pass -callback-addr)")
	}
	for _, p := range problems {
		fmt.Println("  ", p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d reminders did not end sent once or expired", len(problems))
	}
	return nil
}

type outageBench struct {
	cfg        devstack.Config
	api, graph string
	http       *http.Client
	mu         sync.Mutex
	failed     map[string][]string // appointment id → message.failed reasons received
	seen       map[string]bool     // event ids: a redelivered event is not a second callback
}

func (b *outageBench) book(id string, i int, phone string, start time.Time) error {
	now := time.Now().UTC()
	body, _ := json.Marshal(map[string]any{
		"status": "booked", "start": start.Truncate(time.Second).Format(time.RFC3339), "durationMinutes": 30,
		"location": map[string]string{"name": "Demo Family Clinic", "address": "100 Example Ave, Springfield"},
		"patient": map[string]string{"id": fmt.Sprintf("%s-patient", id), "phone": phone,
			"givenName": fmt.Sprintf("Bench%d", i), "language": "en-US"},
		"consent":   map[string]string{"whatsapp": "opted_in", "at": now.Add(-time.Hour).Format(time.RFC3339), "source": "bench"},
		"updatedAt": now.Format(time.RFC3339Nano),
	})
	req, err := b.cfg.SignedEHRRequest(context.Background(), http.MethodPut, b.api+"/v1/clinics/"+devstack.DemoClinicID+"/appointments/"+id, now, body)
	if err != nil {
		return err
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return fmt.Errorf("book %s: %w", id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("book %s: %d %s", id, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// reminder reads the visit's reminder that the drill is about: the 2 h one for a
// visit starting within the outage, else the 48 h one.
func (b *outageBench) reminder(id string, soon bool) (ehr.ReminderState, error) {
	req, _ := http.NewRequest(http.MethodGet, b.api+"/v1/clinics/"+devstack.DemoClinicID+"/appointments/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+b.cfg.EHRAPIToken)
	resp, err := b.http.Do(req)
	if err != nil {
		return ehr.ReminderState{}, fmt.Errorf("read %s: %w", id, err)
	}
	defer resp.Body.Close()
	var v struct {
		Reminders []ehr.ReminderState `json:"reminders"`
	}
	if resp.StatusCode != http.StatusOK {
		return ehr.ReminderState{}, fmt.Errorf("read %s: %d", id, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return ehr.ReminderState{}, fmt.Errorf("read %s: %w", id, err)
	}
	want := reminder.KindDayBefore
	if soon {
		want = reminder.KindSameDay
	}
	for _, r := range v.Reminders {
		if r.Kind == want {
			return r, nil
		}
	}
	return ehr.ReminderState{}, fmt.Errorf("%s has no %s reminder", id, want)
}

func (b *outageBench) recordings() ([]whatsapptest.Recorded, error) {
	var recs []whatsapptest.Recorded
	return recs, b.get("/_stub/messages", b.graph, &recs)
}

func (b *outageBench) get(path, base string, v any) error {
	resp, err := b.http.Get(base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", base+path, resp.StatusCode)
	}
	if v == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (b *outageBench) post(url string, v any) error {
	body, _ := json.Marshal(v)
	resp, err := b.http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %d", url, resp.StatusCode)
	}
	return nil
}

// listen counts the demo clinic's message.failed callbacks per appointment. It does
// not check signatures: it only counts what the stack sent.
func (b *outageBench) listen(addr string) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("callback listener: %w", err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev clinic.Event
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&ev); err == nil && ev.Type == clinic.EventMessageFailed {
			id, _ := ev.Field("appointmentId").(string)
			reason, _ := ev.Field("reason").(string)
			b.mu.Lock()
			if !b.seen[ev.ID] {
				b.seen[ev.ID] = true
				b.failed[id] = append(b.failed[id], reason)
			}
			b.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "bench: callback listener:", err)
		}
	}()
	return func() { _ = srv.Close() }, nil
}
