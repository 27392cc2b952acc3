// Package intake applies what an EHR tells Frontdesk: appointment changes (native
// JSON or FHIR R4, already parsed by package ehr) and consent, each change
// recomputing the appointment's reminder plan in the same transaction.
package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// Store is what intake needs from storage.
type Store interface {
	GetClinic(ctx context.Context, id string) (clinic.Clinic, error)
	GetAppointment(ctx context.Context, clinicID, id string) (appointment.Appointment, []reminder.Reminder, error)
	SaveAppointment(ctx context.Context, a appointment.Appointment, reminders []reminder.Write) error
	GetPatient(ctx context.Context, clinicID, patientID string) (appointment.Patient, error)
	PutPatient(ctx context.Context, p appointment.Patient) error
	AppendConsent(ctx context.Context, e consent.Entry) error
	ConsentLedger(ctx context.Context, clinicID, patientID string) ([]consent.Entry, error)
	ContactOfPhone(ctx context.Context, clinicID, phone string) (contact.Contact, error)
	SlotStore
}

// Metrics counts the clinic's numbers (metrics.Recorder); each fact at most once.
type Metrics interface {
	Record(ctx context.Context, facts ...metrics.Fact) error
}

// Service applies EHR events.
type Service struct {
	Store   Store
	Clock   platform.Clock
	Log     *slog.Logger
	Metrics Metrics // nil counts nothing
	Visits  Visits  // nil schedules nothing after a visit
}

// count records what an appointment's stored state counts. It runs after every
// write and again for an exact retry of the event that wrote it, so a count
// that failed once is made by the EHR's retry (facts are keyed per appointment).
func (s *Service) count(ctx context.Context, c clinic.Clinic, a appointment.Appointment) error {
	if err := s.afterVisit(ctx, c, a); err != nil {
		return err
	}
	if s.Metrics == nil {
		return nil
	}
	return s.Metrics.Record(ctx, metrics.FromAppointment(c.TimeZone, a)...)
}

// Errors the HTTP layer maps to statuses.
var (
	ErrUnknownPatient = errors.New("intake: the appointment references a patient Frontdesk does not know; send the Patient resource")
	// ErrContention: the change could not be completed because the same records
	// kept changing underneath it. The patient and consent may already be written
	// (they go first, so that a reminder never goes out before its patient exists);
	// every write is idempotent, so a retry completes the change. It is therefore a
	// server-side failure (5xx), never a 4xx: a 4xx promises nothing was stored.
	ErrContention = errors.New("intake: concurrent changes; retry")
)

// Result is the outcome of applying one appointment event.
type Result struct {
	Appointment appointment.Appointment
	Reminders   []reminder.Reminder
	Patient     appointment.Patient
	// Ledger is the patient's consent ledger with their number's WhatsApp STOP /
	// START (see OnRecord); a statement the event carried that was kept without
	// being applied has NotApplied set.
	Ledger  []consent.Entry
	Created bool
	// Stale is true when the event was older than (or as old as) what is stored:
	// acknowledged, not applied.
	Stale bool
}

// maxAttempts bounds optimistic-lock retries when a patient's answer or another
// delivery writes the same appointment concurrently.
const maxAttempts = 5

// Apply stores one appointment event: patient contact, consent, appointment and its
// reminder plan. Older versions than stored are acknowledged and ignored.
func (s *Service) Apply(ctx context.Context, c clinic.Clinic, ev ehr.Event) (Result, error) {
	loc, err := c.Location()
	if err != nil {
		return Result{}, fmt.Errorf("intake: clinic %s: %w", c.ID, err)
	}
	// Staleness first: an event older than what is stored must not roll the
	// patient's phone or language back, or reminders would go to an old number.
	// (Two concurrent events for different appointments of one patient can still
	// race on the contact; the later write wins.)
	stored, existing, err := s.Store.GetAppointment(ctx, c.ID, ev.Appointment.ID)
	if err == nil {
		// Before anything is written: a FHIR event without its appointment's
		// ordering key is refused whole.
		if ev, err = ev.OrderAgainst(stored); err != nil {
			return Result{}, err
		}
	}
	if err == nil && ev.Appointment.Version <= stored.Version {
		// A consent statement is a fact with its own time, whatever event carried
		// it; the ledger orders by that time, so recording it late is safe.
		if ev.Consent != nil {
			if err := s.appendEmbedded(ctx, c.ID, ev, ""); err != nil {
				return Result{}, err
			}
		}
		if ev.Appointment.Version == stored.Version {
			if err := s.count(ctx, c, stored); err != nil {
				return Result{}, err
			}
			if err := s.syncWaitlist(ctx, stored, stored.Waitlist); err != nil {
				return Result{}, err
			}
		}
		return s.result(ctx, stored, existing, appointment.Patient{}, false, true)
	} else if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return Result{}, err
	}
	patient := ev.Patient
	if ev.PatientIncomplete {
		stored, err := s.Store.GetPatient(ctx, c.ID, ev.Patient.ID)
		if errors.Is(err, fault.ErrNotFound) {
			return Result{}, ErrUnknownPatient
		}
		if err != nil {
			return Result{}, err
		}
		patient = stored
	} else {
		if err := s.Store.PutPatient(ctx, patient); err != nil {
			return Result{}, err
		}
	}
	if ev.Consent != nil {
		if err := s.appendEmbedded(ctx, c.ID, ev, patient.Phone); err != nil {
			return Result{}, err
		}
	}

	policy := c.ReminderPolicy
	if len(policy.Steps) == 0 {
		policy = reminder.DefaultPolicy()
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		now := s.Clock.Now()
		stored, existing, err := s.Store.GetAppointment(ctx, c.ID, ev.Appointment.ID)
		found := err == nil
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return Result{}, err
		}
		if found {
			// The appointment may have been created since the first read.
			if ev, err = ev.OrderAgainst(stored); err != nil {
				return Result{}, fmt.Errorf("intake: appointment %s: %w: %w", ev.Appointment.ID, ErrContention, err)
			}
		}
		if found && ev.Appointment.Version <= stored.Version {
			return s.result(ctx, stored, existing, patient, false, true)
		}
		next := ev.Appointment
		next.UpdatedAt = now
		next.CreatedAt = now
		if found {
			next.Revision = stored.Revision
			next.CreatedAt = stored.CreatedAt
			if next.OrderingKey == "" {
				next.OrderingKey = stored.OrderingKey
			}
			// A patient's answer belongs to the visit they answered about: it stands
			// while the visit keeps its time and is void once the clinic moves it.
			if next.Start.Equal(stored.Start) {
				next.Response, next.RespondedAt = stored.Response, stored.RespondedAt
			}
			if ev.Waitlist == nil {
				next.Waitlist = stored.Waitlist
			}
		}
		if found && stored.Status != appointment.StatusCancelled && next.Status == appointment.StatusCancelled {
			// Before the appointment is saved: a failure in between leaves the
			// cancellation unsaved, so the EHR's retry frees the slot again (a no-op
			// once it is free) instead of finding nothing left to do.
			if err := s.freeCancelledSlot(ctx, c, stored, ev.SlotID); err != nil {
				return Result{}, err
			}
		}
		changes := reminder.Plan(next, policy, loc, c.QuietHours, existing, now)
		writes := make([]reminder.Write, 0, len(changes))
		for _, ch := range changes {
			writes = append(writes, reminder.Write(ch))
		}
		err = s.Store.SaveAppointment(ctx, next, writes)
		if errors.Is(err, fault.ErrConflict) {
			continue
		}
		if err != nil {
			return Result{}, err
		}
		next.Revision++
		if err := s.count(ctx, c, next); err != nil {
			return Result{}, err
		}
		// A patient may have joined on WhatsApp without the flag: an explicit flag
		// or a cancellation takes any entry off.
		if err := s.syncWaitlist(ctx, next, found && stored.Waitlist || ev.Waitlist != nil || !next.Status.Remindable()); err != nil {
			return Result{}, err
		}
		return s.result(ctx, next, mergeReminders(existing, changes), patient, !found, false)
	}
	return Result{}, fmt.Errorf("intake: appointment %s: %w: %w after %d attempts", ev.Appointment.ID, ErrContention, appointment.ErrConflict, maxAttempts)
}

func (s *Service) result(ctx context.Context, a appointment.Appointment, rems []reminder.Reminder, p appointment.Patient, created, stale bool) (Result, error) {
	ledger, err := s.OnRecord(ctx, a.ClinicID, a.PatientID, p.Phone)
	if err != nil {
		return Result{}, err
	}
	return Result{Appointment: a, Reminders: rems, Patient: p, Ledger: ledger, Created: created, Stale: stale}, nil
}

func mergeReminders(existing []reminder.Reminder, changes []reminder.Change) []reminder.Reminder {
	byKind := map[reminder.Kind]reminder.Reminder{}
	var order []reminder.Kind
	for _, r := range existing {
		byKind[r.Kind] = r
		order = append(order, r.Kind)
	}
	for _, ch := range changes {
		if _, ok := byKind[ch.Reminder.Kind]; !ok {
			order = append(order, ch.Reminder.Kind)
		}
		byKind[ch.Reminder.Kind] = ch.Reminder
	}
	out := make([]reminder.Reminder, 0, len(order))
	for _, k := range order {
		out = append(out, byKind[k])
	}
	return out
}

// Prepare checks, before anything is written, everything about events that can
// only be known from storage: every event that only references its patient names
// one Frontdesk knows, and every FHIR event carries the ordering key its stored
// appointment is ordered by. It returns the events ordered on those keys. A FHIR
// Bundle is thereby refused whole (422) rather than half stored.
func (s *Service) Prepare(ctx context.Context, c clinic.Clinic, events []ehr.Event) ([]ehr.Event, error) {
	out := make([]ehr.Event, 0, len(events))
	// An appointment twice in one Bundle is created by the first entry and
	// updated by the second, which must then carry the first one's key.
	earlier := map[string]appointment.Appointment{}
	for _, ev := range events {
		if ev.PatientIncomplete {
			if _, err := s.Store.GetPatient(ctx, c.ID, ev.Patient.ID); errors.Is(err, fault.ErrNotFound) {
				return nil, fmt.Errorf("%w (Appointment/%s references Patient/%s)", ErrUnknownPatient, ev.Appointment.ID, ev.Patient.ID)
			} else if err != nil {
				return nil, err
			}
		}
		stored, _, err := s.Store.GetAppointment(ctx, c.ID, ev.Appointment.ID)
		if prev, ok := earlier[ev.Appointment.ID]; ok && (errors.Is(err, fault.ErrNotFound) || err == nil && stored.OrderingKey == "") {
			stored, err = prev, nil
		}
		switch {
		case errors.Is(err, fault.ErrNotFound):
		case err != nil:
			return nil, err
		default:
			if ev, err = ev.OrderAgainst(stored); err != nil {
				return nil, err
			}
		}
		earlier[ev.Appointment.ID] = ev.Appointment
		out = append(out, ev)
	}
	return out, nil
}

// View is everything an EHR can read back about one appointment.
type View struct {
	Appointment appointment.Appointment
	Reminders   []reminder.Reminder
	Ledger      []consent.Entry
}

// Appointment reads one appointment with its reminders and the patient's consent.
func (s *Service) Appointment(ctx context.Context, clinicID, id string) (View, error) {
	a, rems, err := s.Store.GetAppointment(ctx, clinicID, id)
	if err != nil {
		return View{}, err
	}
	ledger, err := s.OnRecord(ctx, clinicID, a.PatientID, "")
	if err != nil {
		return View{}, err
	}
	return View{Appointment: a, Reminders: rems, Ledger: ledger}, nil
}

// RecordConsent appends one consent-endpoint statement (idempotent by entry id) and
// returns the ledger. An opt-in that may not lift the opt-out on record (a WhatsApp
// STOP needs evidence) is kept with NotApplied set; see consent.Admit.
func (s *Service) RecordConsent(ctx context.Context, e consent.Entry) ([]consent.Entry, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	onRecord, err := s.OnRecord(ctx, e.ClinicID, e.PatientID, "")
	if err != nil {
		return nil, err
	}
	if err := s.Store.AppendConsent(ctx, consent.Admit(without(onRecord, e.ID), e, consent.ChannelEndpoint)); err != nil {
		return nil, err
	}
	return s.OnRecord(ctx, e.ClinicID, e.PatientID, "")
}

// Consent reads a patient's consent ledger, with their number's STOP / START.
func (s *Service) Consent(ctx context.Context, clinicID, patientID string) ([]consent.Entry, error) {
	return s.OnRecord(ctx, clinicID, patientID, "")
}

// appendEmbedded records the consent an appointment event or FHIR resource carried:
// it may opt in a patient with no opt-out on record, never lift one (consent.Admit).
func (s *Service) appendEmbedded(ctx context.Context, clinicID string, ev ehr.Event, phone string) error {
	onRecord, err := s.OnRecord(ctx, clinicID, ev.Consent.PatientID, phone)
	if err != nil {
		return err
	}
	return s.Store.AppendConsent(ctx, consent.Admit(without(onRecord, ev.Consent.ID), *ev.Consent, consent.ChannelEmbedded))
}

// OnRecord is every consent statement that bears on messaging a patient: their
// ledger and the WhatsApp STOP / START of the number they are reached on (phone;
// "" reads the stored patient's), which holds for every patient on that number,
// including patients added after it was sent. The number's statement is left out
// when the ledger already holds the same message's entry.
func (s *Service) OnRecord(ctx context.Context, clinicID, patientID, phone string) ([]consent.Entry, error) {
	ledger, err := s.Store.ConsentLedger(ctx, clinicID, patientID)
	if err != nil {
		return nil, err
	}
	if phone == "" {
		p, err := s.Store.GetPatient(ctx, clinicID, patientID)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return nil, err
		}
		phone = p.Phone
	}
	if phone == "" {
		return ledger, nil
	}
	number, err := s.Store.ContactOfPhone(ctx, clinicID, phone)
	if err != nil {
		return nil, err
	}
	for _, st := range number.Statements() {
		dup := false
		for _, e := range ledger {
			dup = dup || (e.Source == consent.SourceWhatsApp && e.Evidence != "" && e.Evidence == st.Evidence)
		}
		if !dup {
			st.PatientID = patientID
			ledger = append(ledger, st)
		}
	}
	return ledger, nil
}

// without drops the entry with id: a retried statement is judged against what was
// on record before its first attempt.
func without(ledger []consent.Entry, id string) []consent.Entry {
	out := make([]consent.Entry, 0, len(ledger))
	for _, e := range ledger {
		if e.ID != id {
			out = append(out, e)
		}
	}
	return out
}

// Now is the service clock's time; the HTTP layer stamps consent entries with it.
func (s *Service) Now() time.Time { return s.Clock.Now() }
