package ehr

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
)

// Kind says what a FHIR request body was.
type Kind string

// Kinds of FHIR bodies.
const (
	// KindEvents: appointments and slots to apply (a resource, a Bundle or a
	// Backport event-notification).
	KindEvents Kind = "events"
	// KindHandshake, KindHeartbeat, KindQueryStatus: Subscriptions Backport
	// notifications without content; answer 200 and change nothing.
	KindHandshake   Kind = "handshake"
	KindHeartbeat   Kind = "heartbeat"
	KindQueryStatus Kind = "query-status"
)

// FHIRResult is what a FHIR body carried.
type FHIRResult struct {
	Kind   Kind
	Events []Event
	Slots  []SlotEvent
	// SubscriptionRef and EventsSinceStart come from a Backport notification's
	// SubscriptionStatus (for gap detection and logs).
	SubscriptionRef  string
	EventsSinceStart int64
}

// FHIR R4 JSON, only the parts Frontdesk reads. Unknown elements are ignored: FHIR
// resources carry far more than a reminder needs, and ignoring them is the FHIR
// rule for receivers ("must-support" is ours to choose).
type (
	fhirMeta struct {
		VersionID   string `json:"versionId"`
		LastUpdated string `json:"lastUpdated"`
	}
	fhirCoding struct {
		System string `json:"system"`
		Code   string `json:"code"`
	}
	fhirCodeableConcept struct {
		Coding []fhirCoding `json:"coding"`
		Text   string       `json:"text"`
	}
	fhirReference struct {
		Reference string `json:"reference"`
		Type      string `json:"type"`
		Display   string `json:"display"`
	}
	fhirParticipant struct {
		Actor *fhirReference `json:"actor"`
	}
	fhirAppointment struct {
		ResourceType    string                `json:"resourceType"`
		ID              string                `json:"id"`
		Meta            *fhirMeta             `json:"meta"`
		Contained       []json.RawMessage     `json:"contained"`
		Status          string                `json:"status"`
		Start           string                `json:"start"`
		End             string                `json:"end"`
		MinutesDuration *int64                `json:"minutesDuration"`
		Participant     []fhirParticipant     `json:"participant"`
		ServiceType     []fhirCodeableConcept `json:"serviceType"`
		AppointmentType *fhirCodeableConcept  `json:"appointmentType"`
		Extension       []fhirExtension       `json:"extension"`
		Slot            []fhirReference       `json:"slot"`
	}
	fhirExtension struct {
		URL          string `json:"url"`
		ValueBoolean *bool  `json:"valueBoolean"`
	}
	fhirSlot struct {
		ResourceType    string                `json:"resourceType"`
		ID              string                `json:"id"`
		Meta            *fhirMeta             `json:"meta"`
		Contained       []json.RawMessage     `json:"contained"`
		Schedule        *fhirReference        `json:"schedule"`
		Status          string                `json:"status"`
		Start           string                `json:"start"`
		End             string                `json:"end"`
		ServiceType     []fhirCodeableConcept `json:"serviceType"`
		AppointmentType *fhirCodeableConcept  `json:"appointmentType"`
	}
	fhirSchedule struct {
		ResourceType string                `json:"resourceType"`
		ID           string                `json:"id"`
		Actor        []fhirReference       `json:"actor"`
		ServiceType  []fhirCodeableConcept `json:"serviceType"`
	}
	fhirHumanName struct {
		Use    string   `json:"use"`
		Text   string   `json:"text"`
		Family string   `json:"family"`
		Given  []string `json:"given"`
		Prefix []string `json:"prefix"`
	}
	fhirContactPoint struct {
		System string `json:"system"`
		Value  string `json:"value"`
		Use    string `json:"use"`
		Rank   *int64 `json:"rank"`
	}
	fhirIdentifier struct {
		Use    string `json:"use"`
		System string `json:"system"`
		Value  string `json:"value"`
	}
	fhirCommunication struct {
		Language  fhirCodeableConcept `json:"language"`
		Preferred bool                `json:"preferred"`
	}
	fhirPatient struct {
		ResourceType  string              `json:"resourceType"`
		ID            string              `json:"id"`
		Meta          *fhirMeta           `json:"meta"`
		Identifier    []fhirIdentifier    `json:"identifier"`
		Name          []fhirHumanName     `json:"name"`
		Telecom       []fhirContactPoint  `json:"telecom"`
		Communication []fhirCommunication `json:"communication"`
	}
	fhirAddress struct {
		Text       string   `json:"text"`
		Line       []string `json:"line"`
		City       string   `json:"city"`
		State      string   `json:"state"`
		PostalCode string   `json:"postalCode"`
	}
	fhirLocation struct {
		ResourceType string       `json:"resourceType"`
		ID           string       `json:"id"`
		Name         string       `json:"name"`
		Address      *fhirAddress `json:"address"`
	}
	fhirPractitioner struct {
		ResourceType string          `json:"resourceType"`
		ID           string          `json:"id"`
		Name         []fhirHumanName `json:"name"`
	}
	fhirBundleEntry struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Request  *struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
	}
	fhirBundle struct {
		ResourceType string            `json:"resourceType"`
		Type         string            `json:"type"`
		Entry        []fhirBundleEntry `json:"entry"`
	}
	fhirParameter struct {
		Name           string         `json:"name"`
		ValueReference *fhirReference `json:"valueReference"`
		ValueCanonical string         `json:"valueCanonical"`
		ValueCode      string         `json:"valueCode"`
		ValueString    *string        `json:"valueString"`
		// valueInteger64 is a string in FHIR JSON (R5/R4B); json.Number takes both
		// shapes a sender may use.
		ValueInteger64   json.RawMessage `json:"valueInteger64"`
		ValueInteger     *int64          `json:"valueInteger"`
		ValueUnsignedInt *int64          `json:"valueUnsignedInt"`
		Part             []fhirParameter `json:"part"`
	}
	fhirParameters struct {
		ResourceType string          `json:"resourceType"`
		Parameter    []fhirParameter `json:"parameter"`
	}
)

// resource is one FHIR resource found in the body, with where it was found.
type resource struct {
	typ  string
	id   string
	path string // FHIRPath-like location, "Bundle.entry[2].resource"
	raw  json.RawMessage
	// fullURL is the Bundle entry's fullUrl, which references may use.
	fullURL string
	// contained marks a resource inside an Appointment's contained list: its id is
	// local to that Appointment.
	contained bool
}

// ParseFHIR parses the body of POST /v1/clinics/{clinicId}/fhir: an Appointment or
// a Slot, a Bundle (transaction, batch, collection, searchset) of Appointments and
// Slots with their Patients, Schedules, Locations and Practitioners, or an R4
// Subscriptions Backport notification (a history Bundle whose first entry is a
// SubscriptionStatus Parameters). Problems come back as a *ValidationError whose pointers are
// FHIRPath-like ("Bundle.entry[1].resource.start"); OperationOutcome renders it.
func ParseFHIR(body []byte, c clinic.Clinic, now time.Time) (FHIRResult, error) {
	var p problems
	raw, ok := decodeSingle(body, &p)
	if !ok {
		return FHIRResult{}, p.err()
	}
	if k := jsonKind(raw); k != "object" {
		p.add("", "must be a FHIR resource (a JSON object), got %s", k)
		return FHIRResult{}, p.err()
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		p.add("resourceType", "must be a string")
		return FHIRResult{}, p.err()
	}
	ps := &fhirParser{c: c, now: now, p: &p}
	var res FHIRResult
	switch head.ResourceType {
	case "Appointment":
		res.Kind = KindEvents
		res.Events = ps.appointments([]resource{{typ: "Appointment", path: "Appointment", raw: raw}}, nil)
	case "Slot":
		res.Kind = KindEvents
		res.Slots = ps.slots([]resource{{typ: "Slot", path: "Slot", raw: raw}}, nil)
	case "Bundle":
		res = ps.bundle(raw)
	case "":
		p.add("resourceType", "is required")
	default:
		p.add("resourceType", "must be Appointment, Slot or Bundle, got %s", quote(head.ResourceType))
	}
	if err := p.err(); err != nil {
		return FHIRResult{}, err
	}
	return res, nil
}

type fhirParser struct {
	c   clinic.Clinic
	now time.Time
	p   *problems
}

// unmarshal decodes a resource. encoding/json stops reporting at the first type
// mismatch, so on failure the JSON is walked against the Go type to report every
// mismatch with its FHIRPath-like location.
func (ps *fhirParser) unmarshal(raw json.RawMessage, path string, v any) bool {
	err := json.Unmarshal(raw, v)
	if err == nil {
		return true
	}
	before := len(ps.p.list)
	typeProblems(raw, reflect.TypeOf(v), path, ps.p)
	if len(ps.p.list) == before {
		ps.p.add(path, "cannot be decoded")
	}
	return false
}

func (ps *fhirParser) bundle(raw json.RawMessage) FHIRResult {
	var b fhirBundle
	if !ps.unmarshal(raw, "Bundle", &b) {
		return FHIRResult{}
	}
	switch b.Type {
	case "transaction", "batch", "collection", "searchset":
		events, slots := ps.bundleEvents(b, 0)
		return FHIRResult{Kind: KindEvents, Events: events, Slots: slots}
	case "history":
		return ps.notification(b)
	case "":
		ps.p.add("Bundle.type", "is required")
	default:
		ps.p.add("Bundle.type", "must be transaction, batch, collection, searchset or history (a Subscriptions Backport notification), got %s", quote(b.Type))
	}
	return FHIRResult{}
}

// bundleEvents resolves the Appointments and Slots of entries[from:] against every
// resource in the Bundle.
func (ps *fhirParser) bundleEvents(b fhirBundle, from int) ([]Event, []SlotEvent) {
	var all, appts, slots []resource
	for i := from; i < len(b.Entry); i++ {
		e := b.Entry[i]
		path := fmt.Sprintf("Bundle.entry[%d]", i)
		if e.Request != nil && strings.EqualFold(e.Request.Method, "DELETE") {
			// Dropping it would lose a change; guessing what a delete means for the
			// patient (cancel? nothing?) is worse.
			ps.p.add(path+".request.method", "DELETE is not supported: send the Appointment with status cancelled or entered-in-error, or the Slot with status busy")
			continue
		}
		if len(e.Resource) == 0 || isNull(e.Resource) {
			ps.p.add(path+".resource", "is required (Frontdesk needs full resources, not references)")
			continue
		}
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		if !ps.unmarshal(e.Resource, path+".resource", &head) {
			continue
		}
		r := resource{typ: head.ResourceType, id: head.ID, path: path + ".resource", raw: e.Resource, fullURL: e.FullURL}
		all = append(all, r)
		switch r.typ {
		case "Appointment":
			appts = append(appts, r)
		case "Slot":
			slots = append(slots, r)
		}
	}
	if len(appts) == 0 && len(slots) == 0 && len(ps.p.list) == 0 {
		ps.p.add("Bundle.entry", "contains no Appointment or Slot")
	}
	return ps.appointments(appts, all), ps.slots(slots, all)
}

// notification handles a Subscriptions Backport notification Bundle.
func (ps *fhirParser) notification(b fhirBundle) FHIRResult {
	const where = "Bundle.entry[0].resource"
	if len(b.Entry) == 0 {
		ps.p.add("Bundle.entry", "a history Bundle must be a Subscriptions Backport notification whose first entry is a SubscriptionStatus Parameters")
		return FHIRResult{}
	}
	var params fhirParameters
	if !ps.unmarshal(b.Entry[0].Resource, where, &params) {
		return FHIRResult{}
	}
	if params.ResourceType != "Parameters" {
		ps.p.add(where+".resourceType", "must be Parameters (the Backport SubscriptionStatus), got %s", quote(params.ResourceType))
		return FHIRResult{}
	}
	res := FHIRResult{}
	var typ string
	for i, prm := range params.Parameter {
		pp := fmt.Sprintf("%s.parameter[%d]", where, i)
		switch prm.Name {
		case "subscription":
			if prm.ValueReference != nil {
				res.SubscriptionRef = prm.ValueReference.Reference
			}
		case "type":
			typ = prm.ValueCode
		case "events-since-subscription-start":
			n, ok := prm.int64Value()
			if !ok {
				ps.p.add(pp, "events-since-subscription-start must be an integer (valueString or valueInteger64)")
			}
			res.EventsSinceStart = n
		}
	}
	if res.SubscriptionRef == "" {
		ps.p.add(where+".parameter", "subscription (valueReference) is required")
	}
	switch typ {
	case "handshake":
		res.Kind = KindHandshake
	case "heartbeat":
		res.Kind = KindHeartbeat
	case "query-status":
		res.Kind = KindQueryStatus
	case "event-notification":
		res.Kind = KindEvents
		if len(b.Entry) < 2 {
			ps.p.add("Bundle.entry", "event-notification carries no resources: configure the Subscription with content full-resource")
			return res
		}
		res.Events, res.Slots = ps.bundleEvents(b, 1)
	case "":
		ps.p.add(where+".parameter", "type (valueCode) is required")
	default:
		ps.p.add(where+".parameter", "type must be handshake, heartbeat, event-notification or query-status, got %s", quote(typ))
	}
	return res
}

func (prm fhirParameter) int64Value() (int64, bool) {
	switch {
	case prm.ValueString != nil:
		n, err := strconv.ParseInt(*prm.ValueString, 10, 64)
		return n, err == nil && n >= 0
	case len(prm.ValueInteger64) > 0:
		s := strings.Trim(string(prm.ValueInteger64), `"`)
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && n >= 0
	case prm.ValueInteger != nil:
		return *prm.ValueInteger, *prm.ValueInteger >= 0
	case prm.ValueUnsignedInt != nil:
		return *prm.ValueUnsignedInt, *prm.ValueUnsignedInt >= 0
	}
	return 0, false
}

// appointments turns Appointment resources into events; all is every resource of
// the surrounding Bundle (nil for a lone Appointment).
func (ps *fhirParser) appointments(appts, all []resource) []Event {
	return eachResource(appts, all, ps.appointment)
}

// eachResource parses each of rs with one, keeping the events of those that parse;
// all is every resource of the surrounding Bundle.
func eachResource[E any](rs, all []resource, one func(r resource, all []resource) (E, bool)) []E {
	var out []E
	for _, r := range rs {
		if ev, ok := one(r, all); ok {
			out = append(out, ev)
		}
	}
	return out
}

// checkID reports a resource id that is missing or not a FHIR id; what names the
// resource whose key it is in Frontdesk.
func (ps *fhirParser) checkID(path, id, what string) {
	switch {
	case id == "":
		ps.p.add(path, "is required: it is the %s's key in Frontdesk", what)
	case !ValidID(id):
		ps.p.add(path, "must be a FHIR id (1-64 characters of A-Z a-z 0-9 - .)")
	}
}

// containedResources reads the type and id of each contained resource, addressed
// relative to the resource at path, so that "#id" references resolve to them.
func (ps *fhirParser) containedResources(raws []json.RawMessage, path string) []resource {
	var contained []resource
	for i, c := range raws {
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		cp := fmt.Sprintf("%s[%d]", path, i)
		if !ps.unmarshal(c, cp, &head) {
			continue
		}
		contained = append(contained, resource{typ: head.ResourceType, id: head.ID, path: cp, raw: c, contained: true})
	}
	return contained
}

func (ps *fhirParser) appointment(r resource, all []resource) (Event, bool) {
	before := len(ps.p.list)
	var fa fhirAppointment
	if !ps.unmarshal(r.raw, r.path, &fa) {
		return Event{}, false
	}
	at := func(field string) string { return r.path + "." + field }

	a := appointment.Appointment{ClinicID: ps.c.ID, ID: fa.ID, UpdatedAt: ps.now}
	ps.checkID(at("id"), fa.ID, "appointment")
	a.Status = appointment.Status(fa.Status)
	switch {
	case fa.Status == "":
		ps.p.add(at("status"), "is required")
	case !a.Status.Valid():
		ps.p.add(at("status"), "must be one of %s, got %s", statusList(), quote(fa.Status))
	}
	if fa.Start == "" {
		// FHIR lets proposed and cancelled appointments omit start; Frontdesk keys
		// every reminder off it and cannot accept an appointment without one.
		ps.p.add(at("start"), "is required")
	} else if t, err := parseInstant(fa.Start); err != nil {
		ps.p.add(at("start"), "%v", err)
	} else {
		a.Start = t
	}
	switch {
	case fa.End != "":
		t, err := parseInstant(fa.End)
		switch {
		case err != nil:
			ps.p.add(at("end"), "%v", err)
		case !a.Start.IsZero() && t.Before(a.Start):
			ps.p.add(at("end"), "must not be before start")
		case !a.Start.IsZero():
			a.Duration = t.Sub(a.Start)
		}
	case fa.MinutesDuration != nil:
		if *fa.MinutesDuration < 1 || *fa.MinutesDuration > 7*maxDurationMinutes {
			ps.p.add(at("minutesDuration"), "must be between 1 and %d", 7*maxDurationMinutes)
		} else {
			a.Duration = time.Duration(*fa.MinutesDuration) * time.Minute
		}
	}
	orderings := ps.orderings(fa.Meta, at("meta"))
	a.Version, a.OrderingKey = orderings.preferred()

	// Contained resources resolve "#id" references and are addressed relative to
	// the Appointment.
	contained := ps.containedResources(fa.Contained, at("contained"))
	res := resolver{contained: contained, bundle: all}

	ev := Event{Orderings: orderings}
	var patientSeen bool
	for i, part := range fa.Participant {
		if part.Actor == nil {
			continue
		}
		pp := fmt.Sprintf("%s[%d].actor", at("participant"), i)
		typ, target, err := res.resolve(*part.Actor)
		if err != nil {
			ps.p.add(pp+".reference", "%v", err)
			continue
		}
		switch typ {
		case "Patient":
			if patientSeen {
				// Guessing which patient to message would be a privacy incident.
				ps.p.add(pp, "more than one Patient participant is not supported")
				continue
			}
			patientSeen = true
			ev.Patient, ev.PatientIncomplete = ps.patient(*part.Actor, target, pp)
		case "Location":
			if a.Location == (appointment.Location{}) {
				a.Location = ps.location(*part.Actor, target)
			}
		case "Practitioner", "PractitionerRole":
			if a.Practitioner.Display == "" {
				a.Practitioner.Display = ps.practitioner(*part.Actor, target)
			}
		}
	}
	if !patientSeen {
		ps.p.add(at("participant"), "no participant references a Patient: Frontdesk needs to know whom to remind")
	}
	a.PatientID = ev.Patient.ID
	a.VisitType = ps.visitType(fa.ServiceType, fa.AppointmentType, r.path)
	ev.Waitlist = ps.waitlist(fa.Extension, at("extension"))
	if ev.Waitlist != nil {
		a.Waitlist = *ev.Waitlist
	}
	ev.SlotID = slotReference(fa.Slot)
	ev.Appointment = a
	if len(ps.p.list) > before {
		return Event{}, false
	}
	return ev, true
}

// slotReference is the id of the first Slot an appointment references
// ("Slot/123" or an absolute URL ending so); "" when none is usable, and the
// slot is then found by its start, location and practitioner.
func slotReference(refs []fhirReference) string {
	for _, r := range refs {
		parts := strings.Split(strings.TrimRight(r.Reference, "/"), "/")
		if n := len(parts); n >= 2 && parts[n-2] == "Slot" && ValidID(parts[n-1]) {
			return parts[n-1]
		}
		if n := len(parts); n >= 4 && parts[n-2] == "_history" && parts[n-4] == "Slot" && ValidID(parts[n-3]) {
			return parts[n-3]
		}
	}
	return ""
}

// orderings returns the values an appointment can be ordered by: meta.versionId
// when it is a positive integer (the usual server behaviour) and meta.lastUpdated
// in Unix milliseconds. The first one an appointment arrives with stays its key
// (Event.OrderAgainst), so both are kept.
func (ps *fhirParser) orderings(m *fhirMeta, path string) Orderings {
	var out Orderings
	before := len(ps.p.list)
	if m != nil {
		n, err := strconv.ParseInt(m.VersionID, 10, 64)
		switch {
		case err == nil && n >= 1 && n <= MaxVersion:
			out.VersionID = n
		case m.VersionID != "" && strings.Trim(m.VersionID, "0123456789") == "" && (err != nil || n > MaxVersion):
			ps.p.add(path+".versionId", "must be at most %d (2^53-1)", MaxVersion)
		}
		if m.LastUpdated != "" {
			t, err := parseInstant(m.LastUpdated)
			switch {
			case err != nil:
				ps.p.add(path+".lastUpdated", "%v", err)
			case t.After(ps.now.Add(MaxFutureSkew)):
				ps.p.add(path+".lastUpdated", "must not be more than 5 minutes in the future")
			case t.UnixMilli() < 1:
				ps.p.add(path+".lastUpdated", "must be after 1970-01-01T00:00:00Z")
			default:
				out.LastUpdated = t.UnixMilli()
			}
		}
	}
	if out == (Orderings{}) && len(ps.p.list) == before {
		ps.p.add(path, "versionId (an integer) or lastUpdated is required so that out-of-order deliveries can be detected")
	}
	return out
}

func (ps *fhirParser) patient(ref fhirReference, target *resource, path string) (appointment.Patient, bool) {
	if target == nil {
		// Only a reference: the id is enough to attach the appointment to the
		// patient Frontdesk already knows. Nothing else is filled in (not even the
		// default language), so a caller cannot overwrite the stored contact with
		// blanks by mistake.
		id := referenceID(ref.Reference, "Patient")
		if id == "" || !ValidID(id) {
			ps.p.add(path+".reference", "must resolve to a Patient in the request (contained or a Bundle entry) or be Patient/<id>")
			return appointment.Patient{}, false
		}
		return appointment.Patient{ClinicID: ps.c.ID, ID: id}, true
	}
	pat := appointment.Patient{ClinicID: ps.c.ID, UpdatedAt: ps.now, Language: defaultLanguage(ps.c)}
	var fp fhirPatient
	if !ps.unmarshal(target.raw, target.path, &fp) {
		return pat, false
	}
	pat.ID = fp.ID
	if target.contained || fp.ID == "" {
		// A contained resource's id is local to its Appointment ("#p1" in every
		// appointment), and a transaction entry may have no id at all. Using either as
		// the patient key would merge different people into one record and send
		// one patient's reminders to another, so the patient's identifier is used.
		pat.ID = identifierID(fp.Identifier)
		if pat.ID == "" {
			ps.p.add(target.path+".identifier", "a contained or id-less Patient needs an identifier whose value is 1-64 characters of A-Z a-z 0-9 - . (its id is not a stable patient key)")
		}
	} else if !ValidID(fp.ID) {
		ps.p.add(target.path+".id", "must be a FHIR id (1-64 characters of A-Z a-z 0-9 - .)")
	}
	if i, ok := pickTelecom(fp.Telecom); ok {
		e164, err := ParsePhone(fp.Telecom[i].Value, ps.c.Country)
		if err != nil {
			ps.p.add(fmt.Sprintf("%s.telecom[%d].value", target.path, i), "%v", err)
		}
		pat.Phone = e164
	} else {
		ps.p.add(target.path+".telecom", "needs a phone or sms contact point: Frontdesk reaches patients on WhatsApp")
	}
	pat.GivenName = givenName(fp.Name)
	if l := pickLanguage(fp.Communication); l != "" {
		pat.Language = l
	}
	return pat, false
}

// identifierID picks the patient's usual, then official, then first identifier.
func identifierID(ids []fhirIdentifier) string {
	for _, use := range []string{"usual", "official", ""} {
		for _, id := range ids {
			if (use == "" || id.Use == use) && ValidID(id.Value) {
				return id.Value
			}
		}
	}
	return ""
}

// pickTelecom chooses the number to message: phone or sms contact points that are
// not marked old, mobile first, then the lowest rank (1 is most preferred; no rank
// comes last), then document order.
func pickTelecom(t []fhirContactPoint) (int, bool) {
	var idx []int
	for i, cp := range t {
		if (cp.System == "phone" || cp.System == "sms") && cp.Use != "old" && strings.TrimSpace(cp.Value) != "" {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return 0, false
	}
	rank := func(cp fhirContactPoint) int64 {
		if cp.Rank == nil || *cp.Rank < 1 {
			return 1 << 62
		}
		return *cp.Rank
	}
	sort.SliceStable(idx, func(x, y int) bool {
		a, b := t[idx[x]], t[idx[y]]
		am, bm := a.Use == "mobile", b.Use == "mobile"
		if am != bm {
			return am
		}
		return rank(a) < rank(b)
	})
	return idx[0], true
}

// pickLanguage returns the preferred communication language, else the first one
// that parses. Unlike the native API, an unparseable language is not an error: it
// is a preference, and the clinic default is a safe answer.
func pickLanguage(comms []fhirCommunication) string {
	ordered := make([]fhirCommunication, 0, len(comms))
	for _, c := range comms {
		if c.Preferred {
			ordered = append(ordered, c)
		}
	}
	for _, c := range comms {
		if !c.Preferred {
			ordered = append(ordered, c)
		}
	}
	for _, c := range ordered {
		for _, cd := range c.Language.Coding {
			if l, err := ParseLanguage(cd.Code); err == nil {
				return l
			}
		}
		if l, err := ParseLanguage(c.Language.Text); err == nil {
			return l
		}
	}
	return ""
}

// givenName takes the first given name of the official name, else the usual one,
// else the first name listed.
func givenName(names []fhirHumanName) string {
	for _, use := range []string{"official", "usual", ""} {
		for _, n := range names {
			if (use == "" || n.Use == use) && len(n.Given) > 0 && strings.TrimSpace(n.Given[0]) != "" {
				return truncate(strings.TrimSpace(n.Given[0]), maxTextLen)
			}
		}
	}
	return ""
}

func (ps *fhirParser) location(ref fhirReference, target *resource) appointment.Location {
	loc := appointment.Location{Name: truncate(strings.TrimSpace(ref.Display), maxTextLen)}
	if target == nil {
		return loc
	}
	var fl fhirLocation
	if json.Unmarshal(target.raw, &fl) != nil {
		// The location is decoration for the message; a malformed one must not
		// reject the appointment.
		return loc
	}
	if fl.Name != "" {
		loc.Name = truncate(strings.TrimSpace(fl.Name), maxTextLen)
	}
	if fl.Address != nil {
		loc.Address = truncate(addressText(*fl.Address), maxTextLen)
	}
	return loc
}

func addressText(a fhirAddress) string {
	if t := strings.TrimSpace(a.Text); t != "" {
		return t
	}
	var parts []string
	for _, l := range a.Line {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	cityLine := strings.TrimSpace(strings.Join(nonEmpty(a.City, strings.TrimSpace(a.State+" "+a.PostalCode)), ", "))
	if cityLine != "" {
		parts = append(parts, cityLine)
	}
	return strings.Join(parts, ", ")
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (ps *fhirParser) practitioner(ref fhirReference, target *resource) string {
	if d := strings.TrimSpace(ref.Display); d != "" {
		return truncate(d, maxTextLen)
	}
	if target == nil {
		return ""
	}
	var fp fhirPractitioner
	if json.Unmarshal(target.raw, &fp) != nil || len(fp.Name) == 0 {
		return ""
	}
	n := fp.Name[0]
	if n.Text != "" {
		return truncate(n.Text, maxTextLen)
	}
	return truncate(strings.Join(nonEmpty(append(append(append([]string{}, n.Prefix...), n.Given...), n.Family)...), " "), maxTextLen)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the result stays valid UTF-8.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// resolver finds the resource a Reference points at.
type resolver struct {
	contained []resource
	bundle    []resource
}

// resolve returns the referenced resource's type and, when the request carries it,
// the resource. References may be "#local" (contained), a Bundle entry's fullUrl
// (often urn:uuid:), "Type/id", an absolute ".../Type/id", or any of those with
// "/_history/n". A local or urn: reference that points nowhere is an error: no
// server could resolve it later either.
func (r resolver) resolve(ref fhirReference) (string, *resource, error) {
	s := strings.TrimSpace(ref.Reference)
	switch {
	case s == "":
		return ref.Type, nil, nil
	case strings.HasPrefix(s, "#"):
		for i := range r.contained {
			if r.contained[i].id == s[1:] {
				return r.contained[i].typ, &r.contained[i], nil
			}
		}
		return "", nil, fmt.Errorf("no contained resource has id %s", quote(s[1:]))
	}
	for i := range r.bundle {
		if r.bundle[i].fullURL != "" && r.bundle[i].fullURL == s {
			return r.bundle[i].typ, &r.bundle[i], nil
		}
	}
	if strings.HasPrefix(s, "urn:") {
		return "", nil, fmt.Errorf("does not match the fullUrl of any Bundle entry")
	}
	if typ, id := typeAndID(s); typ != "" {
		for i := range r.bundle {
			if r.bundle[i].typ == typ && r.bundle[i].id == id {
				return typ, &r.bundle[i], nil
			}
		}
		return typ, nil, nil
	}
	return ref.Type, nil, nil
}

// typeAndID extracts Type and id from "Type/id", ".../Type/id" or
// ".../Type/id/_history/n".
func typeAndID(ref string) (string, string) {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) < 2 {
		return "", ""
	}
	typ, id := parts[len(parts)-2], parts[len(parts)-1]
	if typ == "" || id == "" || typ[0] < 'A' || typ[0] > 'Z' {
		return "", ""
	}
	return typ, id
}

func referenceID(ref, wantType string) string {
	typ, id := typeAndID(strings.TrimSpace(ref))
	if typ != wantType {
		return ""
	}
	return id
}
