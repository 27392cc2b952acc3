package dynamo_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

func holdFor(apptID string, sl slot.Slot, at time.Time, ttl time.Duration) slot.Hold {
	return slot.Hold{ClinicID: sl.ClinicID, SlotID: sl.ID, SlotStart: sl.Start, AppointmentID: apptID, PatientID: "pat-" + apptID,
		Reason: slot.ReasonWaitlist, HeldAt: at, ExpiresAt: at.Add(ttl)}
}

// Twenty waitlisted patients accept the same offer at once, each acceptance
// delivered twice: one wins, its redelivery is told it already holds the slot,
// and every other patient (both deliveries) is told the time was taken.
func TestHoldSlotFirstAcceptanceWinsUnderRace(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	sl := newSlot("clinic-a", "slot-race", t0.Add(48*time.Hour), slot.Free)
	if err := s.SaveSlot(ctx, sl); err != nil {
		t.Fatal(err)
	}
	const patients = 20
	type result struct {
		appt  string
		claim slot.Claim
		err   error
	}
	results := make(chan result, 2*patients)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range patients {
		appt := fmt.Sprintf("appt-%02d", i)
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c, _, err := s.HoldSlot(ctx, holdFor(appt, sl, t0, slot.DefaultHoldTTL))
				results <- result{appt, c, err}
			}()
		}
	}
	close(start)
	wg.Wait()
	close(results)

	byAppt := map[string][]slot.Claim{}
	for r := range results {
		if r.err != nil {
			t.Fatalf("%s: %v", r.appt, r.err)
		}
		byAppt[r.appt] = append(byAppt[r.appt], r.claim)
	}
	var winners, taken []string
	for appt, cs := range byAppt {
		won, mine, tk := 0, 0, 0
		for _, c := range cs {
			switch c {
			case slot.Won:
				won++
			case slot.Mine:
				mine++
			case slot.Taken:
				tk++
			default:
				t.Fatalf("%s: claim %q", appt, c)
			}
		}
		switch {
		case won == 1 && mine == 1:
			winners = append(winners, appt)
		case tk == 2:
			taken = append(taken, appt)
		default:
			t.Fatalf("%s: claims %v: neither one win and one redelivery nor two taken", appt, cs)
		}
	}
	if len(winners) != 1 || len(taken) != patients-1 {
		t.Fatalf("%d winners %v and %d told taken; want 1 and %d", len(winners), winners, len(taken), patients-1)
	}
	h, ok, err := s.GetHold(ctx, sl.ClinicID, sl.ID)
	if err != nil || !ok || h.AppointmentID != winners[0] || !h.ExpiresAt.Equal(t0.Add(slot.DefaultHoldTTL)) {
		t.Fatalf("stored hold %+v %v %v; want the winner %s's", h, ok, err, winners[0])
	}
	got, err := s.GetSlot(ctx, sl.ClinicID, sl.ID)
	if err != nil || !got.HeldUntil.Equal(h.ExpiresAt) || got.Revision != 1 {
		t.Fatalf("slot after the race %+v %v", got, err)
	}
}

func TestHoldSlotLifecycle(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	sl := newSlot("clinic-a", "slot-1", t0.Add(48*time.Hour), slot.Free)
	busy := newSlot("clinic-a", "slot-busy", t0.Add(49*time.Hour), slot.Busy)
	for _, x := range []slot.Slot{sl, busy} {
		if err := s.SaveSlot(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	ttl := slot.DefaultHoldTTL
	first := holdFor("appt-1", sl, t0, ttl)
	steps := []struct {
		name string
		hold slot.Hold
		want slot.Claim
	}{
		{"a free slot is held", first, slot.Won},
		{"the same appointment again", holdFor("appt-1", sl, t0.Add(time.Minute), ttl), slot.Mine},
		{"another appointment before expiry", holdFor("appt-2", sl, t0.Add(ttl-time.Nanosecond), ttl), slot.Taken},
		{"a busy slot", holdFor("appt-2", busy, t0, ttl), slot.Gone},
		{"an unpublished slot", holdFor("appt-2", newSlot("clinic-a", "nope", t0, slot.Free), t0, ttl), slot.Gone},
		{"another appointment once the hold expired", holdFor("appt-2", sl, t0.Add(ttl), ttl), slot.Won},
	}
	for _, st := range steps {
		got, _, err := s.HoldSlot(ctx, st.hold)
		if err != nil || got != st.want {
			t.Fatalf("%s: %q %v, want %q", st.name, got, err, st.want)
		}
	}
	if _, _, err := s.HoldSlot(ctx, slot.Hold{ClinicID: "clinic-a"}); err == nil {
		t.Fatal("an invalid hold was placed")
	}

	// The sweep finds expired holds by the index, per clinic, oldest first.
	other := newSlot("clinic-b", "slot-b", t0.Add(48*time.Hour), slot.Free)
	if err := s.SaveSlot(ctx, other); err != nil {
		t.Fatal(err)
	}
	if c, _, err := s.HoldSlot(ctx, holdFor("appt-b", other, t0, ttl)); err != nil || c != slot.Won {
		t.Fatalf("clinic-b hold: %q %v", c, err)
	}
	second := holdFor("appt-2", sl, t0.Add(ttl), ttl)
	for _, c := range []struct {
		at   time.Time
		want []string
	}{
		{t0.Add(2*ttl - time.Nanosecond), nil},
		{t0.Add(2 * ttl), []string{"appt-2"}},
	} {
		hs, err := s.ExpiredHolds(ctx, "clinic-a", c.at, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, h := range hs {
			ids = append(ids, h.AppointmentID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(c.want) {
			t.Fatalf("expired at %v: %v, want %v", c.at, ids, c.want)
		}
	}
	// Free slots of a clinic never list a hold item.
	page, err := s.Slots(ctx, dynamo.SlotQuery{ClinicID: "clinic-a", From: t0, To: t0.Add(30 * 24 * time.Hour), FreeOnly: true})
	if err != nil || len(page.Slots) != 1 || page.Slots[0].ID != "slot-1" {
		t.Fatalf("free slots %+v %v", page.Slots, err)
	}

	// Releasing the stale hold does nothing; releasing the current one frees the slot, once.
	if ok, err := s.ReleaseHold(ctx, first); err != nil || ok {
		t.Fatalf("release of a replaced hold: %v %v", ok, err)
	}
	if ok, err := s.ReleaseHold(ctx, second); err != nil || !ok {
		t.Fatalf("release: %v %v", ok, err)
	}
	if ok, err := s.ReleaseHold(ctx, second); err != nil || ok {
		t.Fatalf("second release: %v %v", ok, err)
	}
	if hs, err := s.ExpiredHolds(ctx, "clinic-a", t0.Add(48*time.Hour), 10); err != nil || len(hs) != 0 {
		t.Fatalf("after release: %v %v", hs, err)
	}
	got, err := s.GetSlot(ctx, sl.ClinicID, sl.ID)
	if err != nil || !got.HeldUntil.IsZero() {
		t.Fatalf("slot after release %+v %v", got, err)
	}
	if c, _, err := s.HoldSlot(ctx, holdFor("appt-3", sl, t0.Add(time.Minute), ttl)); err != nil || c != slot.Won {
		t.Fatalf("hold after release: %q %v", c, err)
	}
	// The EHR's update keeps the hold; a slot it books is no longer holdable.
	got, _ = s.GetSlot(ctx, sl.ClinicID, sl.ID)
	got.Status, got.Version = slot.Busy, 2
	if err := s.SaveSlot(ctx, got); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetSlot(ctx, sl.ClinicID, sl.ID); !got.HeldUntil.Equal(t0.Add(time.Minute + ttl)) {
		t.Fatalf("the EHR's update dropped heldUntil: %+v", got)
	}
	if c, _, err := s.HoldSlot(ctx, holdFor("appt-4", sl, t0.Add(time.Hour), ttl)); err != nil || c != slot.Gone {
		t.Fatalf("hold on a booked slot: %q %v", c, err)
	}
}
