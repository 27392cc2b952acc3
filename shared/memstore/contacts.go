package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Contact tables. tblContacts maps key(clinicID, contactKey) to a contactRec;
// tblBSUIDs maps key(clinicID, bsuid) to the bsuidRec LinkBSUID writes.
const (
	tblContacts = "contacts"
	tblBSUIDs   = "bsuids"
)

// contactRec is a stored contact with the attributes conditions compare that the
// domain type does not carry.
type contactRec struct {
	c           contact.Contact // PatientIDs sorted and unique; Consent never shared with a caller
	safetyWAMID string
	bsuidAt     time.Time
}

// bsuidRec maps a BSUID (within a portfolio scope) to the contact it was seen with.
type bsuidRec struct {
	contactKey string
	scope      string
	linkedAt   time.Time
}

func contactOp(verb, clinicID, key string) string {
	return fmt.Sprintf("%s contact %s/%s", verb, clinicID, platform.Hash(key))
}

// view is the contact as a caller gets it: its own copy of every slice and pointer.
func (r contactRec) view() contact.Contact {
	c := r.c
	if len(c.PatientIDs) == 0 {
		c.PatientIDs = nil
	} else {
		c.PatientIDs = slices.Clone(c.PatientIDs)
	}
	if c.Consent != nil {
		e := *c.Consent
		c.Consent = &e
	}
	return c
}

// contact reads one contact, or the empty contact with that key when none is
// stored (a number the clinic never heard from); the caller holds the lock.
func (s *Store) contact(clinicID, k string) contactRec {
	rec, ok := get[contactRec](s, tblContacts, key(clinicID, k))
	if !ok {
		return contactRec{c: contact.Contact{ClinicID: clinicID, Key: k}}
	}
	return rec
}

func (s *Store) putContact(rec contactRec) {
	put(s, tblContacts, key(rec.c.ClinicID, rec.c.Key), rec)
}

// addPatients adds patient ids to a contact's set (creating the contact); the
// caller holds the lock.
func (s *Store) addPatients(clinicID, k string, ids ...string) contactRec {
	rec := s.contact(clinicID, k)
	ids = append(slices.Clone(rec.c.PatientIDs), ids...)
	slices.Sort(ids)
	rec.c.PatientIDs = slices.Compact(ids)
	s.putContact(rec)
	return rec
}

// GetContact returns the contact with key (a KeyOf number or a BSUID); a contact
// never stored is returned empty, not as an error.
func (s *Store) GetContact(_ context.Context, clinicID, k string) (contact.Contact, error) {
	defer s.lock()()
	return s.contact(clinicID, k).view(), nil
}

// ContactOfPhone returns the contact of a phone number in any E.164 form; a string
// that is no phone number has an empty contact.
func (s *Store) ContactOfPhone(ctx context.Context, clinicID, phone string) (contact.Contact, error) {
	k, err := contact.KeyOf(phone)
	if err != nil {
		return contact.Contact{ClinicID: clinicID}, nil
	}
	return s.GetContact(ctx, clinicID, k)
}

// RecordContactConsent sets a contact's latest consent statement when e is newer
// than the stored one (or is the same entry again); false when a newer one is kept.
func (s *Store) RecordContactConsent(_ context.Context, clinicID, k string, e consent.Entry) (bool, error) {
	op := contactOp("record consent on", clinicID, k)
	if err := e.Validate(); err != nil || e.ID == "" {
		return false, fmt.Errorf("memstore: %s: invalid entry (id %q): %v", op, e.ID, err)
	}
	defer s.lock()()
	if e.RecordedAt.IsZero() {
		e.RecordedAt = s.now()
	}
	rec := s.contact(clinicID, k)
	if old := rec.c.Consent; old != nil && old.ID != e.ID && old.At.UnixNano() >= e.At.UnixNano() {
		return false, nil
	}
	at := time.Time{}
	if !e.At.IsZero() {
		at = time.Unix(0, e.At.UnixNano()).UTC()
	}
	rec.c.Consent = &consent.Entry{ClinicID: clinicID, PatientID: k, ID: e.ID, State: e.State, At: at,
		Source: e.Source, Evidence: e.Evidence, RecordedAt: e.RecordedAt.UTC()}
	s.putContact(rec)
	return true, nil
}

// ContactByBSUID resolves a BSUID to the contact it was last seen with in scope;
// mapped is false when it resolves to the contact keyed by the BSUID itself.
func (s *Store) ContactByBSUID(_ context.Context, clinicID, scope, bsuid string) (c contact.Contact, mapped bool, err error) {
	defer s.lock()()
	k := bsuid
	if b, ok := get[bsuidRec](s, tblBSUIDs, key(clinicID, bsuid)); ok && b.scope == scope && b.contactKey != "" {
		k, mapped = b.contactKey, !contact.IsBSUIDKey(b.contactKey)
	}
	c = s.contact(clinicID, k).view()
	if c.ByBSUID() && c.BSUID == "" {
		c.BSUID, c.BSUIDScope = bsuid, scope
	}
	return c, mapped, nil
}

// PatientBSUID returns the BSUID stamped on a patient from its contact; empty when
// none is (or the patient does not exist).
func (s *Store) PatientBSUID(_ context.Context, clinicID, patientID string) (bsuid, scope string, err error) {
	defer s.lock()()
	rec, _ := get[patientRec](s, tblPatients, key(clinicID, patientID))
	return rec.bsuid, rec.bsuidScope, nil
}

// linkContact moves a patient from the contact of its old number to that of its
// new one, and stamps the new contact's BSUID on the patient; the caller holds the
// lock.
func (s *Store) linkContact(clinicID, patientID, oldPhone, newPhone string) {
	oldKey, oldErr := contact.KeyOf(oldPhone)
	newKey, newErr := contact.KeyOf(newPhone)
	if oldErr == nil && (newErr != nil || oldKey != newKey) {
		if rec, ok := get[contactRec](s, tblContacts, key(clinicID, oldKey)); ok {
			rec.c.PatientIDs = slices.DeleteFunc(slices.Clone(rec.c.PatientIDs), func(id string) bool { return id == patientID })
			s.putContact(rec)
		}
	}
	if newErr != nil {
		return
	}
	rec := s.addPatients(clinicID, newKey, patientID)
	if rec.c.BSUID != "" {
		s.stampBSUID(clinicID, patientID, rec.c.BSUID, rec.c.BSUIDScope)
	}
}

// stampBSUID records a BSUID on an existing patient; the caller holds the lock.
func (s *Store) stampBSUID(clinicID, patientID, bsuid, scope string) {
	k := key(clinicID, patientID)
	if p, ok := get[patientRec](s, tblPatients, k); ok {
		p.bsuid, p.bsuidScope = bsuid, scope
		put(s, tblPatients, k, p)
	}
}
