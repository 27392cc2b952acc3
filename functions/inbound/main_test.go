package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/frontdesk-health/frontdesk/shared/app/apptest"
	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

func TestEnvelopeRoundTrips(t *testing.T) {
	apptest.RoundTrip[events.SQSEvent](t, "sqs-inbound-webhook.json")
	apptest.CheckSQSDigests(t, "sqs-inbound-webhook.json", apptest.Envelope[events.SQSEvent](t, "sqs-inbound-webhook.json"))
}

// TestConfirmTap runs the patient's Confirm tap (a template quick reply taken off
// the inbound queue) through the handler main gives lambda.Start: the appointment
// records the answer, the clinic event is queued, the patient gets one reply, and
// a redelivery of the same record changes nothing.
func TestConfirmTap(t *testing.T) {
	st := apptest.Start(t, nil)
	c := apptest.DemoClinic("")
	st.PutClinic(t, c)
	put := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-put-appointment.json")
	st.Book(t, c, []byte(put.Body), time.Time{})

	ev := apptest.Envelope[events.SQSEvent](t, "sqs-inbound-webhook.json")
	n, err := whatsapp.ParseNotification([]byte(ev.Records[0].Body))
	if err != nil || len(n.Entry) != 1 || len(n.Entry[0].Changes) != 1 || len(n.Entry[0].Changes[0].Value.Messages) != 1 {
		t.Fatalf("the envelope's body is not one webhook message: %v", err)
	}
	tap := n.Entry[0].Changes[0].Value.Messages[0]
	tapAt, err := tap.Timestamp.Time()
	if err != nil {
		t.Fatal(err)
	}

	handle := newService(st.Load(t)).Handle
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()

	resp, err := handle(ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle: %v, batch item failures %v", err, resp.BatchItemFailures)
	}

	a, _, err := st.Store.GetAppointment(ctx, apptest.ClinicID, apptest.AppointmentID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Response != appointment.ResponseConfirmed || !a.RespondedAt.Equal(tapAt) {
		t.Errorf("appointment response %q at %v, want confirmed at %v", a.Response, a.RespondedAt, tapAt)
	}

	outbox := st.Receive(t, queue.EHROutbox)
	if len(outbox) != 1 {
		t.Fatalf("%d clinic events queued, want 1", len(outbox))
	}
	var got clinic.Event
	if err := json.Unmarshal([]byte(aws.ToString(outbox[0].Body)), &got); err != nil {
		t.Fatal(err)
	}
	if got.Type != clinic.EventAppointmentConfirmed || got.ClinicID != apptest.ClinicID ||
		got.Field("appointmentId") != apptest.AppointmentID || got.Field("messageId") != messagelog.ID(tap.ID) {
		t.Errorf("clinic event %+v", got)
	}

	sends := st.Graph.Sends()
	if len(sends) != 1 {
		t.Fatalf("%d Graph sends, want 1 reply", len(sends))
	}
	if s := sends[0]; s.PhoneNumberID != apptest.PhoneNumberID || strings.TrimPrefix(s.Message.To, "+") != apptest.PatientWaID || s.Version != apptest.GraphVersion {
		t.Errorf("reply from %s (%s) to %s, want from %s (%s) to %s", s.PhoneNumberID, s.Version, s.Message.To,
			apptest.PhoneNumberID, apptest.GraphVersion, apptest.PatientWaID)
	}
	rec, err := st.Store.GetMessage(ctx, tap.ID)
	if err != nil || rec.Direction != messagelog.Inbound || rec.AppointmentID != apptest.AppointmentID {
		t.Errorf("inbound message record %+v, %v", rec, err)
	}

	// SQS delivers at least once.
	resp, err = handle(ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v, batch item failures %v", err, resp.BatchItemFailures)
	}
	if n := len(st.Graph.Sends()); n != 1 {
		t.Errorf("redelivery sent again: %d Graph sends", n)
	}
	if again := st.Receive(t, queue.EHROutbox); len(again) != 0 {
		t.Errorf("redelivery queued %d more clinic events", len(again))
	}
}

// TestUnparseableRecordFails checks that the handler reports a record it cannot
// handle as a batch item failure (so SQS retries it and parks it in the DLQ)
// instead of acknowledging it.
func TestUnparseableRecordFails(t *testing.T) {
	st := apptest.Start(t, nil)
	ev := apptest.Envelope[events.SQSEvent](t, "sqs-inbound-webhook.json")
	ev.Records[0].Body = `{"object":"whatsapp_business_account","entry":"not a list"}`
	resp, err := newService(st.Load(t)).Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != ev.Records[0].MessageId {
		t.Fatalf("batch item failures %v, want the record %s", resp.BatchItemFailures, ev.Records[0].MessageId)
	}
}

// TestHungGraphReplyGivesUpOnItsOwn: the patient's reply goes through the same
// Graph client as every send; when Meta hangs, the call gives up after
// WHATSAPP_API_TIMEOUT rather than at the invocation's deadline, so the rest of the
// batch and the record's bookkeeping still run.
func TestHungGraphReplyGivesUpOnItsOwn(t *testing.T) {
	release := make(chan struct{})
	var hits atomic.Int32
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) }) // before Close, which waits for the handler
	st := apptest.Start(t, map[string]string{
		platform.EnvWhatsAppAPIBaseURL: hung.URL,
		platform.EnvWhatsAppAPITimeout: "100ms",
	})
	c := apptest.DemoClinic("")
	st.PutClinic(t, c)
	put := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-put-appointment.json")
	st.Book(t, c, []byte(put.Body), time.Time{})

	// Lambda hands the handler a context that ends with the invocation.
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if _, err := newService(st.Load(t)).Handle(ctx, apptest.Envelope[events.SQSEvent](t, "sqs-inbound-webhook.json")); err != nil {
		t.Fatal(err)
	}
	if hits.Load() == 0 {
		t.Fatal("the reply never reached the Graph API")
	}
	if ctx.Err() != nil {
		t.Fatal("the handler ran until the invocation's deadline: the reply had no timeout of its own")
	}
}
