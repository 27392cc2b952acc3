package waitlist

import (
	"strings"

	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// answers are the free-form words of each answer, per language: the clinic's
// name, and the slot's date and time on the clinic's wall clock, nothing else.
var answers = map[string]map[string]string{
	reminder.LangEnglish: {
		AnswerHeld:    "Thank you. We have kept {date} at {time} for you while {clinic} confirms the change. You will hear from us soon.",
		AnswerTaken:   "Thank you for answering. That time was just taken by someone else, so your visit at {clinic} stays as it was.",
		AnswerLapsed:  "Thank you for answering. That offer has ended, so your visit at {clinic} stays as it was.",
		AnswerExpired: "{clinic} could not confirm the new time yet. Your visit stays as it was, and the clinic will be in touch with you.",
		AnswerKept:    "Thank you. Your visit at {clinic} stays as it was, and you stay on the list for an earlier time.",
		AnswerMoved:   "{clinic} has moved your visit as you asked: it is now on {date} at {time}.",
		AnswerJoined:  "Thank you. If an earlier time opens at {clinic} for your visit on {date} at {time}, we will let you know. Reply NO EARLIER to stop.",
		AnswerLeft:    "Thank you. Your visit at {clinic} on {date} at {time} stays as it is, and we will not offer earlier times.",
	},
	reminder.LangSpanish: {
		AnswerHeld:    "Gracias. Le guardamos el {date} a las {time} mientras {clinic} confirma el cambio. Pronto le escribiremos.",
		AnswerTaken:   "Gracias por responder. Otra persona acaba de tomar esa hora, así que su cita en {clinic} sigue igual.",
		AnswerLapsed:  "Gracias por responder. Esa propuesta ya terminó, así que su cita en {clinic} sigue igual.",
		AnswerExpired: "{clinic} aún no pudo confirmar la nueva hora. Su cita sigue igual y la clínica se pondrá en contacto con usted.",
		AnswerKept:    "Gracias. Su cita en {clinic} sigue igual y usted sigue en la lista para una hora más temprana.",
		AnswerMoved:   "{clinic} cambió su cita como lo pidió: ahora es el {date} a las {time}.",
		AnswerJoined:  "Gracias. Si se libera una hora más temprana en {clinic} para su cita del {date} a las {time}, le avisaremos. Responda NO MÁS TEMPRANO para dejarlo.",
		AnswerLeft:    "Gracias. Su cita en {clinic} del {date} a las {time} sigue igual y no le ofreceremos horas más tempranas.",
	},
	reminder.LangPortuguese: {
		AnswerHeld:    "Obrigado. Reservamos {date} às {time} para você enquanto {clinic} confirma a mudança. Em breve entraremos em contato.",
		AnswerTaken:   "Obrigado por responder. Outra pessoa acabou de ficar com esse horário, então sua consulta em {clinic} continua igual.",
		AnswerLapsed:  "Obrigado por responder. Essa proposta já terminou, então sua consulta em {clinic} continua igual.",
		AnswerExpired: "{clinic} ainda não conseguiu confirmar o novo horário. Sua consulta continua igual e a clínica entrará em contato.",
		AnswerKept:    "Obrigado. Sua consulta em {clinic} continua igual e você continua na lista para um horário mais cedo.",
		AnswerMoved:   "{clinic} mudou sua consulta como você pediu: agora é {date} às {time}.",
		AnswerJoined:  "Obrigado. Se abrir um horário mais cedo em {clinic} para sua consulta de {date} às {time}, avisaremos você. Responda NÃO MAIS CEDO para parar.",
		AnswerLeft:    "Obrigado. Sua consulta em {clinic} de {date} às {time} continua igual e não ofereceremos horários mais cedo.",
	},
}

// Text is an answer's words in the best of the patient's language and the
// clinic's default (English otherwise); date and clock are already formatted on
// the clinic's wall clock.
func Text(answer, patientLang, clinicDefault, clinicName, date, clock string) string {
	byAnswer := answers[reminder.MatchLanguage(patientLang, clinicDefault)]
	if byAnswer == nil {
		byAnswer = answers[reminder.LangEnglish]
	}
	return strings.NewReplacer("{clinic}", clinicName, "{date}", date, "{time}", clock).Replace(byAnswer[answer])
}
