package waitlist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// WaveStore is the storage the waves need (dynamo.Store).
type WaveStore interface {
	GetSlot(ctx context.Context, clinicID, id string) (slot.Slot, error)
	GetHold(ctx context.Context, clinicID, slotID string) (slot.Hold, bool, error)
	ClinicWaitlist(ctx context.Context, clinicID string) (slot.Waitlist, error)
	DueReleases(ctx context.Context, clinicID string, now time.Time, limit int) ([]slot.Release, error)
	RecordOffer(ctx context.Context, r slot.Release, appointmentID, patientID string, sentAt, expiresAt time.Time) (bool, error)
	WaveDone(ctx context.Context, r slot.Release, at time.Time, offered []string, next time.Time) error
}

// Offer is one waitlist offer to send: the outbound adapter renders the
// waitlist_offer template (clinic, the slot's date and time) and sends it as an
// outbound job of kind offer, expiring at ExpiresAt. Key makes it once.
type Offer struct {
	Key           string
	ClinicID      string
	AppointmentID string
	PatientID     string
	SlotID        string
	SlotStart     time.Time
	ExpiresAt     time.Time
}

// Offerer sends an offer.
type Offerer interface {
	Offer(ctx context.Context, o Offer) error
}

// Recorder counts metrics facts once each (metrics.Recorder).
type Recorder interface {
	Record(ctx context.Context, facts ...metrics.Fact) error
}

// Waves offers freed slots to waitlisted patients, one sweep step per clinic.
type Waves struct {
	Store        WaveStore
	Appointments func(ctx context.Context, clinicID, id string) (appointment.Appointment, error)
	// OptedOut reports the patient's WhatsApp opt-out (at the number included);
	// the sender re-checks it at send time as for every job.
	OptedOut func(ctx context.Context, clinicID, patientID string) (bool, error)
	Offers   Offerer
	Metrics  Recorder
	Now      func() time.Time
	Log      *slog.Logger
}

// maxReleasesPerSweep and maxWaitersRead bound one step's work; the rest waits
// for the next sweep.
const (
	maxReleasesPerSweep = 50
	maxWaitersRead      = 200
)

// Run handles the clinic's releases whose next wave is due: it offers each slot
// to the next patients (slot.NextWave), records the wave and when to look again,
// and counts freed, offered and filled slots. It answers how many offers it queued.
func (w *Waves) Run(ctx context.Context, c clinic.Clinic) (int, error) {
	now := w.Now().UTC()
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return 0, fmt.Errorf("waitlist: clinic %s zone: %w", c.ID, err)
	}
	due, err := w.Store.DueReleases(ctx, c.ID, now, maxReleasesPerSweep)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	list, err := w.Store.ClinicWaitlist(ctx, c.ID)
	if err != nil {
		return 0, fmt.Errorf("waitlist: %w", err)
	}
	sent := 0
	for _, r := range due {
		n, err := w.wave(ctx, c, loc, list, r, now)
		sent += n
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

func (w *Waves) wave(ctx context.Context, c clinic.Clinic, loc *time.Location, list slot.Waitlist, r slot.Release, now time.Time) (int, error) {
	p := c.SlotPolicy()
	if err := w.count(ctx, metrics.SlotFreed(c.ID, c.TimeZone, r.SlotID, r.ReleasedAt)...); err != nil {
		return 0, err
	}
	sl, err := w.Store.GetSlot(ctx, c.ID, r.SlotID)
	if errors.Is(err, fault.ErrNotFound) {
		return 0, w.Store.WaveDone(ctx, r, now, nil, time.Time{})
	}
	if err != nil {
		return 0, fmt.Errorf("waitlist: wave slot: %w", err)
	}
	hold, held, err := w.Store.GetHold(ctx, c.ID, r.SlotID)
	if err != nil {
		return 0, fmt.Errorf("waitlist: wave hold: %w", err)
	}
	filled := held && hold.Reason == slot.ReasonWaitlist && !hold.HeldAt.Before(r.ReleasedAt)
	if filled {
		if err := w.count(ctx, metrics.SlotFilled(c.ID, c.TimeZone, r.SlotID, r.ReleasedAt, hold.HeldAt)...); err != nil {
			return 0, err
		}
	}
	// Another patient's reschedule hold pauses the waves until it ends.
	if held && !filled && hold.Active(now) {
		return 0, w.Store.WaveDone(ctx, r, r.LastWaveAt, nil, hold.ExpiresAt)
	}
	offered := map[string]bool{}
	for _, id := range r.Offered {
		offered[id] = true
	}
	var waiters []slot.Waiter
	patients := map[string]string{}
	for i, e := range list.Entries {
		if i == maxWaitersRead {
			break
		}
		if offered[e.AppointmentID] {
			waiters = append(waiters, slot.Waiter{Appointment: appointment.Appointment{ID: e.AppointmentID}, Offered: true})
			continue
		}
		a, err := w.Appointments(ctx, c.ID, e.AppointmentID)
		if errors.Is(err, fault.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("waitlist: waiter: %w", err)
		}
		out, err := w.OptedOut(ctx, c.ID, a.PatientID)
		if err != nil {
			return 0, fmt.Errorf("waitlist: waiter consent: %w", err)
		}
		patients[a.ID] = a.PatientID
		waiters = append(waiters, slot.Waiter{Appointment: a, JoinedAt: e.JoinedAt, OptedOut: out, LastOfferAt: list.LastOfferAt[a.PatientID]})
	}
	wv := slot.NextWave(sl, filled, r.LastWaveAt, waiters, p, loc, c.QuietHours, now)
	var ids []string
	for _, x := range wv.Offer {
		a := x.Appointment
		exp := slot.OfferExpiry(p, now)
		fresh, err := w.Store.RecordOffer(ctx, r, a.ID, a.PatientID, now, exp)
		if err != nil {
			return len(ids), fmt.Errorf("waitlist: record offer: %w", err)
		}
		ids = append(ids, a.ID)
		if !fresh {
			continue
		}
		o := Offer{Key: ID("offer", c.ID, r.SlotID, r.ReleasedAt.Format(time.RFC3339Nano), a.ID), ClinicID: c.ID,
			AppointmentID: a.ID, PatientID: patients[a.ID], SlotID: r.SlotID, SlotStart: sl.Start, ExpiresAt: exp}
		if err := w.Offers.Offer(ctx, o); err != nil {
			return len(ids), fmt.Errorf("waitlist: send offer: %w", err)
		}
	}
	if len(ids) > 0 {
		if err := w.count(ctx, metrics.SlotOffered(c.ID, c.TimeZone, r.SlotID, r.ReleasedAt)...); err != nil {
			return len(ids), err
		}
	}
	waveAt := r.LastWaveAt
	if len(ids) > 0 {
		waveAt = now
	}
	if err := w.Store.WaveDone(ctx, r, waveAt, ids, wv.Next); err != nil {
		return len(ids), fmt.Errorf("waitlist: record wave: %w", err)
	}
	w.log().InfoContext(ctx, "waitlist_wave", "clinic_id", c.ID, "slot_id", r.SlotID, "offers", len(ids),
		"stop", wv.Stop, "wait", wv.Wait)
	return len(ids), nil
}

func (w *Waves) count(ctx context.Context, facts ...metrics.Fact) error {
	if w.Metrics == nil {
		return nil
	}
	if err := w.Metrics.Record(ctx, facts...); err != nil {
		return fmt.Errorf("waitlist: metrics: %w", err)
	}
	return nil
}

func (w *Waves) log() *slog.Logger { return platform.LoggerOrDiscard(w.Log) }
