// Package whatsapp is Frontdesk's adapter for Meta's WhatsApp Cloud API: the webhook
// payload types and signature check, the send-side request types and builders, the
// Graph API client, and the classification of Graph errors into what the caller must do.
package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ObjectWhatsAppBusinessAccount is the only `object` value Cloud API webhooks carry.
const ObjectWhatsAppBusinessAccount = "whatsapp_business_account"

// Webhook `changes[].field` values Frontdesk routes on.
const (
	FieldMessages = "messages"
	// Template lifecycle: Meta approves, pauses, disables and re-categorises
	// templates after submission and says so on these fields.
	FieldTemplateStatus   = "message_template_status_update"
	FieldTemplateCategory = "template_category_update"
)

// Status values of outbound messages as reported by status webhooks.
const (
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusFailed    = "failed"
)

// Notification is one webhook POST body.
type Notification struct {
	Object string  `json:"object"`
	Entry  []Entry `json:"entry"`
}

// Entry groups the changes of one WhatsApp Business Account (ID is the WABA id).
type Entry struct {
	ID      string   `json:"id"`
	Time    int64    `json:"time,omitempty"`
	Changes []Change `json:"changes"`
}

// Change is one event; Field says which kind ("messages" for messages and statuses,
// group_* for group events).
type Change struct {
	Field string `json:"field"`
	Value Value  `json:"value"`
	// Template is the value of a template lifecycle change (FieldTemplateStatus,
	// FieldTemplateCategory); nil for every other field.
	Template *TemplateChange `json:"-"`
}

// UnmarshalJSON decodes Value, and for template lifecycle fields the same value as
// a TemplateChange: the two shapes share no keys.
func (c *Change) UnmarshalJSON(b []byte) error {
	type plain Change
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*c = Change(p)
	if c.Field == FieldTemplateStatus || c.Field == FieldTemplateCategory {
		var raw struct {
			Value TemplateChange `json:"value"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		c.Template = &raw.Value
	}
	return nil
}

// TemplateChange is the value of message_template_status_update (Event, Reason,
// Category) or template_category_update (PreviousCategory, NewCategory; an
// impending change carries CorrectCategory and CategoryUpdateTimestamp instead of
// PreviousCategory).
type TemplateChange struct {
	Event                   string          `json:"event,omitempty"`
	TemplateID              json.Number     `json:"message_template_id,omitempty"`
	Name                    string          `json:"message_template_name"`
	Language                string          `json:"message_template_language"`
	Reason                  string          `json:"reason,omitempty"`
	Category                string          `json:"message_template_category,omitempty"`
	PreviousCategory        string          `json:"previous_category,omitempty"`
	NewCategory             string          `json:"new_category,omitempty"`
	CorrectCategory         string          `json:"correct_category,omitempty"`
	CategoryUpdateTimestamp int64           `json:"category_update_timestamp,omitempty"`
	DisableInfo             json.RawMessage `json:"disable_info,omitempty"`
	OtherInfo               json.RawMessage `json:"other_info,omitempty"`
}

// Template status events (message_template_status_update `event`) and categories.
const (
	TemplateApproved      = "APPROVED"
	TemplatePaused        = "PAUSED"
	TemplateDisabled      = "DISABLED"
	TemplateRejected      = "REJECTED"
	TemplateFlagged       = "FLAGGED"
	TemplateReinstated    = "REINSTATED"
	TemplatePendingDelete = "PENDING_DELETION"
	TemplateArchived      = "ARCHIVED"
	TemplateUnarchived    = "UNARCHIVED"

	CategoryUtility   = "UTILITY"
	CategoryMarketing = "MARKETING"
)

// Value carries the payload of a change. Fields the code does not act on (groups,
// and anything Meta adds later) are kept raw so that a stored payload loses nothing.
type Value struct {
	MessagingProduct string            `json:"messaging_product"`
	Metadata         Metadata          `json:"metadata"`
	Contacts         []Contact         `json:"contacts,omitempty"`
	Messages         []InboundMessage  `json:"messages,omitempty"`
	Statuses         []Status          `json:"statuses,omitempty"`
	Errors           []Error           `json:"errors,omitempty"`
	Groups           []json.RawMessage `json:"groups,omitempty"`
}

// Metadata identifies the business number the event concerns; PhoneNumberID routes
// the event to its clinic.
type Metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

// Contact is the sender's WhatsApp identity. WaID may differ from the number the
// patient registered with the clinic (formatting, changed numbers), and is absent for
// a user with a username whose number Meta does not share. UserID is the
// business-scoped user id (BSUID, "US.13491208655302741918"), unique to the business
// portfolio; ParentUserID ("US.ENT.…") is shared across the portfolios of a managed
// business when Meta enabled it.
type Contact struct {
	WaID         string  `json:"wa_id,omitempty"`
	UserID       string  `json:"user_id,omitempty"`
	ParentUserID string  `json:"parent_user_id,omitempty"`
	Profile      Profile `json:"profile"`
}

// ContactOf returns the contacts entry of a message's sender, matched by number or
// by BSUID; ok is false when the value carries none (system messages).
func (v Value) ContactOf(m InboundMessage) (Contact, bool) {
	for _, c := range v.Contacts {
		if (m.From != "" && c.WaID == m.From) || (m.FromUserID != "" && c.UserID == m.FromUserID) {
			return c, true
		}
	}
	if len(v.Contacts) == 1 && len(v.Messages) == 1 {
		return v.Contacts[0], true
	}
	return Contact{}, false
}

// SenderUserID is the sender's BSUID: from_user_id, else the contacts entry's user_id.
func (v Value) SenderUserID(m InboundMessage) (bsuid, parent string) {
	bsuid, parent = m.FromUserID, m.FromParentUserID
	if c, ok := v.ContactOf(m); ok {
		if bsuid == "" {
			bsuid = c.UserID
		}
		if parent == "" {
			parent = c.ParentUserID
		}
	}
	return bsuid, parent
}

// Profile is the sender's self-chosen WhatsApp profile. Both are personal data:
// never logged.
type Profile struct {
	Name     string `json:"name"`
	Username string `json:"username,omitempty"`
}

// Inbound message types Frontdesk acts on. Every other type is acknowledged and
// kept raw.
const (
	TypeText        = "text"
	TypeButton      = "button"
	TypeInteractive = "interactive"
	TypeTemplate    = "template"
	TypeUnsupported = "unsupported"
	TypeSystem      = "system"
)

// Interactive reply types inside an inbound interactive message.
const (
	InteractiveButtonReply = "button_reply"
	InteractiveListReply   = "list_reply"
)

// InboundMessage is one message a WhatsApp user sent. Type-specific objects that
// Frontdesk does not interpret (image, audio, location, reaction, order, system ...)
// are kept as raw JSON; Raw holds the whole message exactly as received so that
// nothing is lost even for types this code has never seen.
type InboundMessage struct {
	// From is the sender's number; empty for a username-only sender, who is known
	// by FromUserID (BSUID) alone.
	From             string       `json:"from,omitempty"`
	FromUserID       string       `json:"from_user_id,omitempty"`
	FromParentUserID string       `json:"from_parent_user_id,omitempty"`
	ID               string       `json:"id"`
	Timestamp        Timestamp    `json:"timestamp"`
	Type             string       `json:"type"`
	Context          *Context     `json:"context,omitempty"`
	Text             *Text        `json:"text,omitempty"`
	Button           *Button      `json:"button,omitempty"`
	Interactive      *Interactive `json:"interactive,omitempty"`
	Errors           []Error      `json:"errors,omitempty"`

	Image    json.RawMessage `json:"image,omitempty"`
	Audio    json.RawMessage `json:"audio,omitempty"`
	Video    json.RawMessage `json:"video,omitempty"`
	Document json.RawMessage `json:"document,omitempty"`
	Sticker  json.RawMessage `json:"sticker,omitempty"`
	Location json.RawMessage `json:"location,omitempty"`
	Contacts json.RawMessage `json:"contacts,omitempty"`
	Reaction json.RawMessage `json:"reaction,omitempty"`
	Order    json.RawMessage `json:"order,omitempty"`
	System   json.RawMessage `json:"system,omitempty"`
	Referral json.RawMessage `json:"referral,omitempty"`

	// Raw is the complete message object as received. It is not marshalled back.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the known fields and keeps the whole object in Raw.
func (m *InboundMessage) UnmarshalJSON(b []byte) error {
	type plain InboundMessage // no methods: avoids recursion
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*m = InboundMessage(p)
	m.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// System is the body of a system message: the user changed their number
// (user_changed_number: WaID is the new number) or their BSUID changed
// (user_changed_user_id: UserID is the new BSUID, no number).
type System struct {
	Body   string `json:"body,omitempty"`
	Type   string `json:"type"`
	WaID   string `json:"wa_id,omitempty"`
	UserID string `json:"user_id,omitempty"`
	// ParentUserID is the new parent BSUID, when parent BSUIDs are enabled.
	ParentUserID string `json:"parent_user_id,omitempty"`
}

// System message types.
const (
	SystemUserChangedNumber = "user_changed_number"
	SystemUserChangedUserID = "user_changed_user_id"
)

// SystemNotice decodes the system object of a system message; ok is false for any
// other message.
func (m InboundMessage) SystemNotice() (System, bool) {
	if m.Type != TypeSystem || len(m.System) == 0 {
		return System{}, false
	}
	var s System
	if err := json.Unmarshal(m.System, &s); err != nil {
		return System{}, false
	}
	return s, true
}

// Context links a message to the one it answers: for button taps, ID is the wamid of
// the reminder that carried the button.
type Context struct {
	From string `json:"from,omitempty"`
	ID   string `json:"id,omitempty"`
	// Forwarded and product-inquiry details are not interpreted.
	Forwarded           bool            `json:"forwarded,omitempty"`
	FrequentlyForwarded bool            `json:"frequently_forwarded,omitempty"`
	ReferredProduct     json.RawMessage `json:"referred_product,omitempty"`
}

// Text is a free-form text message body.
type Text struct {
	Body string `json:"body"`
}

// Button is a tap on a template's quick-reply button: Payload is what the template
// send put in the button parameter.
type Button struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

// Interactive is a tap on an interactive message's reply button or list row.
type Interactive struct {
	Type        string          `json:"type"`
	ButtonReply *ReplyTap       `json:"button_reply,omitempty"`
	ListReply   *ListTap        `json:"list_reply,omitempty"`
	NFMReply    json.RawMessage `json:"nfm_reply,omitempty"`
}

// ReplyTap identifies the reply button the user tapped (ID is the id Frontdesk sent).
type ReplyTap struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// ListTap identifies the list row the user chose.
type ListTap struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// Status reports what happened to a message Frontdesk sent. Statuses arrive
// at-least-once and unordered; dedupe on ID + Status.
type Status struct {
	ID string `json:"id"`
	// RecipientID is the number the message went to; absent when it was sent to a
	// BSUID and Meta does not share the number. RecipientUserID is the BSUID.
	RecipientID           string        `json:"recipient_id,omitempty"`
	RecipientUserID       string        `json:"recipient_user_id,omitempty"`
	RecipientParentUserID string        `json:"recipient_parent_user_id,omitempty"`
	Status                string        `json:"status"`
	Timestamp             Timestamp     `json:"timestamp"`
	Conversation          *Conversation `json:"conversation,omitempty"`
	Pricing               *Pricing      `json:"pricing,omitempty"`
	Errors                []Error       `json:"errors,omitempty"`
	BizOpaqueCallbackData string        `json:"biz_opaque_callback_data,omitempty"`
	GroupID               string        `json:"group_id,omitempty"`
}

// Conversation is the billing conversation a status belongs to.
type Conversation struct {
	ID                  string             `json:"id"`
	ExpirationTimestamp Timestamp          `json:"expiration_timestamp,omitempty"`
	Origin              ConversationOrigin `json:"origin"`
}

// ConversationOrigin says what opened the conversation (utility, service ...).
type ConversationOrigin struct {
	Type string `json:"type"`
}

// Pricing is how Meta bills the message.
type Pricing struct {
	Billable     bool   `json:"billable"`
	PricingModel string `json:"pricing_model"`
	Category     string `json:"category"`
	Type         string `json:"type,omitempty"`
}

// Error is an error object inside a webhook (failed status, unsupported message,
// or a value-level error). Code uses the same numbers as Graph API errors, so
// ClassifyCode applies.
type Error struct {
	Code      int        `json:"code"`
	Title     string     `json:"title,omitempty"`
	Message   string     `json:"message,omitempty"`
	ErrorData *ErrorData `json:"error_data,omitempty"`
	Href      string     `json:"href,omitempty"`
}

// ErrorData carries Meta's human-readable detail.
type ErrorData struct {
	MessagingProduct string `json:"messaging_product,omitempty"`
	Details          string `json:"details"`
}

// Timestamp is a Unix time in seconds. Meta sends it as a string in messages and
// statuses but as a number in some group events, so both are accepted; the original
// spelling is kept so a re-marshalled payload is unchanged.
type Timestamp string

// UnmarshalJSON accepts "1749416383" and 1749416383.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*t = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Timestamp(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("timestamp: want string or number, got %s", b)
	}
	*t = Timestamp(n.String())
	return nil
}

// Time converts to time.Time in UTC.
func (t Timestamp) Time() (time.Time, error) {
	sec, err := strconv.ParseInt(string(t), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("whatsapp: timestamp %q: %w", string(t), err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// ErrNotWhatsApp means the body parsed but is not a WhatsApp Business Account webhook.
var ErrNotWhatsApp = errors.New("whatsapp: not a whatsapp_business_account notification")

// ParseNotification decodes a webhook body. Verify the signature over the same bytes
// first. Unknown fields are ignored (Meta adds fields without notice); a wrong
// `object` is an error so that a misrouted webhook is noticed.
func ParseNotification(body []byte) (Notification, error) {
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return Notification{}, fmt.Errorf("whatsapp: parse notification: %w", err)
	}
	if n.Object != ObjectWhatsAppBusinessAccount {
		return Notification{}, fmt.Errorf("whatsapp: parse notification: object %q: %w", n.Object, ErrNotWhatsApp)
	}
	return n, nil
}
