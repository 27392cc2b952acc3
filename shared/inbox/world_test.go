package inbox

import (
	"github.com/frontdesk-health/frontdesk/shared/clinic/clinictest"
	"github.com/frontdesk-health/frontdesk/shared/outreach"

	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/memstore"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// msgTime is the timestamp every fixture message carries (2026-03-02 15:04:05 UTC);
// the clock starts just after it, as if the queue delivered it promptly.
var msgTime = time.Unix(1772463845, 0).UTC()

const (
	clinicID      = "clinic-sol"
	phoneNumberID = "106555010001"
	graphToken    = "test-graph-token"
	graphVersion  = "v23.0"
)

// testPatient is one seeded patient with one booked appointment and a 48 h
// reminder already sent (its wamid is what a template button answers).
type testPatient struct {
	id, lang, phone, givenName, appt string
}

var patients = []testPatient{
	{"pat-en", "en-US", "+15550100101", "Jane", "appt-en"},
	{"pat-es", "es-MX", "+15550100102", "Lucía", "appt-es"},
	{"pat-pt", "pt-BR", "+15550100103", "Ana", "appt-pt"},
}

func testClinic() clinic.Clinic {
	return clinic.Clinic{
		ID: clinicID, Name: "Clinica Sol", TimeZone: "America/New_York", Country: "US",
		PhoneNumberID: phoneNumberID, WABAID: "206555010001", DefaultLanguage: "en",
		ReminderPolicy: reminder.DefaultPolicy(), EmergencyNumber: "911",
		Hours:            clinic.Hours{Days: []time.Weekday{1, 2, 3, 4, 5}, Open: "08:00", Close: "17:00"},
		WebhookSecretRef: "env:CLINIC_SOL_WHSEC", APITokenHash: strings.Repeat("a", 64),
	}
}

// sentMessage is one send the Graph API stand-in accepted, with the wamid it answered.
type sentMessage struct {
	whatsapp.Message
	WAMID string
}

// sentMessages returns what the Graph API stand-in accepted, oldest first. It fails
// the test for any send not made from the clinic's number under the client's API
// version: the stand-in serves every version and number, so a reply posted to the
// wrong path would otherwise pass.
func (w *world) sentMessages() []sentMessage {
	w.t.Helper()
	var out []sentMessage
	for _, r := range w.graph.Sent() {
		if r.PhoneNumberID != phoneNumberID || r.Version != graphVersion {
			w.t.Fatalf("send to /%s/%s/messages, want /%s/%s/messages", r.Version, r.PhoneNumberID, graphVersion, phoneNumberID)
		}
		if !r.Accepted() {
			continue
		}
		m, err := r.Message()
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, sentMessage{Message: m, WAMID: r.WAMID})
	}
	return out
}

// failNextSends makes the stand-in answer the next n sends with a retryable Graph
// error (HTTP 500); 0 clears it.
func (w *world) failNextSends(n int) { w.graph.SetFaults(whatsapptest.Faults{ServerErrorNext: n}) }

type world struct {
	t      *testing.T
	store  *memstore.Store
	clock  *platform.FakeClock
	graph  *whatsapptest.Server
	events *clinictest.Recorder
	logs   *localtest.LogBuffer
	svc    *Service
}

func newWorld(t *testing.T) *world {
	t.Helper()
	clock := platform.NewFakeClock(msgTime.Add(30 * time.Second))
	w := &world{t: t, store: memstore.New(clock, 4), clock: clock,
		events: &clinictest.Recorder{}, logs: &localtest.LogBuffer{}}
	// The Graph API stand-in is the one thing that cannot run here for real; it
	// posts no status webhooks (no WebhookURL): the tests feed statuses themselves.
	w.graph = whatsapptest.NewServer(t, whatsapptest.Config{AccessToken: graphToken, AppSecret: "test-app-secret", Clock: clock})
	w.svc = &Service{
		Store:  w.store,
		Events: w.events,
		Replies: outreach.NewSender(&outreach.Sender{Store: w.store, Claims: w.store, Clock: clock,
			Messenger: &whatsapp.Client{BaseURL: w.graph.URL, Version: graphVersion, HTTP: w.graph.Client(),
				Token: func(context.Context) (string, error) { return graphToken, nil }}}),
		Clock: clock,
		Log:   platform.NewLogger(w.logs, slog.LevelDebug),
	}
	w.seed()
	return w
}

func (w *world) seed() {
	ctx := context.Background()
	must := func(err error) {
		w.t.Helper()
		if err != nil {
			w.t.Fatalf("seed: %v", err)
		}
	}
	must(w.store.PutClinic(ctx, testClinic()))
	for _, p := range patients {
		must(w.store.PutPatient(ctx, appointment.Patient{ClinicID: clinicID, ID: p.id, Phone: p.phone, GivenName: p.givenName, Language: p.lang}))
		must(w.store.AppendConsent(ctx, consent.Entry{ClinicID: clinicID, PatientID: p.id, ID: "seed-" + p.id, State: consent.OptedIn,
			At: msgTime.Add(-30 * 24 * time.Hour), Source: consent.SourceEHR, RecordedAt: msgTime.Add(-30 * 24 * time.Hour)}))
		a := appointment.Appointment{ClinicID: clinicID, ID: p.appt, Status: appointment.StatusBooked, Start: msgTime.Add(48 * time.Hour),
			Duration: 30 * time.Minute, Location: appointment.Location{Name: "Clinica Sol", Address: "12 Main St"}, PatientID: p.id, Version: 1}
		lang := strings.ToUpper(p.lang[:2])
		rems := []reminder.Write{
			{Reminder: reminder.Reminder{ClinicID: clinicID, AppointmentID: p.appt, Kind: reminder.KindDayBefore, DueAt: msgTime.Add(-time.Hour),
				NotAfter: a.Start, State: reminder.StateSent, WAMID: "wamid.REMINDER48H" + lang, Generation: reminder.Generation(a.Start)}},
			{Reminder: reminder.Reminder{ClinicID: clinicID, AppointmentID: p.appt, Kind: reminder.KindSameDay, DueAt: msgTime,
				NotAfter: a.Start, State: reminder.StateSent, WAMID: "wamid.REMINDER2H" + lang, Generation: reminder.Generation(a.Start)}},
		}
		must(w.store.SaveAppointment(ctx, a, rems))
		for _, r := range rems {
			_, err := w.store.PutMessage(ctx, messagelog.Record{WAMID: r.Reminder.WAMID, Direction: messagelog.Outbound, ClinicID: clinicID,
				PatientID: p.id, AppointmentID: p.appt, ReminderKind: string(r.Reminder.Kind), Generation: r.Reminder.Generation, Type: "template", Status: messagelog.StatusSent,
				CreatedAt: msgTime.Add(-time.Hour)})
			must(err)
		}
	}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var sqsSeq atomic.Int64

// sqsEvent wraps webhook bodies the way the inbound queue's event source mapping
// delivers them.
func sqsEvent(bodies ...[]byte) events.SQSEvent {
	var ev events.SQSEvent
	for _, b := range bodies {
		n := sqsSeq.Add(1)
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: fmt.Sprintf("0e3c1f7a-0000-4000-8000-%012d", n), ReceiptHandle: "AQEB" + strconv.FormatInt(n, 10),
			Body: string(b), Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1772463846000"},
			EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:frontdesk-inbound", AWSRegion: "us-east-1",
		})
	}
	return ev
}

// deliver hands bodies to the Lambda handler and returns how many records failed.
func (w *world) deliver(bodies ...[]byte) int {
	w.t.Helper()
	resp, err := w.svc.Handle(context.Background(), sqsEvent(bodies...))
	if err != nil {
		w.t.Fatalf("handle returned an error (must report item failures instead): %v", err)
	}
	return len(resp.BatchItemFailures)
}

func (w *world) appointment(id string) appointment.Appointment {
	w.t.Helper()
	a, _, err := w.store.GetAppointment(context.Background(), clinicID, id)
	if err != nil {
		w.t.Fatalf("get appointment %s: %v", id, err)
	}
	return a
}

func (w *world) consentOf(patientID string) consent.State {
	w.t.Helper()
	l, err := w.store.ConsentLedger(context.Background(), clinicID, patientID)
	if err != nil {
		w.t.Fatal(err)
	}
	return consent.Current(l)
}
