package reminder

import (
	"testing"
	"time"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// at parses "2006-01-02 15:04" as a wall time in loc (tests only use unambiguous ones).
func at(t *testing.T, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestWallClockDST(t *testing.T) {
	cases := []struct {
		zone     string
		y        int
		m        time.Month
		d, h, mi int
		want     string // UTC
	}{
		{"America/New_York", 2026, 3, 8, 2, 30, "2026-03-08T07:00:00Z"},  // gap: 02:30 never happens, clock reads 03:00 EDT at 07:00Z
		{"America/New_York", 2026, 3, 8, 3, 0, "2026-03-08T07:00:00Z"},   // first real minute after the gap
		{"America/New_York", 2026, 3, 8, 1, 59, "2026-03-08T06:59:00Z"},  // last minute before it
		{"America/New_York", 2026, 11, 1, 1, 30, "2026-11-01T05:30:00Z"}, // overlap: first occurrence (EDT)
		{"America/New_York", 2026, 11, 1, 2, 0, "2026-11-01T07:00:00Z"},
		{"Europe/Madrid", 2026, 3, 29, 2, 30, "2026-03-29T01:00:00Z"},  // gap 02:00-03:00 CET→CEST
		{"Europe/Madrid", 2026, 10, 25, 2, 30, "2026-10-25T00:30:00Z"}, // overlap: 02:30 CEST first
		{"Asia/Kolkata", 2026, 3, 8, 2, 30, "2026-03-07T21:00:00Z"},
		{"America/Sao_Paulo", 2026, 11, 1, 0, 0, "2026-11-01T03:00:00Z"}, // no DST since 2019
		{"America/New_York", 2026, 2, 29, 9, 0, "2026-03-01T14:00:00Z"},  // day overflow normalises
	}
	for _, c := range cases {
		got := WallClock(c.y, c.m, c.d, c.h*60+c.mi, mustLoad(t, c.zone))
		if want := utc(t, c.want); !got.Equal(want) {
			t.Errorf("%s %d-%02d-%02d %02d:%02d = %s, want %s", c.zone, c.y, c.m, c.d, c.h, c.mi, got.UTC().Format(time.RFC3339), c.want)
		}
	}
}

func TestQuietHoursPeriod(t *testing.T) {
	night := QuietHours{Start: "21:00", End: "08:00"}
	cases := []struct {
		name        string
		zone        string
		q           QuietHours
		t           string // UTC instant
		quiet       bool
		from, until string // UTC, when quiet
	}{
		{"NY evening before spring forward", "America/New_York", night, "2026-03-08T03:00:00Z", true, "2026-03-08T02:00:00Z", "2026-03-08T12:00:00Z"},
		{"NY 07:59 EDT on spring-forward day", "America/New_York", night, "2026-03-08T11:59:00Z", true, "2026-03-08T02:00:00Z", "2026-03-08T12:00:00Z"},
		{"NY 08:00 EDT ends it", "America/New_York", night, "2026-03-08T12:00:00Z", false, "", ""},
		{"NY 20:59 EDT", "America/New_York", night, "2026-03-09T00:59:00Z", false, "", ""},
		{"NY fall back night lasts 12h", "America/New_York", night, "2026-11-01T06:30:00Z", true, "2026-11-01T01:00:00Z", "2026-11-01T13:00:00Z"},
		{"NY end in the repeated hour ends at its first occurrence", "America/New_York", QuietHours{"22:00", "01:30"},
			"2026-11-01T06:10:00Z", false, "", ""}, // 01:10 EST, after 01:30 EDT
		{"NY end in the repeated hour, first pass", "America/New_York", QuietHours{"22:00", "01:30"},
			"2026-11-01T05:10:00Z", true, "2026-11-01T02:00:00Z", "2026-11-01T05:30:00Z"},
		{"Madrid end inside the gap ends at 03:00 CEST", "Europe/Madrid", QuietHours{"22:00", "02:30"},
			"2026-03-29T00:59:00Z", true, "2026-03-28T21:00:00Z", "2026-03-29T01:00:00Z"},
		{"Madrid after the gap", "Europe/Madrid", QuietHours{"22:00", "02:30"}, "2026-03-29T01:00:00Z", false, "", ""},
		{"Madrid fall back", "Europe/Madrid", night, "2026-10-25T06:00:00Z", true, "2026-10-24T19:00:00Z", "2026-10-25T07:00:00Z"},
		{"Kolkata lunch (no wrap)", "Asia/Kolkata", QuietHours{"13:00", "14:00"}, "2026-03-10T08:00:00Z", true, "2026-03-10T07:30:00Z", "2026-03-10T08:30:00Z"},
		{"Kolkata after lunch", "Asia/Kolkata", QuietHours{"13:00", "14:00"}, "2026-03-10T08:30:00Z", false, "", ""},
		{"Sao Paulo night", "America/Sao_Paulo", QuietHours{"20:00", "08:00"}, "2026-11-01T02:00:00Z", true, "2026-10-31T23:00:00Z", "2026-11-01T11:00:00Z"},
		{"none", "America/New_York", QuietHours{}, "2026-03-08T03:00:00Z", false, "", ""},
		{"equal ends mean none", "America/New_York", QuietHours{"21:00", "21:00"}, "2026-03-08T03:00:00Z", false, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			loc := mustLoad(t, c.zone)
			from, until, ok := c.q.Period(utc(t, c.t), loc)
			if ok != c.quiet || c.q.Contains(utc(t, c.t), loc) != c.quiet {
				t.Fatalf("quiet = %v, want %v", ok, c.quiet)
			}
			if ok && (!from.Equal(utc(t, c.from)) || !until.Equal(utc(t, c.until))) {
				t.Errorf("period = [%s, %s), want [%s, %s)", from.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339), c.from, c.until)
			}
		})
	}
}

func TestQuietHoursValidate(t *testing.T) {
	for q, ok := range map[QuietHours]bool{{}: true, {"21:00", "08:00"}: true, {"9:00", "08:00"}: false, {"21:00", "24:00"}: false} {
		if err := q.Validate(); (err == nil) != ok {
			t.Errorf("%+v: err = %v", q, err)
		}
	}
}

func TestFormat(t *testing.T) {
	cases := []struct {
		zone, instant, lang string
		date, clock         string
	}{
		{"America/New_York", "2026-03-10T19:30:00Z", "en", "Tuesday, March 10", "3:30 PM"},
		{"America/New_York", "2026-03-10T19:30:00Z", "es-MX", "martes 10 de marzo", "15:30"},
		{"America/New_York", "2026-03-10T19:30:00Z", "pt-BR", "terça-feira, 10 de março", "15:30"},
		{"America/New_York", "2026-03-08T06:59:00Z", "en_US", "Sunday, March 8", "1:59 AM"}, // last EST minute
		{"America/New_York", "2026-03-08T07:00:00Z", "en_US", "Sunday, March 8", "3:00 AM"}, // first EDT minute
		{"America/New_York", "2026-11-01T05:30:00Z", "en", "Sunday, November 1", "1:30 AM"}, // EDT
		{"America/New_York", "2026-11-01T06:30:00Z", "en", "Sunday, November 1", "1:30 AM"}, // EST, same wall clock
		{"America/New_York", "2026-11-01T04:30:00Z", "en", "Sunday, November 1", "12:30 AM"},
		{"Europe/Madrid", "2026-03-29T01:00:00Z", "es", "domingo 29 de marzo", "03:00"},
		{"Europe/Madrid", "2026-10-25T00:30:00Z", "es", "domingo 25 de octubre", "02:30"},
		{"Europe/Madrid", "2026-10-25T01:30:00Z", "pt", "domingo, 25 de outubro", "02:30"},
		{"Europe/Madrid", "2026-10-24T22:30:00Z", "en", "Sunday, October 25", "12:30 AM"}, // UTC date is still the 24th
		{"Asia/Kolkata", "2026-03-10T10:00:00Z", "pt", "terça-feira, 10 de março", "15:30"},
		{"Asia/Kolkata", "2026-03-10T20:00:00Z", "en", "Wednesday, March 11", "1:30 AM"},
		{"America/Sao_Paulo", "2026-11-01T12:00:00Z", "pt_BR", "domingo, 1 de novembro", "09:00"},
		{"America/Sao_Paulo", "2026-02-14T12:00:00Z", "es", "sábado 14 de febrero", "09:00"},
		{"America/Sao_Paulo", "2026-02-14T12:00:00Z", "fr", "Saturday, February 14", "9:00 AM"}, // unsupported → English
	}
	for _, c := range cases {
		loc := mustLoad(t, c.zone)
		ti := utc(t, c.instant)
		if got := FormatDate(ti, loc, c.lang); got != c.date {
			t.Errorf("FormatDate(%s, %s, %s) = %q, want %q", c.instant, c.zone, c.lang, got, c.date)
		}
		if got := FormatTime(ti, loc, c.lang); got != c.clock {
			t.Errorf("FormatTime(%s, %s, %s) = %q, want %q", c.instant, c.zone, c.lang, got, c.clock)
		}
	}
}

func TestMatchLanguage(t *testing.T) {
	cases := []struct {
		prefs []string
		want  string
	}{
		{[]string{"es-MX"}, LangSpanish},
		{[]string{"es_419"}, LangSpanish},
		{[]string{"pt"}, LangPortuguese},
		{[]string{"pt_BR"}, LangPortuguese},
		{[]string{"pt-PT"}, LangPortuguese},
		{[]string{"en-GB"}, LangEnglish},
		{[]string{"fr", "es"}, LangSpanish}, // patient's unsupported → clinic default
		{[]string{"", "pt-BR"}, LangPortuguese},
		{[]string{"not a tag!", "de"}, LangEnglish},
		{nil, LangEnglish},
	}
	for _, c := range cases {
		if got := MatchLanguage(c.prefs...); got != c.want {
			t.Errorf("MatchLanguage(%q) = %s, want %s", c.prefs, got, c.want)
		}
	}
}
