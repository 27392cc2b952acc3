package whatsapp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits Meta enforces on what Frontdesk sends; checked locally so a bad send is a
// bug found in tests, not a permanent error found in production.
const (
	MaxReplyButtons       = 3
	MaxReplyButtonTitle   = 20  // characters
	MaxReplyButtonID      = 256 // characters
	MaxQuickReplyButtons  = 10  // template button index is one digit, 0..9
	MaxTextBody           = 4096
	MaxInteractiveBody    = 1024
	MessagingProduct      = "whatsapp"
	RecipientIndividual   = "individual"
	LanguagePolicyDefault = "deterministic"
)

// ErrInvalidMessage marks a send that was rejected before reaching Meta. It is a
// bug in the caller, never retryable: Classify reports ClassPermanent.
var ErrInvalidMessage = errors.New("whatsapp: invalid message")

// Message is the body of POST /{phone-number-id}/messages, following the `Message`
// schema of Meta's OpenAPI spec. Build it with TemplateMessage, ReplyButtonsMessage
// or TextMessage rather than by hand.
type Message struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	// To is the recipient's number; Recipient is their business-scoped user id
	// (BSUID) for a user whose number is not known. Exactly one is set: Meta lets
	// `to` win when both are, and a BSUID beside a number would only mislead.
	To          string          `json:"to,omitempty"`
	Recipient   string          `json:"recipient,omitempty"`
	Type        string          `json:"type"`
	Context     *ReplyContext   `json:"context,omitempty"`
	Text        *OutText        `json:"text,omitempty"`
	Template    *Template       `json:"template,omitempty"`
	Interactive *OutInteractive `json:"interactive,omitempty"`
}

// ReplyContext makes a send quote an earlier message.
type ReplyContext struct {
	MessageID string `json:"message_id"`
}

// OutText is a free-form text body (only inside the 24-hour window).
type OutText struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url,omitempty"`
}

// Template selects a pre-approved template and fills its variables.
type Template struct {
	Name       string              `json:"name"`
	Language   Language            `json:"language"`
	Components []TemplateComponent `json:"components,omitempty"`
}

// Language picks the template translation. Policy "deterministic" is the only value
// Meta accepts; it is always sent because it is valid under both readings of the spec.
type Language struct {
	Policy string `json:"policy"`
	Code   string `json:"code"`
}

// TemplateComponent fills one part of a template: "body" variables or one "button".
type TemplateComponent struct {
	Type       string              `json:"type"`
	SubType    string              `json:"sub_type,omitempty"`
	Index      string              `json:"index,omitempty"`
	Parameters []TemplateParameter `json:"parameters,omitempty"`
}

// TemplateParameter is one variable value. ParameterName is set for templates
// created with named variables ({{clinic_name}}); Meta rejects named templates sent
// without it.
type TemplateParameter struct {
	Type          string `json:"type"`
	ParameterName string `json:"parameter_name,omitempty"`
	Text          string `json:"text,omitempty"`
	Payload       string `json:"payload,omitempty"`
}

// OutInteractive is an interactive message; Frontdesk sends only reply buttons.
type OutInteractive struct {
	Type   string            `json:"type"`
	Body   *InteractiveBody  `json:"body,omitempty"`
	Action InteractiveAction `json:"action"`
}

// InteractiveBody is the text above the buttons.
type InteractiveBody struct {
	Text string `json:"text"`
}

// InteractiveAction holds the reply buttons, or a list's button label and sections.
type InteractiveAction struct {
	Buttons  []InteractiveButton `json:"buttons,omitempty"`
	Button   string              `json:"button,omitempty"`
	Sections []ListSection       `json:"sections,omitempty"`
}

// InteractiveButton is one reply button as sent.
type InteractiveButton struct {
	Type  string      `json:"type"`
	Reply ReplyButton `json:"reply"`
}

// ReplyButton is a reply button: ID comes back in the webhook's button_reply.id when
// tapped, Title is what the patient sees.
type ReplyButton struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// TemplateParam is a body variable value for TemplateMessage. Name is the variable
// name for templates with named parameters; leave it empty for positional ({{1}}).
type TemplateParam struct {
	Name string
	Text string
}

// NormalizeTo turns an E.164 number ("+15550100") or bare digits into the digits-only
// form the Cloud API's `to` expects.
func NormalizeTo(phone string) (string, error) {
	digits := strings.TrimPrefix(strings.TrimSpace(phone), "+")
	if len(digits) < 7 || len(digits) > 15 {
		return "", fmt.Errorf("%w: recipient must have 7 to 15 digits", ErrInvalidMessage)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", fmt.Errorf("%w: recipient must be digits with an optional leading '+'", ErrInvalidMessage)
		}
	}
	return digits, nil
}

// IsBSUID reports whether s has the shape of a business-scoped user id: a two-letter
// country code, a period and up to 128 alphanumerics ("US.13491208655302741918"), or
// a parent BSUID with ENT between them ("US.ENT.11815799212886844830").
//
// Checked by hand rather than with a package-level regexp: its {1,128} compiles to
// a program of 128 copies, which every cold start of a function linking this
// package paid for.
func IsBSUID(s string) bool {
	if len(s) < 4 || !isUpperASCII(s[0]) || !isUpperASCII(s[1]) || s[2] != '.' {
		return false
	}
	rest := strings.TrimPrefix(s[3:], "ENT.")
	if len(rest) < 1 || len(rest) > 128 {
		return false
	}
	for i := range len(rest) {
		if c := rest[i]; !isUpperASCII(c) && (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func isUpperASCII(c byte) bool { return c >= 'A' && c <= 'Z' }

// newMessage addresses a message to a phone number (E.164 or digits) or, when to is
// a BSUID, to `recipient`.
func newMessage(to, typ string) (Message, error) {
	if IsBSUID(strings.TrimSpace(to)) {
		return Message{MessagingProduct: MessagingProduct, RecipientType: RecipientIndividual, Recipient: strings.TrimSpace(to), Type: typ}, nil
	}
	digits, err := NormalizeTo(to)
	if err != nil {
		return Message{}, err
	}
	return Message{MessagingProduct: MessagingProduct, RecipientType: RecipientIndividual, To: digits, Type: typ}, nil
}

// TemplateMessage builds a template send: bodyParams fill the body variables in
// order (all named or all positional, as Meta requires), and quickReplyPayloads
// become the payloads of the template's quick-reply buttons at index 0, 1, ...
// (the payload comes back in the webhook when the patient taps the button).
func TemplateMessage(to, name, langCode string, bodyParams []TemplateParam, quickReplyPayloads []string) (Message, error) {
	m, err := newMessage(to, TypeTemplate)
	if err != nil {
		return Message{}, err
	}
	if strings.TrimSpace(name) == "" {
		return Message{}, fmt.Errorf("%w: template name is empty", ErrInvalidMessage)
	}
	if strings.TrimSpace(langCode) == "" {
		return Message{}, fmt.Errorf("%w: template %s: language code is empty", ErrInvalidMessage, name)
	}
	if len(quickReplyPayloads) > MaxQuickReplyButtons {
		return Message{}, fmt.Errorf("%w: template %s: %d quick-reply payloads, at most %d", ErrInvalidMessage, name, len(quickReplyPayloads), MaxQuickReplyButtons)
	}
	t := &Template{Name: name, Language: Language{Policy: LanguagePolicyDefault, Code: langCode}}
	if len(bodyParams) > 0 {
		named := bodyParams[0].Name != ""
		params := make([]TemplateParameter, 0, len(bodyParams))
		for i, p := range bodyParams {
			if (p.Name != "") != named {
				return Message{}, fmt.Errorf("%w: template %s: parameter %d: mixes named and positional parameters", ErrInvalidMessage, name, i)
			}
			if p.Text == "" {
				// Meta rejects an empty variable with 132000 at send time.
				return Message{}, fmt.Errorf("%w: template %s: parameter %d is empty", ErrInvalidMessage, name, i)
			}
			params = append(params, TemplateParameter{Type: "text", ParameterName: p.Name, Text: p.Text})
		}
		t.Components = append(t.Components, TemplateComponent{Type: "body", Parameters: params})
	}
	for i, payload := range quickReplyPayloads {
		if payload == "" {
			return Message{}, fmt.Errorf("%w: template %s: quick-reply payload %d is empty", ErrInvalidMessage, name, i)
		}
		t.Components = append(t.Components, TemplateComponent{
			Type: "button", SubType: "quick_reply", Index: strconv.Itoa(i),
			Parameters: []TemplateParameter{{Type: "payload", Payload: payload}},
		})
	}
	m.Template = t
	return m, nil
}

// ReplyButtonsMessage builds an interactive reply-button message (only allowed
// inside the 24-hour window): at most 3 buttons, title ≤ 20 characters, id ≤ 256,
// titles and ids unique, as Meta requires.
func ReplyButtonsMessage(to, body string, buttons []ReplyButton) (Message, error) {
	m, err := newMessage(to, TypeInteractive)
	if err != nil {
		return Message{}, err
	}
	if strings.TrimSpace(body) == "" {
		return Message{}, fmt.Errorf("%w: reply buttons: body is empty", ErrInvalidMessage)
	}
	if n := utf8.RuneCountInString(body); n > MaxInteractiveBody {
		return Message{}, fmt.Errorf("%w: reply buttons: body has %d characters, at most %d", ErrInvalidMessage, n, MaxInteractiveBody)
	}
	if len(buttons) == 0 || len(buttons) > MaxReplyButtons {
		return Message{}, fmt.Errorf("%w: reply buttons: %d buttons, want 1 to %d", ErrInvalidMessage, len(buttons), MaxReplyButtons)
	}
	seenID := map[string]bool{}
	seenTitle := map[string]bool{}
	out := make([]InteractiveButton, 0, len(buttons))
	for i, b := range buttons {
		switch {
		case strings.TrimSpace(b.ID) == "" || b.ID != strings.TrimSpace(b.ID):
			return Message{}, fmt.Errorf("%w: reply button %d: id is empty or has leading/trailing spaces", ErrInvalidMessage, i)
		case utf8.RuneCountInString(b.ID) > MaxReplyButtonID:
			return Message{}, fmt.Errorf("%w: reply button %d: id longer than %d characters", ErrInvalidMessage, i, MaxReplyButtonID)
		case strings.TrimSpace(b.Title) == "":
			return Message{}, fmt.Errorf("%w: reply button %d: title is empty", ErrInvalidMessage, i)
		case utf8.RuneCountInString(b.Title) > MaxReplyButtonTitle:
			return Message{}, fmt.Errorf("%w: reply button %d: title longer than %d characters", ErrInvalidMessage, i, MaxReplyButtonTitle)
		case seenID[b.ID]:
			return Message{}, fmt.Errorf("%w: reply button %d: duplicate id", ErrInvalidMessage, i)
		case seenTitle[b.Title]:
			return Message{}, fmt.Errorf("%w: reply button %d: duplicate title", ErrInvalidMessage, i)
		}
		seenID[b.ID], seenTitle[b.Title] = true, true
		out = append(out, InteractiveButton{Type: "reply", Reply: b})
	}
	m.Interactive = &OutInteractive{Type: "button", Body: &InteractiveBody{Text: body}, Action: InteractiveAction{Buttons: out}}
	return m, nil
}

// TextMessage builds a free-form text message (only inside the 24-hour window).
func TextMessage(to, body string) (Message, error) {
	m, err := newMessage(to, TypeText)
	if err != nil {
		return Message{}, err
	}
	if strings.TrimSpace(body) == "" {
		return Message{}, fmt.Errorf("%w: text body is empty", ErrInvalidMessage)
	}
	if n := utf8.RuneCountInString(body); n > MaxTextBody {
		return Message{}, fmt.Errorf("%w: text body has %d characters, at most %d", ErrInvalidMessage, n, MaxTextBody)
	}
	m.Text = &OutText{Body: body}
	return m, nil
}

// InReplyTo returns m quoting the message with the given wamid (the patient sees
// which message is answered).
func (m Message) InReplyTo(wamid string) Message {
	if wamid != "" {
		m.Context = &ReplyContext{MessageID: wamid}
	}
	return m
}
