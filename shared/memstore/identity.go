package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// tblIdentityChanges maps key(clinicID, ledgerKey, changeID) to a
// contact.IdentityChange: the ledger of number and BSUID changes a contact left,
// in change id order.
const tblIdentityChanges = "identity-changes"

// nanos is a time as the DynamoDB store compares it in conditions: unix
// nanoseconds, with the zero time as 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func bsuidOp(verb, clinicID, bsuid string) string {
	return fmt.Sprintf("%s bsuid %s/%s", verb, clinicID, platform.Hash(bsuid))
}

// LinkBSUID records that Meta showed bsuid beside the contact with key k at at.
// The newest sighting wins, so a late redelivery of an old webhook cannot move the
// mapping back. It also stamps the BSUID on the contact (unless the contact is
// keyed by the BSUID itself) and on every patient linked to it.
func (s *Store) LinkBSUID(_ context.Context, clinicID, scope, bsuid, parent, k string, at time.Time) error {
	if bsuid == "" || k == "" || scope == "" {
		return fmt.Errorf("memstore: %s: bsuid, contact key and scope are required", bsuidOp("link", clinicID, bsuid))
	}
	defer s.lock()()
	n := nanos(at)
	bk := key(clinicID, bsuid)
	if cur, ok := get[bsuidRec](s, tblBSUIDs, bk); !ok || nanos(cur.linkedAt) <= n {
		put(s, tblBSUIDs, bk, bsuidRec{contactKey: k, scope: scope, linkedAt: fromNanos(n)})
	}
	if contact.IsBSUIDKey(k) {
		return nil // a username-only contact is keyed by the BSUID itself
	}
	rec := s.contact(clinicID, k)
	if nanos(rec.bsuidAt) > n {
		return nil // a newer sighting is stored
	}
	rec.c.BSUID, rec.c.BSUIDScope, rec.c.ParentBSUID = bsuid, scope, parent
	rec.bsuidAt = fromNanos(n)
	s.putContact(rec)
	for _, pid := range rec.c.PatientIDs {
		s.stampBSUID(clinicID, pid, bsuid, scope)
	}
	return nil
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// AddContactPatients links patients to a contact (creating it) without touching
// their phones: a number change carries the person's patients to the new number.
func (s *Store) AddContactPatients(_ context.Context, clinicID, k string, patientIDs []string) error {
	if len(patientIDs) == 0 {
		return nil
	}
	defer s.lock()()
	s.addPatients(clinicID, k, patientIDs...)
	return nil
}

// RecordIdentityChange appends a change to the ledger of the contact it leaves
// (ledgerKey: the old number's key, or the old BSUID); a second write of the same
// change id is a no-op.
func (s *Store) RecordIdentityChange(_ context.Context, clinicID, ledgerKey string, ch contact.IdentityChange) error {
	if ch.ID == "" || ch.Kind == "" {
		return fmt.Errorf("memstore: %s: id and kind are required", contactOp("record identity change on", clinicID, ledgerKey))
	}
	defer s.lock()()
	k := key(clinicID, ledgerKey, ch.ID)
	if _, ok := get[contact.IdentityChange](s, tblIdentityChanges, k); ok {
		return nil
	}
	if ch.RecordedAt.IsZero() {
		ch.RecordedAt = s.now()
	}
	ch.At, ch.RecordedAt = ch.At.UTC(), ch.RecordedAt.UTC()
	put(s, tblIdentityChanges, k, ch)
	return nil
}

// IdentityChanges lists the ledger of a contact, oldest change id first.
func (s *Store) IdentityChanges(_ context.Context, clinicID, ledgerKey string) ([]contact.IdentityChange, error) {
	defer s.lock()()
	return scan[contact.IdentityChange](s, tblIdentityChanges, key(clinicID, ledgerKey)), nil
}
