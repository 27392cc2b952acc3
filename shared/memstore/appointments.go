package memstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// tblAppointments maps key(clinicID, appointmentID) to an appointment.Appointment;
// its reminders live in tblReminders (reminders.go) under the same key prefix.
const tblAppointments = "appointments"

// maxReminderWrites is how many reminders one SaveAppointment may write: DynamoDB's
// transaction holds 100 items, two of which are the appointment and its day index.
const maxReminderWrites = 98

// SaveAppointment writes an appointment and reminders atomically. The appointment
// must not exist when a.Revision is 0, else its stored revision must equal
// a.Revision (optimistic locking); each reminder must not exist, or be in its
// ExpectedState. Any lost condition fails the whole write with fault.ErrConflict.
func (s *Store) SaveAppointment(_ context.Context, a appointment.Appointment, reminders []reminder.Write) error {
	op := fmt.Sprintf("save appointment %s/%s", a.ClinicID, a.ID)
	if a.ClinicID == "" || a.ID == "" {
		return invalid(op, "clinic and appointment id are required")
	}
	if len(reminders) > maxReminderWrites {
		return invalid(op, "%d reminders exceed one transaction", len(reminders))
	}
	for _, w := range reminders {
		if r := w.Reminder; r.ClinicID != a.ClinicID || r.AppointmentID != a.ID {
			return invalid(op, "reminder %s belongs to %s/%s", r.Kind, r.ClinicID, r.AppointmentID)
		}
	}
	defer s.lock()()
	ak := key(a.ClinicID, a.ID)
	old, exists := get[appointment.Appointment](s, tblAppointments, ak)
	if (a.Revision == 0 && exists) || (a.Revision != 0 && (!exists || old.Revision != a.Revision)) {
		return conflict(op)
	}
	for _, w := range reminders {
		cur, ok := get[reminderRec](s, tblReminders, reminderKey(w.Reminder))
		if (w.ExpectedState == "" && ok) || (w.ExpectedState != "" && (!ok || cur.r.State != w.ExpectedState)) {
			return conflict(op)
		}
	}
	now := s.now()
	stored := a
	stored.Revision = a.Revision + 1
	stored.UpdatedAt = now
	if stored.CreatedAt.IsZero() {
		stored.CreatedAt = now
	}
	put(s, tblAppointments, ak, utcAppointment(stored))
	for _, w := range reminders {
		r := w.Reminder
		if r.UpdatedAt.IsZero() {
			r.UpdatedAt = now
		}
		put(s, tblReminders, reminderKey(r), s.newReminderRec(r))
	}
	return nil
}

// utcAppointment normalises an appointment's instants to UTC, as the DynamoDB
// store's encoding does.
func utcAppointment(a appointment.Appointment) appointment.Appointment {
	a.Start, a.RespondedAt = inUTC(a.Start), inUTC(a.RespondedAt)
	a.CreatedAt, a.UpdatedAt = inUTC(a.CreatedAt), inUTC(a.UpdatedAt)
	return a
}

// inUTC is t in UTC, keeping the zero time zero.
func inUTC(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// GetAppointment returns an appointment with its reminders (in kind order);
// fault.ErrNotFound when there is none.
func (s *Store) GetAppointment(_ context.Context, clinicID, id string) (appointment.Appointment, []reminder.Reminder, error) {
	defer s.lock()()
	a, ok := get[appointment.Appointment](s, tblAppointments, key(clinicID, id))
	if !ok {
		return appointment.Appointment{}, nil, notFound(fmt.Sprintf("get appointment %s/%s", clinicID, id))
	}
	var rs []reminder.Reminder
	for _, rec := range scan[reminderRec](s, tblReminders, key(clinicID, id)) {
		rs = append(rs, rec.view())
	}
	return a, rs, nil
}

// UpcomingAppointments lists a patient's appointments starting at or after from,
// soonest first, at most limit (0: all).
func (s *Store) UpcomingAppointments(_ context.Context, clinicID, patientID string, from time.Time, limit int) ([]appointment.Appointment, error) {
	defer s.lock()()
	var out []appointment.Appointment
	for _, a := range scan[appointment.Appointment](s, tblAppointments, key(clinicID)) {
		if a.PatientID == patientID && !a.Start.Before(from) {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
