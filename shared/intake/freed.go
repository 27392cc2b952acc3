package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// freeCancelledSlot frees the published slot an appointment the EHR cancelled
// occupied, and starts offering it to the waitlist. The slot is the one the event
// names (slotID) when it is published, else the one busy slot with the
// appointment's start whose location and practitioner (where it gives them)
// match; none, or more than one, frees nothing (the EHR can still PUT the slot
// free). A patient's cancel request never gets here: only the EHR's status does.
func (s *Service) freeCancelledSlot(ctx context.Context, c clinic.Clinic, was appointment.Appointment, slotID string) error {
	sl, ok, err := s.occupiedSlot(ctx, c, was, slotID)
	if err != nil || !ok {
		return err
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if sl.Status == slot.Free {
			return nil // the EHR freed it itself; its own PUT started the waves
		}
		next := sl
		next.Status = slot.Free
		err := s.Store.SaveSlot(ctx, next)
		if errors.Is(err, fault.ErrConflict) {
			if sl, err = s.Store.GetSlot(ctx, c.ID, sl.ID); err != nil {
				return fmt.Errorf("intake: free slot %s: %w", sl.ID, err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("intake: free slot %s: %w", sl.ID, err)
		}
		if _, err := s.Store.StartRelease(ctx, c.ID, sl.ID, s.Clock.Now(), sl.Start); err != nil {
			return fmt.Errorf("intake: slot %s freed: %w", sl.ID, err)
		}
		if s.Log != nil {
			s.Log.InfoContext(ctx, "slot_freed_by_cancellation", "clinic_id", c.ID, "appointment_id", was.ID, "slot_id", sl.ID,
				"by_reference", sl.ID == slotID)
		}
		return nil
	}
	return fmt.Errorf("intake: free slot %s: %w", sl.ID, ErrContention)
}

// occupiedSlot finds the published slot the appointment occupied.
func (s *Service) occupiedSlot(ctx context.Context, c clinic.Clinic, a appointment.Appointment, slotID string) (slot.Slot, bool, error) {
	if slotID != "" {
		sl, err := s.Store.GetSlot(ctx, c.ID, slotID)
		if err == nil {
			return sl, true, nil
		}
		if !errors.Is(err, fault.ErrNotFound) {
			return slot.Slot{}, false, fmt.Errorf("intake: slot %s: %w", slotID, err)
		}
	}
	page, err := s.Store.Slots(ctx, slot.Query{ClinicID: c.ID, From: a.Start, To: a.Start.Add(time.Second), Limit: 20})
	if err != nil {
		return slot.Slot{}, false, fmt.Errorf("intake: slots at %s: %w", a.Start.UTC().Format(time.RFC3339), err)
	}
	var found []slot.Slot
	for _, sl := range page.Slots {
		if sl.Start.Equal(a.Start) && sl.Status == slot.Busy && slot.Matches(sl, a) {
			found = append(found, sl)
		}
	}
	if len(found) != 1 {
		return slot.Slot{}, false, nil
	}
	return found[0], true, nil
}
