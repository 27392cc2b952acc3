package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/frontdesk-health/frontdesk/shared/app/apptest"
	"github.com/frontdesk-health/frontdesk/shared/notice"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

func TestEnvelopeRoundTrips(t *testing.T) {
	apptest.RoundTrip[events.CloudWatchEvent](t, "eventbridge-sweep.json")
	ev := apptest.Envelope[events.CloudWatchEvent](t, "eventbridge-sweep.json")
	if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || len(ev.Resources) != 1 || ev.Time.IsZero() {
		t.Errorf("not an EventBridge scheduled event: %+v", ev)
	}
}

// TestScheduledSweep runs EventBridge's scheduled event through the handler main
// gives lambda.Start: the reminder that is due goes onto the outbound queue once,
// the one that is not stays scheduled, and a second sweep finds nothing to do.
func TestScheduledSweep(t *testing.T) {
	st := apptest.Start(t, nil)
	c := apptest.DemoClinic("")
	st.PutClinic(t, c)
	put := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-put-appointment.json")
	// 47 hours ahead: the 48 h reminder fell due an hour ago and is still useful
	// (until the 2 h reminder is due), the 2 h reminder is not due yet.
	start := time.Now().UTC().Add(47 * time.Hour).Truncate(time.Minute)
	st.Book(t, c, []byte(put.Body), start)

	ev := apptest.Envelope[events.CloudWatchEvent](t, "eventbridge-sweep.json")
	handle := newSweeper(st.Load(t)).Handle
	// Lambda contexts carry the function's deadline; the sweep stops short of it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if err := handle(ctx, ev); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	msgs := st.Receive(t, queue.Outbound)
	if len(msgs) != 1 {
		t.Fatalf("%d jobs on the outbound queue, want 1", len(msgs))
	}
	var job reminder.Job
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &job); err != nil {
		t.Fatal(err)
	}
	want := reminder.Job{ClinicID: apptest.ClinicID, AppointmentID: apptest.AppointmentID, Kind: reminder.KindDayBefore,
		Generation: reminder.Generation(start)}
	if job.ClinicID != want.ClinicID || job.AppointmentID != want.AppointmentID || job.Kind != want.Kind || job.Generation != want.Generation {
		t.Errorf("job %+v, want %+v", job, want)
	}
	states := reminderStates(t, st)
	if states[reminder.KindDayBefore] != reminder.StateQueued || states[reminder.KindSameDay] != reminder.StateScheduled {
		t.Errorf("reminder states %v, want pre48h queued and pre2h scheduled", states)
	}

	// EventBridge retries and overlapping schedules: the queued reminder left the
	// due index, so it is not enqueued twice.
	if err := handle(ctx, ev); err != nil {
		t.Fatalf("second Handle: %v", err)
	}
	if again := st.Receive(t, queue.Outbound); len(again) != 0 {
		t.Errorf("second sweep enqueued %d more jobs", len(again))
	}
}

// TestScheduledNoticeDispatch: a lab notice queued before due markers existed is
// given its marker by the backfill and, at the next scheduled run, put on the
// outbound queue as one notice job (its template, the patient's number whose STOP
// the sender re-checks, a send-once key); the next run puts nothing more.
func TestScheduledNoticeDispatch(t *testing.T) {
	st := apptest.Start(t, nil)
	c := apptest.DemoClinic("")
	c.PortalURL = "https://portal.example.org/demo"
	st.PutClinic(t, c)
	put := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-put-appointment.json")
	st.Book(t, c, []byte(put.Body), time.Now().UTC().Add(30*24*time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := time.Now().UTC()
	n := notice.Notice{ClinicID: apptest.ClinicID, ID: notice.ID(apptest.ClinicID, "api", "msg_sweep_notice"), PatientID: apptest.PatientID,
		Kind: notice.KindLabReady, Source: notice.SourceAPI, State: notice.StateQueued, CreatedAt: now, UpdatedAt: now}
	if _, _, err := st.Store.CreateNotice(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := st.Store.DeleteNoticeDue(ctx, n.ClinicID, n.ID); err != nil {
		t.Fatal(err)
	}
	if added, err := st.Store.BackfillNoticeDue(ctx); err != nil || added != 1 {
		t.Fatalf("backfill: %d, %v", added, err)
	}
	handle := newSweeper(st.Load(t)).Handle
	ev := apptest.Envelope[events.CloudWatchEvent](t, "eventbridge-sweep.json")
	if err := handle(ctx, ev); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	var jobs []outbound.Job
	for _, m := range st.Receive(t, queue.Outbound) {
		var j outbound.Job
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &j); err != nil {
			t.Fatal(err)
		}
		if j.MessageKind() == outbound.KindNotice {
			jobs = append(jobs, j)
		}
	}
	if len(jobs) != 1 {
		t.Fatalf("%d notice jobs, want 1", len(jobs))
	}
	j := jobs[0]
	if j.ClinicID != apptest.ClinicID || j.PatientID != apptest.PatientID || j.ContactKey != apptest.PatientPhone ||
		j.Key != "notice:"+apptest.ClinicID+":"+n.ID || j.Message == nil || j.Message.Template == nil ||
		j.Message.Template.Name != reminder.TemplateNoticeLabReady || j.ExpiresAt.IsZero() {
		t.Fatalf("notice job: %+v", j)
	}
	if err := handle(ctx, ev); err != nil {
		t.Fatalf("second Handle: %v", err)
	}
	for _, m := range st.Receive(t, queue.Outbound) {
		var j outbound.Job
		if json.Unmarshal([]byte(aws.ToString(m.Body)), &j) == nil && j.MessageKind() == outbound.KindNotice {
			t.Fatal("the notice was queued a second time")
		}
	}
}

func reminderStates(t *testing.T, st *apptest.Stack) map[reminder.Kind]reminder.State {
	t.Helper()
	_, rems, err := st.Store.GetAppointment(context.Background(), apptest.ClinicID, apptest.AppointmentID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[reminder.Kind]reminder.State{}
	for _, r := range rems {
		out[r.Kind] = r.State
	}
	return out
}

// TestScheduledSweepOffersAFreedSlot runs the deployed handler's waitlist step: a
// slot the EHR freed is offered to the waitlisted patient whose visit is later,
// as a prepared outbound job of kind offer that expires with the offer (the
// sender sends it); a second run queues nothing new.
func TestScheduledSweepOffersAFreedSlot(t *testing.T) {
	st := apptest.Start(t, nil)
	c := apptest.DemoClinic("")
	c.QuietHours = reminder.QuietHours{} // the test runs at any hour
	st.PutClinic(t, c)
	put := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-put-appointment.json")
	now := time.Now().UTC()
	res := st.Book(t, c, []byte(strings.Replace(put.Body, `"version":1`, `"version":1,"waitlist":true`, 1)), now.Add(9*24*time.Hour).Truncate(time.Minute))
	if !res.Appointment.Waitlist {
		t.Fatalf("the booked appointment is not on the waitlist: %+v", res.Appointment)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	slotStart := now.Add(30 * time.Hour).Truncate(time.Minute)
	if err := st.Store.SaveSlot(ctx, slot.Slot{ClinicID: c.ID, ID: "slot-freed", Start: slotStart, Duration: 30 * time.Minute,
		Status: slot.Free, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.StartRelease(ctx, c.ID, "slot-freed", now, slotStart); err != nil {
		t.Fatal(err)
	}
	handle := newSweeper(st.Load(t)).Handle
	ev := apptest.Envelope[events.CloudWatchEvent](t, "eventbridge-sweep.json")
	if err := handle(ctx, ev); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	var offers []outbound.Job
	for _, m := range st.Receive(t, queue.Outbound) {
		var job outbound.Job
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &job); err != nil {
			t.Fatal(err)
		}
		if job.MessageKind() == outbound.KindOffer {
			offers = append(offers, job)
		}
	}
	if len(offers) != 1 {
		t.Fatalf("%d offer jobs on the outbound queue, want 1", len(offers))
	}
	o := offers[0]
	if o.AppointmentID != apptest.AppointmentID || o.Message == nil || o.Message.Template == nil ||
		o.Message.Template.Name != reminder.TemplateWaitlistOffer || o.ExpiresAt.Before(now.Add(time.Hour)) || o.Key == "" {
		t.Errorf("offer job %+v", o)
	}
	if err := handle(ctx, ev); err != nil {
		t.Fatalf("second Handle: %v", err)
	}
	for _, m := range st.Receive(t, queue.Outbound) {
		if strings.Contains(aws.ToString(m.Body), `"type":"offer"`) {
			t.Errorf("the second run queued another offer: %s", aws.ToString(m.Body))
		}
	}
}
