package conversation

import (
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// Replies are Frontdesk's fixed free-form answers in one language. They carry only
// the clinic's name, the appointment's date, time and place, the emergency number
// and when staff will answer: never the patient's name or anything about the visit
// (PHI rule; TestRepliesCarryNoPHI). Free-form text may only be sent inside the 24 h
// window; outside it the caller sends the frontdesk_reopen template first.
type Replies struct {
	// Language is the WhatsApp code chosen (en_US, es, pt_BR).
	Language string
	t        replyText
}

type replyText struct {
	confirmed, cancelRequested, rescheduleRequested, optedOut, optedIn, safety, handOff,
	noAppointment, unsupported, help, moved string
	soon, today, tomorrow, onDate string
}

// RepliesFor picks the language like templates do: the patient's (BCP 47), else the
// clinic's default, else English.
func RepliesFor(patientLang, clinicDefault string) Replies {
	code := reminder.MatchLanguage(patientLang, clinicDefault)
	return Replies{Language: code, t: replyTexts[code]}
}

var replyTexts = map[string]replyText{
	reminder.LangEnglish: {
		confirmed:           "Thank you! Your appointment at {clinic} on {date} at {time} is confirmed.",
		cancelRequested:     "We have let {clinic} know you want to cancel your appointment on {date} at {time}. The team will confirm the cancellation.",
		rescheduleRequested: "We have let {clinic} know you would like a new time. The team will contact you to reschedule.",
		optedOut:            "You will not receive more messages from {clinic}. Reply START to resume.",
		optedIn:             "You will receive appointment messages from {clinic} again. Reply STOP at any time to stop them.",
		safety:              "If this is an emergency, call {number} or your local emergency number now. We have alerted the {clinic} team.",
		handOff:             "Thank you for your message. The {clinic} team will reply {when}.",
		noAppointment:       "We could not find an upcoming appointment for you at {clinic}. The team has your message and will reply if needed.",
		unsupported:         "Sorry, we can only read text messages and button replies. Please write to {clinic} in a text message.",
		moved:               "Your appointment at {clinic} is now on {date} at {time}. Your answer was about an earlier time, so nothing was changed. Please confirm, reschedule or cancel the new time.",
		help:                "This is the appointment assistant of {clinic}. Reply CONFIRM, CANCEL or RESCHEDULE about your next appointment, STOP to stop messages, or write your question for the team.",
		soon:                "shortly",
		today:               "today at {time}",
		tomorrow:            "tomorrow at {time}",
		onDate:              "on {date} at {time}",
	},
	reminder.LangSpanish: {
		confirmed:           "¡Gracias! Su cita en {clinic} el {date} a las {time} está confirmada.",
		cancelRequested:     "Hemos avisado a {clinic} de que desea cancelar su cita del {date} a las {time}. El equipo le confirmará la cancelación.",
		rescheduleRequested: "Hemos avisado a {clinic} de que desea cambiar la hora de su cita. El equipo se pondrá en contacto con usted.",
		optedOut:            "No recibirá más mensajes de {clinic}. Responda ALTA para volver a recibirlos.",
		optedIn:             "Volverá a recibir mensajes sobre sus citas de {clinic}. Responda BAJA en cualquier momento para dejar de recibirlos.",
		safety:              "Si es una emergencia, llame ahora al {number} o al número de emergencias local. Hemos avisado al equipo de {clinic}.",
		handOff:             "Gracias por su mensaje. El equipo de {clinic} le responderá {when}.",
		noAppointment:       "No encontramos una próxima cita suya en {clinic}. El equipo tiene su mensaje y le responderá si es necesario.",
		unsupported:         "Lo sentimos, solo podemos leer mensajes de texto y respuestas con botones. Escriba a {clinic} en un mensaje de texto.",
		moved:               "Su cita en {clinic} es ahora el {date} a las {time}. Su respuesta era sobre una hora anterior, así que no se ha cambiado nada. Confirme, reprograme o cancele la nueva hora.",
		help:                "Este es el asistente de citas de {clinic}. Responda CONFIRMAR, CANCELAR o REPROGRAMAR sobre su próxima cita, BAJA para no recibir mensajes, o escriba su pregunta para el equipo.",
		soon:                "en breve",
		today:               "hoy a las {time}",
		tomorrow:            "mañana a las {time}",
		onDate:              "el {date} a las {time}",
	},
	reminder.LangPortuguese: {
		confirmed:           "Obrigado! Sua consulta em {clinic}, {date}, às {time}, está confirmada.",
		cancelRequested:     "Avisamos a equipe de {clinic} que você deseja cancelar a consulta de {date}, às {time}. A equipe vai confirmar o cancelamento.",
		rescheduleRequested: "Avisamos a equipe de {clinic} que você deseja remarcar a consulta. A equipe entrará em contato com você.",
		optedOut:            "Você não receberá mais mensagens de {clinic}. Responda VOLTAR para voltar a recebê-las.",
		optedIn:             "Você voltará a receber mensagens sobre suas consultas em {clinic}. Responda SAIR a qualquer momento para parar.",
		safety:              "Se for uma emergência, ligue agora para {number} ou para o número de emergência local. Avisamos a equipe de {clinic}.",
		handOff:             "Obrigado pela sua mensagem. A equipe de {clinic} responderá {when}.",
		noAppointment:       "Não encontramos uma próxima consulta sua em {clinic}. A equipe recebeu sua mensagem e responderá se necessário.",
		unsupported:         "Desculpe, só conseguimos ler mensagens de texto e respostas com botões. Escreva para {clinic} em uma mensagem de texto.",
		moved:               "Sua consulta em {clinic} agora é {date}, às {time}. Sua resposta era sobre um horário anterior, então nada foi alterado. Confirme, remarque ou cancele o novo horário.",
		help:                "Este é o assistente de consultas de {clinic}. Responda CONFIRMAR, CANCELAR ou REMARCAR sobre sua próxima consulta, SAIR para não receber mensagens, ou escreva sua pergunta para a equipe.",
		soon:                "em breve",
		today:               "hoje às {time}",
		tomorrow:            "amanhã às {time}",
		onDate:              "{date}, às {time}",
	},
}

func fill(tmpl string, kv ...string) string { return strings.NewReplacer(kv...).Replace(tmpl) }

// AckConfirmed answers a confirmation.
func (r Replies) AckConfirmed(clinic, date, clock string) string {
	return fill(r.t.confirmed, "{clinic}", clinic, "{date}", date, "{time}", clock)
}

// AckCancelRequested answers a cancellation request: the clinic decides, so it is a
// request, not a done deal.
func (r Replies) AckCancelRequested(clinic, date, clock string) string {
	return fill(r.t.cancelRequested, "{clinic}", clinic, "{date}", date, "{time}", clock)
}

// AckRescheduleRequested answers a request for a new time.
func (r Replies) AckRescheduleRequested(clinic string) string {
	return fill(r.t.rescheduleRequested, "{clinic}", clinic)
}

// Moved answers a reply to a reminder about an earlier time of the appointment: it
// gives the current date and time and changes nothing.
func (r Replies) Moved(clinic, date, clock string) string {
	return fill(r.t.moved, "{clinic}", clinic, "{date}", date, "{time}", clock)
}

// OptedOut is the one acknowledgement of a STOP; after it Frontdesk stays silent.
func (r Replies) OptedOut(clinic string) string { return fill(r.t.optedOut, "{clinic}", clinic) }

// OptedIn acknowledges a START.
func (r Replies) OptedIn(clinic string) string { return fill(r.t.optedIn, "{clinic}", clinic) }

// Safety is the fixed answer to an emergency message. It is never generated or
// varied: it points to the emergency number and says a human was alerted.
func (r Replies) Safety(clinic, emergencyNumber string) string {
	return fill(r.t.safety, "{clinic}", clinic, "{number}", emergencyNumber)
}

// HandOff tells the patient a person will answer, and when (see When).
func (r Replies) HandOff(clinic, when string) string {
	return fill(r.t.handOff, "{clinic}", clinic, "{when}", when)
}

// NoAppointment answers a confirm/cancel/reschedule word when the patient has no
// upcoming appointment to apply it to.
func (r Replies) NoAppointment(clinic string) string {
	return fill(r.t.noAppointment, "{clinic}", clinic)
}

// Unsupported answers media, locations, stickers and other non-text messages.
func (r Replies) Unsupported(clinic string) string { return fill(r.t.unsupported, "{clinic}", clinic) }

// Help lists what the patient can write.
func (r Replies) Help(clinic string) string { return fill(r.t.help, "{clinic}", clinic) }

// When phrases staff's next answer time for HandOff: "shortly" when staff is in now
// (at ≤ now), "today at 9:00 AM", "tomorrow at 9:00 AM", else "on Monday, March 9 at
// 9:00 AM", in the clinic's wall clock.
func (r Replies) When(at, now time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	if !at.After(now) {
		return r.t.soon
	}
	clock := reminder.FormatTime(at, loc, r.Language)
	ay, am, ad := at.In(loc).Date()
	ny, nm, nd := now.In(loc).Date()
	switch {
	case ay == ny && am == nm && ad == nd:
		return fill(r.t.today, "{time}", clock)
	case time.Date(ny, nm, nd+1, 0, 0, 0, 0, time.UTC).Equal(time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)):
		return fill(r.t.tomorrow, "{time}", clock)
	}
	date := reminder.FormatDate(at, loc, r.Language)
	if r.Language == reminder.LangPortuguese {
		// Portuguese weekdays take "na" (segunda-feira...) but "no" for sábado and domingo.
		if wd := at.In(loc).Weekday(); wd == time.Saturday || wd == time.Sunday {
			date = "no " + date
		} else {
			date = "na " + date
		}
	}
	return fill(r.t.onDate, "{date}", date, "{time}", clock)
}
