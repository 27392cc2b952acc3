package memstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
)

// tblClinics maps key(clinicID) to the clinic's JSON document: stored as JSON, as
// the DynamoDB store does, so a caller never shares a slice or map with the store.
const tblClinics = "clinics"

// PutClinic stores (or replaces) a clinic's configuration.
func (s *Store) PutClinic(_ context.Context, c clinic.Clinic) error {
	doc, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("memstore: put clinic %s: %w", c.ID, err)
	}
	defer s.lock()()
	put(s, tblClinics, key(c.ID), doc)
	return nil
}

// GetClinic returns a clinic; fault.ErrNotFound when there is none.
func (s *Store) GetClinic(_ context.Context, id string) (clinic.Clinic, error) {
	defer s.lock()()
	return s.clinic(id)
}

// clinic decodes one stored clinic; the caller holds the lock.
func (s *Store) clinic(id string) (clinic.Clinic, error) {
	op := "get clinic " + id
	doc, ok := get[[]byte](s, tblClinics, key(id))
	if !ok {
		return clinic.Clinic{}, notFound(op)
	}
	return decodeClinic(op, doc)
}

// clinics decodes every stored clinic in id order; the caller holds the lock.
func (s *Store) clinics() ([]clinic.Clinic, error) {
	docs := scan[[]byte](s, tblClinics, "")
	out := make([]clinic.Clinic, 0, len(docs))
	for _, doc := range docs {
		c, err := decodeClinic("list clinics", doc)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func decodeClinic(op string, doc []byte) (clinic.Clinic, error) {
	var c clinic.Clinic
	if err := json.Unmarshal(doc, &c); err != nil {
		return clinic.Clinic{}, fmt.Errorf("memstore: %s: decode: %w", op, err)
	}
	return c, nil
}
