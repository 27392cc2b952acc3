package waitlist_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/slot"
	"github.com/frontdesk-health/frontdesk/shared/waitlist"
)

type offers struct {
	mu    sync.Mutex
	byKey map[string]waitlist.Offer
	order []string // appointment ids in send order
}

func (o *offers) Offer(_ context.Context, x waitlist.Offer) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.byKey == nil {
		o.byKey = map[string]waitlist.Offer{}
	}
	if _, ok := o.byKey[x.Key]; !ok {
		o.byKey[x.Key] = x
		o.order = append(o.order, x.AppointmentID)
	}
	return nil
}

type facts struct {
	seen map[string]bool
	sum  map[string]int64
}

func (f *facts) Record(_ context.Context, fs ...metrics.Fact) error {
	if f.seen == nil {
		f.seen, f.sum = map[string]bool{}, map[string]int64{}
	}
	for _, x := range fs {
		if !f.seen[x.Key] {
			f.seen[x.Key] = true
			for k, v := range x.Add {
				f.sum[k] += v
			}
		}
	}
	return nil
}

func TestWavesOfferAFreedSlotInJoinOrder(t *testing.T) {
	svc, store, clock, _, _ := newService(t)
	ctx := ctxT(t)
	c := clinic.Clinic{ID: "clinic-a", Name: "Demo Family Clinic", TimeZone: "America/New_York"}
	sl := slot.Slot{ClinicID: c.ID, ID: "slot-1", Start: t0.Add(26 * time.Hour), Duration: 30 * time.Minute, Status: slot.Free, Version: 1}
	if err := store.SaveSlot(ctx, sl); err != nil {
		t.Fatal(err)
	}
	appts := map[string]appointment.Appointment{}
	optedOut := map[string]bool{"pat-out": true}
	// Joined in this order; "early" starts before the slot, "out" opted out.
	for i, id := range []string{"w1", "out", "w2", "early", "w3", "w4", "w5"} {
		a := appointment.Appointment{ClinicID: c.ID, ID: id, PatientID: "pat-" + id, Status: appointment.StatusBooked,
			Start: t0.Add(time.Duration(5*24+i) * time.Hour), Waitlist: true}
		if id == "early" {
			a.Start = t0.Add(20 * time.Hour)
		}
		appts[id] = a
		if err := store.JoinWaitlist(ctx, c.ID, slot.Entry{AppointmentID: id, PatientID: a.PatientID, JoinedAt: t0.Add(time.Duration(i-100) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	// Joining again keeps the first place.
	if err := store.JoinWaitlist(ctx, c.ID, slot.Entry{AppointmentID: "w1", PatientID: "pat-w1", JoinedAt: t0}); err != nil {
		t.Fatal(err)
	}
	of, mf := &offers{}, &facts{}
	waves := &waitlist.Waves{Store: store, Offers: of, Metrics: mf, Now: clock.Now,
		Appointments: func(_ context.Context, _, id string) (appointment.Appointment, error) { return appts[id], nil },
		OptedOut:     func(_ context.Context, _, patientID string) (bool, error) { return optedOut[patientID], nil },
	}
	run := func(want ...string) {
		t.Helper()
		before := len(of.order)
		if _, err := waves.Run(ctx, c); err != nil {
			t.Fatal(err)
		}
		if got := of.order[before:]; !slices.Equal(got, want) {
			t.Fatalf("at %v offered %v, want %v", clock.Now(), got, want)
		}
	}
	run() // nothing freed yet
	if ok, err := store.StartRelease(ctx, c.ID, sl.ID, t0, sl.Start); err != nil || !ok {
		t.Fatalf("release: %v %v", ok, err)
	}
	if ok, err := store.StartRelease(ctx, c.ID, sl.ID, t0.Add(time.Second), sl.Start); err != nil || ok {
		t.Fatalf("a redelivered release restarted the waves: %v %v", ok, err)
	}
	run("w1", "w2", "w3")
	run() // the same sweep again, or a retried one: no second offer
	clock.Advance(slot.DefaultWaveGap - time.Second)
	run()
	clock.Advance(time.Second)
	run("w4", "w5")

	for _, id := range []string{"w1", "w4"} {
		exp, ok, err := store.OfferExpiry(ctx, c.ID, sl.ID, id)
		if left := exp.Sub(clock.Now()); err != nil || !ok || left > slot.DefaultOfferTTL || left < slot.DefaultOfferTTL-slot.DefaultWaveGap {
			t.Fatalf("%s offer expiry %v %v %v", id, exp, ok, err)
		}
	}

	// w2 accepts: the slot is filled, the next wave stops and counts the fill.
	svc.Now = clock.Now
	exp, _, _ := store.OfferExpiry(ctx, c.ID, sl.ID, "w2")
	clock.Advance(3 * time.Minute)
	if claim, _, err := svc.Choose(ctx, waitlist.Choice{ClinicID: c.ID, AppointmentID: "w2", PatientID: "pat-w2", SlotID: sl.ID,
		Reason: slot.ReasonWaitlist, MessageID: "wamid.w2", OfferExpiresAt: exp}); err != nil || claim != slot.Won {
		t.Fatalf("accept: %q %v", claim, err)
	}
	clock.Advance(slot.DefaultWaveGap)
	run()
	if rs, err := store.DueReleases(ctx, c.ID, clock.Now().Add(48*time.Hour), 10); err != nil || len(rs) != 0 {
		t.Fatalf("a filled slot still has waves due: %+v %v", rs, err)
	}
	want := map[string]int64{metrics.SlotsFreed: 1, metrics.SlotsOffered: 1, metrics.SlotsFilled: 1, metrics.ReleaseToFillMinutes: 13}
	for k, v := range want {
		if mf.sum[k] != v {
			t.Errorf("%s = %d, want %d (all %v)", k, mf.sum[k], v, mf.sum)
		}
	}

	// A second slot freed within the day: nobody offered today is offered again,
	// so only the patient who joined since is; and not in the clinic's quiet hours.
	sl2 := sl
	sl2.ID, sl2.Start = "slot-2", t0.Add(30*time.Hour)
	if err := store.SaveSlot(ctx, sl2); err != nil {
		t.Fatal(err)
	}
	appts["w6"] = appointment.Appointment{ClinicID: c.ID, ID: "w6", PatientID: "pat-w6", Status: appointment.StatusBooked, Start: t0.Add(9 * 24 * time.Hour), Waitlist: true}
	if err := store.JoinWaitlist(ctx, c.ID, slot.Entry{AppointmentID: "w6", PatientID: "pat-w6", JoinedAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.StartRelease(ctx, c.ID, sl2.ID, clock.Now(), sl2.Start); err != nil {
		t.Fatal(err)
	}
	local := clock.Now().In(mustLoc(t, c.TimeZone))
	c.QuietHours = reminder.QuietHours{Start: local.Add(-time.Hour).Format("15:04"), End: local.Add(time.Hour).Format("15:04")}
	run()
	clock.Advance(time.Hour)
	run("w6")
}

func mustLoc(t *testing.T, zone string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestWavesFollowTheClinicsSettings: a clinic's wave size, wave gap and offer
// validity replace the defaults.
func TestWavesFollowTheClinicsSettings(t *testing.T) {
	_, store, clock, _, _ := newService(t)
	ctx := ctxT(t)
	c := clinic.Clinic{ID: "clinic-s", Name: "Demo Family Clinic", TimeZone: "America/New_York",
		Waitlist: clinic.WaitlistSettings{WaveSize: 1, WaveGapMinutes: 2, OfferValidMinutes: 30}}
	sl := slot.Slot{ClinicID: c.ID, ID: "slot-s", Start: t0.Add(26 * time.Hour), Duration: 30 * time.Minute, Status: slot.Free, Version: 1}
	if err := store.SaveSlot(ctx, sl); err != nil {
		t.Fatal(err)
	}
	appts := map[string]appointment.Appointment{}
	for i, id := range []string{"s1", "s2", "s3"} {
		appts[id] = appointment.Appointment{ClinicID: c.ID, ID: id, PatientID: "pat-" + id, Status: appointment.StatusBooked,
			Start: t0.Add(time.Duration(5*24+i) * time.Hour), Waitlist: true}
		if err := store.JoinWaitlist(ctx, c.ID, slot.Entry{AppointmentID: id, PatientID: "pat-" + id, JoinedAt: t0.Add(time.Duration(i-10) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	of := &offers{}
	waves := &waitlist.Waves{Store: store, Offers: of, Now: clock.Now,
		Appointments: func(_ context.Context, _, id string) (appointment.Appointment, error) { return appts[id], nil },
		OptedOut:     func(context.Context, string, string) (bool, error) { return false, nil },
	}
	if _, err := store.StartRelease(ctx, c.ID, sl.ID, t0, sl.Start); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		advance time.Duration
		want    []string
	}{{0, []string{"s1"}}, {time.Minute, []string{"s1"}}, {time.Minute, []string{"s1", "s2"}}, {2 * time.Minute, []string{"s1", "s2", "s3"}}} {
		clock.Advance(step.advance)
		if _, err := waves.Run(ctx, c); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(of.order, step.want) {
			t.Fatalf("at %v offered %v, want %v", clock.Now(), of.order, step.want)
		}
	}
	for _, o := range of.byKey {
		if o.AppointmentID == "s1" && !o.ExpiresAt.Equal(t0.Add(30*time.Minute)) {
			t.Errorf("s1's offer expires %v, want 30 min after it was made", o.ExpiresAt)
		}
	}
}
