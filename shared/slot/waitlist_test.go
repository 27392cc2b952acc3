package slot

import (
	"fmt"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

var now0 = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC) // 10:00 in New York

func appt(id string, start time.Time) appointment.Appointment {
	return appointment.Appointment{ClinicID: "clinic-a", ID: id, Status: appointment.StatusBooked, Start: start,
		Location: appointment.Location{Name: "Main St"}, VisitType: "FOLLOWUP", Waitlist: true}
}

func held(s Slot, until time.Time) Slot {
	s.HeldUntil = until
	return s
}

func TestChoices(t *testing.T) {
	a := appt("a1", now0.Add(10*24*time.Hour))
	mk := func(id string, in time.Duration) Slot {
		return Slot{ClinicID: "clinic-a", ID: id, Start: now0.Add(in), Duration: 30 * time.Minute, Status: Free, Location: "main st "}
	}
	var many []Slot
	for i := 12; i > 0; i-- {
		many = append(many, mk(fmt.Sprintf("m%02d", i), time.Duration(i)*24*time.Hour))
	}
	other := mk("other", 24*time.Hour)
	other.VisitType = "SURGERY"
	busy := mk("busy", 24*time.Hour)
	busy.Status = Busy
	cases := []struct {
		name string
		free []Slot
		want []string
	}{
		{"none published", nil, nil},
		{"earliest first, at most eight", many, []string{"m01", "m02", "m03", "m04", "m05", "m06", "m07", "m08"}},
		{"too soon and beyond the horizon are left out",
			[]Slot{mk("soon", time.Hour), mk("late", 15*24*time.Hour), mk("ok", 3*time.Hour)}, []string{"ok"}},
		{"another visit type, busy and the appointment's own time are left out",
			[]Slot{other, busy, mk("own", 10*24*time.Hour), mk("ok", 2*24*time.Hour)}, []string{"ok"}},
		{"a held slot is left out until its hold expires",
			[]Slot{held(mk("held", 24*time.Hour), now0.Add(time.Minute)), held(mk("lapsed", 2*24*time.Hour), now0)}, []string{"lapsed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Choices(c.free, a, Policy{}, now0)
			var ids []string
			for _, s := range got {
				ids = append(ids, s.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(c.want) {
				t.Fatalf("got %v, want %v", ids, c.want)
			}
		})
	}
}

func TestNextWave(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	s := Slot{ClinicID: "clinic-a", ID: "s1", Start: now0.Add(24 * time.Hour), Duration: 30 * time.Minute, Status: Free, VisitType: "FOLLOWUP"}
	later := now0.Add(5 * 24 * time.Hour)
	w := func(id string, joinedMin int, mod func(*Waiter)) Waiter {
		x := Waiter{Appointment: appt(id, later), JoinedAt: now0.Add(time.Duration(joinedMin-1000) * time.Minute)}
		if mod != nil {
			mod(&x)
		}
		return x
	}
	five := []Waiter{w("e", 5, nil), w("b", 2, nil), w("d", 4, nil), w("a", 1, nil), w("c", 3, nil)}
	night := reminder.QuietHours{Start: "09:00", End: "11:00"} // covers now0 (10:00 local)
	cases := []struct {
		name     string
		slot     Slot
		filled   bool
		last     time.Time
		waiters  []Waiter
		q        reminder.QuietHours
		at       time.Time
		want     []string
		stop     string
		wait     string
		wantNext time.Time
	}{
		{name: "first wave: three in join order", slot: s, waiters: five, want: []string{"a", "b", "c"}, wantNext: now0.Add(DefaultWaveGap)},
		{name: "before the gap: wait", slot: s, waiters: five, last: now0.Add(-5 * time.Minute), wait: WaitWaveGap, wantNext: now0.Add(5 * time.Minute)},
		{name: "filled", slot: s, filled: true, waiters: five, stop: StopFilled},
		{name: "no longer free", slot: func() Slot { x := s; x.Status = Busy; return x }(), waiters: five, stop: StopNotFree},
		{name: "too close to the start", slot: s, waiters: five, at: s.Start.Add(-time.Hour), stop: StopTooClose},
		{name: "quiet hours: wait until they end", slot: s, waiters: five, q: night, wait: WaitQuiet, wantNext: now0.Add(time.Hour)},
		{name: "skips opted out, offered, offered today, earlier, not waitlisted, other visit type", slot: s, waiters: []Waiter{
			w("optout", 1, func(x *Waiter) { x.OptedOut = true }),
			w("offered", 2, func(x *Waiter) { x.Offered = true }),
			w("today", 3, func(x *Waiter) { x.LastOfferAt = now0.Add(-23 * time.Hour) }),
			w("yesterday", 4, func(x *Waiter) { x.LastOfferAt = now0.Add(-25 * time.Hour) }),
			w("earlier", 5, func(x *Waiter) { x.Appointment.Start = s.Start.Add(-time.Hour) }),
			w("left", 6, func(x *Waiter) { x.Appointment.Waitlist = false }),
			w("cancelled", 7, func(x *Waiter) { x.Appointment.Status = appointment.StatusCancelled }),
			w("surgery", 8, func(x *Waiter) { x.Appointment.VisitType = "SURGERY" }),
			w("ok", 9, nil),
		}, want: []string{"yesterday", "ok"}, wantNext: now0.Add(DefaultWaveGap)},
		{name: "nobody left", slot: s, waiters: []Waiter{w("offered", 1, func(x *Waiter) { x.Offered = true })}, stop: StopExhausted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			at := c.at
			if at.IsZero() {
				at = now0
			}
			got := NextWave(c.slot, c.filled, c.last, c.waiters, Policy{}, ny, c.q, at)
			var ids []string
			for _, x := range got.Offer {
				ids = append(ids, x.Appointment.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(c.want) || got.Stop != c.stop || got.Wait != c.wait || !got.Next.Equal(c.wantNext) {
				t.Fatalf("got offer %v stop %q wait %q next %v; want %v %q %q %v", ids, got.Stop, got.Wait, got.Next, c.want, c.stop, c.wait, c.wantNext)
			}
		})
	}
}

func TestHoldValidateAndOfferExpiry(t *testing.T) {
	h := Hold{ClinicID: "c", SlotID: "s", AppointmentID: "a", Reason: ReasonWaitlist, HeldAt: now0, ExpiresAt: now0.Add(DefaultHoldTTL)}
	if err := h.Validate(); err != nil || !h.Active(now0) || h.Active(h.ExpiresAt) {
		t.Fatalf("valid hold: %v active %v/%v", err, h.Active(now0), h.Active(h.ExpiresAt))
	}
	for _, bad := range []Hold{{}, {ClinicID: "c", SlotID: "s", AppointmentID: "a", Reason: "x", HeldAt: now0, ExpiresAt: now0.Add(time.Minute)},
		{ClinicID: "c", SlotID: "s", AppointmentID: "a", Reason: ReasonReschedule, HeldAt: now0, ExpiresAt: now0}} {
		if bad.Validate() == nil {
			t.Fatalf("%+v validated", bad)
		}
	}
	if got := OfferExpiry(Policy{}, now0); !got.Equal(now0.Add(2 * time.Hour)) {
		t.Fatalf("offer expiry %v", got)
	}
	if got := OfferExpiry(Policy{OfferTTL: time.Hour}, now0); !got.Equal(now0.Add(time.Hour)) {
		t.Fatalf("offer expiry with a 1 h template %v", got)
	}
}

// The offer's validity is the offer template's TTL: Meta never delivers an offer
// Frontdesk no longer honours.
func TestOfferTTLIsTheTemplates(t *testing.T) {
	for _, lang := range reminder.Languages {
		tp, err := reminder.TemplateNamed(reminder.TemplateWaitlistOffer, lang, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := time.Duration(tp.MessageSendTTLSeconds) * time.Second; got != DefaultOfferTTL {
			t.Errorf("%s: template TTL %v, offer validity %v", lang, got, DefaultOfferTTL)
		}
	}
}
