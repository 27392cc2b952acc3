package inbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// IdentityStore is what sender resolution needs beyond phone lookups: Meta's
// business-scoped user ids (BSUIDs) and the ledger of number and BSUID changes.
type IdentityStore interface {
	LinkBSUID(ctx context.Context, clinicID, scope, bsuid, parent, key string, at time.Time) error
	ContactByBSUID(ctx context.Context, clinicID, scope, bsuid string) (contact.Contact, bool, error)
	AddContactPatients(ctx context.Context, clinicID, key string, patientIDs []string) error
	RecordIdentityChange(ctx context.Context, clinicID, ledgerKey string, ch contact.IdentityChange) error
}

// resolveSender finds who wrote: by number when the message has one (and then
// remembers the BSUID beside it), else by BSUID, which leads to the number it was
// last seen with in this clinic's business portfolio. A username-only sender never
// seen with a number gets a contact keyed by the BSUID: their STOP and safety answer
// still hang off it, and replies go to the BSUID (`recipient`).
func (s *Service) resolveSender(ctx context.Context, in *inbound) error {
	scope := in.c.PortfolioScope()
	var candidates []string
	var linked []string // patients linked to the contact (a number change carried them over)
	switch {
	case in.m.From != "":
		in.phone = E164FromWaID(in.m.From)
		if key, err := contact.KeyOf(in.m.From); err == nil {
			in.contactKey = key
		}
		candidates = PhoneCandidates(in.m.From)
	case in.bsuid != "":
		ct, mapped, err := s.Store.ContactByBSUID(ctx, in.c.ID, scope, in.bsuid)
		if err != nil {
			return fmt.Errorf("contact by bsuid: %w", err)
		}
		in.phone, in.contactKey, linked = in.bsuid, ct.Key, ct.PatientIDs
		if mapped {
			candidates = PhoneCandidates(ct.Key)
		}
	default:
		return nil
	}
	seen := map[string]bool{}
	for _, phone := range candidates {
		found, err := s.Store.PatientsByPhone(ctx, in.c.ID, phone)
		if err != nil {
			return fmt.Errorf("patients by phone: %w", err)
		}
		for _, p := range found {
			if !seen[p.ID] {
				seen[p.ID] = true
				in.patients = append(in.patients, p)
			}
		}
	}
	if len(in.patients) == 0 && in.contactKey != "" {
		if linked == nil && in.m.From != "" {
			ct, err := s.Store.GetContact(ctx, in.c.ID, in.contactKey)
			if err != nil {
				return fmt.Errorf("get contact: %w", err)
			}
			linked = ct.PatientIDs
		}
		for _, id := range linked {
			p, err := s.Store.GetPatient(ctx, in.c.ID, id)
			if err != nil {
				if isNotFound(err) {
					continue
				}
				return fmt.Errorf("get patient: %w", err)
			}
			in.patients = append(in.patients, p)
		}
	}
	if in.m.From != "" && in.bsuid != "" && in.contactKey != "" {
		return s.rememberBSUID(ctx, in, scope)
	}
	return nil
}

// rememberBSUID stores the BSUID Meta showed beside a number, once: later messages
// without the number find the patients through it, and a reminder can reach them by
// BSUID after the EHR drops the phone. A STOP the person sent before as a
// username-only sender moves onto the number's contact (the newest statement wins).
func (s *Service) rememberBSUID(ctx context.Context, in *inbound, scope string) error {
	ct, err := s.Store.GetContact(ctx, in.c.ID, in.contactKey)
	if err != nil {
		return fmt.Errorf("get contact: %w", err)
	}
	if ct.BSUIDIn(scope) == in.bsuid {
		return nil
	}
	byID, _, err := s.Store.ContactByBSUID(ctx, in.c.ID, scope, in.bsuid)
	if err != nil {
		return fmt.Errorf("contact by bsuid: %w", err)
	}
	if byID.ByBSUID() && byID.Consent != nil {
		if _, err := s.Store.RecordContactConsent(ctx, in.c.ID, in.contactKey, *byID.Consent); err != nil {
			return fmt.Errorf("carry consent to the number: %w", err)
		}
	}
	if err := s.Store.LinkBSUID(ctx, in.c.ID, scope, in.bsuid, in.parentBSUID, in.contactKey, in.at); err != nil {
		return fmt.Errorf("link bsuid: %w", err)
	}
	s.log().Info("inbound bsuid linked", "clinic_id", in.c.ID, platform.WAMID("wamid", in.m.ID), "contact", platform.Hash(in.contactKey))
	return nil
}

// rememberRecipientBSUID keeps the BSUID a delivered status shows beside the number
// a message went to, so a patient who never writes can still be reached by BSUID if
// the EHR later removes their phone. Only "delivered" is used: Meta puts the BSUID on
// sent, delivered and read alike, and one read per message is enough.
func (s *Service) rememberRecipientBSUID(ctx context.Context, c clinic.Clinic, st whatsapp.Status, at time.Time) error {
	if st.Status != whatsapp.StatusDelivered || st.RecipientID == "" || st.RecipientUserID == "" {
		return nil
	}
	key, err := contact.KeyOf(st.RecipientID)
	if err != nil {
		return nil
	}
	in := &inbound{c: c, m: whatsapp.InboundMessage{ID: st.ID}, at: at, contactKey: key,
		bsuid: st.RecipientUserID, parentBSUID: st.RecipientParentUserID}
	return s.rememberBSUID(ctx, in, c.PortfolioScope())
}

// identityNotice acts on Meta's system notices. A number change moves the person's
// BSUID and patients to the new number's contact, copies a standing STOP there (it
// also stays on the old number: the EHR may still reach a family member through it)
// and writes a ledger line; a BSUID change moves the mapping likewise. Nothing is
// sent: a system notice is not the person writing.
func (s *Service) identityNotice(ctx context.Context, in *inbound, sys whatsapp.System) error {
	in.outcome, in.intent = outcomeRecorded, sys.Type
	scope := in.c.PortfolioScope()
	var from contact.Contact
	var toKey, toBSUID string
	switch sys.Type {
	case whatsapp.SystemUserChangedNumber:
		newKey, err := contact.KeyOf(sys.WaID)
		if err != nil || in.contactKey == "" {
			s.log().Warn("inbound number change without usable numbers", "clinic_id", in.c.ID, platform.WAMID("wamid", in.m.ID))
			return nil
		}
		if from, err = s.Store.GetContact(ctx, in.c.ID, in.contactKey); err != nil {
			return fmt.Errorf("get contact: %w", err)
		}
		toKey, toBSUID = newKey, sys.UserID
		if toBSUID == "" {
			toBSUID = in.bsuid // Meta kept the BSUID
		}
	case whatsapp.SystemUserChangedUserID:
		if in.bsuid == "" || sys.UserID == "" {
			s.log().Warn("inbound bsuid change without both ids", "clinic_id", in.c.ID, platform.WAMID("wamid", in.m.ID))
			return nil
		}
		var err error
		if from, _, err = s.Store.ContactByBSUID(ctx, in.c.ID, scope, in.bsuid); err != nil {
			return fmt.Errorf("contact by bsuid: %w", err)
		}
		toKey, toBSUID = from.Key, sys.UserID
		if from.ByBSUID() {
			toKey = sys.UserID // a username-only contact is keyed by its BSUID
		}
	default:
		return nil
	}
	ids := append([]string(nil), from.PatientIDs...)
	for _, p := range in.patients {
		ids = append(ids, p.ID)
	}
	if toKey != from.Key {
		if from.OptedOut() {
			if _, err := s.Store.RecordContactConsent(ctx, in.c.ID, toKey, *from.Consent); err != nil {
				return fmt.Errorf("carry opt-out: %w", err)
			}
		}
		if err := s.Store.AddContactPatients(ctx, in.c.ID, toKey, dedupe(ids)); err != nil {
			return fmt.Errorf("carry patients: %w", err)
		}
	}
	if toBSUID != "" {
		if err := s.Store.LinkBSUID(ctx, in.c.ID, scope, toBSUID, sys.ParentUserID, toKey, in.at); err != nil {
			return fmt.Errorf("link bsuid: %w", err)
		}
	}
	ch := contact.IdentityChange{ID: derivedID("identity", in.m.ID), Kind: sys.Type, FromKey: from.Key, ToKey: toKey,
		FromBSUID: in.bsuid, ToBSUID: toBSUID, At: in.at}
	if err := s.Store.RecordIdentityChange(ctx, in.c.ID, from.Key, ch); err != nil {
		return fmt.Errorf("record identity change: %w", err)
	}
	s.log().Info("inbound identity changed", "clinic_id", in.c.ID, platform.WAMID("wamid", in.m.ID), "kind", sys.Type,
		"contact", platform.Hash(from.Key), "new_contact", platform.Hash(toKey), "opt_out_carried", from.OptedOut() && toKey != from.Key)
	return nil
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func isNotFound(err error) bool { return errors.Is(err, fault.ErrNotFound) }
