package devstack_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/outreach"
	"github.com/frontdesk-health/frontdesk/shared/queue"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// An opt-out that arrives while reminders for that patient are already
// queued: none of them is sent. Through the real stack: the sender's consumer is
// held while the sweep puts two due reminders on the outbound queue, the patient
// writes STOP and the inbound consumer records it, then the sender runs. It must
// re-read consent and skip both, and the Graph API stand-in must see no reminder.
func TestOptOutWhileRemindersAreQueued(t *testing.T) {
	w := stackFor(t)
	offset := w.logs.Len()
	w.dumpOnFailure(t, offset)
	patient := patientSpec{id: "systest-optout-patient", phone: "+15550100164", givenName: "Alex"}
	waID := strings.TrimPrefix(patient.phone, "+")
	appts := []string{"systest-optout-appt-1", "systest-optout-appt-2"}

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := w.stack.PauseConsumer(ctx, queue.Outbound); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			w.stack.ResumeConsumer(queue.Outbound)
		}
	}()

	// Both 48 h reminders are due at once; the sweep queues them.
	w.book(t, appts[0], patient, 47*time.Hour)
	w.book(t, appts[1], patient, 46*time.Hour)
	for _, id := range appts {
		eventually(t, waitTimeout, "the sweep to queue the 48 h reminder of "+id, func() (bool, string) {
			r, ok := reminderOf(w.appointment(t, id), string(reminder.KindDayBefore))
			return ok && r.State == reminder.StateQueued, fmt.Sprintf("found=%v state=%q", ok, r.State)
		})
	}
	// The sweep marks a reminder queued just before it puts the job on the queue.
	eventually(t, waitTimeout, "both jobs on the outbound queue", func() (bool, string) {
		v, f, d := w.queueDepth(t, queue.Outbound)
		return v >= len(appts), fmt.Sprintf("visible=%d in-flight=%d delayed=%d", v, f, d)
	})

	// The patient writes STOP; the inbound consumer (running) records the opt-out.
	if code := w.postWebhook(t, w.inboundMessage(waID, map[string]any{"type": "text", "text": map[string]string{"body": "STOP"}})); code != http.StatusOK {
		t.Fatalf("STOP webhook answered %d, want 200", code)
	}
	eventually(t, waitTimeout, "the opt-out to be recorded", func() (bool, string) {
		st := w.appointment(t, appts[0])
		return st.Consent.State == consent.OptedOut, "consent " + string(st.Consent.State)
	})
	for _, id := range appts {
		if r, _ := reminderOf(w.appointment(t, id), string(reminder.KindDayBefore)); r.State != reminder.StateQueued {
			t.Fatalf("%s: the 48 h reminder is %q before the sender ran, want queued", id, r.State)
		}
	}

	// Now the sender consumes the queued reminders.
	w.stack.ResumeConsumer(queue.Outbound)
	resumed = true
	for _, id := range appts {
		eventually(t, waitTimeout, "the sender to skip the 48 h reminder of "+id, func() (bool, string) {
			r, ok := reminderOf(w.appointment(t, id), string(reminder.KindDayBefore))
			if ok && (r.State == reminder.StateSent || r.State == reminder.StateDelivered || r.State == reminder.StateRead) {
				t.Fatalf("%s: the 48 h reminder was sent after the opt-out (state %q)", id, r.State)
			}
			return ok && r.State == reminder.StateSkipped, fmt.Sprintf("found=%v state=%q reason=%q", ok, r.State, r.Reason)
		})
		if r, _ := reminderOf(w.appointment(t, id), string(reminder.KindDayBefore)); r.Reason != outreach.ReasonOptedOut {
			t.Errorf("%s: skipped with reason %q, want %q", id, r.Reason, outreach.ReasonOptedOut)
		}
	}
	w.settle(t, offset)
	w.waitDrained(t, queue.Outbound, offset)

	// The stand-in saw no reminder (template) for this patient: only the one
	// free-form acknowledgement of the STOP.
	var templates, others int
	for _, r := range w.stack.Stub.Sent() {
		if got := to(r); got != patient.phone && got != waID {
			continue
		}
		if r.Type == "template" {
			templates++
		} else {
			others++
		}
	}
	if templates != 0 {
		t.Errorf("%d template sends to the opted-out patient, want none", templates)
	}
	if others != 1 {
		t.Errorf("%d other sends to the patient, want 1 (the opt-out acknowledgement)", others)
	}

	events, _ := w.callback.snapshot()
	optOuts := 0
	for _, e := range events {
		if e.Type == clinic.EventPatientOptedOut && e.Data["patientId"] == patient.id {
			optOuts++
		}
	}
	if optOuts != 1 {
		t.Errorf("the clinic received %d patient.opted_out events for the patient, want 1", optOuts)
	}
}
