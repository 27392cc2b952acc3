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
// later STOP; clocks drift a little, not more.
const consentSkew = 5 * time.Minute

// defaultLanguage returns the clinic's default language in canonical form.
func defaultLanguage(c clinic.Clinic) string {
	if l, err := ParseLanguage(c.DefaultLanguage); err == nil {
		return l
	}
	return c.DefaultLanguage
}
