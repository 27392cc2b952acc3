// Package inboxint runs the inbox against the real engines it is deployed on:
// DynamoDB Local and the local SQS (moto). The inbox's own tests run on the
// in-memory store; what is tested here is what only the engines can show
// (queue redelivery, visibility timeouts, the notifier's retry through SQS).
// Like every test that needs the local servers, these skip when the servers are
// not running and run under `make test`.
package inboxint

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/inbox"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/notify"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// msgTime is the timestamp the fixture message carries (2026-03-02 15:04:05 UTC);
// the clock starts just after it, as if the queue delivered it promptly.
var msgTime = time.Unix(1772463845, 0).UTC()

const (
	clinicID      = "clinic-sol"
	phoneNumberID = "106555010001"
	graphToken    = "test-graph-token"
	graphVersion  = "v23.0"
	patientID     = "pat-en"
	appointmentID = "appt-en"
)

func testClinic(callbackURL string) clinic.Clinic {
	return clinic.Clinic{
		ID: clinicID, Name: "Clinica Sol", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: phoneNumberID, WABAID: "206555010001", DefaultLanguage: "en",
		ReminderPolicy: reminder.DefaultPolicy(), EmergencyNumber: "911",
		Hours:            clinic.Hours{Days: []time.Weekday{1, 2, 3, 4, 5}, Open: "08:00", Close: "17:00"},
		WebhookSecretRef: "env:CLINIC_SOL_WHSEC", APITokenHash: strings.Repeat("a", 64), CallbackURL: callbackURL,
	}
}

// seed stores the clinic and one patient (+15550100101, opted in) with a booked
// appointment whose 48 h reminder (the message the fixture's button answers) was sent.
func seed(t *testing.T, s *dynamo.Store, c clinic.Clinic) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	must(s.PutClinic(ctx, c))
	must(s.PutPatient(ctx, appointment.Patient{ClinicID: clinicID, ID: patientID, Phone: "+15550100101", GivenName: "Jane", Language: "en-US"}))
	must(s.AppendConsent(ctx, consent.Entry{ClinicID: clinicID, PatientID: patientID, ID: "seed-" + patientID, State: consent.OptedIn,
		At: msgTime.Add(-30 * 24 * time.Hour), Source: consent.SourceEHR, RecordedAt: msgTime.Add(-30 * 24 * time.Hour)}))
	a := appointment.Appointment{ClinicID: clinicID, ID: appointmentID, Status: appointment.StatusBooked, Start: msgTime.Add(48 * time.Hour),
		Duration: 30 * time.Minute, Location: appointment.Location{Name: "Clinica Sol", Address: "12 Main St"}, PatientID: patientID, Version: 1}
	rems := []reminder.Write{
		{Reminder: reminder.Reminder{ClinicID: clinicID, AppointmentID: appointmentID, Kind: reminder.KindDayBefore, DueAt: msgTime.Add(-time.Hour),
			NotAfter: a.Start, State: reminder.StateSent, WAMID: "wamid.REMINDER48HEN", Generation: reminder.Generation(a.Start)}},
		{Reminder: reminder.Reminder{ClinicID: clinicID, AppointmentID: appointmentID, Kind: reminder.KindSameDay, DueAt: msgTime,
			NotAfter: a.Start, State: reminder.StateSent, WAMID: "wamid.REMINDER2HEN", Generation: reminder.Generation(a.Start)}},
	}
	must(s.SaveAppointment(ctx, a, rems))
	for _, r := range rems {
		_, err := s.PutMessage(ctx, messagelog.Record{WAMID: r.Reminder.WAMID, Direction: messagelog.Outbound, ClinicID: clinicID,
			PatientID: patientID, AppointmentID: appointmentID, ReminderKind: string(r.Reminder.Kind), Generation: r.Reminder.Generation,
			Type: "template", Status: messagelog.StatusSent, CreatedAt: msgTime.Add(-time.Hour)})
		must(err)
	}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "inbox", "testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eventID is the id the inbox gives the clinic event a message causes: derived
// from the event type and the message's wamid, so every redelivery of the message
// yields the same webhook-id and the clinic can drop duplicates.
func eventID(eventType, wamid string) string {
	h := sha256.New()
	for _, p := range []string{"event", eventType, wamid} {
		fmt.Fprintf(h, "%d:%s|", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// The whole inbound path on the local SQS: a webhook body on the inbound queue, the
// inbox handler consuming it as Lambda would, the clinic event on the ehr-outbox
// queue, and the notifier posting it, signed, to the clinic (failing once first, so
// the retry goes through SQS's visibility timeout and the same webhook-id).
func TestEndToEndThroughQueues(t *testing.T) {
	client, names := localtest.Dynamo(t)
	sqsClient, urls := localtest.SQS(t)
	ctx := context.Background()
	clock := platform.NewFakeClock(msgTime.Add(30 * time.Second))
	store := dynamo.NewStore(client, names, clock, 4)

	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("end-to-end-secret-0123456789abcd"))
	t.Setenv("CLINIC_SOL_WHSEC", secret)
	verifier, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	calls := 0
	clinicSrv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls++
		if err := verifier.VerifyIgnoringTimestamp(body, r.Header); err != nil {
			t.Errorf("callback signature: %v", err)
		}
		if calls == 1 {
			rw.WriteHeader(http.StatusBadGateway)
			return
		}
		got = append(got, r.Header.Get("webhook-id"))
	}))
	t.Cleanup(clinicSrv.Close)
	seed(t, store, testClinic(clinicSrv.URL))

	// The Graph API stand-in is the one thing that cannot run here for real; it
	// posts no status webhooks (no WebhookURL).
	graph := whatsapptest.NewServer(t, whatsapptest.Config{AccessToken: graphToken, AppSecret: "test-app-secret", Clock: clock})
	log := platform.NewLogger(&localtest.LogBuffer{}, slog.LevelDebug)
	svc := &inbox.Service{
		Store:  store,
		Events: queue.EventOutbox{Publisher: queue.NewPublisher(sqsClient, urls[queue.EHROutbox])},
		Replies: outreach.NewSender(&outreach.Sender{Store: store, Claims: store, Clock: clock,
			Messenger: &whatsapp.Client{BaseURL: graph.URL, Version: graphVersion, HTTP: graph.Client(),
				Token: func(context.Context) (string, error) { return graphToken, nil }}}),
		Clock: clock,
		Log:   log,
	}
	inbound := queue.InboundQueue{Publisher: queue.NewPublisher(sqsClient, urls[queue.Inbound])}
	body := fixture(t, "button_confirm_en")
	for i := 0; i < 3; i++ { // Meta delivered it three times
		if err := inbound.Put(ctx, body); err != nil {
			t.Fatal(err)
		}
	}
	inPoller := &queue.Poller{Client: sqsClient, URL: urls[queue.Inbound], BatchSize: 1, Handler: svc.Handle}
	for i := 0; i < 3; i++ {
		if n, err := inPoller.PollOnce(ctx); err != nil || n != 1 {
			t.Fatalf("inbound poll %d: %d, %v", i, n, err)
		}
	}

	notifier := &notify.Service{
		Clinics: store, Secrets: &platform.Secrets{}, HTTP: notify.NewHTTPClient(),
		Visibility: queue.NewVisibility(sqsClient, urls[queue.EHROutbox]), Clock: clock, Log: log,
		BaseDelay: time.Nanosecond, // visible again at once: the test does not wait for backoff
		Jitter:    func() float64 { return 0 },
	}
	outPoller := &queue.Poller{Client: sqsClient, URL: urls[queue.EHROutbox], Handler: notifier.Handle}
	for i := 0; i < 5; i++ {
		if _, err := outPoller.PollOnce(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		done := len(got) > 0
		mu.Unlock()
		if done {
			break
		}
	}
	// Anything left would be a duplicate event.
	if n, err := outPoller.PollOnce(ctx); err != nil || n != 0 {
		t.Fatalf("ehr-outbox still has %d messages (%v): one inbound message must give one event", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := eventID(clinic.EventAppointmentConfirmed, "wamid.HBgLMTU1NTAxMDAxMDEVAgASGBQzBTNCONFIRMEN")
	if len(got) != 1 || got[0] != want || calls != 2 {
		t.Fatalf("clinic got %v after %d calls, want one delivery of %s after one failure", got, calls, want)
	}
	replies := 0
	for _, r := range graph.Sent() {
		if r.PhoneNumberID != phoneNumberID || r.Version != graphVersion {
			t.Fatalf("send to /%s/%s/messages, want /%s/%s/messages", r.Version, r.PhoneNumberID, graphVersion, phoneNumberID)
		}
		if !r.Accepted() {
			continue
		}
		if _, err := r.Message(); err != nil {
			t.Fatal(err)
		}
		replies++
	}
	if replies != 1 {
		t.Errorf("replies = %d, want 1", replies)
	}
}
