package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/app/apptest"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

func TestEnvelopeRoundTrips(t *testing.T) {
	apptest.RoundTrip[events.SQSEvent](t, "sqs-outbound-reminder.json")
	apptest.CheckSQSDigests(t, "sqs-outbound-reminder.json", apptest.Envelope[events.SQSEvent](t, "sqs-outbound-reminder.json"))
}

// TestSendQueuedReminder runs the outbound-queue envelope through the handler main
// gives lambda.Start: the reminder the sweep queued for the appointment in
// apigw-put-appointment.json goes out as one template message and is recorded as
// sent; a redelivery of the same record does not send it again.
func TestSendQueuedReminder(t *testing.T) {
	st := apptest.Start(t, nil)
	c := apptest.DemoClinic("")
	st.PutClinic(t, c)
	put := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-put-appointment.json")
	booked := st.Book(t, c, []byte(put.Body), time.Time{})

	ev := apptest.Envelope[events.SQSEvent](t, "sqs-outbound-reminder.json")
	var job reminder.Job
	if err := json.Unmarshal([]byte(ev.Records[0].Body), &job); err != nil {
		t.Fatal(err)
	}
	// The envelope must describe the appointment the PUT envelope books, as the
	// sweep would have queued it.
	var rem reminder.Reminder
	for _, r := range booked.Reminders {
		if r.Kind == job.Kind {
			rem = r
		}
	}
	if job.ClinicID != apptest.ClinicID || job.AppointmentID != apptest.AppointmentID || rem.Generation != job.Generation ||
		!rem.DueAt.Equal(job.DueAt) || rem.State != reminder.StateScheduled {
		t.Fatalf("job %+v does not match the booked reminder %+v", job, rem)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if err := st.Store.MarkQueued(ctx, rem); err != nil {
		t.Fatalf("mark queued (what the sweep does): %v", err)
	}

	handle := newSender(st.Load(t)).Handle
	resp, err := handle(ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle: %v, batch item failures %v", err, resp.BatchItemFailures)
	}
	sends := st.Graph.Sends()
	if len(sends) != 1 {
		t.Fatalf("%d Graph sends, want 1", len(sends))
	}
	s := sends[0]
	if s.PhoneNumberID != apptest.PhoneNumberID || strings.TrimPrefix(s.Message.To, "+") != apptest.PatientWaID ||
		s.Message.Type != whatsapp.TypeTemplate || s.Message.Template == nil {
		t.Errorf("sent %s from %s, want a template to %s from %s", s.Body, s.PhoneNumberID, apptest.PatientWaID, apptest.PhoneNumberID)
	}
	got, err := st.Store.GetReminder(ctx, apptest.ClinicID, apptest.AppointmentID, job.Kind)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != reminder.StateSent || got.WAMID != s.WAMID {
		t.Errorf("reminder %s with wamid %q, want sent with %q", got.State, got.WAMID, s.WAMID)
	}
	rec, err := st.Store.GetMessage(ctx, s.WAMID)
	if err != nil || rec.Direction != messagelog.Outbound || rec.AppointmentID != apptest.AppointmentID || rec.ReminderKind != string(job.Kind) {
		t.Errorf("message log %+v, %v", rec, err)
	}

	// SQS delivers at least once; the claim keeps it to one send.
	resp, err = handle(ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v, batch item failures %v", err, resp.BatchItemFailures)
	}
	if n := len(st.Graph.Sends()); n != 1 {
		t.Errorf("redelivery sent again: %d Graph sends", n)
	}
}
