package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
)

// What an inbound message reads and writes first: its clinic (by the number it
// came to, or every clinic of a WABA for a template change), the patients of the
// sender's number, the patient's last inbound time and the contact's safety-answer
// slot.

// ClinicByPhoneNumberID routes an inbound webhook to its clinic: fault.ErrNotFound
// when no clinic uses the number, an error when more than one does (a
// misconfiguration, never a silent pick).
func (s *Store) ClinicByPhoneNumberID(_ context.Context, phoneNumberID string) (clinic.Clinic, error) {
	op := "clinic by phone number id " + phoneNumberID
	defer s.lock()()
	all, err := s.clinics()
	if err != nil {
		return clinic.Clinic{}, err
	}
	var found []clinic.Clinic
	for _, c := range all {
		if phoneNumberID != "" && c.PhoneNumberID == phoneNumberID {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		return clinic.Clinic{}, notFound(op)
	case 1:
		return found[0], nil
	default:
		return clinic.Clinic{}, fmt.Errorf("memstore: %s: more than one clinic uses this number", op)
	}
}

// ClinicsOfWABA lists the clinics whose WhatsApp Business Account is waba, in id
// order.
func (s *Store) ClinicsOfWABA(_ context.Context, waba string) ([]clinic.Clinic, error) {
	if waba == "" {
		return nil, nil
	}
	defer s.lock()()
	all, err := s.clinics()
	if err != nil {
		return nil, fmt.Errorf("memstore: clinics of waba %s: %w", waba, err)
	}
	var out []clinic.Clinic
	for _, c := range all {
		if c.WABAID == waba {
			out = append(out, c)
		}
	}
	return out, nil
}

// PatientsByPhone finds a clinic's patients whose number is exactly e164, in
// patient id order. Families share phones, so there can be several.
func (s *Store) PatientsByPhone(_ context.Context, clinicID, e164 string) ([]appointment.Patient, error) {
	defer s.lock()()
	out := []appointment.Patient{}
	for _, rec := range scan[patientRec](s, tblPatients, key(clinicID)) {
		if e164 != "" && rec.p.Phone == e164 {
			out = append(out, rec.p)
		}
	}
	return out, nil
}

// TouchInbound records a patient message: the last inbound time becomes
// max(stored, at), so webhooks processed out of order cannot shorten the service
// window. fault.ErrNotFound when the patient does not exist.
func (s *Store) TouchInbound(_ context.Context, clinicID, patientID string, at time.Time) error {
	defer s.lock()()
	if !s.touchInbound(clinicID, patientID, at) {
		return notFound(patientOp("touch inbound", clinicID, patientID))
	}
	return nil
}

// ClaimSafetyAnswer takes the contact's safety-answer slot for the message wamid:
// true when no safety answer went to the contact in the last interval, or when this
// message already holds the slot (a retry, which keeps the interval's start).
func (s *Store) ClaimSafetyAnswer(_ context.Context, clinicID, k, wamid string, now time.Time, interval time.Duration) (bool, error) {
	defer s.lock()()
	rec := s.contact(clinicID, k)
	last := nanos(rec.c.SafetyAnsweredAt)
	if last != 0 && last > nanos(now.Add(-interval)) {
		return rec.safetyWAMID == wamid, nil
	}
	rec.c.SafetyAnsweredAt = fromNanos(nanos(now))
	rec.safetyWAMID = wamid
	s.putContact(rec)
	return true, nil
}
