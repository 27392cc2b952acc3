package outbound_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Reminder jobs queued before kinds existed decode as reminders with every field,
// and today's jobs round-trip.
func TestJobDecodesOldAndNewShapes(t *testing.T) {
	old := `{"clinicId":"clinic-a","appointmentId":"appt-1","kind":"48h","generation":"g1","dueAt":"2026-03-02T09:00:00Z"}`
	msg, err := whatsapp.TextMessage("+15550100143", "We got your message.")
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := json.Marshal(outbound.Job{Type: outbound.KindReply, Job: reminder.Job{ClinicID: "clinic-a"}, Key: "reply:wamid.X",
		Message: &msg, WindowEndsAt: t0.Add(24 * time.Hour)})
	remJob, _ := json.Marshal(outbound.FromReminder(reminder.Job{ClinicID: "clinic-a", AppointmentID: "appt-2", Kind: "2h", Generation: "g2", DueAt: t0}))
	cases := []struct {
		name     string
		body     string
		kind     outbound.Kind
		priority outbound.Priority
		id       string
	}{
		{"old reminder job", old, outbound.KindReminder, outbound.PriorityDue, "clinic-a/appt-1/48h/g1"},
		{"new reminder job", string(remJob), outbound.KindReminder, outbound.PriorityDue, "clinic-a/appt-2/2h/g2"},
		{"reply", string(reply), outbound.KindReply, outbound.PriorityReply, "clinic-a/reply/reply:wamid.X"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var j outbound.Job
			if err := json.Unmarshal([]byte(c.body), &j); err != nil {
				t.Fatal(err)
			}
			if j.MessageKind() != c.kind || j.MessageKind().Priority() != c.priority || j.ID() != c.id {
				t.Fatalf("kind %q priority %d id %q, want %q %d %q", j.MessageKind(), j.MessageKind().Priority(), j.ID(), c.kind, c.priority, c.id)
			}
		})
	}
}

// What a prepared job re-checks at send time, in order.
func TestWhyNot(t *testing.T) {
	text, _ := whatsapp.TextMessage("+15550100143", "See you soon.")
	tmpl := whatsapp.Message{Type: whatsapp.TypeTemplate, To: "+15550100143"}
	cases := []struct {
		name     string
		job      outbound.Job
		optedOut bool
		want     string
	}{
		{"reply inside the window", outbound.Job{Type: outbound.KindReply, Message: &text, WindowEndsAt: t0.Add(time.Hour)}, false, ""},
		{"reply after the window", outbound.Job{Type: outbound.KindReply, Message: &text, WindowEndsAt: t0}, false, outbound.ReasonWindowClosed},
		{"template reply after the window", outbound.Job{Type: outbound.KindReply, Message: &tmpl, WindowEndsAt: t0}, false, ""},
		{"staff reply to an opted-out number", outbound.Job{Type: outbound.KindStaffReply, Message: &text, WindowEndsAt: t0.Add(time.Hour)}, true, outbound.ReasonOptedOut},
		{"STOP acknowledgement to an opted-out number", outbound.Job{Type: outbound.KindReply, Message: &text, WindowEndsAt: t0.Add(time.Hour), Force: true}, true, ""},
		{"offer past its hold", outbound.Job{Type: outbound.KindOffer, Message: &tmpl, ExpiresAt: t0}, false, outbound.ReasonExpired},
		{"notice", outbound.Job{Type: outbound.KindNotice, Message: &tmpl}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.job.WhyNot(t0, c.optedOut); got != c.want {
				t.Fatalf("WhyNot = %q, want %q", got, c.want)
			}
		})
	}
}

// Bulk kinds may fill half a window, the rest all of it; windows hold a quarter
// second of the budget.
func TestCeilings(t *testing.T) {
	cases := []struct {
		perSecond int
		p         outbound.Priority
		want      int
	}{{80, outbound.PriorityReply, 20}, {80, outbound.PriorityDue, 20}, {80, outbound.PriorityBulk, 10}, {1000, outbound.PriorityDue, 250}, {2, outbound.PriorityBulk, 1}}
	for _, c := range cases {
		if got := outbound.Ceiling(c.perSecond, c.p); got != c.want {
			t.Errorf("Ceiling(%d, %d) = %d, want %d", c.perSecond, c.p, got, c.want)
		}
	}
}

func TestHeldByOptOut(t *testing.T) {
	at := time.Date(2031, 3, 10, 14, 0, 0, 0, time.UTC)
	entry := func(id string, s consent.State, when time.Time) consent.Entry {
		return consent.Entry{ClinicID: "c1", PatientID: "+15550100143", ID: id, State: s, At: when, Source: consent.SourceWhatsApp, RecordedAt: when}
	}
	stop, start, laterStop := entry("s1", consent.OptedOut, at), entry("s2", consent.OptedIn, at.Add(time.Hour)), entry("s3", consent.OptedOut, at.Add(2*time.Hour))
	cases := []struct {
		name   string
		job    outbound.Job
		ledger []consent.Entry
		want   bool
	}{
		{"no statements", outbound.Job{}, nil, false},
		{"standing STOP", outbound.Job{}, []consent.Entry{stop}, true},
		{"STOP then START", outbound.Job{}, []consent.Entry{stop, start}, false},
		{"the STOP the job answers", outbound.Job{AnsweredOptOut: at}, []consent.Entry{stop}, false},
		{"a STOP after the one the job answers", outbound.Job{AnsweredOptOut: at}, []consent.Entry{stop, start, laterStop}, true},
	}
	for _, c := range cases {
		if got := c.job.HeldByOptOut(c.ledger); got != c.want {
			t.Errorf("%s: HeldByOptOut = %v, want %v", c.name, got, c.want)
		}
	}
}
