// Package contact is a clinic's view of one WhatsApp identity: the number a patient
// (or a family) writes from. Opt-outs and safety answers hang off the contact, so
// they work when no patient matches the number, and reach every patient who uses it,
// including patients the EHR adds later. Pure Go.
package contact

import (
	"errors"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/consent"
)

// SafetyInterval bounds safety answers to one per contact per interval: each is a
// paid message, and someone in distress may write many times in a minute. Every
// emergency message still reaches staff.
const SafetyInterval = 10 * time.Minute

// Contact is one WhatsApp identity of one clinic.
type Contact struct {
	ClinicID string
	// Key is the number in one canonical E.164 form (see KeyOf), so the forms
	// WhatsApp and the EHR use for one phone meet on one contact.
	Key string
	// PatientIDs are the clinic's patients whose number has this key (a family
	// may share one phone).
	PatientIDs []string
	// Consent is the number's latest WhatsApp statement (STOP / START); nil when
	// it never sent one.
	Consent *consent.Entry
	// SafetyAnsweredAt is when the last safety answer was sent to the number.
	SafetyAnsweredAt time.Time
	// BSUID is the business-scoped user id Meta showed beside this number (or, for
	// a contact keyed by a BSUID, the key itself); ParentBSUID its parent id.
	// BSUIDScope is the clinic's clinic.PortfolioScope when it was seen: a BSUID is
	// meaningless in another business portfolio and is used only while they match.
	BSUID, ParentBSUID, BSUIDScope string
}

// ByBSUID reports whether the contact is keyed by a BSUID: a username-only sender
// whose number the clinic has never been shown.
func (c Contact) ByBSUID() bool { return IsBSUIDKey(c.Key) }

// IsBSUIDKey reports whether a contact key is a BSUID rather than a number (KeyOf
// keys start with "+", BSUIDs with a two-letter country code).
func IsBSUIDKey(key string) bool { return key != "" && !strings.HasPrefix(key, "+") }

// BSUIDIn returns the contact's BSUID when it belongs to scope, else "".
func (c Contact) BSUIDIn(scope string) string {
	if c.BSUID == "" || c.BSUIDScope != scope {
		return ""
	}
	return c.BSUID
}

// OptedOut reports whether the number said STOP and has not said START since.
func (c Contact) OptedOut() bool { return c.Consent != nil && c.Consent.State == consent.OptedOut }

// Statements returns what the number said that bears on each patient reached on it,
// for merging with the patient's ledger (consent.Current orders by time): a standing
// STOP. A START only lifts the number's own STOP; it is no patient's consent, so it
// opts no one in (the patients on the number when it arrived got their own START
// entry; a patient added later needs the clinic's opt-in).
func (c Contact) Statements() []consent.Entry {
	if !c.OptedOut() {
		return nil
	}
	return []consent.Entry{*c.Consent}
}

// ErrNotAPhone is returned for input that is not a possible international number.
var ErrNotAPhone = errors.New("contact: not an international phone number")

// KeyOf returns the canonical key of a phone number given as E.164 or as WhatsApp's
// wa_id (digits). WhatsApp and the EHR can hold one phone in two forms: Mexican
// mobiles as 52 1 + ten digits (WhatsApp) or 52 + ten digits (E.164 since 2019), and
// Brazilian mobiles with or without the ninth digit (accounts registered before it).
// The key is the E.164 form: Mexico without the 1, Brazilian mobiles with the 9.
func KeyOf(phone string) (string, error) {
	d := strings.TrimPrefix(strings.TrimSpace(phone), "+")
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return "", ErrNotAPhone
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return "", ErrNotAPhone
		}
	}
	switch {
	case strings.HasPrefix(d, "521") && len(d) == 13:
		d = "52" + d[3:]
	case strings.HasPrefix(d, "55") && len(d) == 12 && d[4] >= '6':
		// 55 + area + eight digits starting 6-9 is a mobile from before the ninth
		// digit; landlines start 2-5 and keep eight digits.
		d = d[:4] + "9" + d[4:]
	}
	return "+" + d, nil
}

// IdentityChange is one identity ledger line: Meta reported that the person behind
// FromKey / FromBSUID now writes as ToKey / ToBSUID.
type IdentityChange struct {
	ID                 string // derived from the wamid: a redelivery writes the same line
	Kind               string // whatsapp.SystemUserChangedNumber or SystemUserChangedUserID
	FromKey, ToKey     string
	FromBSUID, ToBSUID string
	At, RecordedAt     time.Time
}
