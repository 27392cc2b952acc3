package devstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

// On the running stack: every example under
// /whatsapp/webhooks in Meta's spec, signed and posted, answers 200 and is processed
// without error. "Processed" is checked where it happens: the inbound queue drains
// (the consumer deletes only what the handler acknowledged), nothing reaches a
// dead-letter queue, the stack logs no error, and every message is accounted for in
// the inbound handler's log.
//
// The examples carry Meta's own phone_number_ids, which no clinic has: those are
// acknowledged and counted. They are posted again addressed to the demo clinic, so
// the real handling paths run (unknown sender: hand-off to staff), and a third time
// from a patient the clinic knows (buttons, keywords, media and the rest).
func TestMetaWebhookExamplesAreProcessed(t *testing.T) {
	w := stackFor(t)
	examples := whatsappspec.RequireWebhookExamples(t)
	if len(examples) == 0 {
		t.Fatal("the spec has no webhook examples")
	}
	w.dumpOnFailure(t, w.logs.Len())

	// A patient of the demo clinic for the third round; booked far enough ahead that
	// no reminder is due during the test.
	known := patientSpec{id: "systest-webhook-patient", phone: "+15550100163", givenName: "Kim"}
	w.book(t, "systest-webhook-appt", known, 10*24*time.Hour)

	rounds := []struct {
		name    string
		rewrite func(v map[string]any)
		// messages says whether the examples' messages reach the inbound handler's
		// per-message path (they do not for an unknown phone_number_id).
		messages bool
	}{
		{name: "as_published", rewrite: func(map[string]any) {}, messages: false},
		{name: "to_demo_clinic", rewrite: func(v map[string]any) { setPhoneNumberID(v, w.cfg.PhoneNumberID) }, messages: true},
		{name: "from_known_patient", rewrite: func(v map[string]any) {
			setPhoneNumberID(v, w.cfg.PhoneNumberID)
			setSender(v, strings.TrimPrefix(known.phone, "+"), "-known", time.Now())
		}, messages: true},
	}
	for _, round := range rounds {
		t.Run(round.name, func(t *testing.T) {
			offset := w.logs.Len()
			var wantValues, wantMessages int
			wamids := map[string]bool{}
			for _, ex := range examples {
				body, n := rewriteExample(t, ex.JSON, round.rewrite)
				wantValues += n.valuesWithContent
				wantMessages += n.messages
				for _, id := range n.wamids {
					wamids[id] = true
				}
				if code := w.postWebhook(t, body); code != http.StatusOK {
					t.Errorf("example %q: webhook answered %d, want 200", ex.Name, code)
				}
			}
			w.settle(t, offset)

			lines := linesSince(w.logs, offset)
			if !round.messages {
				// Every value with messages or statuses is acknowledged and counted.
				if got := countMsg(lines, "inbound_unknown_phone_number_id"); got != wantValues {
					t.Errorf("%d payloads logged as for an unknown phone_number_id, want %d", got, wantValues)
				}
				return
			}
			// Each message is handled once, or recognised as a copy of one already
			// handled (some examples share a wamid).
			handled, dup := 0, 0
			outcomes := map[string]int{}
			for _, m := range lines {
				switch m["msg"] {
				case "inbound message handled":
					handled++
					outcomes[fmt.Sprintf("%v/%v", m["type"], m["outcome"])]++
				case "inbound message duplicate":
					dup++
				}
			}
			t.Logf("type/outcome of the handled messages: %v", outcomes)
			if handled+dup != wantMessages {
				t.Errorf("inbound handler logged %d handled + %d duplicate messages, want %d in all", handled, dup, wantMessages)
			}
			if handled != len(wamids) {
				t.Errorf("%d distinct messages handled, want %d (one per distinct wamid)", handled, len(wamids))
			}
		})
	}
}

// settle waits until everything the posted webhooks set off is done: the inbound
// queue drained, the replies' status webhooks posted by the stand-in and drained in
// turn, the clinic notifications delivered. Then no dead-letter queue may hold
// anything and the stack must not have logged an error.
func (w *world) settle(t *testing.T, offset int) {
	t.Helper()
	w.waitDrained(t, queue.Inbound, offset)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := w.stack.Stub.Flush(ctx); err != nil {
		t.Fatalf("status webhooks of the replies: %v", err)
	}
	w.waitDrained(t, queue.Inbound, offset)
	w.waitDrained(t, queue.EHROutbox, offset)
	for _, q := range queue.Queues() {
		if v, f, d := w.queueDepth(t, q.DLQName()); v+f+d != 0 {
			t.Errorf("dead-letter queue %s holds %d messages", q.DLQName(), v+f+d)
		}
	}
	if errs := errorsSince(w.logs, offset); len(errs) > 0 {
		t.Errorf("the stack logged errors:\n%s", strings.Join(errs, "\n"))
	}
	if _, rejected := w.callback.snapshot(); len(rejected) > 0 {
		t.Errorf("the clinic's callback receiver rejected deliveries: %q", rejected)
	}
}

type exampleCounts struct {
	valuesWithContent int // change values with messages, statuses or errors
	messages          int
	wamids            []string
}

// rewriteExample applies rewrite to every change value of a webhook example and
// returns the new body with what it contains. Numbers are kept as written (wa_ids
// appear as JSON numbers in some examples).
func rewriteExample(t *testing.T, raw []byte, rewrite func(map[string]any)) ([]byte, exampleCounts) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("example is not a JSON object: %v", err)
	}
	var n exampleCounts
	for _, e := range asList(doc["entry"]) {
		for _, c := range asList(asMap(e)["changes"]) {
			change := asMap(c)
			v := asMap(change["value"])
			if v == nil {
				continue
			}
			rewrite(v)
			if change["field"] != "messages" {
				continue
			}
			msgs := asList(v["messages"])
			if len(msgs) > 0 || len(asList(v["statuses"])) > 0 || len(asList(v["errors"])) > 0 {
				n.valuesWithContent++
			}
			n.messages += len(msgs)
			for _, m := range msgs {
				if id, _ := asMap(m)["id"].(string); id != "" {
					n.wamids = append(n.wamids, id)
				}
			}
		}
	}
	body, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return body, n
}

func setPhoneNumberID(v map[string]any, id string) {
	md := asMap(v["metadata"])
	if md == nil {
		md = map[string]any{"display_phone_number": "15550100000"}
		v["metadata"] = md
	}
	md["phone_number_id"] = id
}

// setSender makes every message and contact of a value come from waID, just now,
// and makes the message ids new (suffix) so they are not duplicates of an earlier
// round. "Now" matters: the examples' own timestamps are older than the patient's
// opt-in and outside the 24-hour window, which would route around the paths a
// patient writing today takes.
func setSender(v map[string]any, waID, suffix string, at time.Time) {
	for _, c := range asList(v["contacts"]) {
		asMap(c)["wa_id"] = waID
	}
	for _, m := range asList(v["messages"]) {
		msg := asMap(m)
		msg["from"] = waID
		msg["timestamp"] = strconv.FormatInt(at.Unix(), 10)
		if id, ok := msg["id"].(string); ok {
			msg["id"] = id + suffix
		}
	}
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }
func asList(v any) []any         { l, _ := v.([]any); return l }

func countMsg(lines []map[string]any, msg string) int {
	n := 0
	for _, m := range lines {
		if m["msg"] == msg {
			n++
		}
	}
	return n
}
