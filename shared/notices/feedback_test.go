package notices_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/notice"
	"github.com/frontdesk-health/frontdesk/shared/notices"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

// TestFeedbackListCarriesNothingButAllowedValues builds the list in every language
// and checks it against Meta's Message schema; its body, once the given name, the
// clinic and the visit's date are taken out, is the fixed text of its language
// (no visit type, practitioner, appointment id or link can be in it); its rows are
// the five scores, each id naming this question and its score.
func TestFeedbackListCarriesNothingButAllowedValues(t *testing.T) {
	c := clinic.Clinic{ID: clinicID, Name: "Clinica Sol", TimeZone: "America/New_York", DefaultLanguage: "en_US",
		PortalURL: "https://portal.example.org"}
	visit := time.Date(2026, 11, 30, 15, 0, 0, 0, newYork)
	n := notice.Notice{ClinicID: clinicID, ID: notice.FeedbackID(clinicID, "appt-diabetes-review-7"), PatientID: "pat-1",
		Kind: notice.KindFeedback, AppointmentID: "appt-diabetes-review-7"}
	fixed := map[string]string{
		"en-US": "Hi , how was your visit to  on ? Choose a score from 1 (poor) to 5 (excellent).",
		"es-MX": "Hola , ¿cómo fue su visita a  el ? Elija una puntuación del 1 (mala) al 5 (excelente).",
		"pt-BR": "Olá , como foi sua consulta em  em ? Escolha uma nota de 1 (ruim) a 5 (excelente).",
	}
	for lang, want := range fixed {
		t.Run(lang, func(t *testing.T) {
			p := appointment.Patient{ClinicID: clinicID, ID: "pat-1", Phone: "+15550100143", GivenName: "Maria", Language: lang}
			m, err := notices.FeedbackList(c, p, n, visit)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if whatsappspec.SpecAvailable() {
				if err := whatsappspec.RequireSpec(t).ValidateMessage(b); err != nil {
					t.Fatalf("Meta's spec rejects the list: %v\n%s", err, b)
				}
			}
			if m.Type != whatsapp.TypeInteractive || m.Interactive == nil || m.Interactive.Body == nil {
				t.Fatalf("not an interactive list: %s", b)
			}
			tp, _ := reminder.TemplateNamed(reminder.TemplateFeedbackRequest, lang, "")
			date := reminder.FormatDate(visit, newYork, tp.Language)
			body := m.Interactive.Body.Text
			for _, allowed := range []string{"Maria", "Clinica Sol", date} {
				if !strings.Contains(body, allowed) {
					t.Errorf("body lacks %q: %s", allowed, body)
				}
				body = strings.Replace(body, allowed, "", 1)
			}
			if body != want {
				t.Errorf("body beyond given name, clinic and date:\n got %q\nwant %q", body, want)
			}
			var scores []int
			for _, sec := range m.Interactive.Action.Sections {
				for _, r := range sec.Rows {
					nid, score, ok := notice.ParseListReply(r.ID)
					if !ok || nid != n.ID || !strings.HasPrefix(r.Title, string(rune('0'+score))+" ") || r.Description != "" {
						t.Errorf("row %+v", r)
					}
					scores = append(scores, score)
				}
			}
			if !slices.Equal(scores, []int{5, 4, 3, 2, 1}) {
				t.Errorf("scores %v", scores)
			}
			for _, leak := range []string{"http", "diabetes", "appt-", "pat-1"} {
				if strings.Contains(m.Interactive.Body.Text, leak) {
					t.Errorf("body carries %q", leak)
				}
			}
		})
	}
}

// TestFeedbackFormFollowsTheWindowAtDispatch: the question's form is decided when
// it goes out, from the patient's last message: a question scheduled while the
// window was closed goes as a list when the patient wrote in the meantime, as the
// template when the window has less than ListWindowMargin left or never opened.
func TestFeedbackFormFollowsTheWindowAtDispatch(t *testing.T) {
	cases := []struct {
		name      string
		wroteAgo  time.Duration // before the send; 0: never
		wantList  bool
		windowEnd bool
	}{
		{"wrote an hour before", time.Hour, true, true},
		{"window closing within the margin", 23*time.Hour + 30*time.Minute, false, false},
		{"window closed", 25 * time.Hour, false, false},
		{"never wrote", 0, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Date(2026, 12, 1, 12, 0, 0, 0, newYork)
			w := newWorld(t, start)
			w.visit(t, "appt-visit", "", start.Add(-30*time.Minute)) // the question is due at 14:30
			sendAt := time.Date(2026, 12, 1, 14, 30, 0, 0, newYork)
			if tc.wroteAgo > 0 {
				if err := w.store.TouchInbound(context.Background(), clinicID, "pat-1", sendAt.Add(-tc.wroteAgo)); err != nil {
					t.Fatal(err)
				}
			}
			sends := w.dispatchAt(t, sendAt)
			if len(sends) != 1 {
				t.Fatalf("%d sends", len(sends))
			}
			s := sends[0]
			isList := s.Message.Type == whatsapp.TypeInteractive && s.Message.Interactive != nil && s.Message.Interactive.Type == "list"
			isTemplate := s.Message.Type == whatsapp.TypeTemplate && s.Message.Template != nil &&
				s.Message.Template.Name == reminder.TemplateFeedbackRequest
			if isList != tc.wantList || isTemplate == tc.wantList {
				t.Fatalf("list %v, template %v; want list %v", isList, isTemplate, tc.wantList)
			}
			if wantEnd := sendAt.Add(-tc.wroteAgo).Add(appointment.ServiceWindow); tc.windowEnd != !s.WindowEndsAt.IsZero() ||
				tc.windowEnd && !s.WindowEndsAt.Equal(wantEnd) {
				t.Fatalf("window ends %s", s.WindowEndsAt)
			}
		})
	}
}
