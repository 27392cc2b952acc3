package ehr

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
)

// Limits of the native format. Free-text fields are shown to the patient or stored
// per appointment; the limits keep one item well under DynamoDB's 400 KB.
const (
	maxDurationMinutes = 1440
	maxTextLen         = 500
	maxEvidenceLen     = 2000
	maxSourceLen       = 64
	maxCodeLen         = 64
)

// codePattern is the FHIR code type (no leading, trailing or double whitespace).
// A visit type is compared exactly, so stray spaces would silently break matching.
var codePattern = regexp.MustCompile(`^[^\s]+( [^\s]+)*$`)

// visitTypeProblem says what is wrong with a visit type code, or "".
func visitTypeProblem(s string) string {
	switch {
	case len(s) > maxCodeLen:
		return fmt.Sprintf("must be at most %d characters", maxCodeLen)
	case !codePattern.MatchString(s):
		return "must be a code: no leading, trailing or repeated whitespace"
	}
	return ""
}

// ParseNative parses the body of PUT /v1/clinics/{clinicId}/appointments/{appointmentId}.
// appointmentID comes from the path. now is when the request arrived; it stamps
// UpdatedAt and RecordedAt and bounds consent timestamps.
//
// Every problem is reported at once as a *ValidationError with RFC 6901 pointers.
func ParseNative(body []byte, c clinic.Clinic, appointmentID string, now time.Time) (Event, error) {
	var p problems
	if !ValidID(appointmentID) {
		p.add("", "appointmentId in the path must be 1-64 characters of A-Z a-z 0-9 - .")
	}
	raw, ok := decodeSingle(body, &p)
	if !ok {
		return Event{}, p.err()
	}
	root, ok := readObject(raw, "", &p)
	if !ok {
		return Event{}, p.err()
	}
	root.only(&p, "status", "start", "durationMinutes", "location", "practitioner", "visitType", "waitlist", "slotId", "patient", "consent", "version", "updatedAt")

	a := appointment.Appointment{ClinicID: c.ID, ID: appointmentID, UpdatedAt: now}

	if s, ok := root.str(&p, "status", true); ok {
		a.Status = appointment.Status(s)
		if !a.Status.Valid() {
			p.add("/status", "must be one of the FHIR R4 appointment status codes (%s), got %s", statusList(), quote(s))
		}
	}
	if s, ok := root.str(&p, "start", true); ok {
		t, err := parseInstant(s)
		if err != nil {
			p.add("/start", "%v", err)
		}
		a.Start = t
	}
	if n, ok := root.integer(&p, "durationMinutes", false); ok {
		if n < 1 || n > maxDurationMinutes {
			p.add("/durationMinutes", "must be between 1 and %d", maxDurationMinutes)
		} else {
			a.Duration = time.Duration(n) * time.Minute
		}
	}
	if loc, ok := root.object(&p, "location", false); ok {
		loc.only(&p, "name", "address")
		if s, ok := loc.str(&p, "name", false); ok && loc.maxLen(&p, "name", s, maxTextLen) {
			a.Location.Name = strings.TrimSpace(s)
		}
		if s, ok := loc.str(&p, "address", false); ok && loc.maxLen(&p, "address", s, maxTextLen) {
			a.Location.Address = strings.TrimSpace(s)
		}
	}
	if pr, ok := root.object(&p, "practitioner", false); ok {
		pr.only(&p, "display")
		if s, ok := pr.str(&p, "display", false); ok && pr.maxLen(&p, "display", s, maxTextLen) {
			a.Practitioner.Display = strings.TrimSpace(s)
		}
	}

	if s, ok := root.str(&p, "visitType", false); ok {
		if d := visitTypeProblem(s); d != "" {
			p.add("/visitType", "%s", d)
		}
		a.VisitType = s
	}
	waitlist := root.boolean(&p, "waitlist")
	if waitlist != nil {
		a.Waitlist = *waitlist
	}
	slotID := ""
	if s, ok := root.str(&p, "slotId", false); ok {
		if !ValidID(s) {
			p.add("/slotId", "must be 1-64 of A-Z a-z 0-9 - . (the slot's id in PUT .../slots/{slotId})")
		}
		slotID = s
	}

	pat := appointment.Patient{ClinicID: c.ID, UpdatedAt: now, Language: defaultLanguage(c)}
	if po, ok := root.object(&p, "patient", true); ok {
		po.only(&p, "id", "phone", "givenName", "language")
		if s, ok := po.str(&p, "id", true); ok {
			if !ValidID(s) {
				p.add("/patient/id", "must be 1-64 characters of A-Z a-z 0-9 - .")
			}
			pat.ID = s
		}
		if s, ok := po.str(&p, "phone", true); ok {
			e164, err := ParsePhone(s, c.Country)
			if err != nil {
				p.add("/patient/phone", "%v", err)
			}
			pat.Phone = e164
		}
		if s, ok := po.str(&p, "givenName", false); ok && po.maxLen(&p, "givenName", s, maxTextLen) {
			pat.GivenName = strings.TrimSpace(s)
		}
		if s, ok := po.str(&p, "language", false); ok {
			l, err := ParseLanguage(s)
			if err != nil {
				p.add("/patient/language", "%v", err)
			} else {
				pat.Language = l
			}
		}
	}
	a.PatientID = pat.ID

	var entry *consent.Entry
	if co, ok := root.object(&p, "consent", false); ok {
		e, ok := parseConsentObject(co, &p, c.ID, pat.ID, consent.SourceEHR, now)
		if ok {
			entry = &e
		}
	}

	a.Version = nativeVersion(root, &p, now)

	if err := p.err(); err != nil {
		return Event{}, err
	}
	return Event{Appointment: a, Patient: pat, Consent: entry, Waitlist: waitlist, SlotID: slotID}, nil
}

// nativeVersion reads the ordering value of a native body: version, or updatedAt in
// Unix milliseconds, bounded so that one value cannot make every later change stale.
func nativeVersion(root *object, p *problems, now time.Time) int64 {
	_, hasVersion := root.get("version")
	_, hasUpdated := root.get("updatedAt")
	switch {
	case hasVersion && hasUpdated:
		// The two are on different scales (a counter vs Unix milliseconds); mixing
		// them for one record would make ordering meaningless.
		p.add("/updatedAt", "give version or updatedAt, not both")
	case hasVersion:
		if n, ok := root.integer(p, "version", true); ok {
			switch {
			case n < 1:
				p.add("/version", "must be an integer of at least 1")
			case n > MaxVersion:
				p.add("/version", "must be at most %d (2^53-1)", MaxVersion)
			}
			return n
		}
	case hasUpdated:
		if s, ok := root.str(p, "updatedAt", true); ok {
			t, err := parseInstant(s)
			switch {
			case err != nil:
				p.add("/updatedAt", "%v", err)
			case t.After(now.Add(MaxFutureSkew)):
				p.add("/updatedAt", "must not be more than 5 minutes in the future")
			case t.UnixMilli() < 1:
				p.add("/updatedAt", "must be after 1970-01-01T00:00:00Z")
			}
			return t.UnixMilli()
		}
	default:
		p.add("/version", "version (integer) or updatedAt (RFC 3339) is required so that out-of-order deliveries can be detected")
	}
	return 0
}

// ParseConsent parses the body of PUT /v1/clinics/{clinicId}/patients/{patientId}/consent:
// {"whatsapp": "opted_in"|"opted_out", "at", "source", "evidence"}. The source
// defaults to consent.SourceAPI.
func ParseConsent(body []byte, c clinic.Clinic, patientID string, now time.Time) (consent.Entry, error) {
	var p problems
	if !ValidID(patientID) {
		p.add("", "patientId in the path must be 1-64 characters of A-Z a-z 0-9 - .")
	}
	raw, ok := decodeSingle(body, &p)
	if !ok {
		return consent.Entry{}, p.err()
	}
	root, ok := readObject(raw, "", &p)
	if !ok {
		return consent.Entry{}, p.err()
	}
	e, _ := parseConsentObject(root, &p, c.ID, patientID, consent.SourceAPI, now)
	if err := p.err(); err != nil {
		return consent.Entry{}, err
	}
	return e, nil
}

func parseConsentObject(o *object, p *problems, clinicID, patientID, defaultSource string, now time.Time) (consent.Entry, bool) {
	before := len(p.list)
	o.only(p, "whatsapp", "at", "source", "evidence")
	e := consent.Entry{ClinicID: clinicID, PatientID: patientID, Source: defaultSource, RecordedAt: now}
	if s, ok := o.str(p, "whatsapp", true); ok {
		e.State = consent.State(s)
		if !e.State.Valid() {
			p.add(o.child("whatsapp"), "must be opted_in or opted_out, got %s", quote(s))
		}
	}
	if s, ok := o.str(p, "at", true); ok {
		t, err := parseInstant(s)
		switch {
		case err != nil:
			p.add(o.child("at"), "%v", err)
		case t.After(now.Add(consentSkew)):
			p.add(o.child("at"), "must not be more than 5 minutes in the future")
		}
		e.At = t.UTC()
	}
	if s, ok := o.str(p, "source", false); ok && o.maxLen(p, "source", s, maxSourceLen) {
		s = strings.TrimSpace(s)
		switch {
		case strings.EqualFold(s, consent.SourceWhatsApp):
			// Only Frontdesk records what the patient said on WhatsApp; a client
			// claiming it would make its statement look like the patient's own.
			p.add(o.child("source"), "%q is reserved for statements Frontdesk records from the patient's own WhatsApp messages", consent.SourceWhatsApp)
		case s != "":
			e.Source = s
		}
	}
	if s, ok := o.str(p, "evidence", false); ok && o.maxLen(p, "evidence", s, maxEvidenceLen) {
		e.Evidence = strings.TrimSpace(s)
	}
	if len(p.list) > before {
		return consent.Entry{}, false
	}
	e.ID = ConsentID(clinicID, patientID, e.At, e.State, e.Source)
	return e, true
}

func statusList() string {
	s := make([]string, len(appointment.Statuses))
	for i, st := range appointment.Statuses {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}
