package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// Patient tables. tblPatients maps key(clinicID, patientID) to a patientRec;
// tblConsent maps key(clinicID, patientID, sortable(At), entryID) to a
// consent.Entry, so a prefix scan reads a ledger in time order; tblConsentIDs maps
// key(clinicID, patientID, entryID) to the entry's key, which makes appends
// idempotent by entry id.
const (
	tblPatients   = "patients"
	tblConsent    = "consent"
	tblConsentIDs = "consent-ids"
)

// patientRec is a stored patient with the attributes the domain type does not
// carry: the BSUID stamped from its contact and the pair-pacing slot.
type patientRec struct {
	p          appointment.Patient
	bsuid      string
	bsuidScope string
	pairNextAt time.Time
}

// sortableTime is a fixed-width UTC layout, so keys sort in time order.
const sortableTime = "2006-01-02T15:04:05.000000000Z"

func sortable(t time.Time) string { return t.UTC().Format(sortableTime) }

func patientOp(verb, clinicID, patientID string) string {
	return fmt.Sprintf("%s patient %s/%s", verb, clinicID, platform.Hash(patientID))
}

// GetPatient returns a patient; fault.ErrNotFound when there is none.
func (s *Store) GetPatient(_ context.Context, clinicID, patientID string) (appointment.Patient, error) {
	defer s.lock()()
	rec, ok := get[patientRec](s, tblPatients, key(clinicID, patientID))
	if !ok {
		return appointment.Patient{}, notFound(patientOp("get", clinicID, patientID))
	}
	return rec.p, nil
}

// PutPatient creates or updates a patient's demographics, keeping what other
// writers own (last inbound, BSUID, pair pacing), and moves the patient between
// contacts when the phone number changes. A LastInboundAt on p only moves the
// stored one forward, as TouchInbound does.
func (s *Store) PutPatient(_ context.Context, p appointment.Patient) error {
	op := patientOp("put", p.ClinicID, p.ID)
	if p.ClinicID == "" || p.ID == "" {
		return invalid(op, "clinic and patient id are required")
	}
	defer s.lock()()
	k := key(p.ClinicID, p.ID)
	rec, _ := get[patientRec](s, tblPatients, k)
	oldPhone := rec.p.Phone
	last := rec.p.LastInboundAt
	rec.p = appointment.Patient{ClinicID: p.ClinicID, ID: p.ID, Phone: p.Phone, GivenName: p.GivenName,
		Language: p.Language, LastInboundAt: last, UpdatedAt: s.now()}
	put(s, tblPatients, k, rec)
	s.linkContact(p.ClinicID, p.ID, oldPhone, p.Phone)
	if !p.LastInboundAt.IsZero() {
		s.touchInbound(p.ClinicID, p.ID, p.LastInboundAt)
	}
	return nil
}

// touchInbound moves a stored patient's last inbound time forward to at (never
// back) and reports whether the patient exists; the caller holds the lock.
func (s *Store) touchInbound(clinicID, patientID string, at time.Time) bool {
	k := key(clinicID, patientID)
	rec, ok := get[patientRec](s, tblPatients, k)
	if !ok {
		return false
	}
	if rec.p.LastInboundAt.IsZero() || rec.p.LastInboundAt.UnixNano() < at.UnixNano() {
		rec.p.LastInboundAt = time.Unix(0, at.UnixNano()).UTC()
		put(s, tblPatients, k, rec)
	}
	return true
}

// AppendConsent appends an entry to a patient's consent ledger; appending the same
// entry id again is a no-op.
func (s *Store) AppendConsent(_ context.Context, e consent.Entry) error {
	op := fmt.Sprintf("append consent %s to %s/%s", e.ID, e.ClinicID, platform.Hash(e.PatientID))
	if err := e.Validate(); err != nil {
		return fmt.Errorf("memstore: %s: %w", op, err)
	}
	if e.ID == "" {
		return invalid(op, "entry id is required (it makes the append idempotent)")
	}
	defer s.lock()()
	if e.RecordedAt.IsZero() {
		e.RecordedAt = s.now()
	}
	e.At, e.RecordedAt = e.At.UTC(), e.RecordedAt.UTC()
	marker := key(e.ClinicID, e.PatientID, e.ID)
	if _, ok := get[string](s, tblConsentIDs, marker); ok {
		return nil
	}
	k := key(e.ClinicID, e.PatientID, sortable(e.At), e.ID)
	put(s, tblConsentIDs, marker, k)
	put(s, tblConsent, k, e)
	return nil
}

// ConsentLedger returns a patient's consent entries, oldest first.
func (s *Store) ConsentLedger(_ context.Context, clinicID, patientID string) ([]consent.Entry, error) {
	defer s.lock()()
	return scan[consent.Entry](s, tblConsent, key(clinicID, patientID)), nil
}

// ReservePairSlot spaces messages to one patient: it takes the slot at now when the
// previous one has passed (returning 0) or returns how long until it does.
// fault.ErrNotFound when the patient does not exist.
func (s *Store) ReservePairSlot(_ context.Context, clinicID, patientID string, now time.Time, gap time.Duration) (time.Duration, error) {
	defer s.lock()()
	k := key(clinicID, patientID)
	rec, ok := get[patientRec](s, tblPatients, k)
	if !ok {
		return 0, notFound(patientOp("reserve pair slot for", clinicID, patientID))
	}
	if rec.pairNextAt.IsZero() || rec.pairNextAt.UnixNano() <= now.UnixNano() {
		rec.pairNextAt = now.Add(gap)
		put(s, tblPatients, k, rec)
		return 0, nil
	}
	return rec.pairNextAt.Sub(now), nil
}
