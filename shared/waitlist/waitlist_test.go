package waitlist_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/slot"
	"github.com/frontdesk-health/frontdesk/shared/waitlist"
)

var t0 = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

// events and replies stand in for the ehr-outbox and the outbound path, which
// deduplicate by event id and by answer key: they keep the first of each.
type events struct {
	mu   sync.Mutex
	byID map[string]clinic.Event
}

func (e *events) Publish(_ context.Context, evs ...clinic.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.byID == nil {
		e.byID = map[string]clinic.Event{}
	}
	for _, ev := range evs {
		if _, ok := e.byID[ev.ID]; !ok {
			e.byID[ev.ID] = ev
		}
	}
	return nil
}

func (e *events) ofType(typ string) []clinic.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []clinic.Event
	for _, ev := range e.byID {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

type replies struct {
	mu    sync.Mutex
	byKey map[string]waitlist.Reply
}

func (r *replies) Reply(_ context.Context, x waitlist.Reply) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byKey == nil {
		r.byKey = map[string]waitlist.Reply{}
	}
	if _, ok := r.byKey[x.Key]; !ok {
		r.byKey[x.Key] = x
	}
	return nil
}

func (r *replies) count() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, x := range r.byKey {
		out[x.Answer]++
	}
	return out
}

func newService(t *testing.T) (*waitlist.Service, *dynamo.Store, *platform.FakeClock, *events, *replies) {
	t.Helper()
	client, names := localtest.Dynamo(t)
	clock := platform.NewFakeClock(t0)
	store := dynamo.NewStore(client, names, clock, 4)
	ev, rp := &events{}, &replies{}
	return &waitlist.Service{Store: store, Events: ev, Replies: rp, Now: clock.Now}, store, clock, ev, rp
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// One free slot offered to 20 waitlisted patients who all accept at once, each
// acceptance delivered twice: exactly one reschedule request reaches the clinic,
// the other 19 patients are each told once that the time was just taken, and
// the slot is held once.
func TestTwentyConcurrentAcceptancesOneWinner(t *testing.T) {
	svc, store, _, ev, rp := newService(t)
	ctx := ctxT(t)
	sl := slot.Slot{ClinicID: "clinic-a", ID: "slot-1", Start: t0.Add(26 * time.Hour), Duration: 30 * time.Minute, Status: slot.Free, Version: 1}
	if err := store.SaveSlot(ctx, sl); err != nil {
		t.Fatal(err)
	}
	const patients = 20
	start := make(chan struct{})
	errs := make(chan error, 2*patients)
	var wg sync.WaitGroup
	for i := range patients {
		c := waitlist.Choice{ClinicID: "clinic-a", AppointmentID: fmt.Sprintf("appt-%02d", i), PatientID: fmt.Sprintf("pat-%02d", i),
			SlotID: "slot-1", Reason: slot.ReasonWaitlist, MessageID: fmt.Sprintf("wamid.accept-%02d", i), OfferExpiresAt: t0.Add(2 * time.Hour)}
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, _, err := svc.Choose(ctx, c)
				errs <- err
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	reqs := ev.ofType(clinic.EventAppointmentRescheduleRequested)
	if len(reqs) != 1 {
		t.Fatalf("%d reschedule requests, want 1", len(reqs))
	}
	got := rp.count()
	if got[waitlist.AnswerHeld] != 1 || got[waitlist.AnswerTaken] != patients-1 || len(got) != 2 {
		t.Fatalf("answers %v, want 1 held and %d taken", got, patients-1)
	}
	d, _ := reqs[0].Data.(clinic.AppointmentRescheduleRequested)
	h, ok, err := store.GetHold(ctx, "clinic-a", "slot-1")
	if err != nil || !ok || d.AppointmentID != h.AppointmentID || d.SlotID != "slot-1" || d.Reason != "waitlist" ||
		!d.Start.Equal(sl.Start) || reqs[0].Field("start") != sl.Start.Format(time.RFC3339) {
		t.Fatalf("request %v, hold %+v %v %v", d, h, ok, err)
	}
	for _, r := range rp.byKey {
		if r.Answer == waitlist.AnswerHeld && r.AppointmentID != h.AppointmentID {
			t.Fatalf("%s was told it holds the slot; the hold is %s's", r.AppointmentID, h.AppointmentID)
		}
	}
}

func TestChooseAnswers(t *testing.T) {
	svc, store, clock, ev, rp := newService(t)
	ctx := ctxT(t)
	free := slot.Slot{ClinicID: "clinic-a", ID: "free", Start: t0.Add(26 * time.Hour), Duration: 30 * time.Minute, Status: slot.Free, Version: 1}
	busy := free
	busy.ID, busy.Status = "busy", slot.Busy
	for _, s := range []slot.Slot{free, busy} {
		if err := store.SaveSlot(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	choice := func(appt, slotID, msg string, lapses time.Time) waitlist.Choice {
		return waitlist.Choice{ClinicID: "clinic-a", AppointmentID: appt, PatientID: "pat-" + appt, SlotID: slotID,
			Reason: slot.ReasonReschedule, MessageID: msg, OfferExpiresAt: lapses}
	}
	lapsed := choice("a1", "free", "m0", t0)
	lapsed.Reason = slot.ReasonWaitlist
	cases := []struct {
		name   string
		c      waitlist.Choice
		claim  slot.Claim
		answer string
	}{
		{"an offer past its time changes nothing", lapsed, slot.Gone, waitlist.AnswerLapsed},
		{"an unpublished slot", choice("a1", "nope", "m1", time.Time{}), slot.Gone, waitlist.AnswerTaken},
		{"a busy slot", choice("a1", "busy", "m2", time.Time{}), slot.Gone, waitlist.AnswerTaken},
		{"a free slot from the list", choice("a1", "free", "m3", time.Time{}), slot.Won, waitlist.AnswerHeld},
		{"another patient after it", choice("a2", "free", "m4", time.Time{}), slot.Taken, waitlist.AnswerTaken},
	}
	for _, c := range cases {
		got, _, err := svc.Choose(ctx, c.c)
		if err != nil || got != c.claim {
			t.Fatalf("%s: %q %v, want %q", c.name, got, err, c.claim)
		}
		var last waitlist.Reply
		for _, r := range rp.byKey {
			if r.ReplyTo == c.c.MessageID {
				last = r
			}
		}
		if last.Answer != c.answer || last.AppointmentID != c.c.AppointmentID {
			t.Fatalf("%s: answered %+v, want %s", c.name, last, c.answer)
		}
	}
	if reqs := ev.ofType(clinic.EventAppointmentRescheduleRequested); len(reqs) != 1 || reqs[0].Field("reason") != "reschedule" {
		t.Fatalf("requests %+v", reqs)
	}

	// The hold lapses: the sweep tells the clinic and the patient once, and the
	// slot is free for the next patient.
	clock.Set(t0.Add(slot.DefaultHoldTTL - time.Second))
	if n, err := svc.ReleaseExpired(ctx, "clinic-a"); err != nil || n != 0 {
		t.Fatalf("before expiry: %d %v", n, err)
	}
	clock.Set(t0.Add(slot.DefaultHoldTTL))
	for range 2 {
		if _, err := svc.ReleaseExpired(ctx, "clinic-a"); err != nil {
			t.Fatal(err)
		}
	}
	exp := ev.ofType(clinic.EventAppointmentRescheduleRequestExpired)
	if len(exp) != 1 || exp[0].Field("appointmentId") != "a1" || exp[0].Field("slotId") != "free" {
		t.Fatalf("expiry events %+v", exp)
	}
	if got := rp.count()[waitlist.AnswerExpired]; got != 1 {
		t.Fatalf("%d expiry answers, want 1", got)
	}
	if got, _, err := svc.Choose(ctx, choice("a2", "free", "m5", time.Time{})); err != nil || got != slot.Won {
		t.Fatalf("after expiry: %q %v", got, err)
	}

	// A lapsed hold whose appointment the EHR moved to the slot was used: no expiry.
	svc.Appointments = func(_ context.Context, clinicID, id string) (appointment.Appointment, error) {
		return appointment.Appointment{ClinicID: clinicID, ID: id, Start: free.Start}, nil
	}
	clock.Set(t0.Add(3 * slot.DefaultHoldTTL))
	if n, err := svc.ReleaseExpired(ctx, "clinic-a"); err != nil || n != 1 {
		t.Fatalf("used hold: %d %v", n, err)
	}
	if exp := ev.ofType(clinic.EventAppointmentRescheduleRequestExpired); len(exp) != 1 {
		t.Fatalf("a used hold was announced as expired: %+v", exp)
	}
}

func TestTextInThePatientsLanguage(t *testing.T) {
	cases := []struct{ answer, lang, want string }{
		{waitlist.AnswerTaken, "es-MX", "Otra persona acaba de tomar esa hora, así que su cita en Clínica Sol sigue igual."},
		{waitlist.AnswerHeld, "pt", "Obrigado. Reservamos 10/03 às 15:30 para você enquanto Clínica Sol confirma a mudança."},
		{waitlist.AnswerExpired, "fr", "Clínica Sol could not confirm the new time yet."},
	}
	for _, c := range cases {
		got := waitlist.Text(c.answer, c.lang, "", "Clínica Sol", "10/03", "15:30")
		if !containsAll(got, c.want) {
			t.Errorf("%s/%s: %q, want it to contain %q", c.answer, c.lang, got, c.want)
		}
	}
}

func containsAll(s, sub string) bool { return strings.Contains(s, sub) }
