package notices_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	appsender "github.com/frontdesk-health/frontdesk/shared/app/sender"
	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/clinic/clinictest"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/notice"
	"github.com/frontdesk-health/frontdesk/shared/notices"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/outbound/outboundtest"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// 15:00 UTC is 10:00 in New York.
var t0 = time.Date(2031, 3, 12, 15, 0, 0, 0, time.UTC)

const (
	queuedClinicID = "clinic-notices"
	patientID      = "pat-n1"
	phone          = "+15550100148"
	token          = "test-token"
)

// contactsDown fails the sender's opt-out read, as a DynamoDB outage would.
type contactsDown struct{ *dynamo.Store }

func (contactsDown) ContactOfPhone(context.Context, string, string) (contact.Contact, error) {
	return contact.Contact{}, errors.New("dynamo: contact of phone: simulated outage")
}

type queuedWorld struct {
	ctx     context.Context
	clock   *platform.FakeClock
	store   *dynamo.Store
	stub    *whatsapptest.Server
	events  *clinictest.Recorder
	jobs    *outboundtest.Recorder
	svc     *notices.Service
	tracker *notices.Tracker
	sender  *outreach.Sender
	clinic  clinic.Clinic
}

func newQueuedWorld(t *testing.T) *queuedWorld {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	client, names := localtest.Dynamo(t)
	w := &queuedWorld{ctx: ctx, clock: platform.NewFakeClock(t0), events: &clinictest.Recorder{}, jobs: &outboundtest.Recorder{}}
	w.store = dynamo.NewStore(client, names, w.clock, 4)
	w.clinic = clinic.Clinic{ID: queuedClinicID, Name: "Clinica Sol", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: "100200300411", WABAID: "500600700811", DefaultLanguage: "en_US", PortalURL: "https://portal.example.org",
		ReminderPolicy: reminder.DefaultPolicy(), EmergencyNumber: "911", WebhookSecretRef: "env:TEST_SECRET", APITokenHash: "00"}
	if err := w.store.PutClinic(ctx, w.clinic); err != nil {
		t.Fatal(err)
	}
	if err := w.store.PutPatient(ctx, appointment.Patient{ClinicID: queuedClinicID, ID: patientID, Phone: phone, GivenName: "Ana", Language: "en"}); err != nil {
		t.Fatal(err)
	}
	if err := w.store.AppendConsent(ctx, consent.Entry{ClinicID: queuedClinicID, PatientID: patientID, ID: "c1", State: consent.OptedIn,
		At: t0.Add(-time.Hour), Source: consent.SourceEHR, RecordedAt: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	w.stub = whatsapptest.NewServer(t, whatsapptest.Config{AccessToken: token, AppSecret: "app-secret", Clock: w.clock})
	graph := &whatsapp.Client{BaseURL: w.stub.URL, Token: func(context.Context) (string, error) { return token, nil }, HTTP: w.stub.Client()}
	w.svc = &notices.Service{Store: w.store, Outbox: notices.Queued{Jobs: w.jobs}, Events: w.events, Clock: w.clock}
	completions := appsender.Completions(w.store, w.events, w.clock, nil)
	w.tracker = completions[outbound.KindNotice].(*notices.Tracker)
	w.sender = appsender.New(appsender.Deps{Store: w.store, Messenger: graph, Events: w.events, Claims: w.store, Pacer: w.store,
		Clock: w.clock, Completions: completions})
	return w
}

// accept creates a notice through the service and returns it and its job.
func (w *queuedWorld) accept(t *testing.T, key string) (notice.Notice, outbound.Job) {
	t.Helper()
	n, err := w.svc.Create(w.ctx, w.clinic, patientID, key, notice.Request{Kind: notice.KindDocumentReady})
	if err != nil {
		t.Fatal(err)
	}
	jobs := w.jobs.Jobs()
	if len(jobs) != 1 {
		t.Fatalf("%d jobs published, want 1", len(jobs))
	}
	job := jobs[0]
	if job.Type != outbound.KindNotice || job.Ref != n.ID || job.PatientID != patientID || job.ExpiresAt.IsZero() {
		t.Fatalf("job: %+v", job)
	}
	return n, job
}

func (w *queuedWorld) deliver(t *testing.T, job outbound.Job, id string, receives int) {
	t.Helper()
	body, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	rec := events.SQSMessage{MessageId: id, Body: string(body),
		Attributes: map[string]string{"ApproximateReceiveCount": string(rune('0' + receives))}}
	if _, err := w.sender.Handle(w.ctx, events.SQSEvent{Records: []events.SQSMessage{rec}}); err != nil {
		t.Fatal(err)
	}
}

func (w *queuedWorld) state(t *testing.T, id string) notice.Notice {
	t.Helper()
	n, err := w.store.GetNotice(w.ctx, queuedClinicID, patientID, id)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A notice's state follows its job and its message: queued until Meta accepts it,
// then sent with the wamid in the message log (carrying the notice id, which is how
// a status finds the notice), then delivered and read as Meta reports, never back.
func TestNoticeStateFollowsItsMessage(t *testing.T) {
	w := newQueuedWorld(t)
	n, job := w.accept(t, "req-1")
	if n.State != notice.StateQueued {
		t.Fatalf("accepted as %s", n.State)
	}
	for _, id := range []string{"m1", "m2"} {
		w.deliver(t, job, id, 1)
	}
	if got := w.stub.Stats().Accepted; got != 1 {
		t.Fatalf("%d sends, want 1 under duplicate delivery", got)
	}
	if st := w.state(t, n.ID).State; st != notice.StateSent {
		t.Fatalf("after the send: %s, want sent", st)
	}
	sent := w.stub.Sent()
	if len(sent) != 1 {
		t.Fatalf("stand-in recorded %d messages", len(sent))
	}
	rec, err := w.store.GetMessage(w.ctx, sent[0].WAMID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.NoticeID != n.ID || rec.PatientID != patientID {
		t.Fatalf("message log: %+v, want the notice and its patient", rec)
	}
	steps := []struct{ status, want notice.State }{
		{whatsapp.StatusDelivered, notice.StateDelivered},
		{whatsapp.StatusRead, notice.StateRead},
		{whatsapp.StatusDelivered, notice.StateRead}, // late: never back
	}
	for _, s := range steps {
		if err := w.tracker.NoticeDelivery(w.ctx, queuedClinicID, rec.PatientID, rec.NoticeID, string(s.status), ""); err != nil {
			t.Fatal(err)
		}
		if st := w.state(t, n.ID).State; st != s.want {
			t.Fatalf("after %s: %s, want %s", s.status, st, s.want)
		}
	}
	if evs := w.events.Events(); len(evs) != 0 {
		t.Fatalf("events for a notice that went out: %+v", evs)
	}
}

// A notice whose job ends in the DLQ is failed (retries_exhausted) and the clinic
// hears it once: a second report of the same failure publishes the same event id.
func TestDeadLetteredNoticeFailsOnce(t *testing.T) {
	w := newQueuedWorld(t)
	n, job := w.accept(t, "req-2")
	w.sender.Store = contactsDown{w.store}
	w.deliver(t, job, "m1", outreach.DefaultMaxReceiveCount)
	got := w.state(t, n.ID)
	if got.State != notice.StateFailed || got.Reason != outreach.ReasonRetriesExhausted {
		t.Fatalf("after the DLQ: %s (%s), want failed (retries_exhausted)", got.State, got.Reason)
	}
	if err := w.tracker.Failed(w.ctx, job, outreach.ReasonRetriesExhausted); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, ev := range w.events.Events() {
		if ev.Type != clinic.EventMessageFailed || ev.Field("noticeId") != n.ID || ev.Field("reason") != outreach.ReasonRetriesExhausted {
			t.Fatalf("event: %+v", ev)
		}
		ids[ev.ID] = true
	}
	if len(ids) != 1 {
		t.Fatalf("%d distinct message.failed events, want 1", len(ids))
	}
	// A redriven job that then goes out leaves the notice failed: the clinic was told.
	w.sender.Store = w.store
	w.deliver(t, job, "m2", 1)
	if st := w.state(t, n.ID).State; st != notice.StateFailed {
		t.Fatalf("after a redrive: %s", st)
	}
	if w.stub.Stats().Accepted != 1 {
		t.Fatalf("redrive sends: %d", w.stub.Stats().Accepted)
	}
}
