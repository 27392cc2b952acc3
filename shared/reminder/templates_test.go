package reminder

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
)

func TestTemplatesCarryOnlyAllowedVariables(t *testing.T) {
	all := Templates()
	if want := (6 + len(NoticeTemplateNames)) * len(Languages); len(all) != want {
		t.Fatalf("%d templates, want %d (names x %d languages)", len(all), want, len(Languages))
	}
	for _, tp := range all {
		id := tp.Name + "/" + tp.Language
		vars := tp.Variables()
		for _, v := range vars {
			if !slices.Contains(AllowedVariables, v) {
				t.Errorf("%s: variable %q is not allowed (PHI rule: only %v)", id, v, AllowedVariables)
			}
			if tp.Examples[v] == "" {
				t.Errorf("%s: variable %q has no example for Meta's review", id, v)
			}
		}
		for name := range tp.Examples {
			if !slices.Contains(vars, name) {
				t.Errorf("%s: example for %q, which the body does not use", id, name)
			}
		}
		// Every {{...}} must be a well-formed named variable, or Meta rejects the body.
		if strings.Count(tp.Body, "{{") != len(varPattern.FindAllString(tp.Body, -1)) || strings.Count(tp.Body, "{{") != strings.Count(tp.Body, "}}") {
			t.Errorf("%s: malformed placeholder in %q", id, tp.Body)
		}
		if strings.HasPrefix(tp.Body, "{{") || strings.HasSuffix(strings.TrimRight(tp.Body, ".!"), "}}") {
			t.Errorf("%s: Meta rejects a body that starts or ends with a variable", id)
		}
		if n := utf8.RuneCountInString(tp.Body); n > 1024 {
			t.Errorf("%s: body is %d characters, Meta's limit is 1024", id, n)
		}
		if tp.Category != CategoryUtility {
			t.Errorf("%s: category %q", id, tp.Category)
		}
		if tp.MessageSendTTLSeconds < 30 || tp.MessageSendTTLSeconds > 43200 {
			t.Errorf("%s: TTL %d outside utility's 30..43200 s", id, tp.MessageSendTTLSeconds)
		}
		if len(tp.Buttons) > 3 {
			t.Errorf("%s: %d quick replies", id, len(tp.Buttons))
		}
		for _, b := range tp.Buttons {
			if n := utf8.RuneCountInString(b.Text); n == 0 || n > 25 || !b.Action.Valid() {
				t.Errorf("%s: button %+v", id, b)
			}
		}
	}
}

// TestTemplatesAgreeAcrossLanguages: a send is built once per kind, whatever the
// language, so every translation must take the same variables and buttons.
func TestTemplatesAgreeAcrossLanguages(t *testing.T) {
	for _, name := range append([]string{TemplateReminder48h, TemplateReminder2h, TemplateFollowUp, TemplateReopen, TemplateWaitlistOffer, TemplateVisitMoved}, NoticeTemplateNames...) {
		en, err := TemplateNamed(name, LangEnglish, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, lang := range Languages {
			tp, err := TemplateNamed(name, lang, "")
			if err != nil || tp.Language != lang {
				t.Fatalf("%s/%s: %v (got %s)", name, lang, err, tp.Language)
			}
			a, b := slices.Clone(tp.Variables()), slices.Clone(en.Variables())
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Errorf("%s/%s variables %v, en_US has %v", name, lang, a, b)
			}
			if len(tp.Buttons) != len(en.Buttons) {
				t.Fatalf("%s/%s: %d buttons, en_US has %d", name, lang, len(tp.Buttons), len(en.Buttons))
			}
			for i := range tp.Buttons {
				if tp.Buttons[i].Action != en.Buttons[i].Action {
					t.Errorf("%s/%s button %d action %s, en_US %s", name, lang, i, tp.Buttons[i].Action, en.Buttons[i].Action)
				}
			}
		}
	}
	if tp, _ := TemplateNamed(TemplateReminder48h, "", ""); len(tp.Buttons) != 3 || tp.Buttons[0].Action != ActionConfirm ||
		tp.Buttons[1].Action != ActionReschedule || tp.Buttons[2].Action != ActionCancel {
		t.Errorf("48h buttons: %+v", tp.Buttons)
	}
}

func TestTemplateFor(t *testing.T) {
	cases := []struct {
		kind               Kind
		patient, clinic    string
		wantName, wantLang string
		wantErr            bool
	}{
		{KindDayBefore, "es-MX", "en", TemplateReminder48h, LangSpanish, false},
		{KindSameDay, "pt", "es", TemplateReminder2h, LangPortuguese, false},
		{KindFollowUp, "en-GB", "pt-BR", TemplateFollowUp, LangEnglish, false},
		{KindDayBefore, "fr-FR", "pt-BR", TemplateReminder48h, LangPortuguese, false}, // clinic default
		{KindDayBefore, "", "es", TemplateReminder48h, LangSpanish, false},
		{KindDayBefore, "de", "ja", TemplateReminder48h, LangEnglish, false}, // last resort
		{KindReopen, "pt_BR", "", TemplateReopen, LangPortuguese, false},
		{Kind("weekly"), "en", "en", "", "", true},
	}
	for _, c := range cases {
		tp, err := TemplateFor(c.kind, c.patient, c.clinic)
		if (err != nil) != c.wantErr || tp.Name != c.wantName || tp.Language != c.wantLang {
			t.Errorf("TemplateFor(%s, %q, %q) = %s/%s, %v; want %s/%s", c.kind, c.patient, c.clinic, tp.Name, tp.Language, err, c.wantName, c.wantLang)
		}
	}
	if _, err := TemplateNamed("appointment_marketing", "en", "en"); err == nil {
		t.Error("unknown template name accepted")
	}
	tp, _ := TemplateFor(KindDayBefore, "en", "")
	tp.Buttons[0].Text = "edited"
	tp.Examples[VarClinic] = "edited"
	if again, _ := TemplateFor(KindDayBefore, "en", ""); again.Buttons[0].Text == "edited" || again.Examples[VarClinic] == "edited" {
		t.Error("TemplateFor leaks the catalog")
	}
}

// TestEverySendMatchesItsTemplate plans real reminders, renders each one's send the
// way the sender does and checks parameter names and count against the template
// (Meta answers 132000 on any mismatch), and that the payloads resolve back.
func TestEverySendMatchesItsTemplate(t *testing.T) {
	loc := mustLoad(t, "America/New_York")
	start := at(t, loc, "2026-03-09 09:00")
	a := appt(start, appointment.StatusBooked)
	a.Location = appointment.Location{Name: "Sunrise Family Clinic", Address: "12 Main St,\n Suite 4"}
	a.Practitioner = appointment.Practitioner{Display: "Dr. Oncology Specialist"}
	rs := Plan(a, DefaultPolicy(), loc, QuietHours{}, nil, start.Add(-10*24*time.Hour))
	fulfilled := a
	fulfilled.Status = appointment.StatusFulfilled
	rs = append(rs, Plan(fulfilled, DefaultPolicy(), loc, QuietHours{}, nil, start.Add(time.Hour))...)
	kinds := []Kind{KindReopen}
	for _, ch := range rs {
		kinds = append(kinds, ch.Reminder.Kind)
	}
	if len(kinds) != 4 {
		t.Fatalf("kinds %v", kinds)
	}
	for _, lang := range []string{"en-US", "es-419", "pt-BR"} {
		for _, kind := range kinds {
			tp, err := TemplateFor(kind, lang, "en")
			if err != nil {
				t.Fatal(err)
			}
			v := Vars{GivenName: "Maria", Clinic: "Sunrise Family Clinic", Date: FormatDate(start, loc, lang),
				Time: FormatTime(start, loc, lang), Place: a.Location.Address,
				ClinicID: a.ClinicID, AppointmentID: a.ID, Generation: Generation(a.Start)}
			params, payloads := Render(tp, v)
			var names []string
			for _, p := range params {
				names = append(names, p.Name)
				if p.Text == "" || strings.ContainsAny(p.Text, "\n\t") || strings.Contains(p.Text, "     ") {
					t.Errorf("%s/%s: parameter %s = %q, Graph rejects it", tp.Name, tp.Language, p.Name, p.Text)
				}
				if strings.Contains(p.Text, "Oncology") {
					t.Errorf("%s/%s: practitioner leaked into %s", tp.Name, tp.Language, p.Name)
				}
			}
			if !slices.Equal(names, tp.Variables()) {
				t.Errorf("%s/%s: parameters %v, template declares %v", tp.Name, tp.Language, names, tp.Variables())
			}
			if len(payloads) != len(tp.Buttons) {
				t.Fatalf("%s/%s: %d payloads for %d buttons", tp.Name, tp.Language, len(payloads), len(tp.Buttons))
			}
			for i, raw := range payloads {
				p, err := ParseButtonPayload(raw)
				if err != nil || p.Action != tp.Buttons[i].Action || p.AppointmentID != a.ID || p.ClinicID != a.ClinicID ||
					p.Generation != Generation(a.Start) || len(raw) > MaxButtonPayloadLen {
					t.Errorf("%s/%s payload %d %q -> %+v, %v", tp.Name, tp.Language, i, raw, p, err)
				}
			}
		}
	}
}

func TestRenderCleansValues(t *testing.T) {
	tp, _ := TemplateFor(KindSameDay, "en", "")
	params, _ := Render(tp, Vars{Clinic: "  Sunrise\tClinic ", Time: "3:30 PM", Place: strings.Repeat("Long address ", 40)})
	got := map[string]string{}
	for _, p := range params {
		got[p.Name] = p.Text
	}
	if got[VarClinic] != "Sunrise Clinic" || utf8.RuneCountInString(got[VarPlace]) != MaxParamLen {
		t.Errorf("clean: %q / %d runes", got[VarClinic], utf8.RuneCountInString(got[VarPlace]))
	}
	params, _ = Render(tp, Vars{})
	for _, p := range params {
		if p.Text != "-" {
			t.Errorf("empty %s rendered %q", p.Name, p.Text)
		}
	}
}

func TestButtonPayload(t *testing.T) {
	longID := strings.Repeat("A1b2.", 12) + "Z-9x" // 64 chars: FHIR id maximum
	cases := []ButtonPayload{
		{ActionConfirm, "sunrise", "appt-1", "1773151200"},
		{ActionCancel, "c", "id:with:colons|and|pipes %/é", "1"},
		{ActionReschedule, strings.Repeat("c", 63), longID, "1773151200"},
		{ActionReopen, "sunrise", "", ""},
	}
	for _, p := range cases {
		enc := p.Encode()
		got, err := ParseButtonPayload(enc)
		if err != nil || got != p {
			t.Errorf("round trip %+v -> %q -> %+v, %v", p, enc, got, err)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("Validate(%+v): %v", p, err)
		}
		if strings.Count(enc, ":") != 4 {
			t.Errorf("%q: separators leak from fields", enc)
		}
	}
	if got := (ButtonPayload{ActionConfirm, "sunrise", "appt-1", "1773151200"}).Encode(); got != "fd1:confirm:sunrise:appt-1:1773151200" {
		t.Errorf("encoding changed: %q (payloads already in patients' chats must still parse)", got)
	}
	for _, bad := range []ButtonPayload{{Action: "delete", ClinicID: "c", AppointmentID: "a"}, {Action: ActionConfirm, ClinicID: "c"},
		{Action: ActionConfirm, ClinicID: "c", AppointmentID: strings.Repeat("x", 300)}} {
		if bad.Validate() == nil {
			t.Errorf("Validate(%+v) = nil", bad)
		}
	}
	for _, s := range []string{"", "CONFIRM", "fd1:confirm:a:b", "fd2:confirm:a:b:c", "fd1:delete:a:b:c", "fd1:confirm:a%:b:c",
		"fd1:confirm:a%zz:b:c", "fd1:confirm:a:b:c:d", "fd1:confirm::b:c", "fd1:cancel:a::c"} {
		if _, err := ParseButtonPayload(s); err == nil {
			t.Errorf("ParseButtonPayload(%q) accepted", s)
		}
	}
}

func FuzzParseButtonPayload(f *testing.F) {
	f.Add("fd1:confirm:sunrise:appt-1:1773151200")
	f.Add("fd1:cancel:c:id%3Awith%7Cpipes:1")
	f.Add("fd1:reopen:sunrise::")
	f.Add("fd1:confirm:%:%4:%zz")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseButtonPayload(s)
		if err != nil {
			return
		}
		// Anything accepted re-encodes to a payload that parses to the same value.
		again, err := ParseButtonPayload(p.Encode())
		if err != nil || again != p {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, p, p.Encode(), again, err)
		}
		// And a payload built from arbitrary field values round-trips whenever it can
		// be sent at all: Validate refuses it only for being over WhatsApp's limit.
		q := ButtonPayload{Action: ActionCancel, ClinicID: "c" + s, AppointmentID: s + ":" + s, Generation: "|" + s}
		if err := q.Validate(); err != nil {
			if len(q.Encode()) <= MaxButtonPayloadLen {
				t.Fatalf("Validate refused a %d-byte payload: %v", len(q.Encode()), err)
			}
			return
		}
		if got, err := ParseButtonPayload(q.Encode()); err != nil || got != q {
			t.Fatalf("round trip %+v: %+v, %v", q, got, err)
		}
	})
}

// TestWaitlistOfferWording: the offer is a utility message about the patient's own
// request, so it carries no urgency, scarcity or promotional words, names no
// practitioner or reason, and its buttons accept or keep the current time.
func TestWaitlistOfferWording(t *testing.T) {
	banned := []string{"hurry", "only", "last", "limited", "now", "quick", "deal", "special", "don't miss", "act fast", "first come",
		"prisa", "solo", "sólo", "último", "última", "limitad", "ahora", "oferta", "rápido",
		"pressa", "apenas", "último", "limitad", "agora", "oferta", "rápido"}
	for _, lang := range Languages {
		tp, err := TemplateNamed(TemplateWaitlistOffer, lang, "")
		if err != nil {
			t.Fatal(err)
		}
		body := strings.ToLower(tp.Body)
		for _, w := range banned {
			if strings.Contains(body, w) {
				t.Errorf("%s: offer body has %q: %q", lang, w, tp.Body)
			}
		}
		if got := tp.Variables(); !slices.Equal(got, []string{VarClinic, VarDate, VarTime}) {
			t.Errorf("%s: offer variables %v, want clinic, date, time", lang, got)
		}
		if len(tp.Buttons) != 2 || tp.Buttons[0].Action != ActionOfferAccept || tp.Buttons[1].Action != ActionOfferKeep {
			t.Errorf("%s: offer buttons %+v", lang, tp.Buttons)
		}
		if tp.MessageSendTTLSeconds != 2*60*60 {
			t.Errorf("%s: offer TTL %d s, want the 2 h the offer is valid", lang, tp.MessageSendTTLSeconds)
		}
	}
	p := ButtonPayload{Action: ActionOfferAccept, ClinicID: "clinic-a", AppointmentID: "appt-1", Generation: "slot:42"}
	got, err := ParseButtonPayload(p.Encode())
	if err != nil || got != p {
		t.Fatalf("offer payload round trip: %+v %v", got, err)
	}
}
