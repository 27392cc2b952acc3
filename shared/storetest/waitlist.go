package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// WaitlistStore is what the EHR's waitlist flags and the offer waves need: a
// clinic's waitlist in join order, releases of freed slots with their due waves,
// and offers recorded once per release.
type WaitlistStore interface {
	JoinWaitlist(ctx context.Context, clinicID string, e slot.Entry) error
	LeaveWaitlist(ctx context.Context, clinicID, appointmentID string) error
	ClinicWaitlist(ctx context.Context, clinicID string) (slot.Waitlist, error)
	StartRelease(ctx context.Context, clinicID, slotID string, releasedAt, slotStart time.Time) (bool, error)
	DueReleases(ctx context.Context, clinicID string, now time.Time, limit int) ([]slot.Release, error)
	RecordOffer(ctx context.Context, r slot.Release, appointmentID, patientID string, sentAt, expiresAt time.Time) (bool, error)
	OfferExpiry(ctx context.Context, clinicID, slotID, appointmentID string) (time.Time, bool, error)
	WaveDone(ctx context.Context, r slot.Release, at time.Time, offered []string, next time.Time) error
}

// Waitlist asserts joins keep the first place, leaving is idempotent, a release
// starts once while its waves run, due waves list by time, and an offer is
// recorded once per release.
func Waitlist[S WaitlistStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	t.Run("joins keep their place", func(t *testing.T) { waitlistJoinsKeepTheirPlace(t, newStore) })
	t.Run("releases, waves and offers", func(t *testing.T) { releasesWavesAndOffers(t, newStore) })
}

func waitlistJoinsKeepTheirPlace[S WaitlistStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
	t0 := slotT0
	joins := []struct {
		clinic string
		e      slot.Entry
	}{
		{"clinic-a", slot.Entry{AppointmentID: "appt-2", PatientID: "pat-2", JoinedAt: t0}},
		{"clinic-a", slot.Entry{AppointmentID: "appt-1", PatientID: "pat-1", JoinedAt: t0.Add(time.Minute)}},
		{"clinic-a", slot.Entry{AppointmentID: "appt-2", PatientID: "pat-2", JoinedAt: t0.Add(time.Hour)}}, // again: keeps its place
		{"clinic-b", slot.Entry{AppointmentID: "appt-9", PatientID: "pat-9", JoinedAt: t0}},
	}
	for _, j := range joins {
		if err := s.JoinWaitlist(ctx, j.clinic, j.e); err != nil {
			t.Fatal(err)
		}
	}
	w, err := s.ClinicWaitlist(ctx, "clinic-a")
	if err != nil {
		t.Fatal(err)
	}
	joined := map[string]time.Time{}
	for _, e := range w.Entries {
		joined[e.AppointmentID] = e.JoinedAt
	}
	if len(w.Entries) != 2 || !joined["appt-2"].Equal(t0) || !joined["appt-1"].Equal(t0.Add(time.Minute)) || len(w.LastOfferAt) != 0 {
		t.Fatalf("clinic-a's waitlist %+v", w)
	}
	for range 2 { // leaving twice is leaving once
		if err := s.LeaveWaitlist(ctx, "clinic-a", "appt-2"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.LeaveWaitlist(ctx, "clinic-a", "appt-never"); err != nil {
		t.Fatal(err)
	}
	w, err = s.ClinicWaitlist(ctx, "clinic-a")
	if err != nil || len(w.Entries) != 1 || w.Entries[0].AppointmentID != "appt-1" || w.Entries[0].PatientID != "pat-1" {
		t.Fatalf("after leaving: %+v %v", w, err)
	}
	// Joining after leaving is a new place.
	if err := s.JoinWaitlist(ctx, "clinic-a", slot.Entry{AppointmentID: "appt-2", PatientID: "pat-2", JoinedAt: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	w, _ = s.ClinicWaitlist(ctx, "clinic-a")
	for _, e := range w.Entries {
		if e.AppointmentID == "appt-2" && !e.JoinedAt.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("rejoined at %v, want %v", e.JoinedAt, t0.Add(2*time.Hour))
		}
	}
	if w, err := s.ClinicWaitlist(ctx, "clinic-c"); err != nil || len(w.Entries) != 0 || w.LastOfferAt == nil {
		t.Fatalf("an empty waitlist: %+v %v", w, err)
	}
}

func releasesWavesAndOffers[S WaitlistStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	s, _ := freshClocked(t, newStore)
	ctx := context.Background()
	t0 := slotT0
	start := t0.Add(48 * time.Hour)
	due := func(at time.Time) []string {
		t.Helper()
		rs, err := s.DueReleases(ctx, "clinic-a", at, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.SlotID)
		}
		return ids
	}
	if ok, err := s.StartRelease(ctx, "clinic-a", "slot-1", t0, start); err != nil || !ok {
		t.Fatalf("first release: %v %v", ok, err)
	}
	if ok, err := s.StartRelease(ctx, "clinic-a", "slot-1", t0.Add(time.Minute), start); err != nil || ok {
		t.Fatalf("a redelivered release while waves run: %v %v", ok, err)
	}
	if ok, err := s.StartRelease(ctx, "clinic-a", "slot-2", t0.Add(time.Second), start); err != nil || !ok {
		t.Fatalf("another slot's release: %v %v", ok, err)
	}
	if ok, err := s.StartRelease(ctx, "clinic-b", "slot-1", t0, start); err != nil || !ok {
		t.Fatalf("another clinic's release: %v %v", ok, err)
	}
	if got := due(t0); fmt.Sprint(got) != "[slot-1]" {
		t.Fatalf("due at t0: %v, want [slot-1]", got)
	}
	rs, err := s.DueReleases(ctx, "clinic-a", t0.Add(time.Hour), 10)
	if err != nil || len(rs) != 2 || rs[0].SlotID != "slot-1" || rs[1].SlotID != "slot-2" {
		t.Fatalf("due an hour later: %+v %v; want slot-1 then slot-2", rs, err)
	}
	r := rs[0]
	if !r.ReleasedAt.Equal(t0) || !r.NextAt.Equal(t0) || r.ClinicID != "clinic-a" || len(r.Offered) != 0 {
		t.Fatalf("release %+v", r)
	}
	if rs, err := s.DueReleases(ctx, "clinic-a", t0.Add(time.Hour), 1); err != nil || len(rs) != 1 || rs[0].SlotID != "slot-1" {
		t.Fatalf("limit 1: %+v %v", rs, err)
	}

	// One wave: two offers, each recorded once per release, the patient's latest stamped.
	offerEnd := t0.Add(slot.DefaultOfferTTL)
	for _, o := range []struct {
		appt, patient string
		want          bool
	}{{"appt-1", "pat-1", true}, {"appt-2", "pat-2", true}, {"appt-1", "pat-1", false}} {
		if ok, err := s.RecordOffer(ctx, r, o.appt, o.patient, t0, offerEnd); err != nil || ok != o.want {
			t.Fatalf("offer to %s: %v %v, want %v", o.appt, ok, err, o.want)
		}
	}
	if exp, ok, err := s.OfferExpiry(ctx, "clinic-a", "slot-1", "appt-1"); err != nil || !ok || !exp.Equal(offerEnd) {
		t.Fatalf("offer expiry %v %v %v", exp, ok, err)
	}
	if _, ok, err := s.OfferExpiry(ctx, "clinic-a", "slot-1", "appt-3"); err != nil || ok {
		t.Fatalf("an appointment never offered: %v %v", ok, err)
	}
	w, err := s.ClinicWaitlist(ctx, "clinic-a")
	if err != nil || !w.LastOfferAt["pat-1"].Equal(t0) || !w.LastOfferAt["pat-2"].Equal(t0) || len(w.LastOfferAt) != 2 {
		t.Fatalf("latest offers %+v %v", w.LastOfferAt, err)
	}
	next := t0.Add(slot.DefaultWaveGap)
	if err := s.WaveDone(ctx, r, t0, []string{"appt-1", "appt-2"}, next); err != nil {
		t.Fatal(err)
	}
	if got := due(next.Add(-time.Nanosecond)); fmt.Sprint(got) != "[slot-2]" {
		t.Fatalf("before the next wave: %v, want [slot-2]", got)
	}
	rs, _ = s.DueReleases(ctx, "clinic-a", next, 10)
	if len(rs) != 2 || rs[0].SlotID != "slot-2" || rs[1].SlotID != "slot-1" {
		t.Fatalf("at the next wave: %+v; want slot-2 then slot-1", rs)
	}
	r = rs[1]
	if !r.LastWaveAt.Equal(t0) || !r.NextAt.Equal(next) || fmt.Sprint(r.Offered) != "[appt-1 appt-2]" {
		t.Fatalf("after the first wave %+v", r)
	}
	// A stale release (an older ReleasedAt) changes nothing.
	stale := r
	stale.ReleasedAt = t0.Add(-time.Hour)
	if err := s.WaveDone(ctx, stale, next, []string{"appt-9"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	// The last wave: offered appended, the release leaves the due list.
	if err := s.WaveDone(ctx, r, next, []string{"appt-3"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := due(t0.Add(24 * time.Hour)); fmt.Sprint(got) != "[slot-2]" {
		t.Fatalf("after the last wave: %v, want [slot-2]", got)
	}
	// Freed again later, the slot starts a new release, whose offers are new.
	later := t0.Add(3 * time.Hour)
	if ok, err := s.StartRelease(ctx, "clinic-a", "slot-1", later, start); err != nil || !ok {
		t.Fatalf("a new release after the waves ended: %v %v", ok, err)
	}
	rs, _ = s.DueReleases(ctx, "clinic-a", later, 10)
	var again slot.Release
	for _, x := range rs {
		if x.SlotID == "slot-1" {
			again = x
		}
	}
	if !again.ReleasedAt.Equal(later) || len(again.Offered) != 0 || !again.LastWaveAt.IsZero() {
		t.Fatalf("the new release %+v", again)
	}
	if ok, err := s.RecordOffer(ctx, again, "appt-1", "pat-1", later, later.Add(slot.DefaultOfferTTL)); err != nil || !ok {
		t.Fatalf("an offer of the new release: %v %v", ok, err)
	}
	if exp, _, _ := s.OfferExpiry(ctx, "clinic-a", "slot-1", "appt-1"); !exp.Equal(later.Add(slot.DefaultOfferTTL)) {
		t.Fatalf("offer expiry after the new offer %v", exp)
	}
	// A wave of a release that was never started records nothing.
	if err := s.WaveDone(ctx, slot.Release{ClinicID: "clinic-a", SlotID: "slot-none", ReleasedAt: t0}, t0, []string{"appt-1"}, next); err != nil {
		t.Fatal(err)
	}
	if got := due(t0.Add(24 * time.Hour)); fmt.Sprint(got) != "[slot-2 slot-1]" {
		t.Fatalf("after a wave of an unknown release: %v", got)
	}
}
