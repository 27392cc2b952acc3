package reminder

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/language"
)

// WhatsApp language codes Frontdesk has templates and replies in.
const (
	LangEnglish    = "en_US"
	LangSpanish    = "es"
	LangPortuguese = "pt_BR"
)

// Languages lists the supported codes; the first is the last-resort fallback.
var Languages = []string{LangEnglish, LangSpanish, LangPortuguese}

// matcher is built on first use, not at every cold start of every function.
var matcher = sync.OnceValue(func() language.Matcher {
	return language.NewMatcher([]language.Tag{language.AmericanEnglish, language.Spanish, language.BrazilianPortuguese})
})

// MatchLanguage returns the supported WhatsApp language code for the first of prefs
// that matches one (BCP 47, "_" accepted: es-MX → es, pt → pt_BR, en-GB → en_US,
// pt_BR → pt_BR), else LangEnglish. Callers pass the patient's language, then the
// clinic's default.
func MatchLanguage(prefs ...string) string {
	for _, p := range prefs {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		tag, err := language.Parse(p)
		if err != nil {
			continue
		}
		if _, i, conf := matcher().Match(tag); conf != language.No {
			return Languages[i]
		}
	}
	return LangEnglish
}

var (
	weekdays = map[string][7]string{
		LangEnglish:    {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		LangSpanish:    {"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
		LangPortuguese: {"domingo", "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado"},
	}
	months = map[string][12]string{
		LangEnglish: {"January", "February", "March", "April", "May", "June", "July", "August", "September",
			"October", "November", "December"},
		LangSpanish: {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
			"octubre", "noviembre", "diciembre"},
		LangPortuguese: {"janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
			"outubro", "novembro", "dezembro"},
	}
)

// FormatDate renders the local date of t in loc the way a patient reads it:
// en "Tuesday, March 10", es "martes 10 de marzo", pt "terça-feira, 10 de março".
// lang is any BCP 47 tag or WhatsApp code; unsupported ones fall back to English.
func FormatDate(t time.Time, loc *time.Location, lang string) string {
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	code := MatchLanguage(lang)
	wd, mo := weekdays[code][lt.Weekday()], months[code][lt.Month()-1]
	switch code {
	case LangSpanish:
		return fmt.Sprintf("%s %d de %s", wd, lt.Day(), mo)
	case LangPortuguese:
		return fmt.Sprintf("%s, %d de %s", wd, lt.Day(), mo)
	}
	return fmt.Sprintf("%s, %s %d", wd, mo, lt.Day())
}

// FormatTime renders the local wall-clock time of t in loc: en "3:30 PM" (12-hour, as
// US patients read it), es and pt "15:30".
func FormatTime(t time.Time, loc *time.Location, lang string) string {
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	if MatchLanguage(lang) == LangEnglish {
		return lt.Format("3:04 PM")
	}
	return lt.Format("15:04")
}
