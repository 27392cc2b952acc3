package reminder

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// Template names registered with Meta. Renaming one means submitting a new template
// and waiting for its review, so they are constants, not configuration.
const (
	TemplateReminder48h = "appointment_reminder_48h"
	TemplateReminder2h  = "appointment_reminder_2h"
	TemplateFollowUp    = "appointment_followup"
	TemplateReopen      = "frontdesk_reopen"
	// TemplateWaitlistOffer offers a freed slot to a waitlisted patient; its TTL is
	// the offer's validity. TemplateVisitMoved confirms a move the patient asked
	// for once the 24 h window has closed.
	TemplateWaitlistOffer = "waitlist_offer"
	TemplateVisitMoved    = "appointment_moved"
)

// KindReopen names the frontdesk_reopen template for TemplateFor. It is not a policy
// step (Policy.Validate rejects it): Frontdesk sends it when it must answer a patient
// whose 24 h window has closed.
const KindReopen Kind = "reopen"

// The only variables a template may carry. Anything else (reason for visit,
// practitioner, specialty, results) would put PHI in a WhatsApp message.
const (
	VarGivenName = "given_name"
	VarClinic    = "clinic"
	VarDate      = "date"
	VarTime      = "time"
	VarPlace     = "place"
)

// AllowedVariables is the PHI rule as data; TestTemplatesCarryOnlyAllowedVariables enforces it.
var AllowedVariables = []string{VarClinic, VarDate, VarTime, VarPlace, VarGivenName, VarContact}

// CategoryUtility is the only category Frontdesk uses: reminders about an existing
// appointment are utility messages; marketing templates to +1 numbers are blocked.
const CategoryUtility = "UTILITY"

// Button is a template quick-reply button.
type Button struct {
	Text   string // ≤ 25 characters (Meta's limit for quick replies)
	Action Action
}

// Template is one message template in one language, as submitted to Meta.
type Template struct {
	Name     string
	Language string // WhatsApp language code
	Category string
	// Body uses named variables: {{given_name}}, {{clinic}}, {{date}}, {{time}}, {{place}}.
	Body string
	// Examples gives Meta's reviewers a sample value for every variable in Body.
	Examples map[string]string
	Buttons  []Button
	// MessageSendTTLSeconds stops Meta delivering a stale message late (utility
	// templates: 30 s to 12 h). A 2 h reminder delivered 3 h later is worse than none.
	MessageSendTTLSeconds int
}

var varPattern = regexp.MustCompile(`\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}`)

// Variables returns the body's variables in order of first appearance.
func (t Template) Variables() []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range varPattern.FindAllStringSubmatch(t.Body, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	return out
}

// NamedParam is one body parameter of a send (parameter_name + text).
type NamedParam struct {
	Name string
	Text string
}

// Vars are the values of one send. Text fields fill the body; the ids go into the
// quick-reply payloads, never into text.
type Vars struct {
	GivenName string
	Clinic    string
	Date      string
	Time      string
	Place     string
	// Contact is the clinic's portal link or phone (notices), from the clinic file.
	Contact string

	ClinicID      string
	AppointmentID string
	Generation    string
}

func (v Vars) text(name string) string {
	switch name {
	case VarGivenName:
		return v.GivenName
	case VarClinic:
		return v.Clinic
	case VarDate:
		return v.Date
	case VarTime:
		return v.Time
	case VarPlace:
		return v.Place
	case VarContact:
		return v.Contact
	}
	return ""
}

// MaxParamLen bounds one parameter's text, keeping a long address from pushing the
// body past Meta's 1024-character limit.
const MaxParamLen = 200

// Render returns the body parameters for t (exactly its variables, in order) and one
// quick-reply payload per button, in button order (component index = position).
//
// Values are cleaned the way Graph requires: it rejects parameters that are empty or
// contain new lines, tabs or more than four consecutive spaces (error 132000), so
// whitespace is collapsed and an empty value becomes "-". Callers should still pass
// every value; "-" only keeps a missing address from failing the whole reminder.
func Render(t Template, v Vars) (bodyParams []NamedParam, quickReplyPayloads []string) {
	for _, name := range t.Variables() {
		bodyParams = append(bodyParams, NamedParam{Name: name, Text: cleanParam(v.text(name))})
	}
	for _, b := range t.Buttons {
		quickReplyPayloads = append(quickReplyPayloads, ButtonPayload{
			Action: b.Action, ClinicID: v.ClinicID, AppointmentID: v.AppointmentID, Generation: v.Generation,
		}.Encode())
	}
	return bodyParams, quickReplyPayloads
}

func cleanParam(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > MaxParamLen {
		s = strings.TrimSpace(string(r[:MaxParamLen-1])) + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}

// KindTemplate maps a reminder kind to its template name.
func KindTemplate(k Kind) (string, bool) {
	switch k {
	case KindDayBefore:
		return TemplateReminder48h, true
	case KindSameDay:
		return TemplateReminder2h, true
	case KindFollowUp:
		return TemplateFollowUp, true
	case KindReopen:
		return TemplateReopen, true
	}
	return "", false
}

// TemplateFor returns the template for a reminder kind in the best language: the
// patient's (BCP 47, matched: es-MX → es, pt → pt_BR, en-GB → en_US), else the
// clinic's default, else en_US.
func TemplateFor(kind Kind, patientLang, clinicDefault string) (Template, error) {
	name, ok := KindTemplate(kind)
	if !ok {
		return Template{}, fmt.Errorf("reminder: no template for kind %q", kind)
	}
	return TemplateNamed(name, patientLang, clinicDefault)
}

// TemplateNamed is TemplateFor by template name (a policy step's Template field).
func TemplateNamed(name, patientLang, clinicDefault string) (Template, error) {
	byLang, ok := catalog()[name]
	if !ok {
		return Template{}, fmt.Errorf("reminder: unknown template %q", name)
	}
	if t, ok := byLang[MatchLanguage(patientLang, clinicDefault)]; ok {
		return t.clone(), nil
	}
	return byLang[LangEnglish].clone(), nil
}

// clone keeps callers from editing the catalog through the shared map and slice.
func (t Template) clone() Template {
	ex := make(map[string]string, len(t.Examples))
	for k, v := range t.Examples {
		ex[k] = v
	}
	t.Examples = ex
	t.Buttons = append([]Button(nil), t.Buttons...)
	return t
}

// Templates returns every template Frontdesk sends, sorted by name and language:
// what scripts/templates submits to Meta.
func Templates() []Template {
	var out []Template
	for _, byLang := range catalog() {
		for _, t := range byLang {
			out = append(out, t.clone())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Language < out[j].Language
	})
	return out
}

const (
	ttl48h      = 12 * 60 * 60 // the 48 h reminder is useless once the 2 h one is close; 12 h is Meta's utility maximum
	ttl2h       = 60 * 60      // must not arrive after the visit
	ttlFollowUp = 12 * 60 * 60
	ttlReopen   = 12 * 60 * 60
	// An offer is valid exactly as long as Meta may still deliver it, so nobody
	// receives an offer that has lapsed (slot.DefaultOfferTTL is the same 2 h).
	ttlWaitlistOffer = 2 * 60 * 60
	ttlVisitMoved    = 12 * 60 * 60
)

// catalog is built on first use: only the functions that send messages need it, and
// the others need not build it at every cold start.
var catalog = sync.OnceValue(func() map[string]map[string]Template {
	examples := map[string]map[string]string{
		LangEnglish: {VarGivenName: "Maria", VarClinic: "Sunrise Family Clinic", VarDate: "Tuesday, March 10",
			VarTime: "3:30 PM", VarPlace: "12 Main St, Suite 4"},
		LangSpanish: {VarGivenName: "María", VarClinic: "Clínica Sol", VarDate: "martes 10 de marzo",
			VarTime: "15:30", VarPlace: "Calle Mayor 12, 2.º piso"},
		LangPortuguese: {VarGivenName: "Ana", VarClinic: "Clínica Aurora", VarDate: "terça-feira, 10 de março",
			VarTime: "15:30", VarPlace: "Rua das Flores, 120, sala 4"},
	}
	type text struct {
		body    string
		buttons []Button
	}
	type def struct {
		name  string
		ttl   int
		langs map[string]text
	}
	defs := []def{
		{TemplateReminder48h, ttl48h, map[string]text{
			LangEnglish: {"Hi {{given_name}}, this is a reminder of your appointment at {{clinic}}: {{date}} at {{time}}, {{place}}. Please confirm, reschedule or cancel with the buttons below.",
				[]Button{{"Confirm", ActionConfirm}, {"Reschedule", ActionReschedule}, {"Cancel", ActionCancel}}},
			LangSpanish: {"Hola {{given_name}}, le recordamos su cita en {{clinic}}: {{date}} a las {{time}}, {{place}}. Puede confirmar, reprogramar o cancelar con los botones de abajo.",
				[]Button{{"Confirmar", ActionConfirm}, {"Reprogramar", ActionReschedule}, {"Cancelar", ActionCancel}}},
			LangPortuguese: {"Olá {{given_name}}, lembramos a sua consulta em {{clinic}}: {{date}} às {{time}}, {{place}}. Você pode confirmar, remarcar ou cancelar nos botões abaixo.",
				[]Button{{"Confirmar", ActionConfirm}, {"Remarcar", ActionReschedule}, {"Cancelar", ActionCancel}}},
		}},
		// Short, and worded without "today": quiet hours can move it to the evening before.
		{TemplateReminder2h, ttl2h, map[string]text{
			LangEnglish:    {"Reminder: your appointment at {{clinic}} is at {{time}}, {{place}}. See you soon.", nil},
			LangSpanish:    {"Recordatorio: su cita en {{clinic}} es a las {{time}}, {{place}}. ¡Hasta pronto!", nil},
			LangPortuguese: {"Lembrete: sua consulta em {{clinic}} é às {{time}}, {{place}}. Até logo!", nil},
		}},
		// No button: a reply opens the 24 h window and reaches staff as a hand-off.
		{TemplateFollowUp, ttlFollowUp, map[string]text{
			LangEnglish:    {"Thank you for visiting {{clinic}}. If you have any questions, reply to this message and our team will get back to you.", nil},
			LangSpanish:    {"Gracias por visitar {{clinic}}. Si tiene alguna pregunta, responda a este mensaje y nuestro equipo le contestará.", nil},
			LangPortuguese: {"Obrigado por visitar {{clinic}}. Se tiver alguma dúvida, responda a esta mensagem e nossa equipe entrará em contato.", nil},
		}},
		{TemplateReopen, ttlReopen, map[string]text{
			LangEnglish:    {"Hello, this is {{clinic}}. We have a reply to your message. Tap the button below to see it.", []Button{{"See reply", ActionReopen}}},
			LangSpanish:    {"Hola, le escribe {{clinic}}. Tenemos una respuesta a su mensaje. Toque el botón de abajo para verla.", []Button{{"Ver respuesta", ActionReopen}}},
			LangPortuguese: {"Olá, aqui é {{clinic}}. Temos uma resposta para a sua mensagem. Toque no botão abaixo para vê-la.", []Button{{"Ver resposta", ActionReopen}}},
		}},
		// Tied to the patient's own request and visit; no urgency, scarcity or
		// promotion (TestWaitlistOfferWording), so it stays a utility message.
		{TemplateWaitlistOffer, ttlWaitlistOffer, map[string]text{
			LangEnglish: {"You asked for an earlier time for your visit at {{clinic}}. {{date}} at {{time}} is free. Would you like to move your visit?",
				[]Button{{"Move it", ActionOfferAccept}, {"Keep my time", ActionOfferKeep}}},
			LangSpanish: {"Usted pidió una hora más temprana para su cita en {{clinic}}. El {{date}} a las {{time}} está libre. ¿Desea cambiar su cita?",
				[]Button{{"Cambiarla", ActionOfferAccept}, {"Mantener mi hora", ActionOfferKeep}}},
			LangPortuguese: {"Você pediu um horário mais cedo para sua consulta em {{clinic}}. {{date}} às {{time}} está livre. Deseja mudar sua consulta?",
				[]Button{{"Mudar", ActionOfferAccept}, {"Manter meu horário", ActionOfferKeep}}},
		}},
		{TemplateVisitMoved, ttlVisitMoved, map[string]text{
			LangEnglish:    {"Your visit at {{clinic}} is now on {{date}} at {{time}}, {{place}}. Reply to this message if you have any questions.", nil},
			LangSpanish:    {"Su cita en {{clinic}} ahora es el {{date}} a las {{time}}, {{place}}. Si tiene preguntas, responda a este mensaje.", nil},
			LangPortuguese: {"Sua consulta em {{clinic}} agora é em {{date}} às {{time}}, {{place}}. Se tiver dúvidas, responda a esta mensagem.", nil},
		}},
	}
	out := map[string]map[string]Template{}
	for _, d := range defs {
		out[d.name] = map[string]Template{}
		for lang, tx := range d.langs {
			t := Template{Name: d.name, Language: lang, Category: CategoryUtility, Body: tx.body,
				Buttons: tx.buttons, MessageSendTTLSeconds: d.ttl, Examples: map[string]string{}}
			for _, v := range t.Variables() {
				t.Examples[v] = examples[lang][v]
			}
			out[d.name][lang] = t
		}
	}
	addNoticeTemplates(out)
	return out
})

// Message renders t with v as a template send to to: the body variables, and the
// quick-reply payloads of its buttons.
func Message(to string, t Template, v Vars) (whatsapp.Message, error) {
	body, payloads := Render(t, v)
	params := make([]whatsapp.TemplateParam, len(body))
	for i, b := range body {
		params[i] = whatsapp.TemplateParam{Name: b.Name, Text: b.Text}
	}
	m, err := whatsapp.TemplateMessage(to, t.Name, t.Language, params, payloads)
	if err != nil {
		return whatsapp.Message{}, fmt.Errorf("template %s/%s: %w", t.Name, t.Language, err)
	}
	return m, nil
}
