package notices

import (
	"fmt"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/notice"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// ListWindowMargin is how much of the 24-hour window must be left for the feedback
// question to go as an interactive list: the notice waits its turn behind the
// number's other sends, and a list that reaches Meta after the window closed is
// refused. With less left it goes as the template.
const ListWindowMargin = time.Hour

// feedbackWords are the list's fixed texts; {given_name}, {clinic} and {date} are
// the only values put into them. Rows run from best to worst, each titled with
// its digit so the choice reads the same as the template's "reply with a number".
var feedbackWords = map[string]struct {
	body, button string
	rows         [notice.MaxScore]string // index score-1
}{
	reminder.LangEnglish: {"Hi {given_name}, how was your visit to {clinic} on {date}? Choose a score from 1 (poor) to 5 (excellent).",
		"Choose a score", [notice.MaxScore]string{"1 - Very poor", "2 - Poor", "3 - Fair", "4 - Good", "5 - Excellent"}},
	reminder.LangSpanish: {"Hola {given_name}, ¿cómo fue su visita a {clinic} el {date}? Elija una puntuación del 1 (mala) al 5 (excelente).",
		"Elegir puntuación", [notice.MaxScore]string{"1 - Muy mala", "2 - Mala", "3 - Regular", "4 - Buena", "5 - Excelente"}},
	reminder.LangPortuguese: {"Olá {given_name}, como foi sua consulta em {clinic} em {date}? Escolha uma nota de 1 (ruim) a 5 (excelente).",
		"Escolher nota", [notice.MaxScore]string{"1 - Muito ruim", "2 - Ruim", "3 - Regular", "4 - Boa", "5 - Excelente"}},
}

// InListWindow reports whether the feedback question goes as an interactive list
// at now: the patient's last message (any patient on the number: the inbox
// refreshes them all) opened a window with at least ListWindowMargin left.
func InListWindow(p appointment.Patient, now time.Time) bool {
	return !p.LastInboundAt.IsZero() && now.Add(ListWindowMargin).Before(p.LastInboundAt.Add(appointment.ServiceWindow))
}

// FeedbackList is the feedback question inside the 24-hour window: an interactive
// list of the scores 5 to 1 in the patient's language (the template's language
// choice), each row's id naming the question (notice.ListRowID), so the choice
// comes back as the score of this question. Its body carries the given name, the
// clinic's name and the visit's local date, as the template does, and nothing else.
func FeedbackList(c clinic.Clinic, p appointment.Patient, n notice.Notice, visit time.Time) (whatsapp.Message, error) {
	loc, err := c.Location()
	if err != nil {
		return whatsapp.Message{}, err
	}
	t, err := reminder.TemplateNamed(reminder.TemplateFeedbackRequest, p.Language, c.DefaultLanguage)
	if err != nil {
		return whatsapp.Message{}, err
	}
	w, ok := feedbackWords[t.Language]
	if !ok {
		return whatsapp.Message{}, fmt.Errorf("notices: no feedback list in %s", t.Language)
	}
	v, err := notice.Vars(n, p.GivenName, c.Name, "", loc, t.Language, visit)
	if err != nil {
		return whatsapp.Message{}, err
	}
	body := strings.NewReplacer("{given_name}", v.GivenName, "{clinic}", v.Clinic, "{date}", v.Date).Replace(w.body)
	rows := make([]whatsapp.ListRow, 0, notice.MaxScore)
	for score := notice.MaxScore; score >= notice.MinScore; score-- {
		rows = append(rows, whatsapp.ListRow{ID: notice.ListRowID(n.ID, score), Title: w.rows[score-1]})
	}
	m, err := whatsapp.ListMessage(p.Phone, body, w.button, []whatsapp.ListSection{{Rows: rows}})
	if err != nil {
		return whatsapp.Message{}, fmt.Errorf("feedback list %s: %w", t.Language, err)
	}
	return m, nil
}
