package outreach

import (
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

func TestWhyNot(t *testing.T) {
	now := time.Date(2031, 3, 10, 14, 0, 0, 0, time.UTC)
	start := now.Add(30 * time.Hour)
	pre := reminder.Reminder{Kind: reminder.KindDayBefore, Generation: reminder.Generation(start), NotAfter: start.Add(-2 * time.Hour)}
	follow := reminder.Reminder{Kind: reminder.KindFollowUp, Generation: reminder.Generation(start), NotAfter: now.Add(time.Hour)}
	booked := appointment.Appointment{Status: appointment.StatusBooked, Start: start}
	fulfilled := appointment.Appointment{Status: appointment.StatusFulfilled, Start: now.Add(-25 * time.Hour)}
	cases := []struct {
		name    string
		a       appointment.Appointment
		r       reminder.Reminder
		consent consent.State
		now     time.Time
		want    string
	}{
		{"send", booked, pre, consent.OptedIn, now, ""},
		{"opted out", booked, pre, consent.OptedOut, now, ReasonOptedOut},
		{"no ledger", booked, pre, consent.Unknown, now, ReasonNoConsent},
		{"cancelled", appointment.Appointment{Status: appointment.StatusCancelled, Start: start}, pre, consent.OptedIn, now, "appointment_cancelled"},
		{"noshow", appointment.Appointment{Status: appointment.StatusNoShow, Start: start}, pre, consent.OptedIn, now, "appointment_noshow"},
		{"next reminder due", booked, pre, consent.OptedIn, start.Add(-90 * time.Minute), reminder.ReasonSuperseded},
		{"visit started", booked, pre, consent.OptedIn, start, reminder.ReasonPastVisit},
		{"patient asked to cancel", appointment.Appointment{Status: appointment.StatusBooked, Start: start, Response: appointment.ResponseCancelledByPatient}, pre, consent.OptedIn, now, ReasonPatientCancelled},
		{"patient confirmed", appointment.Appointment{Status: appointment.StatusBooked, Start: start, Response: appointment.ResponseConfirmed}, pre, consent.OptedIn, now, ""},
		{"follow-up sent", fulfilled, follow, consent.OptedIn, now, ""},
		{"follow-up of a visit not fulfilled", booked, follow, consent.OptedIn, now, "appointment_booked"},
		{"follow-up too late", fulfilled, follow, consent.OptedIn, now.Add(2 * time.Hour), reminder.ReasonFollowUpExpired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := whyNot(c.a, c.r, c.consent, c.now); got != c.want {
				t.Errorf("whyNot = %q, want %q", got, c.want)
			}
		})
	}
}

func TestDefaultBackoffGrowsWithJitterAndIsCapped(t *testing.T) {
	prevMax := time.Duration(0)
	for n := 1; n <= 12; n++ {
		lo, hi := time.Duration(1<<62), time.Duration(0)
		for range 200 {
			d := DefaultBackoff(n)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < DefaultPairGap {
			t.Errorf("receive %d: backoff %v below the pair gap", n, lo)
		}
		if hi > 15*time.Minute*3/2 {
			t.Errorf("receive %d: backoff %v above the cap", n, hi)
		}
		if n <= 6 && hi <= prevMax/2 {
			t.Errorf("receive %d: backoff %v does not grow (previous max %v)", n, hi, prevMax)
		}
		if lo == hi {
			t.Errorf("receive %d: no jitter (%v)", n, lo)
		}
		prevMax = hi
	}
}

func TestPerInstanceRateSplitsTheNumbersBudget(t *testing.T) {
	cases := []struct {
		mps  float64
		conc int
		want float64
	}{{80, 1, 80}, {80, 4, 20}, {0, 0, DefaultMessagesPerSecond}, {1000, 10, 100}}
	for _, c := range cases {
		s := NewSender(&Sender{MessagesPerSecond: c.mps, Concurrency: c.conc})
		if got := s.perInstanceRate(); got != c.want {
			t.Errorf("%v/%d: %v, want %v", c.mps, c.conc, got, c.want)
		}
	}
}
