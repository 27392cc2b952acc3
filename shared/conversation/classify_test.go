package conversation

import (
	"fmt"
	"sync"
	"testing"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		text string
		want Intent
	}{
		// confirm
		{"confirm", Confirm}, {"CONFIRM", Confirm}, {"Yes", Confirm}, {"yes!!", Confirm}, {"Yes, I'll be there", Confirm},
		{"yes I will be there thanks", Confirm}, {"ok", Confirm}, {"Sí", Confirm}, {"si", Confirm}, {"SÍ, CONFIRMO", Confirm},
		{"Confirmo la cita", Confirm}, {"confirmar", Confirm}, {"Ahí estaré 😊", Confirm}, {"sim", Confirm},
		{"Sim, confirmo!", Confirm}, {"Confirmado 👍", Confirm}, {"👍", Confirm}, {"👍🏽", Confirm}, {"✅", Confirm},
		{"Estarei lá", Confirm}, {"see you then!", Confirm},
		// cancel
		{"cancel", Cancel}, {"Cancel it please", Cancel}, {"I need to cancel", Cancel}, {"I can't make it", Cancel},
		{"I can’t make it", Cancel}, {"cancelar", Cancel}, {"CANCELAR LA CITA", Cancel}, {"anular", Cancel},
		{"No puedo ir", Cancel}, {"no podré ir, lo siento", Cancel}, {"Não posso ir", Cancel}, {"nao vou poder ir", Cancel},
		{"Yes, cancel it", Cancel}, {"sim, mas não posso ir", Cancel}, {"desmarcar", Cancel},
		// reschedule
		{"reschedule", Reschedule}, {"Can I reschedule?", Reschedule}, {"change", Reschedule}, {"change it", Reschedule},
		{"I need another day", Reschedule}, {"reprogramar", Reschedule}, {"¿Puedo cambiar la cita?", Reschedule},
		{"cambiar", Reschedule}, {"otro día por favor", Reschedule}, {"remarcar", Reschedule}, {"Quero remarcar", Reschedule},
		{"outro horário?", Reschedule}, {"cancel and book another day", Reschedule},
		{"Yes, but I need to change the time", Reschedule},
		// stop
		{"STOP", Stop}, {"stop", Stop}, {"Stop.", Stop}, {"stop please", Stop}, {"STOP!!! 😡", Stop}, {"Unsubscribe", Stop},
		{"no more messages", Stop}, {"baja", Stop}, {"BAJA", Stop}, {"dar de baja", Stop}, {"parar", Stop},
		{"Cancelar suscripción", Stop}, {"cancelar la suscripcion por favor", Stop}, {"No más mensajes", Stop},
		{"sair", Stop}, {"Pare", Stop}, {"pare por favor", Stop}, {"Cancelar inscrição", Stop}, {"opt-out", Stop},
		// start
		{"START", Start}, {"start", Start}, {"Subscribe", Start}, {"alta", Start}, {"ALTA", Start}, {"comenzar", Start},
		{"voltar", Start}, {"Começar", Start}, {"unstop", Start},
		// help
		{"help", Help}, {"HELP", Help}, {"ayuda", Help}, {"Ajuda", Help},
		// waitlist: the whole message only
		{"earlier", WaitlistJoin}, {"Earlier please", WaitlistJoin}, {"EARLIER TIME", WaitlistJoin},
		{"más temprano", WaitlistJoin}, {"mas temprano", WaitlistJoin}, {"Más temprano por favor", WaitlistJoin},
		{"mais cedo", WaitlistJoin}, {"Mais cedo!", WaitlistJoin},
		{"no earlier", WaitlistLeave}, {"No earlier, thanks", WaitlistLeave}, {"no más temprano", WaitlistLeave},
		{"não mais cedo", WaitlistLeave}, {"nao mais cedo", WaitlistLeave},
		{"I came earlier than planned yesterday", Other},
		// emergency always wins
		{"I have chest pain", Emergency}, {"CHEST PAIN and I want to cancel", Emergency}, {"I can't breathe", Emergency},
		{"i cant breathe", Emergency}, {"cannot breathe", Emergency}, {"trouble breathing since last night", Emergency},
		{"heavy bleeding after the procedure", Emergency}, {"I feel suicidal", Emergency}, {"I want to kill myself", Emergency},
		{"i want to die", Emergency}, {"I think I took an overdose", Emergency}, {"my dad is having a stroke", Emergency},
		{"she is unconscious", Emergency}, {"stop, chest pain", Emergency},
		{"Tengo dolor de pecho", Emergency}, {"DOLOR EN EL PECHO", Emergency}, {"no puedo respirar", Emergency},
		{"sangrado abundante", Emergency}, {"quiero morir", Emergency}, {"pensamientos suicidas", Emergency},
		{"Estou com dor no peito", Emergency}, {"não consigo respirar", Emergency}, {"nao consigo respirar!!", Emergency},
		{"sangramento", Emergency}, {"quero morrer", Emergency}, {"suicídio", Emergency},
		// other: precision over recall
		{"can I stop by tomorrow?", Other}, {"stop by tomorrow", Other}, {"don't stop", Other}, {"no", Other}, {"No", Other},
		{"thanks", Other}, {"yesterday I had a fever", Other}, {"what time is my appointment?", Other},
		{"I'd like to confirm my insurance details before the visit next week please", Other},
		{"Hi, I would like to know if I need to bring my previous test results with me", Other},
		{"cancel the messages", Other}, {"I can't confirm yet", Other}, {"no, not yet", Other},
		{"confirm but I need to cancel", Other}, {"starting to feel better", Other}, {"", Other}, {"   ", Other},
		{"🙏", Other}, {"¿dónde está la clínica?", Other}, {"Onde fica a clínica?", Other}, {"para quando é a consulta?", Other},
		{"I want to change my phone number", Other},
	}
	for _, c := range cases {
		if got := Classify(c.text); got != c.want {
			t.Errorf("Classify(%q) = %s, want %s", c.text, got, c.want)
		}
	}
}

func TestTokenize(t *testing.T) {
	got := tokenize("  ¡NÃO consigo, Señor! can't—“Ação” ")
	want := []string{"nao", "consigo", "senor", "cant", "acao"}
	if len(got) != len(want) {
		t.Fatalf("tokenize = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("tokenize = %q, want %q", got, want)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"stop", "Sí", "dor no peito", "👍🏽", "can't", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		switch Classify(s) {
		case Confirm, Cancel, Reschedule, Stop, Start, Help, Emergency, Other, WaitlistJoin, WaitlistLeave:
		default:
			t.Fatalf("Classify(%q) returned an unknown intent", s)
		}
	})
}

func TestEmergencyLanguageIsTheMessageLanguage(t *testing.T) {
	cases := []struct{ text, want string }{
		{"I can't breathe", "en"},
		{"my chest hurts so much", "en"},
		{"tengo dolor en el pecho", "es"},
		{"creo que es un derrame cerebral", "es"}, // "derrame" alone is Portuguese
		{"não consigo respirar", "pt"},
		{"dor no peito desde ontem", "pt"},
		{"see you tomorrow", ""},
		{"stroke? ictus?", ""}, // two languages equally: the caller's default
	}
	for _, c := range cases {
		if got := EmergencyLanguage(c.text); got != c.want {
			t.Errorf("EmergencyLanguage(%q) = %q, want %q", c.text, got, c.want)
		}
	}
	for _, lang := range EmergencyLanguages {
		if len(emergencyByLanguage[lang]()) == 0 {
			t.Errorf("no emergency phrases for %s", lang)
		}
	}
}

// The inbox classifies the messages of a batch concurrently: classifying must not
// share state between calls (a shared x/text transformer panicked under load).
func TestClassifyIsSafeForConcurrentUse(t *testing.T) {
	inputs := []string{"Sí, confirmo", "não posso ir", "más temprano", "STOP", "quero remarcar a consulta", "can't make it"}
	want := make([]Intent, len(inputs))
	for i, in := range inputs {
		want[i] = Classify(in)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 200 {
				i := (g + n) % len(inputs)
				if got := Classify(inputs[i]); got != want[i] {
					errs <- fmt.Sprintf("Classify(%q) = %v, want %v", inputs[i], got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
