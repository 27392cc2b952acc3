package outreach

import (
	"fmt"
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
	body, payloads := reminder.Render(t, reminder.Vars{
		GivenName: p.GivenName,
		Clinic:    c.Name,
		Date:      reminder.FormatDate(a.Start, loc, t.Language),
		Time:      reminder.FormatTime(a.Start, loc, t.Language),
		Place:     place(a.Location),
		ClinicID:  a.ClinicID, AppointmentID: a.ID, Generation: r.Generation,
	})
	params := make([]whatsapp.TemplateParam, len(body))
	for i, b := range body {
		params[i] = whatsapp.TemplateParam{Name: b.Name, Text: b.Text}
	}
	m, err := whatsapp.TemplateMessage(p.Phone, t.Name, t.Language, params, payloads)
	if err != nil {
		return whatsapp.Message{}, fmt.Errorf("template %s/%s: %w", t.Name, t.Language, err)
	}
	return m, nil
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
