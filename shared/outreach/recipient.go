package outreach

import (
	"context"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/contact"
)

// RecipientResolver finds the business-scoped user id (BSUID) last seen for a
// patient's number and the contact that holds its STOP.
type RecipientResolver interface {
	PatientBSUID(ctx context.Context, clinicID, patientID string) (bsuid, scope string, err error)
	ContactByBSUID(ctx context.Context, clinicID, scope, bsuid string) (contact.Contact, bool, error)
}

// addressOf returns the patient with the address the reminder goes to, and the
// contact whose STOP bears on it. A patient whose phone the EHR removed is reached
// by the BSUID last seen beside it, only when it belongs to the clinic's business
// portfolio (a BSUID means nothing in another), and goes out by `recipient`; the
// contact is then the one the BSUID resolves to, so the person's STOP still holds.
func (s *Sender) addressOf(ctx context.Context, c clinic.Clinic, p appointment.Patient) (appointment.Patient, contact.Contact, error) {
	if p.Phone != "" || s.Identity == nil {
		number, err := s.Store.ContactOfPhone(ctx, c.ID, p.Phone)
		return p, number, err
	}
	bsuid, scope, err := s.Identity.PatientBSUID(ctx, c.ID, p.ID)
	if err != nil || bsuid == "" || scope != c.PortfolioScope() {
		return p, contact.Contact{ClinicID: c.ID}, err
	}
	number, _, err := s.Identity.ContactByBSUID(ctx, c.ID, scope, bsuid)
	if err != nil {
		return p, contact.Contact{}, err
	}
	p.Phone = bsuid // composeReminder addresses a BSUID by `recipient`
	return p, number, nil
}
