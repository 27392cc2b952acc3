// Package handoff is the application service behind the conversation record: the
// inbox hands conversations to staff through it, and the conversation API (and the
// staff console after it) lists, reads, answers and closes them through it. Every
// read and reply is written to the audit trail here, so no caller can skip it.
package handoff

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/metrics"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/thread"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// ConversationStore is the conversations half of Store: conversations, their
// threads and the audit trail.
type ConversationStore interface {
	ConversationOfContact(ctx context.Context, clinicID, contactKey string) (thread.Conversation, bool, error)
	GetConversation(ctx context.Context, clinicID, id string) (thread.Conversation, error)
	CreateConversation(ctx context.Context, c thread.Conversation, retention time.Duration, replaces string) error
	SaveConversation(ctx context.Context, c thread.Conversation, retention time.Duration) error
	AppendThreadMessage(ctx context.Context, clinicID string, m thread.Message, retention time.Duration) (bool, error)
	MarkThreadMessage(ctx context.Context, clinicID string, m thread.Message) error
	AdvanceThreadMessage(ctx context.Context, clinicID, wamid, status string) (bool, error)
	ThreadMessages(ctx context.Context, clinicID, conversationID, cursor string, limit int) ([]thread.Message, string, error)
	ListConversations(ctx context.Context, clinicID string, st thread.State, cursor string, limit int) ([]thread.Conversation, string, error)
	AppendAudit(ctx context.Context, e thread.AuditEntry) error
	AuditTrail(ctx context.Context, clinicID string, from, to time.Time, cursor string, limit int) ([]thread.AuditEntry, string, error)
}

// Store is what the service needs from storage (the DynamoDB store).
type Store interface {
	ConversationStore
	GetContact(ctx context.Context, clinicID, key string) (contact.Contact, error)
	ConsentLedger(ctx context.Context, clinicID, patientID string) ([]consent.Entry, error)
	PutMessage(ctx context.Context, m messagelog.Record) (bool, error)
}

// Outbox puts staff messages on the outbound queue as staff_reply jobs
// (queue.ReminderOutbox): the sender paces them with the number's other sends,
// re-checks the window and the opt-out, and tells the thread message what became
// of it through Tracker.
type Outbox interface {
	PublishJobs(ctx context.Context, jobs ...outbound.Job) error
}

// Alert is what the on-call person learns of an urgent conversation: where to
// look, no patient data.
type Alert struct {
	ClinicID       string `json:"clinicId"`
	ConversationID string `json:"conversationId"`
	URL            string `json:"url"`
	At             time.Time
}

// Alerter publishes urgent conversations (SNS in AWS, a log line in make dev).
type Alerter interface {
	Alert(ctx context.Context, a Alert) error
}

// Metrics records the clinic's numbers (metrics.Recorder); the service counts the
// time from a hand-off to staff's first answer.
type Metrics interface {
	Record(ctx context.Context, facts ...metrics.Fact) error
}

// Service keeps conversations.
type Service struct {
	Store   Store
	Outbox  Outbox
	Alerter Alerter
	Clock   platform.Clock
	Log     *slog.Logger
	Metrics Metrics // nil counts nothing
	// APIBaseURL makes conversation URLs absolute in callbacks and alerts; empty
	// gives the path alone.
	APIBaseURL string
}

// Inbound is one message from a contact, as the inbox saw it.
type Inbound struct {
	ContactKey string
	ReplyTo    string // where replies go; the contact key when empty
	Language   string // the contact's language (BCP 47); the clinic's default when empty
	PatientIDs []string
	GivenName  string // when one patient is on the number
	MessageID  string // messagelog.ID of the wamid
	At         time.Time
	Type       string
	Text       string
	Choice     string
}

var idPattern = regexp.MustCompile(`^cnv_[0-9a-f]{32}$`)

// ValidID reports whether id can name a conversation; callers check path ids with
// it before any lookup.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Path is the conversation's route under the API.
func Path(clinicID, id string) string { return "/v1/clinics/" + clinicID + "/conversations/" + id }

// URL is the conversation's address for callbacks and alerts.
func (s *Service) URL(clinicID, id string) string { return s.APIBaseURL + Path(clinicID, id) }

const maxSaveAttempts = 5

func newID(clinicID, messageID string) string {
	sum := sha256.Sum256([]byte("frontdesk-conversation:" + clinicID + ":" + messageID))
	return "cnv_" + hex.EncodeToString(sum[:16])
}

// Ref names a conversation for callbacks: its id and URL, never its content.
type Ref struct {
	ID  string
	URL string
}

// HandOff puts the message in the contact's conversation and opens it for staff
// with reason and urgency; an urgent conversation is alerted when it becomes urgent.
func (s *Service) HandOff(ctx context.Context, c clinic.Clinic, in Inbound, reason, urgency string) (Ref, error) {
	conv, err := s.record(ctx, c, in, func(conv *thread.Conversation) { conv.Escalate(reason, urgency, in.At) }, true)
	return Ref{ID: conv.ID, URL: s.URL(c.ID, conv.ID)}, err
}

// Received puts a message the bot answered in the contact's conversation when it
// has one. It does not reopen a closed conversation (a tap on Confirm needs no
// person); a message that does goes through HandOff. It sends staff text that was
// waiting for the patient to write.
func (s *Service) Received(ctx context.Context, c clinic.Clinic, in Inbound) (found bool, err error) {
	conv, err := s.record(ctx, c, in, nil, false)
	return conv.ID != "", err
}

func (s *Service) record(ctx context.Context, c clinic.Clinic, in Inbound, escalate func(*thread.Conversation), create bool) (thread.Conversation, error) {
	retention := thread.Retention(c.ConversationRetentionDays)
	appended := false // by an earlier attempt of this call, which then lost a race
	for attempt := 1; ; attempt++ {
		conv, found, err := s.Store.ConversationOfContact(ctx, c.ID, in.ContactKey)
		if err != nil {
			return conv, fmt.Errorf("handoff: %w", err)
		}
		if !found && !create {
			return thread.Conversation{}, nil
		}
		expired := ""
		if !found {
			expired = conv.ID // the contact's conversation that expired, if any
			// Derived from the message, so a retry of it after a failed write creates
			// the same conversation rather than a second one.
			conv = thread.Conversation{ClinicID: c.ID, ID: newID(c.ID, in.MessageID), ContactKey: in.ContactKey,
				State: thread.Closed, Revision: -1}
		}
		added, err := s.Store.AppendThreadMessage(ctx, c.ID, thread.Message{ConversationID: conv.ID, ID: in.MessageID, At: in.At,
			Direction: thread.Inbound, Author: thread.Patient, Type: in.Type, Text: in.Text, Choice: in.Choice,
			Status: thread.StatusReceived}, retention)
		if err != nil {
			return conv, fmt.Errorf("handoff: %w", err)
		}
		added = added || appended
		appended = added
		wasUrgent := conv.State == thread.Open && conv.Urgency == thread.Urgent
		switch {
		case !found || (added && (escalate != nil || conv.State == thread.Open)):
			conv.Receive(in.At)
		case added:
			conv.Note(in.At)
		}
		if escalate != nil {
			escalate(&conv)
		}
		conv.PatientIDs, conv.GivenName = in.PatientIDs, in.GivenName
		if in.ReplyTo != "" {
			conv.ReplyTo = in.ReplyTo
		}
		if in.Language != "" {
			conv.Language = in.Language
		}
		if !wasUrgent && conv.State == thread.Open && conv.Urgency == thread.Urgent && s.Alerter != nil {
			// Before the save: a failed save retries the whole message, and a second
			// alert is better than none.
			if err := s.Alerter.Alert(ctx, Alert{ClinicID: c.ID, ConversationID: conv.ID, URL: s.URL(c.ID, conv.ID), At: in.At}); err != nil {
				return conv, fmt.Errorf("handoff: alert: %w", err)
			}
		}
		if !found {
			conv.Revision = 0
			err = s.Store.CreateConversation(ctx, conv, retention, expired)
		} else {
			err = s.Store.SaveConversation(ctx, conv, retention)
		}
		if errors.Is(err, fault.ErrConflict) && attempt < maxSaveAttempts {
			continue // a concurrent message or reply: read again
		}
		if err != nil {
			return conv, fmt.Errorf("handoff: %w", err)
		}
		conv.Revision++
		if conv.Pending != nil && conv.InWindow(s.now()) {
			return s.sendPending(ctx, c, conv, retention)
		}
		return conv, nil
	}
}

// BotSaid records Frontdesk's own answer in the contact's conversation, if any.
func (s *Service) BotSaid(ctx context.Context, c clinic.Clinic, contactKey string, m thread.Message) error {
	return botSaid(ctx, s.Store, c, contactKey, m)
}

// BotStore is what adding a bot reply to a thread needs.
type BotStore interface {
	ConversationOfContact(ctx context.Context, clinicID, contactKey string) (thread.Conversation, bool, error)
	GetConversation(ctx context.Context, clinicID, id string) (thread.Conversation, error)
	SaveConversation(ctx context.Context, c thread.Conversation, retention time.Duration) error
	AppendThreadMessage(ctx context.Context, clinicID string, m thread.Message, retention time.Duration) (bool, error)
}

func botSaid(ctx context.Context, store BotStore, c clinic.Clinic, contactKey string, m thread.Message) error {
	conv, found, err := store.ConversationOfContact(ctx, c.ID, contactKey)
	if err != nil || !found {
		return err
	}
	m.ConversationID, m.Direction, m.Author = conv.ID, thread.Outbound, thread.Frontdesk
	retention := thread.Retention(c.ConversationRetentionDays)
	if _, err := store.AppendThreadMessage(ctx, c.ID, m, retention); err != nil {
		return fmt.Errorf("handoff: %w", err)
	}
	for attempt := 1; attempt <= maxSaveAttempts; attempt++ {
		conv.Sent(m.At)
		err = store.SaveConversation(ctx, conv, retention)
		if !errors.Is(err, fault.ErrConflict) {
			break
		}
		if conv, err = store.GetConversation(ctx, c.ID, conv.ID); err != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("handoff: %w", err)
	}
	return nil
}

// sendPending sends the staff text that waited for the patient to open the window.
// The conversation is saved without it first, so two messages arriving together
// send it once; a failed send marks the message failed for staff to see.
func (s *Service) sendPending(ctx context.Context, c clinic.Clinic, conv thread.Conversation, retention time.Duration) (thread.Conversation, error) {
	p := *conv.Pending
	conv.Pending = nil
	if err := s.Store.SaveConversation(ctx, conv, retention); err != nil {
		if errors.Is(err, fault.ErrConflict) {
			return conv, nil // someone else took it
		}
		return conv, fmt.Errorf("handoff: take pending reply: %w", err)
	}
	conv.Revision++
	p.Status = thread.StatusQueued
	err := s.Store.MarkThreadMessage(ctx, c.ID, p)
	if err == nil {
		err = s.queueText(ctx, c, conv, p)
	}
	if err != nil {
		s.log().Error("handoff pending reply failed", "clinic_id", c.ID, "conversation_id", conv.ID, "error", err.Error())
		p.Status = thread.StatusFailed
		if err := s.Store.MarkThreadMessage(ctx, c.ID, p); err != nil {
			return conv, fmt.Errorf("handoff: %w", err)
		}
	}
	s.log().Info("handoff pending reply queued", "clinic_id", c.ID, "conversation_id", conv.ID, "status", p.Status)
	return conv, nil
}

// queueText publishes staff text m (already in the thread) as a staff_reply job.
func (s *Service) queueText(ctx context.Context, c clinic.Clinic, conv thread.Conversation, m thread.Message) error {
	msg, err := whatsapp.TextMessage(replyTo(conv), m.Text)
	if err != nil {
		return err
	}
	return s.publish(ctx, c, conv, m, msg, false)
}

// publish puts msg on the outbound queue for thread message m. The sender sends
// it once however often the job is delivered (its key is the message's), records
// the wamid on m before the message log gets it (the inbox applies Meta's statuses
// only once the log has the message, so they then find the thread's copy too), or
// marks m failed with the reason.
func (s *Service) publish(ctx context.Context, c clinic.Clinic, conv thread.Conversation, m thread.Message, msg whatsapp.Message, reopen bool) error {
	job := outbound.Job{Type: outbound.KindStaffReply, Job: reminder.Job{ClinicID: c.ID}, ContactKey: conv.ContactKey,
		Key: "staff_reply:" + c.ID + ":" + m.ID, Message: &msg, WindowEndsAt: conv.WindowOpenUntil(), Ref: jobRef(m, reopen)}
	if reopen {
		job.Key += ":reopen"
	}
	if len(conv.PatientIDs) == 1 {
		job.PatientID = conv.PatientIDs[0]
	}
	// The service let this answer through an opt-out the patient wrote after (see
	// standingOptOut): the sender holds it back only for an opt-out said later.
	job.AnsweredOptOut = conv.OptedOutAt
	if err := s.Outbox.PublishJobs(ctx, job); err != nil {
		return fmt.Errorf("queue %s: %w", msg.Type, err)
	}
	return nil
}

func replyTo(c thread.Conversation) string {
	if c.ReplyTo != "" {
		return c.ReplyTo
	}
	return c.ContactKey
}

// Delivery moves a thread message to a status Meta reported (sent, delivered,
// read, failed); a message not in any thread, or already further, is left alone.
func (s *Service) Delivery(ctx context.Context, clinicID, wamid, status string) error {
	if _, err := s.Store.AdvanceThreadMessage(ctx, clinicID, wamid, status); err != nil {
		return fmt.Errorf("handoff: %w", err)
	}
	return nil
}

// Page is one page of a listing.
type Page[T any] struct {
	Items []T
	Next  string
}

// List returns a clinic's conversations in the given states (each state in turn;
// the cursor remembers which), urgent first, then newest.
func (s *Service) List(ctx context.Context, clinicID, actor string, states []thread.State, stateIndex int, cursor string, limit int) (Page[thread.Conversation], int, error) {
	var page Page[thread.Conversation]
	if err := s.audit(ctx, clinicID, actor, thread.AuditList, "", ""); err != nil {
		return page, 0, err
	}
	for i := stateIndex; i < len(states); i++ {
		items, next, err := s.Store.ListConversations(ctx, clinicID, states[i], cursor, limit-len(page.Items))
		if err != nil {
			return page, 0, err
		}
		page.Items = append(page.Items, items...)
		if next != "" {
			page.Next = next
			return page, i, nil
		}
		cursor = ""
		if len(page.Items) >= limit && i+1 < len(states) {
			return page, i + 1, nil // the next page starts the next state
		}
	}
	return page, len(states), nil
}

// Thread returns a page of the conversation's messages, oldest first, and marks it
// read. The read is audited before anything is returned.
func (s *Service) Thread(ctx context.Context, c clinic.Clinic, actor, id, cursor string, limit int) (thread.Conversation, Page[thread.Message], error) {
	var page Page[thread.Message]
	clinicID := c.ID
	conv, err := s.Store.GetConversation(ctx, clinicID, id)
	if err != nil {
		return conv, page, err
	}
	items, next, err := s.Store.ThreadMessages(ctx, clinicID, id, cursor, limit)
	if err != nil {
		return conv, page, err
	}
	if err := s.audit(ctx, clinicID, actor, thread.AuditRead, id, ""); err != nil {
		return conv, page, err
	}
	if conv.Unread > 0 {
		conv.Unread = 0
		// Losing this race to a new message only leaves a count to clear next time.
		if err := s.Store.SaveConversation(ctx, conv, thread.Retention(c.ConversationRetentionDays)); err != nil && !errors.Is(err, fault.ErrConflict) {
			return conv, page, err
		}
	}
	page.Items, page.Next = items, next
	return conv, page, nil
}

// Reply errors the API maps to its problem types.
var (
	ErrWindowClosed  = thread.ErrWindowClosed
	ErrOptedOut      = thread.ErrOptedOut
	ErrReopenPending = thread.ErrReopenPending
)

// Reply sends staff text to the contact: free-form inside the 24-hour window;
// outside it, with Template "reopen", the reopen template now and the text when
// the patient answers. Checked in full before anything is sent or stored.
func (s *Service) Reply(ctx context.Context, c clinic.Clinic, actor, id string, r thread.Reply) (thread.Message, error) {
	retention := thread.Retention(c.ConversationRetentionDays)
	conv, err := s.Store.GetConversation(ctx, c.ID, id)
	if err != nil {
		return thread.Message{}, err
	}
	if conv.OptedOutAt, err = s.standingOptOut(ctx, c.ID, conv); err != nil {
		return thread.Message{}, err
	}
	now := s.now()
	switch {
	case !conv.MayReply():
		return thread.Message{}, ErrOptedOut
	case !conv.InWindow(now) && r.Template != thread.TemplateReopen:
		return thread.Message{}, ErrWindowClosed
	case !conv.InWindow(now) && conv.Pending != nil:
		return thread.Message{}, ErrReopenPending
	}
	m := thread.Message{ConversationID: id, ID: "msg_" + platform.NewID()[:24], At: now, Direction: thread.Outbound,
		Author: thread.Staff, AuthorName: r.Author, Type: whatsapp.TypeText, Text: r.Text}
	firstAnswer, handedOffAt := conv.AwaitsFirstAnswer(), conv.OpenedAt
	if err := s.audit(ctx, c.ID, actor, thread.AuditReply, id, m.ID); err != nil {
		return m, err
	}
	if conv.InWindow(now) {
		// In the thread before its job exists, so the sender's completion finds it.
		m.Status = thread.StatusQueued
		if _, err := s.Store.AppendThreadMessage(ctx, c.ID, m, retention); err != nil {
			return m, fmt.Errorf("handoff: %w", err)
		}
		if err := s.queueText(ctx, c, conv, m); err != nil {
			m.Status = thread.StatusFailed
			if merr := s.Store.MarkThreadMessage(context.WithoutCancel(ctx), c.ID, m); merr != nil {
				err = errors.Join(err, merr)
			}
			return m, fmt.Errorf("handoff: %w", err)
		}
	} else {
		msg, err := reopenTemplate(replyTo(conv), conv.Language, c)
		if err != nil {
			return m, fmt.Errorf("handoff: reopen template: %w", err)
		}
		if err := s.publish(ctx, c, conv, m, msg, true); err != nil {
			return m, fmt.Errorf("handoff: %w", err)
		}
		m.Status = thread.StatusPending
		if _, err := s.Store.AppendThreadMessage(ctx, c.ID, m, retention); err != nil {
			return m, fmt.Errorf("handoff: %w", err)
		}
	}
	for attempt := 1; ; attempt++ {
		conv.Sent(now)
		conv.Answered(now)
		if m.Status == thread.StatusPending {
			p := m
			conv.Pending = &p
		}
		err := s.Store.SaveConversation(ctx, conv, retention)
		if err == nil {
			break
		}
		if !errors.Is(err, fault.ErrConflict) || attempt == maxSaveAttempts {
			return m, fmt.Errorf("handoff: %w", err)
		}
		if conv, err = s.Store.GetConversation(ctx, c.ID, id); err != nil {
			return m, err
		}
	}
	if firstAnswer {
		s.countAnswer(ctx, c, id, handedOffAt, now)
	}
	s.log().Info("handoff staff reply", "clinic_id", c.ID, "conversation_id", id, "message_id", m.ID, "status", m.Status)
	return m, nil
}

// countAnswer counts the time from the hand-off that opened the conversation to
// staff's first answer (a reopen template included: staff answered, the patient
// gets the text once they write). The hand-off is named by the conversation and
// its opening time, so a concurrent or retried first answer counts once. The
// reply is already sent: a failed count is logged, not returned, so staff are not
// asked to send it again.
func (s *Service) countAnswer(ctx context.Context, c clinic.Clinic, id string, handedOffAt, answeredAt time.Time) {
	if s.Metrics == nil {
		return
	}
	handOffID := id + "@" + handedOffAt.UTC().Format(time.RFC3339Nano)
	if err := s.Metrics.Record(ctx, metrics.HandOffAnswered(c.ID, c.TimeZone, handOffID, handedOffAt, answeredAt)...); err != nil {
		s.log().Error("handoff answer not counted", "clinic_id", c.ID, "conversation_id", id, "error", err.Error())
	}
}

// standingOptOut is when the contact's number went silent, zero when it did not:
// its own STOP stands, or every patient on it is opted out (their ledgers merged
// with the number's STOP), as the inbox decides for its own answers.
func (s *Service) standingOptOut(ctx context.Context, clinicID string, conv thread.Conversation) (time.Time, error) {
	ct, err := s.Store.GetContact(ctx, clinicID, conv.ContactKey)
	if err != nil {
		return time.Time{}, fmt.Errorf("handoff: %w", err)
	}
	if ct.OptedOut() {
		return ct.Consent.At, nil
	}
	var latest time.Time
	for _, id := range conv.PatientIDs {
		ledger, err := s.Store.ConsentLedger(ctx, clinicID, id)
		if err != nil {
			return time.Time{}, fmt.Errorf("handoff: %w", err)
		}
		applied := consent.Applied(append(ledger, ct.Statements()...))
		if consent.Current(applied) != consent.OptedOut {
			return time.Time{}, nil // someone on the number may still be written to
		}
		if at := consent.Sorted(applied)[len(applied)-1].At; at.After(latest) {
			latest = at
		}
	}
	return latest, nil
}

// reopenTemplate is the approved template that asks the patient to open the window;
// its button names no appointment and carries the pending kind "staff_reply".
func reopenTemplate(to, lang string, c clinic.Clinic) (whatsapp.Message, error) {
	t, err := reminder.TemplateNamed(reminder.TemplateReopen, lang, c.DefaultLanguage)
	if err != nil {
		return whatsapp.Message{}, err
	}
	return reminder.Message(to, t, reminder.Vars{Clinic: c.Name, ClinicID: c.ID, Generation: PendingStaffReply})
}

// PendingStaffReply is the reopen button's pending kind for a staff text: the
// inbox sends no bot answer for its tap, the conversation sends the text.
const PendingStaffReply = "staff_reply"

// Close ends the hand-off.
func (s *Service) Close(ctx context.Context, c clinic.Clinic, actor, id string) (thread.Conversation, error) {
	for attempt := 1; ; attempt++ {
		conv, err := s.Store.GetConversation(ctx, c.ID, id)
		if err != nil {
			return conv, err
		}
		if conv.State == thread.Closed {
			return conv, nil
		}
		conv.Close(s.now())
		err = s.Store.SaveConversation(ctx, conv, thread.Retention(c.ConversationRetentionDays))
		if errors.Is(err, fault.ErrConflict) && attempt < maxSaveAttempts {
			continue
		}
		if err != nil {
			return conv, fmt.Errorf("handoff: %w", err)
		}
		return conv, s.audit(ctx, c.ID, actor, thread.AuditClose, id, "")
	}
}

// Audit returns the clinic's audit trail between from and to.
func (s *Service) Audit(ctx context.Context, clinicID string, from, to time.Time, cursor string, limit int) (Page[thread.AuditEntry], error) {
	items, next, err := s.Store.AuditTrail(ctx, clinicID, from, to, cursor, limit)
	return Page[thread.AuditEntry]{Items: items, Next: next}, err
}

func (s *Service) audit(ctx context.Context, clinicID, actor, action, conversationID, messageID string) error {
	e := thread.AuditEntry{ClinicID: clinicID, ID: platform.NewID(), At: s.now(), Actor: actor, Action: action,
		ConversationID: conversationID, MessageID: messageID}
	if err := s.Store.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("handoff: audit %s: %w", action, err)
	}
	return nil
}

func (s *Service) now() time.Time { return platform.NowOf(s.Clock) }

func (s *Service) log() *slog.Logger { return platform.LoggerOrDiscard(s.Log) }
