package handoff_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	appsender "github.com/frontdesk-health/frontdesk/shared/app/sender"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/clinic/clinictest"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/handoff"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/outbound/outboundtest"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/thread"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// graph stands in for the Graph API (it cannot run here).
type graph struct {
	mu   sync.Mutex
	sent []whatsapp.Message
	n    int
}

func (g *graph) Send(_ context.Context, _ string, m whatsapp.Message) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sent = append(g.sent, m)
	g.n++
	return fmt.Sprintf("wamid.test%d", g.n), nil
}

type alerts struct{ got []handoff.Alert }

func (a *alerts) Alert(_ context.Context, al handoff.Alert) error {
	a.got = append(a.got, al)
	return nil
}

var t0 = time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)

var demo = clinic.Clinic{ID: "clinic-a", Name: "Demo Family Clinic", TimeZone: "America/New_York", PhoneNumberID: "100000000000001",
	DefaultLanguage: "en-US"}

type env struct {
	svc    *handoff.Service
	store  *dynamo.Store
	clock  *platform.FakeClock
	graph  *graph
	alerts *alerts
	queue  *outboundtest.Recorder
	sender *outreach.Sender
	events *clinictest.Recorder
}

func newEnv(t *testing.T) *env {
	t.Helper()
	client, names := localtest.Dynamo(t)
	clock := platform.NewFakeClock(t0)
	store := dynamo.NewStore(client, names, clock, 1)
	e := &env{store: store, clock: clock, graph: &graph{}, alerts: &alerts{}, queue: &outboundtest.Recorder{}, events: &clinictest.Recorder{}}
	if err := store.PutClinic(context.Background(), demo); err != nil {
		t.Fatal(err)
	}
	e.svc = &handoff.Service{Store: store, Outbox: e.queue, Alerter: e.alerts, Clock: clock, APIBaseURL: "https://api.example"}
	e.sender = appsender.New(appsender.Deps{Store: store, Messenger: e.graph, Claims: store, Pacer: store, Clock: clock,
		Completions: appsender.Completions(store, e.events, clock, nil)})
	return e
}

// drain hands the queued jobs to the sender, each delivered deliveries times (SQS
// delivers at least once), as the outbound queue's event source mapping would.
func (e *env) drain(t *testing.T, deliveries int) {
	t.Helper()
	for i, job := range e.queue.Take() {
		body, err := json.Marshal(job)
		if err != nil {
			t.Fatal(err)
		}
		for d := range deliveries {
			rec := events.SQSMessage{MessageId: fmt.Sprintf("m%d-%d", i, d), Body: string(body),
				Attributes: map[string]string{"ApproximateReceiveCount": "1"}}
			resp, err := e.sender.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{rec}})
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("sender: %v, %d records handed back", err, len(resp.BatchItemFailures))
			}
		}
	}
}

// stored is the thread's copy of message id.
func (e *env) stored(t *testing.T, conversationID, id string) thread.Message {
	t.Helper()
	msgs, _, err := e.store.ThreadMessages(context.Background(), demo.ID, conversationID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("message %s is not in the thread", id)
	return thread.Message{}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func inbound(key, text string, at time.Time) handoff.Inbound {
	return handoff.Inbound{ContactKey: key, MessageID: messagelog.ID("wamid." + key + text + at.String()), At: at, Type: "text", Text: text}
}

// The reply rules: free-form inside the window; outside it only the reopen template;
// an opted-out contact only after it wrote again; nothing stored or audited when refused.
func TestReplyRules(t *testing.T) {
	cases := []struct {
		name      string
		wroteAgo  time.Duration
		stopAgo   time.Duration // 0: never said STOP
		wroteLate bool          // the contact wrote again after its STOP
		ehrStop   bool          // the STOP came from the EHR, for the one patient on the number
		template  string
		wantErr   error
		wantSend  string // "text" or "template"
		wantState string // in the thread once the sender sent it
	}{
		{name: "inside the window", wroteAgo: time.Hour, wantSend: "text", wantState: thread.StatusAccepted},
		{name: "window closed", wroteAgo: 25 * time.Hour, wantErr: thread.ErrWindowClosed},
		{name: "window closed, reopen template", wroteAgo: 25 * time.Hour, template: thread.TemplateReopen, wantSend: "template", wantState: thread.StatusPending},
		{name: "reopen asked inside the window sends the text", wroteAgo: time.Hour, template: thread.TemplateReopen, wantSend: "text", wantState: thread.StatusAccepted},
		{name: "opted out after the message", wroteAgo: 2 * time.Hour, stopAgo: time.Hour, wantErr: thread.ErrOptedOut},
		{name: "opted out, then wrote again", wroteAgo: 2 * time.Hour, stopAgo: time.Hour, wroteLate: true, wantSend: "text", wantState: thread.StatusAccepted},
		{name: "patient opted out through the EHR", wroteAgo: 2 * time.Hour, stopAgo: time.Hour, ehrStop: true, wantErr: thread.ErrOptedOut},
		{name: "patient opted out through the EHR, then wrote", wroteAgo: 2 * time.Hour, stopAgo: time.Hour, ehrStop: true, wroteLate: true,
			wantSend: "text", wantState: thread.StatusAccepted},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := ctxT(t)
			key := fmt.Sprintf("+155501001%02d", 40+i)
			patient := "pat-" + key[1:]
			first := inbound(key, "question", t0.Add(-tc.wroteAgo))
			first.PatientIDs = []string{patient}
			ref, err := e.svc.HandOff(ctx, demo, first, "free_text", thread.Normal)
			if err != nil {
				t.Fatal(err)
			}
			if tc.ehrStop {
				for _, st := range []struct {
					s  consent.State
					at time.Time
				}{{consent.OptedIn, t0.Add(-30 * 24 * time.Hour)}, {consent.OptedOut, t0.Add(-tc.stopAgo)}} {
					if err := e.store.AppendConsent(ctx, consent.Entry{ClinicID: demo.ID, PatientID: patient, ID: string(st.s) + key,
						State: st.s, At: st.at, Source: consent.SourceEHR, RecordedAt: t0}); err != nil {
						t.Fatal(err)
					}
				}
			} else if tc.stopAgo > 0 {
				stop := consent.Entry{ClinicID: demo.ID, PatientID: key, ID: "stop-" + key, State: consent.OptedOut,
					At: t0.Add(-tc.stopAgo), Source: consent.SourceWhatsApp, RecordedAt: t0}
				if _, err := e.store.RecordContactConsent(ctx, demo.ID, key, stop); err != nil {
					t.Fatal(err)
				}
			}
			if tc.wroteLate {
				late := inbound(key, "sorry, one more thing", t0.Add(-time.Minute))
				late.PatientIDs = []string{patient}
				if _, err := e.svc.Received(ctx, demo, late); err != nil {
					t.Fatal(err)
				}
			}
			before := e.count(t, ref.ID)
			m, err := e.svc.Reply(ctx, demo, "token:write", ref.ID, thread.Reply{Text: "Staff answer", Author: "Sam", Template: tc.template})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				if e.queue.Published() != 0 || e.count(t, ref.ID) != before {
					t.Fatalf("a refused reply queued %d messages or stored something", e.queue.Published())
				}
				return
			}
			// Answered at once, sent by the sender: queued until then (a reopen
			// template's text waits for the patient either way).
			wantNow := thread.StatusQueued
			if tc.wantState == thread.StatusPending {
				wantNow = thread.StatusPending
			}
			if m.Status != wantNow || len(e.graph.sent) != 0 {
				t.Fatalf("answered %s with %d sends before the sender ran, want %s and none", m.Status, len(e.graph.sent), wantNow)
			}
			e.drain(t, 1)
			if got := e.stored(t, ref.ID, m.ID); got.Status != tc.wantState || (tc.wantSend == "text") != (got.WAMID != "") {
				t.Fatalf("in the thread after the send: %+v, want %s", got, tc.wantState)
			}
			if len(e.graph.sent) != 1 || e.graph.sent[0].Type != tc.wantSend {
				t.Fatalf("sent %+v, want one %s", e.graph.sent, tc.wantSend)
			}
			if tc.wantSend == "text" && e.graph.sent[0].Text.Body != "Staff answer" {
				t.Fatalf("sent text %q", e.graph.sent[0].Text.Body)
			}
			if m.Author != thread.Staff || m.AuthorName != "Sam" {
				t.Fatalf("reply %+v", m)
			}
			if e.count(t, ref.ID) != before+2 {
				t.Fatal("the reply is not in the thread and the audit trail")
			}
		})
	}
}

// count is the thread's length plus the clinic's audit entries.
func (e *env) count(t *testing.T, id string) int {
	t.Helper()
	msgs, _, err := e.store.ThreadMessages(context.Background(), demo.ID, id, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	audit, _, err := e.store.AuditTrail(context.Background(), demo.ID, t0.Add(-48*time.Hour), t0.Add(time.Hour), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(msgs) + len(audit)
}

// A pending staff text goes out once when the patient next writes, and a second
// reopen request while it waits is refused.
func TestPendingTextFollowsThePatientsAnswer(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	key := "+15550100150"
	ref, err := e.svc.HandOff(ctx, demo, inbound(key, "question", t0.Add(-30*time.Hour)), "free_text", thread.Normal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Reply(ctx, demo, "token:write", ref.ID, thread.Reply{Text: "Waiting text", Author: "Sam", Template: "reopen"}); err != nil {
		t.Fatal(err)
	}
	e.drain(t, 1)
	_, err = e.svc.Reply(ctx, demo, "token:write", ref.ID, thread.Reply{Text: "Another", Author: "Sam", Template: "reopen"})
	if !errors.Is(err, thread.ErrReopenPending) {
		t.Fatalf("second reopen: %v, want ErrReopenPending", err)
	}
	for range 2 { // the tap, and a message right after it
		e.clock.Advance(time.Minute)
		if _, err := e.svc.Received(ctx, demo, inbound(key, "tap", e.clock.Now())); err != nil {
			t.Fatal(err)
		}
		e.drain(t, 2)
	}
	var texts []string
	for _, m := range e.graph.sent {
		if m.Text != nil {
			texts = append(texts, m.Text.Body)
		}
	}
	if len(texts) != 1 || texts[0] != "Waiting text" {
		t.Fatalf("texts sent %q, want the waiting text once", texts)
	}
	msgs, _, _ := e.store.ThreadMessages(ctx, demo.ID, ref.ID, "", 100)
	for _, m := range msgs {
		if m.Text == "Waiting text" && (m.Status != thread.StatusAccepted || m.WAMID == "") {
			t.Fatalf("the waiting text is %+v after it went out", m)
		}
	}
}

// Urgency: an emergency alerts once when the conversation becomes urgent; later
// normal hand-offs keep it urgent; a redelivered message changes nothing; closing
// and the next hand-off start over; a message the bot answered does not reopen it.
func TestHandOffStatesAndAlerts(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	key := "+15550100151"
	first := inbound(key, "chest pain", t0)
	steps := []struct {
		name       string
		do         func() error
		wantState  thread.State
		wantUrg    string
		wantUnread int
		wantAlerts int
	}{
		{"emergency", func() error { _, err := e.svc.HandOff(ctx, demo, first, "emergency", thread.Urgent); return err },
			thread.Open, thread.Urgent, 1, 1},
		{"the same message again", func() error { _, err := e.svc.HandOff(ctx, demo, first, "emergency", thread.Urgent); return err },
			thread.Open, thread.Urgent, 1, 1},
		{"another emergency", func() error {
			_, err := e.svc.HandOff(ctx, demo, inbound(key, "still chest pain", t0.Add(time.Minute)), "emergency", thread.Urgent)
			return err
		}, thread.Open, thread.Urgent, 2, 1},
		{"free text", func() error {
			_, err := e.svc.HandOff(ctx, demo, inbound(key, "hello?", t0.Add(2*time.Minute)), "free_text", thread.Normal)
			return err
		}, thread.Open, thread.Urgent, 3, 1},
		{"closed", func() error { _, err := e.svc.Close(ctx, demo, "token:write", e.id(t, key)); return err },
			thread.Closed, thread.Urgent, 0, 1},
		{"a tap the bot answered", func() error {
			_, err := e.svc.Received(ctx, demo, inbound(key, "confirm", t0.Add(3*time.Minute)))
			return err
		}, thread.Closed, thread.Urgent, 0, 1},
		{"free text reopens as normal", func() error {
			_, err := e.svc.HandOff(ctx, demo, inbound(key, "parking?", t0.Add(4*time.Minute)), "free_text", thread.Normal)
			return err
		}, thread.Open, thread.Normal, 1, 1},
		{"a new emergency alerts again", func() error {
			_, err := e.svc.HandOff(ctx, demo, inbound(key, "can't breathe", t0.Add(5*time.Minute)), "emergency", thread.Urgent)
			return err
		}, thread.Open, thread.Urgent, 2, 2},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		c, found, err := e.store.ConversationOfContact(ctx, demo.ID, key)
		if err != nil || !found {
			t.Fatalf("%s: %v %v", s.name, found, err)
		}
		if c.State != s.wantState || c.Urgency != s.wantUrg || c.Unread != s.wantUnread || len(e.alerts.got) != s.wantAlerts {
			t.Errorf("%s: state %s urgency %s unread %d alerts %d; want %s %s %d %d", s.name, c.State, c.Urgency, c.Unread,
				len(e.alerts.got), s.wantState, s.wantUrg, s.wantUnread, s.wantAlerts)
		}
	}
	if a := e.alerts.got[0]; a.URL != "https://api.example/v1/clinics/clinic-a/conversations/"+a.ConversationID {
		t.Errorf("alert %+v", a)
	}
}

func (e *env) id(t *testing.T, key string) string {
	c, _, err := e.store.ConversationOfContact(context.Background(), demo.ID, key)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// Messages from a new contact handled at the same moment (several inbound workers)
// make one conversation that counts every one of them.
func TestConcurrentHandOffsMakeOneConversation(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	key := "+15550100152"
	const n = 4
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.svc.HandOff(ctx, demo, inbound(key, fmt.Sprintf("message %d", i), t0.Add(time.Duration(i)*time.Second)), "free_text", thread.Normal)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c, found, err := e.store.ConversationOfContact(ctx, demo.ID, key)
	if err != nil || !found {
		t.Fatalf("%v %v", found, err)
	}
	msgs, _, err := e.store.ThreadMessages(ctx, demo.ID, c.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != n || c.Unread != n {
		t.Fatalf("%d messages in the thread, unread %d; want %d and %d", len(msgs), c.Unread, n, n)
	}
}

// The reopen template goes out in the language the contact was answered in.
func TestReopenTemplateInTheContactsLanguage(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	in := inbound("+15550100153", "¿Puedo llegar más tarde?", t0.Add(-30*time.Hour))
	in.Language = "es-MX"
	ref, err := e.svc.HandOff(ctx, demo, in, "free_text", thread.Normal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Reply(ctx, demo, "token:write", ref.ID, thread.Reply{Text: "Sí", Author: "Sam", Template: "reopen"}); err != nil {
		t.Fatal(err)
	}
	e.drain(t, 1)
	if len(e.graph.sent) != 1 || e.graph.sent[0].Template == nil || !strings.HasPrefix(e.graph.sent[0].Template.Language.Code, "es") {
		t.Fatalf("sent %+v, want the reopen template in Spanish", e.graph.sent)
	}
}

// The time from a hand-off to staff's first answer is counted once per hand-off:
// not again for a second reply, not for a reply after staff closed the
// conversation, and again for the next hand-off that reopens it.
func TestFirstStaffAnswerCountsTheHandOffTime(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	e.svc.Metrics = &metrics.Recorder{Store: e.store}
	key := "+15550100154"
	ref, err := e.svc.HandOff(ctx, demo, inbound(key, "Can I come later?", t0.Add(-8*time.Minute)), "free_text", thread.Normal)
	if err != nil {
		t.Fatal(err)
	}
	reply := func(text string) {
		t.Helper()
		if _, err := e.svc.Reply(ctx, demo, "token:write", ref.ID, thread.Reply{Text: text, Author: "Sam"}); err != nil {
			t.Fatal(err)
		}
	}
	reply("Yes") // 8 minutes after the hand-off: (5, 10] min
	e.clock.Advance(5 * time.Minute)
	reply("See you then") // a second answer to the same hand-off
	if _, err := e.svc.Close(ctx, demo, "token:write", ref.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	reply("One more thing") // after close: no hand-off waits
	e.clock.Advance(time.Hour)
	if _, err := e.svc.HandOff(ctx, demo, inbound(key, "And parking?", e.clock.Now()), "free_text", thread.Normal); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(40 * time.Second)
	reply("Free parking behind the clinic") // 40 s: (0, 1] min
	reply("Anything else?")

	days, err := e.store.MetricDays(ctx, demo.ID, "2026-11-30", "2026-11-30")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, d := range days {
		for k, n := range d.Counts {
			if strings.HasPrefix(k, "handOffLe_") {
				got[k] += n
			}
		}
	}
	if want := map[string]int64{"handOffLe_00": 1, "handOffLe_03": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("hand-off buckets %v, want %v (bounds %v)", got, want, metrics.HandOffBounds[:4])
	}
	q, _ := metrics.ParseQuery("2026-11-30", "2026-11-30", "day")
	if h := metrics.Summarise(q, days, metrics.DefaultRateCard()).Total.HandOffAnswer; h.Count != 2 {
		t.Errorf("hand-offs answered %+v, want 2", h)
	}
}

// A staff reply is queued, then sent once however often its job is delivered, and
// its thread message carries the wamid (which Meta's statuses then move on).
func TestStaffReplyQueuedThenSentOnce(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	key := "+15550100155"
	ref, err := e.svc.HandOff(ctx, demo, inbound(key, "Can I bring my son?", t0.Add(-time.Hour)), "free_text", thread.Normal)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.svc.Reply(ctx, demo, "token:write", ref.ID, thread.Reply{Text: "Of course.", Author: "Sam"})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.stored(t, ref.ID, m.ID); got.Status != thread.StatusQueued || got.WAMID != "" {
		t.Fatalf("before the sender ran: %+v, want queued", got)
	}
	e.drain(t, 3)
	if len(e.graph.sent) != 1 || e.graph.sent[0].Text == nil || e.graph.sent[0].Text.Body != "Of course." {
		t.Fatalf("sent %+v, want the reply once", e.graph.sent)
	}
	got := e.stored(t, ref.ID, m.ID)
	if got.Status != thread.StatusAccepted || got.WAMID != "wamid.test1" {
		t.Fatalf("after the send: %+v, want accepted with its wamid", got)
	}
	if err := e.svc.Delivery(ctx, demo.ID, got.WAMID, "delivered"); err != nil {
		t.Fatal(err)
	}
	if got := e.stored(t, ref.ID, m.ID); got.Status != "delivered" {
		t.Fatalf("after Meta's status: %s, want delivered", got.Status)
	}
	if evs := e.events.Events(); len(evs) != 0 {
		t.Fatalf("events for a reply that went out: %+v", evs)
	}
}

// A staff reply whose job reaches the sender after the patient's window closed is
// not sent: its thread message is failed with the reason, for staff to see.
func TestStaffReplyAfterTheWindowClosedFailsVisibly(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	key := "+15550100156"
	ref, err := e.svc.HandOff(ctx, demo, inbound(key, "Are you open?", t0.Add(-24*time.Hour+time.Minute)), "free_text", thread.Normal)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.svc.Reply(ctx, demo, "token:write", ref.ID, thread.Reply{Text: "Yes, until six.", Author: "Sam"})
	if err != nil {
		t.Fatalf("inside the window: %v", err)
	}
	e.clock.Advance(2 * time.Minute) // the job waited on the queue past the window
	e.drain(t, 2)
	if len(e.graph.sent) != 0 {
		t.Fatalf("sent %d messages after the window closed", len(e.graph.sent))
	}
	if got := e.stored(t, ref.ID, m.ID); got.Status != thread.StatusFailed || got.Reason != outbound.ReasonWindowClosed {
		t.Fatalf("in the thread: %+v, want failed (window_closed)", got)
	}
	evs := e.events.Events()
	if len(evs) != 1 || evs[0].Type != clinic.EventMessageFailed || evs[0].Field("messageId") != m.ID ||
		evs[0].Field("conversationId") != ref.ID || evs[0].Field("reason") != outbound.ReasonWindowClosed {
		t.Fatalf("events %+v, want one message.failed naming the message", evs)
	}
}

// A bot reply that had to wait goes out later from the outbound queue; once sent
// it joins the contact's conversation, once however often its job is delivered,
// as the inbox adds the replies it sends itself.
func TestQueuedBotReplyJoinsTheConversationOnce(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	key := "+15550100245"
	ref, err := e.svc.HandOff(ctx, demo, inbound(key, "question", t0.Add(-time.Minute)), "free_text", thread.Normal)
	if err != nil {
		t.Fatal(err)
	}
	before := e.count(t, ref.ID)
	text, err := whatsapp.TextMessage(key, "Thanks, the clinic will answer soon.")
	if err != nil {
		t.Fatal(err)
	}
	job := outbound.Job{Type: outbound.KindReply, Job: reminder.Job{ClinicID: demo.ID}, ContactKey: key,
		Key: "reply:wamid.queued-bot-reply", Message: &text, WindowEndsAt: t0.Add(time.Hour)}
	if err := e.queue.PublishJobs(ctx, job); err != nil {
		t.Fatal(err)
	}
	e.drain(t, 2)
	msgs, _, err := e.store.ThreadMessages(ctx, demo.ID, ref.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var bot []thread.Message
	for _, m := range msgs {
		if m.Author == thread.Frontdesk && m.Text == "Thanks, the clinic will answer soon." {
			bot = append(bot, m)
		}
	}
	if len(msgs) != before+1 || len(bot) != 1 || bot[0].WAMID == "" || bot[0].Direction != thread.Outbound {
		t.Fatalf("thread after the queued reply: %d messages (was %d), bot copies %+v", len(msgs), before, bot)
	}
}

// A staff reply to a contact who wrote again after STOP goes out past that STOP,
// but a new STOP said while the reply waits on the queue holds it back: the reply
// fails opted_out and nothing reaches the patient.
func TestNewStopHoldsBackAQueuedStaffReply(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	key := "+15550100246"
	first := inbound(key, "question", t0.Add(-2*time.Hour))
	ref, err := e.svc.HandOff(ctx, demo, first, "free_text", thread.Normal)
	if err != nil {
		t.Fatal(err)
	}
	stop := func(id string, at time.Time) {
		t.Helper()
		if _, err := e.store.RecordContactConsent(ctx, demo.ID, key, consent.Entry{ClinicID: demo.ID, PatientID: key, ID: id,
			State: consent.OptedOut, At: at, Source: consent.SourceWhatsApp, RecordedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	stop("stop-1", t0.Add(-time.Hour))
	if _, err := e.svc.Received(ctx, demo, inbound(key, "sorry, one more thing", t0.Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	m, err := e.svc.Reply(ctx, demo, "token:write", ref.ID, thread.Reply{Text: "Staff answer", Author: "Sam"})
	if err != nil {
		t.Fatalf("reply after the contact wrote again: %v", err)
	}
	stop("stop-2", t0)
	e.drain(t, 2)
	if len(e.graph.sent) != 0 {
		t.Fatalf("sent %+v after a new STOP, want nothing", e.graph.sent)
	}
	if got := e.stored(t, ref.ID, m.ID); got.Status != thread.StatusFailed || got.Reason != outbound.ReasonOptedOut {
		t.Fatalf("in the thread: %+v, want failed (opted_out)", got)
	}
}
