package waitlist

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/slot"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

var listWords = map[string]struct{ body, button, none, noneDesc, earlier, earlierDesc string }{
	reminder.LangEnglish: {"These times are free at {clinic} for your visit. Choose one and the clinic will confirm the change.",
		"See times", "None of these", "Keep my time; the clinic will contact me",
		"Tell me if earlier opens", "Keep my time; tell me if an earlier time opens"},
	reminder.LangSpanish: {"Estas horas están libres en {clinic} para su cita. Elija una y la clínica confirmará el cambio.",
		"Ver horarios", "Ninguna de estas", "Mantener mi hora; la clínica me contactará",
		"Avísenme si hay antes", "Mantener mi hora; avisarme si se libera una más temprana"},
	reminder.LangPortuguese: {"Estes horários estão livres em {clinic} para sua consulta. Escolha um e a clínica confirmará a mudança.",
		"Ver horários", "Nenhum destes", "Manter meu horário; a clínica entrará em contato",
		"Avise se abrir antes", "Manter meu horário; avisar se abrir um mais cedo"},
}

// RescheduleList is the answer to a Reschedule tap when the clinic has free
// matching slots (slot.Choices): an interactive list of those slots (at most 8),
// a row asking to be told of an earlier time (the waitlist) and a last row
// "None of these", in the patient's language and the clinic's
// wall clock. Each row's id is a Frontdesk payload naming the clinic, the
// appointment and the slot, so the choice comes back self-describing.
func RescheduleList(to string, a appointment.Appointment, choices []slot.Slot, clinicName, lang string, loc *time.Location) (whatsapp.Message, error) {
	code := reminder.MatchLanguage(lang)
	w := listWords[code]
	if len(choices) > slot.MaxListedSlots {
		choices = choices[:slot.MaxListedSlots]
	}
	rows := make([]whatsapp.ListRow, 0, len(choices)+2)
	for _, s := range choices {
		rows = append(rows, whatsapp.ListRow{
			ID:          reminder.ButtonPayload{Action: reminder.ActionPickSlot, ClinicID: a.ClinicID, AppointmentID: a.ID, Generation: s.ID}.Encode(),
			Title:       rowDate(s.Start, loc, code),
			Description: reminder.FormatTime(s.Start, loc, code),
		})
	}
	rows = append(rows, whatsapp.ListRow{
		ID:    reminder.ButtonPayload{Action: reminder.ActionWaitlistJoin, ClinicID: a.ClinicID, AppointmentID: a.ID, Generation: reminder.Generation(a.Start)}.Encode(),
		Title: w.earlier, Description: w.earlierDesc,
	})
	rows = append(rows, whatsapp.ListRow{
		ID:    reminder.ButtonPayload{Action: reminder.ActionPickNone, ClinicID: a.ClinicID, AppointmentID: a.ID, Generation: reminder.Generation(a.Start)}.Encode(),
		Title: w.none, Description: w.noneDesc,
	})
	body := strings.ReplaceAll(w.body, "{clinic}", clinicName)
	return whatsapp.ListMessage(to, body, w.button, []whatsapp.ListSection{{Rows: rows}})
}

// rowDate is the slot's local date within a row title's 24 characters: the
// weekday is dropped where the full date is longer.
func rowDate(t time.Time, loc *time.Location, lang string) string {
	d := reminder.FormatDate(t, loc, lang)
	if utf8.RuneCountInString(d) <= whatsapp.MaxListRowTitle {
		return d
	}
	if _, rest, ok := strings.Cut(d, " "); ok {
		d = strings.TrimLeft(rest, ", ")
	}
	if r := []rune(d); len(r) > whatsapp.MaxListRowTitle {
		d = string(r[:whatsapp.MaxListRowTitle])
	}
	return d
}
