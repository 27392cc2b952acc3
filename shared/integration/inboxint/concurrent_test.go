package inboxint

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/clinic/clinictest"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/inbox"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// workers is two inbox instances (two Lambda invocations) on one DynamoDB store,
// one Graph API stand-in and one event recorder.
type workers struct {
	t      *testing.T
	store  *dynamo.Store
	clock  *platform.FakeClock
	graph  *whatsapptest.Server
	events *clinictest.Recorder
	svcs   [2]*inbox.Service
}

func newWorkers(t *testing.T) *workers {
	t.Helper()
	client, names := localtest.Dynamo(t)
	clock := platform.NewFakeClock(msgTime.Add(30 * time.Second))
	w := &workers{t: t, store: dynamo.NewStore(client, names, clock, 4), clock: clock, events: &clinictest.Recorder{}}
	seed(t, w.store, testClinic(""))
	w.graph = whatsapptest.NewServer(t, whatsapptest.Config{AccessToken: graphToken, AppSecret: "test-app-secret", Clock: clock})
	for i := range w.svcs {
		w.svcs[i] = &inbox.Service{
			Store:  w.store,
			Events: w.events,
			Replies: outreach.NewSender(&outreach.Sender{Store: w.store, Claims: w.store, Clock: clock,
				Messenger: &whatsapp.Client{BaseURL: w.graph.URL, Version: graphVersion, HTTP: w.graph.Client(),
					Token: func(context.Context) (string, error) { return graphToken, nil }}}),
			Clock: clock,
			Log:   platform.NewLogger(&localtest.LogBuffer{}, slog.LevelDebug),
		}
	}
	return w
}

// deliverConcurrently hands each body to a worker, all at once, then hands the
// records that failed (a claim another worker held) back again, as SQS does after
// the visibility timeout, until none fails. It returns how many rounds it took.
func (w *workers) deliverConcurrently(bodies ...[]byte) int {
	w.t.Helper()
	pending := bodies
	for round := 1; round <= 10; round++ {
		var mu sync.Mutex
		var failed [][]byte
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, b := range pending {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: fmt.Sprintf("m-%d-%d", round, i), Body: string(b),
					Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(round)}, EventSource: "aws:sqs"}}}
				resp, err := w.svcs[i%len(w.svcs)].Handle(context.Background(), ev)
				if err != nil {
					w.t.Errorf("handle returned an error (must report item failures instead): %v", err)
					return
				}
				if len(resp.BatchItemFailures) > 0 {
					mu.Lock()
					failed = append(failed, b)
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(failed) == 0 {
			return round
		}
		pending = failed
	}
	w.t.Fatalf("records still failing after 10 rounds")
	return 0
}

// accepted counts the sends the Graph API stand-in accepted.
func (w *workers) accepted() int {
	n := 0
	for _, r := range w.graph.Sent() {
		if r.Accepted() {
			n++
		}
	}
	return n
}

func (w *workers) eventsOf(typ string) []clinic.Event {
	var out []clinic.Event
	for _, e := range w.events.Events() {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// textFrom is a one-message webhook: a text from waID with its own wamid.
func textFrom(t *testing.T, waID, wamid, text string) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": "206555010001", "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]string{"display_phone_number": "15550100000", "phone_number_id": phoneNumberID},
			"contacts":          []any{map[string]any{"profile": map[string]string{"name": "Zed Stranger"}, "wa_id": waID}},
			"messages": []any{map[string]any{"from": waID, "id": wamid, "timestamp": strconv.FormatInt(msgTime.Unix(), 10),
				"type": "text", "text": map[string]string{"body": text}}},
		}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// Meta delivering one Confirm tap six times, to two workers at once: the reply's
// claim is a real conditional write, so one reply goes out, the answer is applied
// once, and every copy of the clinic event a delivery published is the same event
// (one webhook-id, which the clinic dedupes on).
func TestConcurrentRedeliveriesActOnce(t *testing.T) {
	w := newWorkers(t)
	body := fixture(t, "button_confirm_en")
	rounds := w.deliverConcurrently(body, body, body, body, body, body)
	if n := w.accepted(); n != 1 {
		t.Errorf("replies = %d, want 1 (after %d rounds)", n, rounds)
	}
	evs := w.eventsOf(clinic.EventAppointmentConfirmed)
	if len(evs) == 0 || len(evs) != len(w.events.Events()) {
		t.Fatalf("events %+v, want only %s", w.events.Events(), clinic.EventAppointmentConfirmed)
	}
	for _, e := range evs {
		if e.ID != evs[0].ID || e.Field("response") != evs[0].Field("response") {
			t.Fatalf("events %+v: copies of one event must be the same event", evs)
		}
	}
	if want := eventID(clinic.EventAppointmentConfirmed, "wamid.HBgLMTU1NTAxMDAxMDEVAgASGBQzBTNCONFIRMEN"); evs[0].ID != want {
		t.Errorf("event id %s, want %s (derived from the wamid)", evs[0].ID, want)
	}
	a, _, err := w.store.GetAppointment(context.Background(), clinicID, appointmentID)
	if err != nil || a.Response != appointment.ResponseConfirmed {
		t.Fatalf("appointment %+v %v, want confirmed", a, err)
	}
}

// Two different emergency messages from one number, handled at once by two
// workers: the safety-answer slot is one conditional write, so the number gets one
// safety answer, and both messages still reach staff.
func TestConcurrentEmergenciesGetOneSafetyAnswer(t *testing.T) {
	w := newWorkers(t)
	const stranger = "15550100183"
	w.deliverConcurrently(
		textFrom(t, stranger, "wamid.HBgLCONCURRENTEMERGENCY1", "I can't breathe"),
		textFrom(t, stranger, "wamid.HBgLCONCURRENTEMERGENCY2", "chest pain, help"),
	)
	if n := w.accepted(); n != 1 {
		t.Errorf("safety answers = %d, want 1", n)
	}
	ids := map[string]bool{}
	for _, e := range w.eventsOf(clinic.EventConversationEscalated) {
		ids[e.ID] = true
	}
	if len(ids) != 2 {
		t.Errorf("escalations %+v, want both messages escalated", w.eventsOf(clinic.EventConversationEscalated))
	}
	c, err := w.store.GetContact(context.Background(), clinicID, "+"+stranger)
	if err != nil || c.SafetyAnsweredAt.IsZero() {
		t.Fatalf("contact %+v %v: the answer's slot is not recorded", c, err)
	}
}
