package outreach

import (
	"strings"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// composeReminder builds the template send for one reminder: the clinic's template
// for the step (its policy may name one), in the patient's language or the clinic's,
// filled with only the allowed variables. Date and time are the clinic's wall clock,
// worded in the template's language; the quick-reply payloads name the appointment and
// the generation, so a tap resolves to this visit time.
func composeReminder(c clinic.Clinic, a appointment.Appointment, p appointment.Patient, r reminder.Reminder) (whatsapp.Message, error) {
	loc, err := c.Location()
	if err != nil {
		return whatsapp.Message{}, err
	}
	t, err := templateFor(c, r.Kind, p.Language)
	if err != nil {
		return whatsapp.Message{}, err
	}
	return reminder.Message(p.Phone, t, reminder.Vars{
		GivenName: p.GivenName,
		Clinic:    c.Name,
		Date:      reminder.FormatDate(a.Start, loc, t.Language),
		Time:      reminder.FormatTime(a.Start, loc, t.Language),
		Place:     place(a.Location),
		ClinicID:  a.ClinicID, AppointmentID: a.ID, Generation: r.Generation,
	})
}

func templateFor(c clinic.Clinic, kind reminder.Kind, patientLang string) (reminder.Template, error) {
	for _, s := range c.ReminderPolicy.Steps {
		if s.Kind == kind && s.Template != "" {
			return reminder.TemplateNamed(s.Template, patientLang, c.DefaultLanguage)
		}
	}
	return reminder.TemplateFor(kind, patientLang, c.DefaultLanguage)
}

// place is what the patient is told about where: the location's name and address,
// never the practitioner (it can reveal a specialty).
func place(l appointment.Location) string {
	var parts []string
	for _, s := range []string{l.Name, l.Address} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}
