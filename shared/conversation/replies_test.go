package conversation

import (
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

func TestRepliesLanguage(t *testing.T) {
	cases := []struct{ patient, clinic, want string }{
		{"es-MX", "en", reminder.LangSpanish}, {"pt", "es", reminder.LangPortuguese}, {"en-GB", "pt-BR", reminder.LangEnglish},
		{"fr", "pt-BR", reminder.LangPortuguese}, {"", "", reminder.LangEnglish},
	}
	for _, c := range cases {
		if got := RepliesFor(c.patient, c.clinic).Language; got != c.want {
			t.Errorf("RepliesFor(%q, %q) = %s, want %s", c.patient, c.clinic, got, c.want)
		}
	}
}

func TestRepliesText(t *testing.T) {
	en := RepliesFor("en", "")
	if got := en.Safety("Sunrise Clinic", "911"); got != "If this is an emergency, call 911 or your local emergency number now. We have alerted the Sunrise Clinic team." {
		t.Errorf("Safety = %q", got)
	}
	if got := en.OptedOut("Sunrise Clinic"); got != "You will not receive more messages from Sunrise Clinic. Reply START to resume." {
		t.Errorf("OptedOut = %q", got)
	}
	if got := RepliesFor("es", "").AckConfirmed("Clínica Sol", "martes 10 de marzo", "15:30"); got != "¡Gracias! Su cita en Clínica Sol el martes 10 de marzo a las 15:30 está confirmada." {
		t.Errorf("es AckConfirmed = %q", got)
	}
	if got := RepliesFor("pt-BR", "").Safety("Clínica Aurora", "192"); !strings.Contains(got, "192") || !strings.Contains(got, "Clínica Aurora") {
		t.Errorf("pt Safety = %q", got)
	}
}

// TestRepliesNameWorkingKeywords: the keyword a reply tells the patient to send must
// be one Classify understands in that language.
func TestRepliesNameWorkingKeywords(t *testing.T) {
	for _, lang := range reminder.Languages {
		r := RepliesFor(lang, "")
		for text, want := range map[string]Intent{r.OptedOut("Clinic"): Start, r.OptedIn("Clinic"): Stop} {
			kw := upperWord(text)
			if kw == "" || Classify(kw) != want {
				t.Errorf("%s: %q names %q, which classifies as %s, want %s", lang, text, kw, Classify(kw), want)
			}
		}
		help := r.Help("Clinic")
		for _, kw := range strings.Fields(help) {
			kw = strings.Trim(kw, ",.")
			if kw != strings.ToUpper(kw) || len(kw) < 4 {
				continue
			}
			if Classify(kw) == Other {
				t.Errorf("%s help names %q, which Classify does not understand", lang, kw)
			}
		}
	}
}

func upperWord(s string) string {
	for _, w := range strings.Fields(s) {
		w = strings.Trim(w, ",.")
		if len(w) >= 3 && w == strings.ToUpper(w) {
			return w
		}
	}
	return ""
}

// TestRepliesCarryNoPHI renders every reply with marker values and checks that
// nothing but the values passed in (clinic, date, time, number, when) reaches the
// text, and that no reply has a slot for anything else.
func TestRepliesCarryNoPHI(t *testing.T) {
	for _, lang := range reminder.Languages {
		r := RepliesFor(lang, "")
		texts := []string{
			r.AckConfirmed("CLINICX", "DATEX", "TIMEX"), r.AckCancelRequested("CLINICX", "DATEX", "TIMEX"),
			r.AckRescheduleRequested("CLINICX"), r.OptedOut("CLINICX"), r.OptedIn("CLINICX"), r.Safety("CLINICX", "NUMBERX"),
			r.HandOff("CLINICX", "WHENX"), r.NoAppointment("CLINICX"), r.Unsupported("CLINICX"), r.Help("CLINICX"),
		}
		for _, s := range texts {
			if strings.ContainsAny(s, "{}") {
				t.Errorf("%s: unfilled slot in %q", lang, s)
			}
			if !strings.Contains(s, "CLINICX") {
				t.Errorf("%s: reply does not name the clinic: %q", lang, s)
			}
			if len(s) > 1024 {
				t.Errorf("%s: reply too long", lang)
			}
		}
	}
	for _, slot := range []string{"{name}", "{given_name}", "{patient}", "{reason}", "{practitioner}"} {
		for lang, tx := range replyTexts {
			if strings.Contains(tx.confirmed+tx.cancelRequested+tx.rescheduleRequested+tx.handOff+tx.safety, slot) {
				t.Errorf("%s replies have a %s slot", lang, slot)
			}
		}
	}
}

func TestWhen(t *testing.T) {
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 6, 19, 0, 0, 0, loc) // Friday evening
	cases := []struct {
		lang string
		at   time.Time
		want string
	}{
		{"en", now, "shortly"},
		{"es", now, "en breve"},
		{"en", time.Date(2026, 11, 6, 20, 0, 0, 0, loc), "today at 8:00 PM"},
		{"es", time.Date(2026, 11, 7, 9, 0, 0, 0, loc), "mañana a las 09:00"},
		{"pt", time.Date(2026, 11, 7, 9, 0, 0, 0, loc), "amanhã às 09:00"},
		{"en", time.Date(2026, 11, 9, 9, 0, 0, 0, loc), "on Monday, November 9 at 9:00 AM"},
		{"es", time.Date(2026, 11, 9, 9, 0, 0, 0, loc), "el lunes 9 de noviembre a las 09:00"},
		{"pt", time.Date(2026, 11, 9, 9, 0, 0, 0, loc), "na segunda-feira, 9 de novembro, às 09:00"},
		{"pt", time.Date(2026, 11, 8, 9, 0, 0, 0, loc), "no domingo, 8 de novembro, às 09:00"},
	}
	for _, c := range cases {
		if got := RepliesFor(c.lang, "").When(c.at, now, loc); got != c.want {
			t.Errorf("%s When(%s) = %q, want %q", c.lang, c.at, got, c.want)
		}
	}
	if got := RepliesFor("en", "").HandOff("Sunrise Clinic", "tomorrow at 9:00 AM"); got != "Thank you for your message. The Sunrise Clinic team will reply tomorrow at 9:00 AM." {
		t.Errorf("HandOff = %q", got)
	}
}

func TestNextStaffTime(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	weekdays := clinic.Hours{Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
		Open: "09:00", Close: "17:00"}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, ny)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name  string
		h     clinic.Hours
		now   string
		want  string // "" = not ok
		isNow bool
	}{
		{"open now", weekdays, "2026-03-11 10:00", "2026-03-11 10:00", true},
		{"at opening", weekdays, "2026-03-11 09:00", "2026-03-11 09:00", true},
		{"at closing is closed", weekdays, "2026-03-11 17:00", "2026-03-12 09:00", false},
		{"before opening", weekdays, "2026-03-11 07:15", "2026-03-11 09:00", false},
		{"Friday evening waits for Monday", weekdays, "2026-03-06 18:00", "2026-03-09 09:00", false},
		{"Saturday", weekdays, "2026-03-07 12:00", "2026-03-09 09:00", false},
		{"Sunday of the DST change: Monday 09:00 EDT", weekdays, "2026-03-08 01:30", "2026-03-09 09:00", false},
		{"overnight shift still running", clinic.Hours{Days: []time.Weekday{time.Friday}, Open: "22:00", Close: "06:00"},
			"2026-03-07 02:00", "2026-03-07 02:00", true},
		{"overnight shift ended", clinic.Hours{Days: []time.Weekday{time.Friday}, Open: "22:00", Close: "06:00"},
			"2026-03-07 07:00", "2026-03-13 22:00", false},
		{"no hours", clinic.Hours{}, "2026-03-07 07:00", "", false},
		{"bad hours", clinic.Hours{Days: []time.Weekday{time.Monday}, Open: "9am", Close: "17:00"}, "2026-03-07 07:00", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := at(c.now)
			got, ok := NextStaffTime(c.h, ny, now)
			if c.want == "" {
				if ok {
					t.Fatalf("got %s, want not ok", got)
				}
				return
			}
			if !ok || !got.Equal(at(c.want)) || got.Equal(now) != c.isNow {
				t.Errorf("got %s %v, want %s", got.In(ny), ok, c.want)
			}
		})
	}
	// The weekend wait is real elapsed time: 63 h, minus the hour DST removes.
	got, _ := NextStaffTime(weekdays, ny, at("2026-03-06 18:00"))
	if d := got.Sub(at("2026-03-06 18:00")); d != 62*time.Hour {
		t.Errorf("Friday 18:00 EST to Monday 09:00 EDT = %s, want 62h", d)
	}
}
