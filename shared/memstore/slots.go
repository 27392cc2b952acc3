package memstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// Slots and their holds, keyed by clinic and slot id. The slot value carries
// HeldUntil, which only HoldSlot and ReleaseHold write, as in the DynamoDB store
// where the EHR's updates leave it alone.
const (
	tblSlots = "slots"
	tblHolds = "holds"
)

// maxSlotPage bounds one page of slots, as in the DynamoDB store.
const maxSlotPage = 1000

func slotKey(clinicID, id string) string { return key(clinicID, id) }

// utc normalises a stored time the way a DynamoDB round trip does: UTC, and the
// zero time stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// SaveSlot writes the EHR's view of a slot. sl.Revision is the revision the caller
// read (0: must not exist yet); the stored revision becomes sl.Revision+1. A lost
// race is fault.ErrConflict.
func (s *Store) SaveSlot(_ context.Context, sl slot.Slot) error {
	op := fmt.Sprintf("save slot %s/%s", sl.ClinicID, sl.ID)
	if err := sl.Validate(); err != nil {
		return fmt.Errorf("memstore: %s: %w", op, err)
	}
	defer s.lock()()
	k := slotKey(sl.ClinicID, sl.ID)
	cur, ok := get[slot.Slot](s, tblSlots, k)
	if (sl.Revision == 0 && ok) || (sl.Revision != 0 && (!ok || cur.Revision != sl.Revision)) {
		return conflict(op)
	}
	now := s.now()
	next := sl
	next.Start = utc(sl.Start)
	next.Revision = sl.Revision + 1
	next.UpdatedAt = now
	next.CreatedAt = now
	next.HeldUntil = time.Time{}
	if ok {
		next.CreatedAt = cur.CreatedAt
		next.HeldUntil = cur.HeldUntil
	}
	put(s, tblSlots, k, next)
	return nil
}

// GetSlot reads one slot; fault.ErrNotFound when there is none.
func (s *Store) GetSlot(_ context.Context, clinicID, id string) (slot.Slot, error) {
	defer s.lock()()
	sl, ok := get[slot.Slot](s, tblSlots, slotKey(clinicID, id))
	if !ok {
		return slot.Slot{}, notFound(fmt.Sprintf("get slot %s/%s", clinicID, id))
	}
	return sl, nil
}

// Slots lists a clinic's slots with start in [q.From, q.To), in start order, one
// page. Like a DynamoDB query that stops at its limit, a full page names a next
// key even when nothing follows it.
func (s *Store) Slots(_ context.Context, q slot.Query) (slot.Page, error) {
	if !q.To.After(q.From) {
		return slot.Page{}, nil
	}
	defer s.lock()()
	var all []slot.Slot
	for _, sl := range scan[slot.Slot](s, tblSlots, key(q.ClinicID)) {
		if sl.Start.Before(q.From) || !sl.Start.Before(q.To) || q.FreeOnly && sl.Status != slot.Free {
			continue
		}
		all = append(all, sl)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].Start.Equal(all[j].Start) {
			return all[i].Start.Before(all[j].Start)
		}
		return all[i].ID < all[j].ID
	})
	if q.After != nil {
		after := *q.After
		i := sort.Search(len(all), func(i int) bool {
			return all[i].Start.After(after.Start) || all[i].Start.Equal(after.Start) && all[i].ID > after.ID
		})
		all = all[i:]
	}
	limit := q.Limit
	if limit <= 0 || limit > maxSlotPage {
		limit = maxSlotPage
	}
	page := slot.Page{Slots: make([]slot.Slot, 0, min(limit, len(all)))}
	page.Slots = append(page.Slots, all[:min(limit, len(all))]...)
	if len(page.Slots) == limit {
		l := page.Slots[len(page.Slots)-1]
		page.Next = &slot.Key{Start: l.Start, ID: l.ID}
	}
	return page, nil
}

// HoldSlot places h on its slot unless another unexpired hold is there: Won (h is
// now the slot's hold), Mine (an unexpired hold for the same appointment: a
// redelivered acceptance), Taken (another appointment holds it) or Gone (the slot
// is not free, or not published).
func (s *Store) HoldSlot(_ context.Context, h slot.Hold) (slot.Claim, slot.Hold, error) {
	op := fmt.Sprintf("hold slot %s/%s", h.ClinicID, h.SlotID)
	if err := h.Validate(); err != nil {
		return "", slot.Hold{}, fmt.Errorf("memstore: %s: %w", op, err)
	}
	defer s.lock()()
	k := slotKey(h.ClinicID, h.SlotID)
	sl, ok := get[slot.Slot](s, tblSlots, k)
	if !ok {
		return slot.Gone, slot.Hold{}, nil
	}
	if sl.Status == slot.Free && (sl.HeldUntil.IsZero() || !sl.HeldUntil.After(h.HeldAt)) {
		h = normalHold(h)
		sl.HeldUntil = h.ExpiresAt
		put(s, tblSlots, k, sl)
		put(s, tblHolds, k, h)
		return slot.Won, h, nil
	}
	if cur, held := get[slot.Hold](s, tblHolds, k); held && cur.Active(h.HeldAt) {
		if cur.AppointmentID == h.AppointmentID {
			return slot.Mine, cur, nil
		}
		return slot.Taken, cur, nil
	}
	if sl.Status != slot.Free {
		return slot.Gone, slot.Hold{}, nil
	}
	// The slot is free and marked held, but the hold item is gone or expired: the
	// DynamoDB store retries and ends here too, as the slot keeps refusing.
	return "", slot.Hold{}, fmt.Errorf("memstore: %s: %w", op, errors.New("slot kept changing concurrently"))
}

func normalHold(h slot.Hold) slot.Hold {
	h.SlotStart, h.HeldAt, h.ExpiresAt = utc(h.SlotStart), utc(h.HeldAt), utc(h.ExpiresAt)
	return h
}

// GetHold reads a slot's hold, expired or not.
func (s *Store) GetHold(_ context.Context, clinicID, slotID string) (slot.Hold, bool, error) {
	defer s.lock()()
	h, ok := get[slot.Hold](s, tblHolds, slotKey(clinicID, slotID))
	return h, ok, nil
}

// ExpiredHolds lists a clinic's holds that ended at or before now, oldest first,
// at most limit.
func (s *Store) ExpiredHolds(_ context.Context, clinicID string, now time.Time, limit int) ([]slot.Hold, error) {
	defer s.lock()()
	var out []slot.Hold
	for _, h := range scan[slot.Hold](s, tblHolds, key(clinicID)) {
		if !h.ExpiresAt.After(now) {
			out = append(out, h)
		}
	}
	sortByTime(out, func(h slot.Hold) time.Time { return h.ExpiresAt })
	if limit <= 0 || limit > maxSlotPage {
		limit = maxSlotPage
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return append(make([]slot.Hold, 0, len(out)), out...), nil
}

// ReleaseHold removes h (the hold as read: same appointment and start) and clears
// the slot's HeldUntil if it is still h's. It answers false when h is no longer
// the slot's hold.
func (s *Store) ReleaseHold(_ context.Context, h slot.Hold) (bool, error) {
	defer s.lock()()
	k := slotKey(h.ClinicID, h.SlotID)
	cur, ok := get[slot.Hold](s, tblHolds, k)
	if !ok || cur.AppointmentID != h.AppointmentID || !cur.HeldAt.Equal(h.HeldAt) {
		return false, nil
	}
	del(s, tblHolds, k)
	if sl, ok := get[slot.Slot](s, tblSlots, k); ok && sl.HeldUntil.Equal(h.ExpiresAt) {
		sl.HeldUntil = time.Time{}
		put(s, tblSlots, k, sl)
	}
	return true, nil
}

// sortByTime orders items by the time at, stably: the order of a DynamoDB index
// whose sort key is that time.
func sortByTime[T any](items []T, at func(T) time.Time) {
	sort.SliceStable(items, func(i, j int) bool { return at(items[i]).Before(at(items[j])) })
}
