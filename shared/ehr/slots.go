package ehr

import (
	"fmt"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// SlotEvent is one slot change as the EHR described it.
type SlotEvent struct {
	Slot slot.Slot
	// Orderings holds a FHIR Slot's candidate ordering values; zero for native
	// events. As for appointments, a slot keeps the key of its first event for life.
	Orderings Orderings
}

// OrderAgainst returns ev ordered on the key the stored slot is ordered by; native
// events are returned unchanged.
func (ev SlotEvent) OrderAgainst(stored slot.Slot) (SlotEvent, error) {
	v, key, err := ev.Orderings.against(stored.OrderingKey, stored.Version, "Slot/"+ev.Slot.ID)
	if err != nil || key == "" {
		return ev, err
	}
	ev.Slot.Version, ev.Slot.OrderingKey = v, key
	return ev, nil
}

// ParseNativeSlot parses the body of PUT /v1/clinics/{clinicId}/slots/{slotId}:
// start, durationMinutes, status (free or busy), optional location {name},
// practitioner {display} and visitType, and version or updatedAt. slotID comes
// from the path; now is when the request arrived.
//
// Every problem is reported at once as a *ValidationError with RFC 6901 pointers.
func ParseNativeSlot(body []byte, c clinic.Clinic, slotID string, now time.Time) (SlotEvent, error) {
	var p problems
	if !ValidID(slotID) {
		p.add("", "slotId in the path must be 1-64 characters of A-Z a-z 0-9 - .")
	}
	raw, ok := decodeSingle(body, &p)
	if !ok {
		return SlotEvent{}, p.err()
	}
	root, ok := readObject(raw, "", &p)
	if !ok {
		return SlotEvent{}, p.err()
	}
	root.only(&p, "status", "start", "durationMinutes", "location", "practitioner", "visitType", "version", "updatedAt")

	s := slot.Slot{ClinicID: c.ID, ID: slotID, UpdatedAt: now}
	if v, ok := root.str(&p, "status", true); ok {
		s.Status = slot.Status(v)
		if !s.Status.Valid() {
			p.add("/status", "must be free or busy, got %s", quote(v))
		}
	}
	if v, ok := root.str(&p, "start", true); ok {
		t, err := parseInstant(v)
		if err != nil {
			p.add("/start", "%v", err)
		}
		s.Start = t
	}
	if n, ok := root.integer(&p, "durationMinutes", true); ok {
		if n < 1 || n > maxDurationMinutes {
			p.add("/durationMinutes", "must be between 1 and %d", maxDurationMinutes)
		} else {
			s.Duration = time.Duration(n) * time.Minute
		}
	}
	if loc, ok := root.object(&p, "location", false); ok {
		loc.only(&p, "name")
		if v, ok := loc.str(&p, "name", false); ok && loc.maxLen(&p, "name", v, maxTextLen) {
			s.Location = strings.TrimSpace(v)
		}
	}
	if pr, ok := root.object(&p, "practitioner", false); ok {
		pr.only(&p, "display")
		if v, ok := pr.str(&p, "display", false); ok && pr.maxLen(&p, "display", v, maxTextLen) {
			s.Practitioner = strings.TrimSpace(v)
		}
	}
	if v, ok := root.str(&p, "visitType", false); ok {
		if d := visitTypeProblem(v); d != "" {
			p.add("/visitType", "%s", d)
		}
		s.VisitType = v
	}
	s.Version = nativeVersion(root, &p, now)
	if err := p.err(); err != nil {
		return SlotEvent{}, err
	}
	return SlotEvent{Slot: s}, nil
}

// WaitlistExtensionURL is the canonical URL of Frontdesk's FHIR extension on
// Appointment that puts the patient on the waitlist for an earlier time
// (valueBoolean true) or takes them off it (false). FHIR's own "waitlist" status
// is for appointments that have no time yet; this flag is for booked ones.
const WaitlistExtensionURL = "https://frontdesk.dev/fhir/StructureDefinition/waitlist"

// visitType reads a visit type code: the first coded serviceType, else the
// appointmentType's code. Appointments and slots use the same rule, so the codes
// they are matched on come from the same element.
func (ps *fhirParser) visitType(service []fhirCodeableConcept, apptType *fhirCodeableConcept, path string) string {
	pick := func(cc fhirCodeableConcept, where string) (string, bool) {
		for i, cd := range cc.Coding {
			if cd.Code == "" {
				continue
			}
			if d := visitTypeProblem(cd.Code); d != "" {
				ps.p.add(fmt.Sprintf("%s.coding[%d].code", where, i), "%s", d)
			}
			return cd.Code, true
		}
		return "", false
	}
	for i, cc := range service {
		if code, ok := pick(cc, fmt.Sprintf("%s.serviceType[%d]", path, i)); ok {
			return code
		}
	}
	if apptType != nil {
		code, _ := pick(*apptType, path+".appointmentType")
		return code
	}
	return ""
}

// waitlist reads Frontdesk's waitlist extension; nil when the resource has none.
func (ps *fhirParser) waitlist(exts []fhirExtension, path string) *bool {
	var out *bool
	for i, e := range exts {
		if e.URL != WaitlistExtensionURL {
			continue
		}
		at := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case out != nil:
			ps.p.add(at, "the waitlist extension must appear at most once")
		case e.ValueBoolean == nil:
			ps.p.add(at+".valueBoolean", "is required (true: on the waitlist, false: off it)")
		default:
			v := *e.ValueBoolean
			out = &v
		}
	}
	return out
}

// slots turns Slot resources into events; all is every resource of the
// surrounding Bundle (nil for a lone Slot).
func (ps *fhirParser) slots(rs, all []resource) []SlotEvent {
	return eachResource(rs, all, ps.slot)
}

func (ps *fhirParser) slot(r resource, all []resource) (SlotEvent, bool) {
	before := len(ps.p.list)
	var fs fhirSlot
	if !ps.unmarshal(r.raw, r.path, &fs) {
		return SlotEvent{}, false
	}
	at := func(field string) string { return r.path + "." + field }
	s := slot.Slot{ClinicID: ps.c.ID, ID: fs.ID, UpdatedAt: ps.now}
	ps.checkID(at("id"), fs.ID, "slot")
	switch fs.Status {
	case "free":
		s.Status = slot.Free
	case "busy", "busy-unavailable", "busy-tentative", "entered-in-error":
		// None of these may be offered to a patient; a slot entered in error is
		// kept as busy rather than deleted, so a late "free" cannot resurrect it
		// unless it is newer.
		s.Status = slot.Busy
	case "":
		ps.p.add(at("status"), "is required")
	default:
		ps.p.add(at("status"), "must be free, busy, busy-unavailable, busy-tentative or entered-in-error, got %s", quote(fs.Status))
	}
	var start time.Time
	switch t, err := parseInstant(fs.Start); {
	case fs.Start == "":
		ps.p.add(at("start"), "is required")
	case err != nil:
		ps.p.add(at("start"), "%v", err)
	default:
		start = t
		s.Start = t
	}
	switch t, err := parseInstant(fs.End); {
	case fs.End == "":
		ps.p.add(at("end"), "is required")
	case err != nil:
		ps.p.add(at("end"), "%v", err)
	case start.IsZero():
	case !t.After(start):
		ps.p.add(at("end"), "must be after start")
	case t.Sub(start) > maxDurationMinutes*time.Minute:
		ps.p.add(at("end"), "must be at most %d minutes after start", maxDurationMinutes)
	default:
		s.Duration = t.Sub(start)
	}
	orderings := ps.orderings(fs.Meta, at("meta"))
	s.Version, s.OrderingKey = orderings.preferred()

	// The Schedule says whose and where the slot is; without it a slot would match
	// every appointment, so it must travel with the Slot.
	contained := ps.containedResources(fs.Contained, at("contained"))
	res := resolver{contained: contained, bundle: all}
	var schedule fhirSchedule
	schedulePath := "Schedule"
	switch fs.Schedule {
	case nil:
		ps.p.add(at("schedule"), "is required")
	default:
		typ, target, err := res.resolve(*fs.Schedule)
		switch {
		case err != nil:
			ps.p.add(at("schedule.reference"), "%v", err)
		case typ != "Schedule" || target == nil:
			ps.p.add(at("schedule.reference"), "must resolve to a Schedule in the request (contained or a Bundle entry): "+
				"its actors say which practitioner and location the slot is for")
		case ps.unmarshal(target.raw, target.path, &schedule):
			schedulePath = target.path
			for _, actor := range schedule.Actor {
				typ, target, err := res.resolve(actor)
				if err != nil {
					continue // decoration, as for an appointment's location
				}
				switch typ {
				case "Location":
					if s.Location == "" {
						s.Location = ps.location(actor, target).Name
					}
				case "Practitioner", "PractitionerRole":
					if s.Practitioner == "" {
						s.Practitioner = ps.practitioner(actor, target)
					}
				}
			}
		}
	}
	s.VisitType = ps.visitType(fs.ServiceType, fs.AppointmentType, r.path)
	if s.VisitType == "" && len(schedule.ServiceType) > 0 {
		s.VisitType = ps.visitType(schedule.ServiceType, nil, schedulePath)
	}
	if len(ps.p.list) > before {
		return SlotEvent{}, false
	}
	return SlotEvent{Slot: s, Orderings: orderings}, true
}
