package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// SlotStore is what the slot desk, the waitlist and the EHR's slot writes need
// of a store: slots ordered by optimistic revisions, and holds of which one wins.
type SlotStore interface {
	SaveSlot(ctx context.Context, s slot.Slot) error
	GetSlot(ctx context.Context, clinicID, id string) (slot.Slot, error)
	Slots(ctx context.Context, q slot.Query) (slot.Page, error)
	HoldSlot(ctx context.Context, h slot.Hold) (slot.Claim, slot.Hold, error)
	GetHold(ctx context.Context, clinicID, slotID string) (slot.Hold, bool, error)
	ExpiredHolds(ctx context.Context, clinicID string, now time.Time, limit int) ([]slot.Hold, error)
	ReleaseHold(ctx context.Context, h slot.Hold) (bool, error)
}

// slotT0 is the clock's start in the slot, waitlist and inbound suites.
var slotT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// freshClocked builds a store on a fake clock at slotT0.
func freshClocked[S any](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) (S, *platform.FakeClock) {
	t.Helper()
	clock := platform.NewFakeClock(slotT0)
	return newStore(t, clock), clock
}

func newTestSlot(clinicID, id string, start time.Time, status slot.Status) slot.Slot {
	return slot.Slot{ClinicID: clinicID, ID: id, Start: start, Duration: 30 * time.Minute, Status: status,
		Location: "Main St", Practitioner: "Dr Example", VisitType: "FOLLOWUP", Version: 1}
}

func holdFor(apptID string, sl slot.Slot, at time.Time, ttl time.Duration) slot.Hold {
	return slot.Hold{ClinicID: sl.ClinicID, SlotID: sl.ID, SlotStart: sl.Start, AppointmentID: apptID, PatientID: "pat-" + apptID,
		Reason: slot.ReasonWaitlist, HeldAt: at, ExpiresAt: at.Add(ttl)}
}

// Slots asserts slot writes (create once, update by revision, lost races as
// fault.ErrConflict), windowed listings with pages, and holds (one winner under a
// race, the same appointment again, expiry, release).
func Slots[S SlotStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	t.Run("save creates, updates and locks", func(t *testing.T) { saveSlotCreatesUpdatesAndLocks(t, newStore) })
	t.Run("slots in a window", func(t *testing.T) { slotsInAWindow(t, newStore) })
	t.Run("first acceptance wins under race", func(t *testing.T) { holdSlotFirstAcceptanceWinsUnderRace(t, newStore) })
	t.Run("hold lifecycle", func(t *testing.T) { holdSlotLifecycle(t, newStore) })
}

func saveSlotCreatesUpdatesAndLocks[S SlotStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
	start := slotT0.Add(48 * time.Hour)

	if _, err := s.GetSlot(ctx, "clinic-a", "slot-1"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("missing slot: %v, want ErrNotFound", err)
	}
	first := newTestSlot("clinic-a", "slot-1", start, slot.Free)
	first.OrderingKey = "versionId"
	if err := s.SaveSlot(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSlot(ctx, first); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	got, err := s.GetSlot(ctx, "clinic-a", "slot-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != 1 || !got.Start.Equal(start) || got.Status != slot.Free || got.Location != "Main St" ||
		got.VisitType != "FOLLOWUP" || got.OrderingKey != "versionId" || !got.CreatedAt.Equal(slotT0) {
		t.Fatalf("stored %+v", got)
	}

	// An update names the revision it read; optional fields left out are removed.
	next := slot.Slot{ClinicID: "clinic-a", ID: "slot-1", Start: start.Add(time.Hour), Duration: 15 * time.Minute,
		Status: slot.Busy, Version: 2, Revision: got.Revision}
	if err := s.SaveSlot(ctx, next); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSlot(ctx, next); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("update with a stale revision: %v, want ErrConflict", err)
	}
	got, err = s.GetSlot(ctx, "clinic-a", "slot-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != 2 || got.Status != slot.Busy || got.Location != "" || got.Practitioner != "" || got.VisitType != "" ||
		got.OrderingKey != "" || got.Duration != 15*time.Minute || !got.CreatedAt.Equal(slotT0) {
		t.Fatalf("updated %+v", got)
	}
	if err := s.SaveSlot(ctx, slot.Slot{ClinicID: "clinic-a", ID: "bad", Start: start, Status: "open", Duration: time.Minute}); err == nil {
		t.Fatal("an invalid slot was saved")
	}
	if err := s.SaveSlot(ctx, slot.Slot{ClinicID: "clinic-a", ID: "never-read", Start: start, Status: slot.Free, Duration: time.Minute, Revision: 3}); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("update of a slot never stored: %v, want ErrConflict", err)
	}
}

func slotsInAWindow[S SlotStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	// Saved out of order; busy ones in between; one at exactly "to"; another clinic.
	for i, h := range []int{15, 9, 11, 10, 13, 24} {
		status := slot.Free
		if h == 10 || h == 13 {
			status = slot.Busy
		}
		if err := s.SaveSlot(ctx, newTestSlot("clinic-a", "slot-"+strconv.Itoa(i), day.Add(time.Duration(h)*time.Hour), status)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveSlot(ctx, newTestSlot("clinic-b", "slot-b", day.Add(12*time.Hour), slot.Free)); err != nil {
		t.Fatal(err)
	}
	hours := func(ss []slot.Slot) []int {
		var out []int
		for _, x := range ss {
			out = append(out, x.Start.Hour())
		}
		return out
	}
	read := func(q slot.Query) ([]int, int) {
		var all []slot.Slot
		pages := 0
		for {
			p, err := s.Slots(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			all = append(all, p.Slots...)
			if p.Next == nil {
				return hours(all), pages
			}
			q.After = p.Next
		}
	}
	cases := []struct {
		name  string
		q     slot.Query
		want  []int
		pages int
	}{
		{"the day, in start order, to excluded", slot.Query{ClinicID: "clinic-a", From: day, To: day.Add(24 * time.Hour)}, []int{9, 10, 11, 13, 15}, 1},
		{"pages of two", slot.Query{ClinicID: "clinic-a", From: day, To: day.Add(24 * time.Hour), Limit: 2}, []int{9, 10, 11, 13, 15}, 3},
		{"free only", slot.Query{ClinicID: "clinic-a", From: day, To: day.Add(24 * time.Hour), FreeOnly: true}, []int{9, 11, 15}, 1},
		{"free only, pages of one", slot.Query{ClinicID: "clinic-a", From: day, To: day.Add(24 * time.Hour), FreeOnly: true, Limit: 1}, []int{9, 11, 15}, 3},
		{"from is included", slot.Query{ClinicID: "clinic-a", From: day.Add(11 * time.Hour), To: day.Add(14 * time.Hour)}, []int{11, 13}, 1},
		{"empty window", slot.Query{ClinicID: "clinic-a", From: day.Add(16 * time.Hour), To: day.Add(17 * time.Hour)}, nil, 1},
		{"to before from", slot.Query{ClinicID: "clinic-a", From: day.Add(17 * time.Hour), To: day.Add(9 * time.Hour)}, nil, 1},
		{"another clinic's", slot.Query{ClinicID: "clinic-b", From: day, To: day.Add(48 * time.Hour)}, []int{12}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, pages := read(tc.q)
			if len(got) != len(tc.want) || pages < tc.pages || pages > tc.pages+1 {
				t.Fatalf("hours %v in %d pages, want %v in %d", got, pages, tc.want, tc.pages)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("hours %v, want %v", got, tc.want)
				}
			}
		})
	}

	// A slot that turns busy leaves the free listing; free again, it is back.
	sl, _ := s.GetSlot(ctx, "clinic-a", "slot-1") // 09:00
	sl.Status, sl.Version = slot.Busy, 2
	if err := s.SaveSlot(ctx, sl); err != nil {
		t.Fatal(err)
	}
	if got, _ := read(slot.Query{ClinicID: "clinic-a", From: day, To: day.Add(24 * time.Hour), FreeOnly: true}); len(got) != 2 || got[0] != 11 {
		t.Fatalf("after busy: free %v, want [11 15]", got)
	}
	sl, _ = s.GetSlot(ctx, "clinic-a", "slot-1")
	sl.Status, sl.Version = slot.Free, 3
	if err := s.SaveSlot(ctx, sl); err != nil {
		t.Fatal(err)
	}
	if got, _ := read(slot.Query{ClinicID: "clinic-a", From: day, To: day.Add(24 * time.Hour), FreeOnly: true}); len(got) != 3 || got[0] != 9 {
		t.Fatalf("free again: free %v, want [9 11 15]", got)
	}
}

// Twenty waitlisted patients accept the same offer at once, each acceptance
// delivered twice: one wins, its redelivery is told it already holds the slot,
// and every other patient (both deliveries) is told the time was taken.
func holdSlotFirstAcceptanceWinsUnderRace[S SlotStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
	sl := newTestSlot("clinic-a", "slot-race", slotT0.Add(48*time.Hour), slot.Free)
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
				c, _, err := s.HoldSlot(ctx, holdFor(appt, sl, slotT0, slot.DefaultHoldTTL))
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
	if err != nil || !ok || h.AppointmentID != winners[0] || !h.ExpiresAt.Equal(slotT0.Add(slot.DefaultHoldTTL)) {
		t.Fatalf("stored hold %+v %v %v; want the winner %s's", h, ok, err, winners[0])
	}
	got, err := s.GetSlot(ctx, sl.ClinicID, sl.ID)
	if err != nil || !got.HeldUntil.Equal(h.ExpiresAt) || got.Revision != 1 {
		t.Fatalf("slot after the race %+v %v", got, err)
	}
}

func holdSlotLifecycle[S SlotStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
	t0 := slotT0
	sl := newTestSlot("clinic-a", "slot-1", t0.Add(48*time.Hour), slot.Free)
	busy := newTestSlot("clinic-a", "slot-busy", t0.Add(49*time.Hour), slot.Busy)
	for _, x := range []slot.Slot{sl, busy} {
		if err := s.SaveSlot(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, err := s.GetHold(ctx, sl.ClinicID, sl.ID); err != nil || ok {
		t.Fatalf("hold before any: %v %v", ok, err)
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
		{"an unpublished slot", holdFor("appt-2", newTestSlot("clinic-a", "nope", t0, slot.Free), t0, ttl), slot.Gone},
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

	// The sweep finds expired holds per clinic, oldest first.
	other := newTestSlot("clinic-b", "slot-b", t0.Add(48*time.Hour), slot.Free)
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
	// Free slots of a clinic never list a hold.
	page, err := s.Slots(ctx, slot.Query{ClinicID: "clinic-a", From: t0, To: t0.Add(30 * 24 * time.Hour), FreeOnly: true})
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
