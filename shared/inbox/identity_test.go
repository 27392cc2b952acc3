package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/httpapi"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

const (
	janeBSUID    = "US.13491208655302741918"
	janeNewBSUID = "US.55550100143000000001"
	testScope    = "portfolio:306555010001"
	webhookKey   = "test-app-secret"
)

// memQueue stands in for the inbound SQS queue between the webhook route and the
// inbox (the SQS path itself is covered by TestEndToEndThroughQueues).
type memQueue struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (q *memQueue) Put(_ context.Context, b []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.bodies = append(q.bodies, append([]byte(nil), b...))
	return nil
}

func (q *memQueue) take() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.bodies
	q.bodies = nil
	return out
}

// postThrice posts a signed webhook body to the real webhook route three times (Meta
// retries), then hands what the route queued to the inbound Lambda handler.
func (w *world) postThrice(t *testing.T, name string) {
	t.Helper()
	body := fixture(t, name)
	q := &memQueue{}
	hook := &httpapi.Webhook{
		AppSecret:   func(context.Context) (string, error) { return webhookKey, nil },
		VerifyToken: func(context.Context) (string, error) { return "unused", nil },
		Queue:       q, Log: w.svc.Log,
	}
	router := httpapi.NewRouter(nil, hook, w.svc.Log, w.clock, "")
	for range 3 {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/whatsapp", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", whatsapp.Sign([]byte(webhookKey), body))
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: webhook answered %d: %s", name, rec.Code, rec.Body)
		}
	}
	for _, b := range q.take() {
		if n := w.deliver(b); n != 0 {
			t.Fatalf("%s: %d batch item failures: %s", name, n, lastError(w.logs.String()))
		}
	}
}

func (w *world) eventsOf(typ string) []clinic.Event {
	var out []clinic.Event
	for _, e := range w.events.Events() {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func identityClinic() clinic.Clinic {
	c := testClinic()
	c.BusinessPortfolioID = "306555010001"
	return c
}

// Issue acceptance: Meta-shaped fixtures for a message with phone and BSUID, with
// BSUID only (Confirm, an emergency, STOP), a status with recipient_user_id and a
// number change, each through the real webhook route and the inbound handler three
// times: one effect each, and the username-only sender is handled as the known
// patient they are.
func TestIdentityFixturesThroughTheWebhookRoute(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if err := w.store.PutClinic(ctx, identityClinic()); err != nil {
		t.Fatal(err)
	}
	sends := func() int { return len(w.sentMessages()) }
	steps := []struct {
		fixture string
		check   func(t *testing.T, sentBefore int)
	}{
		{"identity_phone_and_bsuid", func(t *testing.T, sentBefore int) {
			c, mapped, err := w.store.ContactByBSUID(ctx, clinicID, testScope, janeBSUID)
			if err != nil || !mapped || c.Key != "+15550100101" || !slices.Contains(c.PatientIDs, "pat-en") {
				t.Fatalf("BSUID resolves to %+v mapped=%v (%v); want the number of pat-en", c, mapped, err)
			}
			if got := len(w.escalations()); got != 1 {
				t.Errorf("escalations = %d, want 1 (free text to staff)", got)
			}
			if got := sends() - sentBefore; got != 1 {
				t.Errorf("replies = %d, want 1", got)
			}
		}},
		{"identity_bsuid_only_confirm", func(t *testing.T, sentBefore int) {
			if a := w.appointment("appt-en"); a.Response != appointment.ResponseConfirmed {
				t.Errorf("appt-en response = %q, want confirmed", a.Response)
			}
			if got := len(w.eventsOf(clinic.EventAppointmentConfirmed)); got != 1 {
				t.Errorf("confirmed events = %d, want 1", got)
			}
			sent := w.sentMessages()
			if got := len(sent) - sentBefore; got != 1 {
				t.Fatalf("replies = %d, want 1", got)
			}
			if last := sent[len(sent)-1]; last.Recipient != janeBSUID || last.To != "" {
				t.Errorf("reply addressed to=%q recipient=%q; want the BSUID by recipient", last.To, last.Recipient)
			}
		}},
		{"identity_bsuid_only_emergency", func(t *testing.T, sentBefore int) {
			esc := w.escalations()
			last := esc[len(esc)-1]
			if len(esc) != 2 || last.Field("urgency") != UrgencyUrgent || last.Field("patientId") != "pat-en" {
				t.Errorf("escalations %d, last %+v; want one urgent escalation naming pat-en", len(esc), last.Data)
			}
			sent := w.sentMessages()
			if got := len(sent) - sentBefore; got != 1 || sent[len(sent)-1].Text == nil || sent[len(sent)-1].Text.Body != safetyText("en") {
				t.Errorf("safety answers = %d; want the English safety text once", got)
			}
		}},
		{"identity_bsuid_only_stop", func(t *testing.T, sentBefore int) {
			if got := w.consentOf("pat-en"); got != consent.OptedOut {
				t.Errorf("pat-en consent = %s, want opted out", got)
			}
			if got := len(w.eventsOf(clinic.EventPatientOptedOut)); got != 1 {
				t.Errorf("opted-out events = %d, want 1", got)
			}
			c, _ := w.store.GetContact(ctx, clinicID, "+15550100101")
			if !c.OptedOut() {
				t.Error("the number's contact does not hold the STOP")
			}
			if got := sends() - sentBefore; got != 1 {
				t.Errorf("acknowledgements = %d, want 1", got)
			}
		}},
		{"identity_status_recipient_user_id", func(t *testing.T, sentBefore int) {
			rec, err := w.store.GetMessage(ctx, "wamid.REMINDER48HEN")
			if err != nil || rec.Status != messagelog.StatusRead {
				t.Errorf("reminder status = %q (%v), want read", rec.Status, err)
			}
		}},
		{"identity_number_change", func(t *testing.T, sentBefore int) {
			newC, _ := w.store.GetContact(ctx, clinicID, "+15550100143")
			oldC, _ := w.store.GetContact(ctx, clinicID, "+15550100101")
			if !newC.OptedOut() || !oldC.OptedOut() {
				t.Errorf("opt-out on new number %v, old number %v; want both", newC.OptedOut(), oldC.OptedOut())
			}
			if !slices.Contains(newC.PatientIDs, "pat-en") {
				t.Errorf("new number's patients %v; want pat-en carried over", newC.PatientIDs)
			}
			c, mapped, _ := w.store.ContactByBSUID(ctx, clinicID, testScope, janeNewBSUID)
			if !mapped || c.Key != "+15550100143" {
				t.Errorf("new BSUID resolves to %q mapped=%v; want the new number", c.Key, mapped)
			}
			ledger, err := w.store.IdentityChanges(ctx, clinicID, "+15550100101")
			if err != nil || len(ledger) != 1 || ledger[0].ToKey != "+15550100143" || ledger[0].Kind != whatsapp.SystemUserChangedNumber {
				t.Errorf("ledger %+v (%v); want one number change", ledger, err)
			}
			if got := sends() - sentBefore; got != 0 {
				t.Errorf("a system notice got %d replies", got)
			}
		}},
		{"identity_user_id_change", func(t *testing.T, sentBefore int) {
			c, mapped, _ := w.store.ContactByBSUID(ctx, clinicID, testScope, "US.13491208655302749999")
			if !mapped || c.Key != "+15550100101" {
				t.Errorf("the changed BSUID resolves to %q mapped=%v; want the number the old one was seen with", c.Key, mapped)
			}
			ledger, _ := w.store.IdentityChanges(ctx, clinicID, "+15550100101")
			if len(ledger) != 2 {
				t.Errorf("ledger has %d lines, want the number change and the BSUID change", len(ledger))
			}
			if got := sends() - sentBefore; got != 0 {
				t.Errorf("a system notice got %d replies", got)
			}
		}},
	}
	for _, st := range steps {
		t.Run(st.fixture, func(t *testing.T) {
			before := sends()
			w.postThrice(t, st.fixture)
			st.check(t, before)
		})
	}
	w.assertNoIdentityInLogs()
}

// A username-only sender the clinic has never seen with a number: their STOP holds
// on a contact keyed by the BSUID, is acknowledged once by recipient, and later
// follows them onto the number Meta shows beside the BSUID.
func TestUnknownUsernameOnlySenderStop(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if err := w.store.PutClinic(ctx, identityClinic()); err != nil {
		t.Fatal(err)
	}
	const stranger = "US.99887766554433221100"
	w.postThrice(t, "identity_unknown_bsuid_stop")
	c, mapped, err := w.store.ContactByBSUID(ctx, clinicID, testScope, stranger)
	if err != nil || mapped || !c.OptedOut() {
		t.Fatalf("contact %+v mapped=%v (%v); want the BSUID's own contact opted out", c, mapped, err)
	}
	sent := w.sentMessages()
	if len(sent) != 1 || sent[0].Recipient != stranger {
		t.Fatalf("sent %+v; want one acknowledgement by recipient", sent)
	}
	// The same person later writes with a number beside the BSUID: the STOP follows.
	body := w.message("15550100177", textMsg("hello"))
	body = bytes.Replace(body, []byte(`"from":"15550100177"`), []byte(`"from":"15550100177","from_user_id":"`+stranger+`"`), 1)
	if n := w.deliver(body); n != 0 {
		t.Fatalf("delivery failed: %s", lastError(w.logs.String()))
	}
	num, _ := w.store.GetContact(ctx, clinicID, "+15550100177")
	if !num.OptedOut() || num.BSUIDIn(testScope) != stranger {
		t.Errorf("number contact %+v; want the STOP and the BSUID carried over", num)
	}
	w.assertNoIdentityInLogs()
}

// assertNoIdentityInLogs checks that no BSUID, username or profile name reached a log line.
func (w *world) assertNoIdentityInLogs() {
	w.t.Helper()
	logs := w.logs.String()
	for _, secret := range []string{"US.1349", "US.5555", "US.9988", "US.ENT", "@jane", "@zed", "Jane Roe", "Zed Stranger", "15550100143"} {
		if strings.Contains(logs, secret) {
			w.t.Errorf("logs contain %q", secret)
		}
	}
}

func lastError(logs string) string {
	i := strings.LastIndex(logs, `"inbound record failed"`)
	if i < 0 {
		return ""
	}
	return logs[i:min(len(logs), i+600)]
}

// Template lifecycle fixtures through the real webhook route, three times each: a
// category update away from utility and a pause each give one callback to the clinic
// and one alarm line; the approval gives one callback that the template is usable.
func TestTemplateLifecycleFixturesThroughTheWebhookRoute(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	waba := testClinic().WABAID
	alarms := func() int { return strings.Count(w.logs.String(), `"alert":"`+AlertTemplateBlocked+`"`) }
	steps := []struct {
		fixture, name, lang string
		wantBlocked         string
		wantCallbacks       int // template.status_changed so far
		wantAlarms          int
	}{
		{"template_category_update", "appointment_reminder_48h", "en_US", "template_recategorised", 1, 1},
		{"template_paused", "appointment_reminder_2h", "en_US", "template_paused", 2, 2},
		{"template_approved", "appointment_reminder_48h", "en_US", "", 3, 2},
	}
	for _, st := range steps {
		t.Run(st.fixture, func(t *testing.T) {
			w.postThrice(t, st.fixture)
			state, err := w.store.TemplateState(ctx, waba, st.name, st.lang)
			if err != nil || state.Blocked() != st.wantBlocked {
				t.Fatalf("template %s: blocked %q (%v), want %q", st.name, state.Blocked(), err, st.wantBlocked)
			}
			evs := w.eventsOf(clinic.EventTemplateStatusChanged)
			if len(evs) != st.wantCallbacks {
				t.Fatalf("template callbacks = %d, want %d", len(evs), st.wantCallbacks)
			}
			last := evs[len(evs)-1]
			if last.ClinicID != clinicID || last.Field("templateName") != st.name || last.Field("usable") != (st.wantBlocked == "") {
				t.Errorf("callback %+v", last)
			}
			if got := alarms(); got != st.wantAlarms {
				t.Errorf("alarm lines = %d, want %d", got, st.wantAlarms)
			}
		})
	}
	if n := len(w.sentMessages()); n != 0 {
		t.Errorf("template webhooks sent %d messages", n)
	}
}

// bsuidMessage builds a one-message webhook from a username-only sender: no wa_id,
// no from, only the BSUID.
func (w *world) bsuidMessage(bsuid string, msg map[string]any) []byte {
	body := w.message("15550100199", msg)
	var n map[string]any
	_ = json.Unmarshal(body, &n)
	v := n["entry"].([]any)[0].(map[string]any)["changes"].([]any)[0].(map[string]any)["value"].(map[string]any)
	v["contacts"] = []any{map[string]any{"profile": map[string]string{"name": "Jane Roe", "username": "@jane.invented"}, "user_id": bsuid}}
	m := v["messages"].([]any)[0].(map[string]any)
	delete(m, "from")
	m["from_user_id"] = bsuid
	out, _ := json.Marshal(n)
	return out
}

// A username-only sender's quick-reply tap and START work as the known patient's.
func TestUsernameOnlyTapAndStart(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if err := w.store.PutClinic(ctx, identityClinic()); err != nil {
		t.Fatal(err)
	}
	w.postThrice(t, "identity_phone_and_bsuid") // the BSUID is seen beside pat-en's number
	tap := w.bsuidMessage(janeBSUID, map[string]any{"type": "button", "context": map[string]string{"from": "15550100000", "id": "wamid.REMINDER48HEN"},
		"button": map[string]string{"payload": "fd1:cancel:clinic-sol:appt-en:1772636645", "text": "Cancel"}})
	for range 3 {
		if n := w.deliver(tap); n != 0 {
			t.Fatalf("tap failed: %s", lastError(w.logs.String()))
		}
	}
	if a := w.appointment("appt-en"); a.Response != appointment.ResponseCancelledByPatient {
		t.Fatalf("appt-en response %q after a username-only Cancel tap", a.Response)
	}
	if got := len(w.eventsOf(clinic.EventAppointmentCancelRequested)); got != 1 {
		t.Errorf("cancel events = %d, want 1", got)
	}
	w.clock.Advance(time.Minute)
	stop := w.bsuidMessage(janeBSUID, textMsg("STOP"))
	w.clock.Advance(time.Minute)
	start := w.bsuidMessage(janeBSUID, textMsg("START"))
	for _, b := range [][]byte{stop, start, start} {
		if n := w.deliver(b); n != 0 {
			t.Fatalf("delivery failed: %s", lastError(w.logs.String()))
		}
	}
	if got := w.consentOf("pat-en"); got != consent.OptedIn {
		t.Errorf("pat-en consent %s after STOP then START by BSUID, want opted in", got)
	}
	if c, _ := w.store.GetContact(ctx, clinicID, "+15550100101"); c.OptedOut() {
		t.Error("the number's STOP was not lifted by the START")
	}
	w.assertNoIdentityInLogs()
}

// A delivered status that shows the BSUID beside the number a reminder went to
// stores it, so a patient who never writes is reachable by BSUID later.
func TestDeliveredStatusRemembersTheBSUID(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if err := w.store.PutClinic(ctx, identityClinic()); err != nil {
		t.Fatal(err)
	}
	body := fixture(t, "status_read")
	body = bytes.Replace(body, []byte(`"status": "read"`), []byte(`"status": "delivered"`), 1)
	body = bytes.Replace(body, []byte(`"recipient_id": "15550100101"`), []byte(`"recipient_id": "15550100101", "recipient_user_id": "`+janeBSUID+`"`), 1)
	if !bytes.Contains(body, []byte(janeBSUID)) || !bytes.Contains(body, []byte(`"delivered"`)) {
		t.Fatalf("fixture rewrite failed: %s", body)
	}
	for range 3 {
		if n := w.deliver(body); n != 0 {
			t.Fatalf("status failed: %s", lastError(w.logs.String()))
		}
	}
	got, scope, err := w.store.PatientBSUID(ctx, clinicID, "pat-en")
	if err != nil || got != janeBSUID || scope != testScope {
		t.Fatalf("pat-en BSUID %q %q (%v); want the one the delivered status showed", got, scope, err)
	}
	w.assertNoIdentityInLogs()
}
