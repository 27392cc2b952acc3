package reminder

// Templates for notices (something is ready or due) and the feedback question.
// They say that something is ready or due and where to get it, never what it is:
// the test, the drug, the document and the reason for a recall stay out of
// WhatsApp. The place to get it is the clinic's portal link or phone number,
// one variable whose value comes from the clinic file, never from the request.
const (
	TemplateNoticeLabReady      = "notice_lab_ready"
	TemplateNoticeRxReady       = "notice_rx_ready"
	TemplateNoticeDocumentReady = "notice_document_ready"
	TemplateNoticeRecallDue     = "notice_recall_due"
	// TemplateFeedbackRequest asks for a 1-5 score outside the 24 h window. It has no
	// link and no button: the answer is a bare digit, which the inbox reads while a
	// question is pending.
	TemplateFeedbackRequest = "feedback_request"
)

// VarContact is where the patient gets what is ready: the clinic's portal link or phone.
const VarContact = "contact"

// NoticeTemplateNames lists the notice and feedback templates.
var NoticeTemplateNames = []string{TemplateNoticeLabReady, TemplateNoticeRxReady, TemplateNoticeDocumentReady,
	TemplateNoticeRecallDue, TemplateFeedbackRequest}

// ttlNotice: a notice is still worth delivering half a day late; Meta's utility maximum.
const ttlNotice = 12 * 60 * 60

// addNoticeTemplates adds the notice and feedback templates to the catalog being built.
func addNoticeTemplates(catalog map[string]map[string]Template) {
	examples := map[string]map[string]string{
		LangEnglish: {VarGivenName: "Maria", VarClinic: "Sunrise Family Clinic", VarDate: "Tuesday, March 10",
			VarContact: "https://portal.example.org"},
		LangSpanish: {VarGivenName: "María", VarClinic: "Clínica Sol", VarDate: "martes 10 de marzo",
			VarContact: "https://portal.example.org"},
		LangPortuguese: {VarGivenName: "Ana", VarClinic: "Clínica Aurora", VarDate: "terça-feira, 10 de março",
			VarContact: "+1 555 0100"},
	}
	bodies := map[string]map[string]string{
		TemplateNoticeLabReady: {
			LangEnglish:    "Hi {{given_name}}, {{clinic}} has new results for you. You can see them at {{contact}} or ask us here.",
			LangSpanish:    "Hola {{given_name}}, {{clinic}} tiene resultados nuevos para usted. Puede verlos en {{contact}} o preguntarnos aquí.",
			LangPortuguese: "Olá {{given_name}}, {{clinic}} tem novos resultados para você. Você pode vê-los em {{contact}} ou nos perguntar aqui.",
		},
		TemplateNoticeRxReady: {
			LangEnglish:    "Hi {{given_name}}, your prescription from {{clinic}} is ready. For details, see {{contact}} or ask us here.",
			LangSpanish:    "Hola {{given_name}}, su receta de {{clinic}} está lista. Para más detalles, consulte {{contact}} o pregúntenos aquí.",
			LangPortuguese: "Olá {{given_name}}, sua receita de {{clinic}} está pronta. Para mais detalhes, consulte {{contact}} ou pergunte aqui.",
		},
		TemplateNoticeDocumentReady: {
			LangEnglish:    "Hi {{given_name}}, {{clinic}} has a document ready for you. You can get it at {{contact}} or ask us here.",
			LangSpanish:    "Hola {{given_name}}, {{clinic}} tiene un documento listo para usted. Puede obtenerlo en {{contact}} o preguntarnos aquí.",
			LangPortuguese: "Olá {{given_name}}, {{clinic}} tem um documento pronto para você. Você pode obtê-lo em {{contact}} ou nos perguntar aqui.",
		},
		TemplateNoticeRecallDue: {
			LangEnglish:    "Hi {{given_name}}, it is time to book your next visit at {{clinic}}, due by {{date}}. Book at {{contact}} or reply here.",
			LangSpanish:    "Hola {{given_name}}, es momento de reservar su próxima visita en {{clinic}}, antes del {{date}}. Reserve en {{contact}} o responda aquí.",
			LangPortuguese: "Olá {{given_name}}, está na hora de agendar sua próxima consulta em {{clinic}}, até {{date}}. Agende em {{contact}} ou responda aqui.",
		},
		TemplateFeedbackRequest: {
			LangEnglish:    "Hi {{given_name}}, how was your visit to {{clinic}} on {{date}}? Reply with a number from 1 (poor) to 5 (excellent).",
			LangSpanish:    "Hola {{given_name}}, ¿cómo fue su visita a {{clinic}} el {{date}}? Responda con un número del 1 (mala) al 5 (excelente).",
			LangPortuguese: "Olá {{given_name}}, como foi sua consulta em {{clinic}} em {{date}}? Responda com um número de 1 (ruim) a 5 (excelente).",
		},
	}
	for name, byLang := range bodies {
		catalog[name] = map[string]Template{}
		for lang, body := range byLang {
			t := Template{Name: name, Language: lang, Category: CategoryUtility, Body: body,
				MessageSendTTLSeconds: ttlNotice, Examples: map[string]string{}}
			for _, v := range t.Variables() {
				t.Examples[v] = examples[lang][v]
			}
			catalog[name][lang] = t
		}
	}
}
