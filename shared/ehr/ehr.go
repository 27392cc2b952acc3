// Package ehr turns what an EHR or interface engine sends Frontdesk (native JSON or
// FHIR R4) into domain values, and holds everything security- and format-related
// about the EHR API: Standard Webhooks signatures, bearer tokens, FHIR
// OperationOutcome rendering and the embedded OpenAPI document.
//
// The package never logs: its inputs are full of PHI, so it returns errors whose
// messages name fields, never the values of phone numbers or names.
package ehr

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/httpapi/httpcore"
)

// Event is one appointment change as the EHR described it.
type Event struct {
	Appointment appointment.Appointment
	Patient     appointment.Patient
	// Consent is set when the EHR recorded the patient's WhatsApp consent along with
	// the appointment.
	Consent *consent.Entry
	// PatientIncomplete is true when the EHR only referenced the patient (FHIR
	// "Patient/123" with no resource to resolve it): Patient carries the id and
	// nothing else, and the caller must use the stored patient record.
	PatientIncomplete bool
	// Waitlist is the EHR's waitlist flag when the event carried one. nil leaves the
	// stored flag alone: a patient may have joined the waitlist on WhatsApp, and an
	// EHR that never sends the flag must not take them off it with every update.
	Waitlist *bool
	// SlotID is the published slot the appointment occupies, when the event names
	// it (native "slotId", FHIR Appointment.slot): an EHR cancellation frees it.
	SlotID string
	// Orderings holds every value a FHIR event can be ordered by; zero for native
	// events. Appointment.Version and Appointment.OrderingKey hold the preferred one
	// until OrderAgainst switches them to the key the stored appointment uses.
	Orderings Orderings
}

// Orderings are a FHIR appointment's candidate ordering values; zero means absent.
type Orderings struct {
	VersionID   int64 // meta.versionId
	LastUpdated int64 // meta.lastUpdated in Unix milliseconds
}

func (o Orderings) get(key string) (int64, bool) {
	switch key {
	case OrderVersionID:
		return o.VersionID, o.VersionID != 0
	case OrderLastUpdated:
		return o.LastUpdated, o.LastUpdated != 0
	}
	return 0, false
}

// Ordering keys of FHIR appointments (appointment.Appointment.OrderingKey).
const (
	OrderVersionID   = "versionId"
	OrderLastUpdated = "lastUpdated"
)

// MaxVersion bounds version and meta.versionId: 2^53-1 is the largest integer a
// JSON number carries exactly in every client (JavaScript, most JSON libraries), so
// a larger one would be read differently by the EHR and by Frontdesk, and one huge
// value would make every later change of the appointment look stale.
const MaxVersion int64 = 1<<53 - 1

// MaxFutureSkew is how far in the future updatedAt, meta.lastUpdated and a consent
// "at" may lie. Ordering and the consent ledger let the latest time win, so a
// far-future time would make every later change stale; clocks drift a little, not more.
const MaxFutureSkew = 5 * time.Minute

// ErrOrderingKeyChanged: a FHIR event lacks the ordering key (meta.versionId or
// meta.lastUpdated) its appointment has been ordered by. Re-keying silently would
// compare values on different scales.
var ErrOrderingKeyChanged = errors.New("ehr: the notification lacks the ordering key this appointment or slot is ordered by")

// legacyLastUpdatedFloor tells the key of appointments stored before the key was
// recorded: a lastUpdated in Unix milliseconds is above it (any date after March
// 1973), a versionId counter far below it.
const legacyLastUpdatedFloor = 100_000_000_000

// OrderAgainst returns ev ordered on the key stored (the appointment as stored) is
// ordered by; native events are returned unchanged. An appointment stored without
// a key (before keys were recorded, or created through the native API) gets the
// key its stored version's scale shows.
func (ev Event) OrderAgainst(stored appointment.Appointment) (Event, error) {
	v, key, err := ev.Orderings.against(stored.OrderingKey, stored.Version, "Appointment/"+ev.Appointment.ID)
	if err != nil || key == "" {
		return ev, err
	}
	ev.Appointment.Version, ev.Appointment.OrderingKey = v, key
	return ev, nil
}

// against picks the value of the key a stored record (of what, "Slot/s1") is
// ordered by. key is "" for native events (no orderings): they keep their version.
func (o Orderings) against(storedKey string, storedVersion int64, what string) (int64, string, error) {
	if o == (Orderings{}) {
		return 0, "", nil
	}
	key := storedKey
	if key == "" {
		key = OrderVersionID
		if storedVersion >= legacyLastUpdatedFloor {
			key = OrderLastUpdated
		}
	}
	v, ok := o.get(key)
	if !ok {
		return 0, "", fmt.Errorf("%w: %s is ordered by meta.%s; send it in every notification", ErrOrderingKeyChanged, what, key)
	}
	return v, key, nil
}

// preferred is the key a record first seen with these orderings is ordered by.
func (o Orderings) preferred() (int64, string) {
	switch {
	case o.VersionID != 0:
		return o.VersionID, OrderVersionID
	case o.LastUpdated != 0:
		return o.LastUpdated, OrderLastUpdated
	}
	return 0, ""
}

// FieldProblem is one thing wrong with a request body.
type FieldProblem = httpcore.FieldProblem

// ValidationError lists every problem found in a body, so an integrator fixes them
// all in one round trip instead of one per request.
type ValidationError struct {
	Problems []FieldProblem
}

func (e *ValidationError) Error() string {
	if e == nil || len(e.Problems) == 0 {
		return "ehr: invalid request"
	}
	var b strings.Builder
	b.WriteString("ehr: invalid request: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		if p.Pointer != "" {
			b.WriteString(p.Pointer)
			b.WriteString(": ")
		}
		b.WriteString(p.Detail)
	}
	return b.String()
}

// problems collects FieldProblems while a body is walked.
type problems struct{ list []FieldProblem }

func (p *problems) add(pointer, format string, a ...any) {
	// Bodies are bounded by the router, but a fuzzer or an attacker can still send
	// thousands of bad fields; a capped list keeps the answer small.
	const maxProblems = 50
	if len(p.list) < maxProblems {
		p.list = append(p.list, FieldProblem{Pointer: pointer, Detail: fmt.Sprintf(format, a...)})
	}
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: p.list}
}

// idPattern is the FHIR id type. Ids become parts of storage keys
// ("APPT#<clinic>#<id>"), so a '#' or a slash must never get through.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// ValidID reports whether s may be used as an appointment or patient id (the FHIR
// id syntax: 1-64 of A-Z a-z 0-9 - .).
func ValidID(s string) bool { return idPattern.MatchString(s) }

// quote echoes a client value in an error message, shortened so a huge value cannot
// blow up the answer. Only used for codes and enums, never for phones or names.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// ParsePhone parses a phone number written in E.164 or in the clinic country's
// national format and returns it in E.164.
//
// The rule is "possible", not "valid": phonenumbers.IsValidNumber rejects the
// fictional +1 555 01xx numbers (e.g. +15550100) that development, tests and demo
// clinics must use, while IsPossibleNumber accepts them (the length fits the
// country's numbering plan). A possible-but-unassigned number costs one failed
// WhatsApp send (error 131026, recorded on the reminder); rejecting a real patient
// whose number the library's metadata does not know yet would lose the appointment.
// Error messages never contain the number.
func ParsePhone(raw, country string) (string, error) {
	s := strings.TrimSpace(raw)
	s = strings.TrimPrefix(s, "tel:")
	if s == "" {
		return "", fmt.Errorf("phone number is empty")
	}
	// Letters are accepted by phonenumbers as vanity digits (1-800-FLOWERS); a
	// patient's mobile never has them, so they are more likely a data entry error.
	if strings.IndexFunc(s, func(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }) >= 0 {
		return "", fmt.Errorf("phone number must contain digits only (with +, spaces, dots, dashes or parentheses)")
	}
	n, err := phonenumbers.Parse(s, country)
	if err != nil {
		if !strings.HasPrefix(s, "+") && country == "" {
			return "", fmt.Errorf("phone number must be E.164 (+ and country code): the clinic has no country for national numbers")
		}
		return "", fmt.Errorf("phone number cannot be parsed as E.164 or as a national number of %s", countryName(country))
	}
	if !phonenumbers.IsPossibleNumber(n) {
		return "", fmt.Errorf("phone number has the wrong length for its country")
	}
	if n.GetExtension() != "" {
		return "", fmt.Errorf("phone number must not have an extension: WhatsApp needs a mobile number")
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

func countryName(c string) string {
	if c == "" {
		return "the clinic's country (unset)"
	}
	return c
}

// ParseLanguage parses a BCP 47 tag and returns its canonical form ("es-MX").
func ParseLanguage(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("language is empty")
	}
	tag, err := language.Parse(s)
	if err != nil {
		return "", fmt.Errorf("language %s is not a BCP 47 tag: %w", quote(s), err)
	}
	if tag == language.Und {
		return "", fmt.Errorf("language %s is undetermined", quote(s))
	}
	return tag.String(), nil
}

// ConsentID is the deterministic id of a consent entry: the same statement delivered
// twice (an EHR retry, a redelivered webhook) gets the same id, and the ledger's
// append is idempotent by id.
func ConsentID(clinicID, patientID string, at time.Time, state consent.State, source string) string {
	h := sha256.New()
	// Length prefixes keep ("a","bc") and ("ab","c") apart.
	for _, part := range []string{clinicID, patientID, at.UTC().Format(time.RFC3339Nano), string(state), source} {
		fmt.Fprintf(h, "%d:%s|", len(part), part)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// consentSkew is how far in the future a consent timestamp may lie. Consent.Current
// lets the latest "at" win, so a far-future opt-in would silently override every
// later STOP.
const consentSkew = MaxFutureSkew

// defaultLanguage returns the clinic's default language in canonical form.
func defaultLanguage(c clinic.Clinic) string {
	if l, err := ParseLanguage(c.DefaultLanguage); err == nil {
		return l
	}
	return c.DefaultLanguage
}
