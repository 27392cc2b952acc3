package conversation

import (
	"strings"
	"sync"
)

// Phrases are written naturally (accents, apostrophes) and normalised by the same
// tokenizer as messages, so the lists read like the messages they match.

// emergencyByLanguage keys each language's phrases by its BCP 47 code: the safety
// answer goes out in the language the message was written in.
var emergencyByLanguage = map[string]lazyPhrases{
	"en": phrases(
		"chest pain", "chest pains", "pain in my chest", "my chest hurts", "chest is hurting", "chest tightness",
		"can't breathe", "cannot breathe", "can not breathe", "unable to breathe", "trouble breathing",
		"difficulty breathing", "hard to breathe", "struggling to breathe", "shortness of breath", "not breathing",
		"stopped breathing", "heavy bleeding", "bleeding heavily", "bleeding a lot", "bleeding badly",
		"won't stop bleeding", "bleeding won't stop", "suicid*", "kill myself", "killing myself", "end my life",
		"take my life", "want to die", "wanna die", "hurt myself", "overdos*", "stroke", "face drooping",
		"slurred speech", "unconscious", "passed out", "unresponsive", "not responding", "heart attack", "seizure*",
		"anaphyla*", "throat is closing", "throat closing",
	),
	"es": phrases(
		"dolor de pecho", "dolor en el pecho", "dolor del pecho", "me duele el pecho", "no puedo respirar",
		"no puede respirar", "dificultad para respirar", "me cuesta respirar", "me ahogo", "sangrado abundante",
		"sangrado fuerte", "sangrando mucho", "hemorragia", "quiero morir", "quiero morirme", "me quiero morir",
		"matarme", "quitarme la vida", "sobredosis", "derrame cerebral", "ictus", "inconsciente", "se desmayó",
		"desmayado", "desmayada", "infarto", "ataque al corazón", "convulsi*",
	),
	"pt": phrases(
		"dor no peito", "dores no peito", "meu peito dói", "não consigo respirar", "não consegue respirar",
		"falta de ar", "dificuldade para respirar", "dificuldade de respirar", "sangramento", "sangrando muito",
		"quero morrer", "me matar", "tirar minha vida", "superdosagem", "derrame", "avc", "desmaiou", "desmaiei",
		"ataque cardíaco", "convulsão", "convulsionando",
	),
}

// emergencyPhrases are every language's, for Classify.
var emergencyPhrases = sync.OnceValue(func() [][]string {
	var all [][]string
	for _, lang := range EmergencyLanguages {
		all = append(all, emergencyByLanguage[lang]()...)
	}
	return all
})

// EmergencyLanguages are the languages whose emergency phrases Classify knows.
var EmergencyLanguages = []string{"en", "es", "pt"}

type keywordIntent struct {
	intent  Intent
	phrases lazyPhrases
}

// keywordIntents count only as the whole message (fillers aside): consent changes
// must never be inferred from a sentence. The words Replies tell patients to send
// (START, ALTA, VOLTAR, STOP, BAJA, SAIR) are here; TestRepliesNameWorkingKeywords checks it.
var keywordIntents = []keywordIntent{
	{Stop, fillerless(phrases(
		"stop", "stopall", "stop all", "unsubscribe", "opt out", "optout", "quit", "cancel subscription",
		"cancel my subscription", "no more messages", "no more", "don't message me", "don't text me",
		"baja", "dar de baja", "darme de baja", "de baja", "parar", "para", "alto", "detener", "basta",
		"no más mensajes", "no quiero más mensajes", "cancelar suscripción", "cancelar la suscripción",
		"desuscribir", "desuscribirme", "no me escriban más",
		"sair", "pare", "parem", "chega", "cancelar inscrição", "descadastrar", "descadastre",
		"não quero mais mensagens", "não quero mais receber", "não enviar mais",
	))},
	{Start, fillerless(phrases(
		"start", "unstop", "subscribe", "resume", "opt in", "optin", "restart",
		"alta", "dar de alta", "darme de alta", "comenzar", "empezar", "reanudar", "suscribir", "suscribirme", "volver",
		"voltar", "iniciar", "começar", "retomar", "reativar", "inscrever",
	))},
	{Help, fillerless(phrases("help", "info", "ayuda", "información", "ajuda", "informação"))},
	{WaitlistJoin, fillerless(phrases("earlier", "earlier time", "earlier appointment", "an earlier time",
		"más temprano", "una hora más temprano", "más pronto", "mais cedo", "um horário mais cedo"))},
	{WaitlistLeave, fillerless(phrases("no earlier", "no earlier time", "not earlier",
		"no más temprano", "ya no más temprano", "não mais cedo", "não quero mais cedo"))},
}

type appointmentRule struct {
	intent    Intent
	weak      bool // a bare "yes" / "change": only in very short messages
	maxTokens int
	phrases   lazyPhrases
}

var appointmentRules = []appointmentRule{
	{Confirm, false, 8, phrases(
		"confirm", "confirmed", "i confirm", "confirming", "i'll be there", "i will be there", "will be there",
		"see you then", "see you there",
		"confirmo", "confirmado", "confirmada", "confirmar", "confirmamos", "allí estaré", "ahí estaré", "allá estaré",
		"estaré ahí", "estaré allí", "ahí estaremos",
		"estarei lá", "estaremos lá", "vou sim", "irei sim",
	)},
	{Confirm, true, 4, phrases(
		"yes", "yeah", "yep", "yup", "ok", "okay", "sure", "of course", "sounds good",
		"sí", "claro", "vale", "de acuerdo", "perfecto", "por supuesto",
		"sim", "certo", "perfeito", "com certeza", "combinado",
	)},
	{Cancel, false, 8, phrases(
		"cancel", "cancel it", "can't make it", "cannot make it", "can not make it", "won't make it",
		"can't come", "cannot come", "can't go", "won't be able to come", "not coming",
		"cancelar", "cancela", "cancelo", "cancélala", "anular", "anula", "anulo", "no puedo ir", "no podré ir",
		"no voy a poder ir", "no voy a ir", "no podré asistir", "no puedo asistir",
		"não posso ir", "não vou poder ir", "não vou poder", "não poderei ir", "não vou conseguir ir", "desmarcar",
		"desmarca",
	)},
	{Reschedule, false, 8, phrases(
		"reschedule", "re schedule", "rebook", "change appointment", "change my appointment",
		"change the appointment", "change the time", "change the date", "different time", "different day",
		"another time", "another day", "new time", "move my appointment", "move the appointment", "postpone",
		"reprogramar", "reprogramarla", "reagendar", "cambiar la cita", "cambiar mi cita", "cambiar la hora",
		"cambiar la fecha", "cambiar de hora", "cambiar de día", "otro día", "otra hora", "otro horario",
		"posponer", "aplazar",
		"remarcar", "mudar a consulta", "mudar o horário", "mudar a data", "trocar o horário", "outro dia",
		"outro horário", "adiar",
	)},
	{Reschedule, true, 3, phrases("change", "cambiar", "cambio", "mudar", "trocar")},
}

// fillers may surround a keyword without changing it ("stop please", "STOP now!!").
var fillers = set("please", "pls", "plz", "now", "all", "me", "it", "thanks", "thank", "you", "thx", "ty", "ok",
	"okay", "messages", "message", "msgs", "por", "favor", "porfa", "porfavor", "ya", "gracias", "obrigado",
	"obrigada", "agora", "mensajes", "mensagens", "todo", "todos", "tudo")

var negations = set("no", "not", "dont", "cant", "cannot", "wont", "never", "nao", "nunca", "tampoco", "nem")

// subscriptionWords mark a message about the messages themselves, not the visit.
var subscriptionWords = set("subscription", "suscripcion", "inscricao", "messages", "mensajes", "mensagens",
	"unsubscribe")

// lazyPhrases is a phrase list normalised on first use: most inbound records are
// delivery statuses, which never classify text, so a cold start need not do it.
type lazyPhrases func() [][]string

func phrases(list ...string) lazyPhrases {
	return sync.OnceValue(func() [][]string {
		out := make([][]string, 0, len(list))
		for _, p := range list {
			// Keep the stem marker through tokenisation (it is not a letter).
			stem := strings.HasSuffix(p, "*")
			toks := tokenize(strings.TrimSuffix(p, "*"))
			if len(toks) == 0 {
				panic("conversation: empty phrase " + p)
			}
			if stem {
				toks[len(toks)-1] += "*"
			}
			out = append(out, toks)
		}
		return out
	})
}

func fillerless(ps lazyPhrases) lazyPhrases {
	return sync.OnceValue(func() [][]string {
		out := make([][]string, 0, len(ps()))
		for _, p := range ps() {
			if f := withoutFillers(p); len(f) > 0 {
				out = append(out, f)
			}
		}
		return out
	})
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
