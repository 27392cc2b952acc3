// Package conversation understands what a patient wrote on WhatsApp and says the
// fixed things Frontdesk answers. Pure Go: no AWS SDK, no net/http.
package conversation

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Intent is what a patient's free text asks for.
type Intent string

// Intents. Other means "a person should read this" (hand-off to staff).
const (
	Confirm    Intent = "confirm"
	Cancel     Intent = "cancel"
	Reschedule Intent = "reschedule"
	Stop       Intent = "stop"
	Start      Intent = "start"
	Help       Intent = "help"
	Emergency  Intent = "emergency"
	Other      Intent = "other"
	// WaitlistJoin asks to hear of an earlier time for the next visit ("earlier",
	// "más temprano", "mais cedo"); WaitlistLeave takes that back ("no earlier").
	// Whole-message keywords only, like STOP.
	WaitlistJoin  Intent = "waitlist_join"
	WaitlistLeave Intent = "waitlist_leave"
)

// Classify returns the intent of a patient's text message, in English, Spanish or
// Portuguese, ignoring case, accents, punctuation and emoji.
//
// It is built for precision, because a wrong guess acts on the patient's behalf:
//   - Emergency phrases win over everything, anywhere in a message of any length
//     (over-triage costs a safety message; missing one costs far more).
//   - STOP / START / HELP words count only when the message is essentially just the
//     keyword: once filler words ("please", "now", "thanks"...) are removed, what is
//     left must be exactly a keyword phrase. "STOP" and "stop please" stop;
//     "can I stop by tomorrow?" does not.
//   - Confirm / cancel / reschedule phrases count only in short messages (a few
//     words for a bare "yes", eight for explicit words like "cancel"). "yes" next to a
//     negation is not a confirmation; "yes, cancel it" is a cancellation; a message
//     that both confirms explicitly and cancels is Other.
//   - Anything else is Other, and a person reads it.
func Classify(text string) Intent {
	tokens := tokenize(text)
	if len(tokens) == 0 {
		if onlyApprovalEmoji(text) {
			return Confirm
		}
		return Other
	}
	for _, p := range emergencyPhrases() {
		if containsPhrase(tokens, p) {
			return Emergency
		}
	}
	core := withoutFillers(tokens)
	for _, k := range keywordIntents {
		for _, p := range k.phrases() {
			if equalTokens(core, p) {
				return k.intent
			}
		}
	}
	return appointmentIntent(tokens)
}

// EmergencyLanguage returns the language (BCP 47) of the emergency phrases in text:
// the one whose matching phrase is longest, so "derrame cerebral" reads as Spanish
// although Portuguese has "derrame". It returns "" when text holds no emergency
// phrase or two languages match equally well (the caller falls back to a default).
func EmergencyLanguage(text string) string {
	tokens := tokenize(text)
	best, bestLen, tie := "", 0, false
	for _, lang := range EmergencyLanguages {
		n := 0
		for _, p := range emergencyByLanguage[lang]() {
			if len(p) > n && containsPhrase(tokens, p) {
				n = len(p)
			}
		}
		switch {
		case n > bestLen:
			best, bestLen, tie = lang, n, false
		case n > 0 && n == bestLen:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return best
}

func appointmentIntent(tokens []string) Intent {
	for _, t := range tokens {
		if subscriptionWords[t] {
			// "cancel the messages", "cancelar la suscripción ya": about messages, not
			// the visit, and not exactly a STOP keyword either. A person decides.
			return Other
		}
	}
	matched := map[Intent]bool{}
	weakYes, strongYes := false, false
	for _, r := range appointmentRules {
		if len(tokens) > r.maxTokens {
			continue
		}
		for _, p := range r.phrases() {
			if containsPhrase(tokens, p) {
				matched[r.intent] = true
				if r.intent == Confirm {
					weakYes, strongYes = weakYes || r.weak, strongYes || !r.weak
				}
			}
		}
	}
	if matched[Confirm] && hasNegation(tokens) {
		delete(matched, Confirm) // "no, I can't confirm", "sim... não" are not a yes
	}
	weakConfirm := weakYes && !strongYes
	switch {
	case matched[Cancel] && matched[Reschedule]:
		if matched[Confirm] && !weakConfirm {
			return Other
		}
		return Reschedule // "cancel and book another day": they still want a visit
	case matched[Confirm] && (matched[Cancel] || matched[Reschedule]):
		if !weakConfirm {
			return Other
		}
		if matched[Cancel] {
			return Cancel // "yes, cancel it"
		}
		return Reschedule
	case matched[Confirm]:
		return Confirm
	case matched[Cancel]:
		return Cancel
	case matched[Reschedule]:
		return Reschedule
	}
	return Other
}

// stripMarks builds the accent-stripping chain. A chained Transformer keeps state
// between calls and is not safe for concurrent use, and the inbox classifies
// messages concurrently: each call builds its own (a few small allocations).
func stripMarks() transform.Transformer {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}

// tokenize lower-cases, strips accents (é → e, ñ → n, ç → c), drops apostrophes so
// "can't" reads "cant", and splits on anything that is not a letter or digit.
func tokenize(s string) []string {
	out, _, err := transform.String(stripMarks(), s)
	if err != nil {
		out = s
	}
	out = strings.ToLower(out)
	out = strings.NewReplacer("'", "", "’", "", "ʼ", "", "`", "", "´", "").Replace(out)
	return strings.FieldsFunc(out, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func containsPhrase(tokens, phrase []string) bool {
	for i := 0; i+len(phrase) <= len(tokens); i++ {
		ok := true
		for j, w := range phrase {
			if !wordMatches(tokens[i+j], w) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// wordMatches compares whole words; a pattern ending in "*" is a stem
// ("suicid*" matches suicide, suicidal, suicidio, suicidarme).
func wordMatches(token, pattern string) bool {
	if stem, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(token, stem)
	}
	return token == pattern
}

func equalTokens(a, b []string) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func withoutFillers(tokens []string) []string {
	var out []string
	for _, t := range tokens {
		if !fillers[t] {
			out = append(out, t)
		}
	}
	return out
}

func hasNegation(tokens []string) bool {
	for _, t := range tokens {
		if negations[t] {
			return true
		}
	}
	return false
}

// onlyApprovalEmoji: a lone 👍 or ✅ (any skin tone) answering a reminder is a yes.
func onlyApprovalEmoji(s string) bool {
	seen := false
	for _, r := range s {
		switch {
		case r == '👍' || r == '✅' || r == '✔':
			seen = true
		case r >= 0x1F3FB && r <= 0x1F3FF, r == 0xFE0F, unicode.IsSpace(r):
		default:
			return false
		}
	}
	return seen
}
