package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// SlotStore is what intake needs to keep the slots an EHR publishes.
type SlotStore interface {
	GetSlot(ctx context.Context, clinicID, id string) (slot.Slot, error)
	SaveSlot(ctx context.Context, s slot.Slot) error
	Slots(ctx context.Context, q slot.Query) (slot.Page, error)
	// StartRelease starts offering a freed slot to the waitlist (once per release).
	StartRelease(ctx context.Context, clinicID, slotID string, releasedAt, slotStart time.Time) (bool, error)
	JoinWaitlist(ctx context.Context, clinicID string, e slot.Entry) error
	LeaveWaitlist(ctx context.Context, clinicID, appointmentID string) error
}

// SlotResult is the outcome of applying one slot event.
type SlotResult struct {
	Slot    slot.Slot
	Created bool
	// Stale is true when the event was not newer than what is stored: acknowledged,
	// not applied.
	Stale bool
}

// ApplySlot stores one slot event unless an equal or newer version is stored.
func (s *Service) ApplySlot(ctx context.Context, c clinic.Clinic, ev ehr.SlotEvent) (SlotResult, error) {
	if ev.Slot.ClinicID != c.ID {
		return SlotResult{}, fmt.Errorf("intake: slot %s belongs to clinic %q, not %s", ev.Slot.ID, ev.Slot.ClinicID, c.ID)
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		stored, err := s.Store.GetSlot(ctx, c.ID, ev.Slot.ID)
		found := err == nil
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return SlotResult{}, err
		}
		if found {
			if ev, err = ev.OrderAgainst(stored); err != nil {
				return SlotResult{}, err // nothing of this event is stored: a 4xx is true
			}
			if ev.Slot.Version <= stored.Version {
				return SlotResult{Slot: stored, Stale: true}, nil
			}
		}
		next := ev.Slot
		next.Revision, next.CreatedAt = 0, s.Clock.Now()
		if found {
			next.Revision, next.CreatedAt = stored.Revision, stored.CreatedAt
			if next.OrderingKey == "" {
				next.OrderingKey = stored.OrderingKey
			}
		}
		err = s.Store.SaveSlot(ctx, next)
		if errors.Is(err, fault.ErrConflict) {
			continue
		}
		if err != nil {
			return SlotResult{}, err
		}
		next.Revision++
		next.UpdatedAt = s.Clock.Now()
		// A published slot that turns free was freed (a cancellation, a changed
		// schedule): the waitlist is offered it. A slot published free is ordinary
		// availability, found by the reschedule list; it starts no waves.
		if found && stored.Status != slot.Free && next.Status == slot.Free {
			if _, err := s.Store.StartRelease(ctx, c.ID, next.ID, next.UpdatedAt, next.Start); err != nil {
				return SlotResult{}, fmt.Errorf("intake: slot %s freed: %w", next.ID, err)
			}
		}
		return SlotResult{Slot: next, Created: !found}, nil
	}
	return SlotResult{}, fmt.Errorf("intake: slot %s: %w: %w after %d attempts", ev.Slot.ID, ErrContention, appointment.ErrConflict, maxAttempts)
}

// PrepareSlots checks, before anything is written, that every FHIR slot event
// carries the ordering key its stored slot is ordered by, and returns the events
// ordered on those keys.
func (s *Service) PrepareSlots(ctx context.Context, c clinic.Clinic, events []ehr.SlotEvent) ([]ehr.SlotEvent, error) {
	out := make([]ehr.SlotEvent, 0, len(events))
	// A slot twice in one Bundle is created by the first entry and updated by the
	// second, which must then carry the first one's key.
	earlier := map[string]slot.Slot{}
	for _, ev := range events {
		stored, err := s.Store.GetSlot(ctx, c.ID, ev.Slot.ID)
		if prev, ok := earlier[ev.Slot.ID]; ok && (errors.Is(err, fault.ErrNotFound) || err == nil && stored.OrderingKey == "") {
			stored, err = prev, nil
		}
		switch {
		case errors.Is(err, fault.ErrNotFound):
		case err != nil:
			return nil, err
		default:
			if ev, err = ev.OrderAgainst(stored); err != nil {
				return nil, err
			}
		}
		earlier[ev.Slot.ID] = ev.Slot
		out = append(out, ev)
	}
	return out, nil
}

// Slots reads one page of a clinic's slots in a window.
func (s *Service) Slots(ctx context.Context, q slot.Query) (slot.Page, error) {
	return s.Store.Slots(ctx, q)
}

// syncWaitlist keeps the clinic's waitlist in step with the stored appointment: a
// booked appointment flagged waitlist is on it (keeping its first join time), any
// other is not. It runs after every write and for an exact retry, like count;
// wasOn (the previous version was flagged) spares the others a write.
func (s *Service) syncWaitlist(ctx context.Context, a appointment.Appointment, wasOn bool) error {
	if a.Waitlist && a.Status.Remindable() {
		if err := s.Store.JoinWaitlist(ctx, a.ClinicID, slot.Entry{AppointmentID: a.ID, PatientID: a.PatientID, JoinedAt: s.Clock.Now()}); err != nil {
			return fmt.Errorf("intake: waitlist: %w", err)
		}
		return nil
	}
	if !wasOn && !a.Waitlist {
		return nil
	}
	if err := s.Store.LeaveWaitlist(ctx, a.ClinicID, a.ID); err != nil {
		return fmt.Errorf("intake: waitlist: %w", err)
	}
	return nil
}
