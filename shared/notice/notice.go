// Package notice is what Frontdesk tells a patient outside an appointment's
// reminders: that something is ready (results, a prescription, a document), that
// a recall visit is due, or a question about a visit (a 1-5 score). A notice
// carries no health information: its message says that something is ready or
// due and where to get it, never what it is. Pure Go.
package notice

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// Kind is what a notice says.
type Kind string

// Notice kinds.
const (
	KindLabReady      Kind = "lab_ready"
	KindRxReady       Kind = "rx_ready"
	KindDocumentReady Kind = "document_ready"
	KindRecallDue     Kind = "recall_due"
	KindFeedback      Kind = "feedback"
)

// Kinds lists every kind, in the order the API documents them.
var Kinds = []Kind{KindLabReady, KindRxReady, KindDocumentReady, KindRecallDue, KindFeedback}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Template is the kind's WhatsApp template (sent outside the 24-hour window).
func (k Kind) Template() string {
	switch k {
	case KindLabReady:
		return reminder.TemplateNoticeLabReady
	case KindRxReady:
		return reminder.TemplateNoticeRxReady
	case KindDocumentReady:
		return reminder.TemplateNoticeDocumentReady
	case KindRecallDue:
		return reminder.TemplateNoticeRecallDue
	case KindFeedback:
		return reminder.TemplateFeedbackRequest
	}
	return ""
}

// NeedsContact reports whether the kind points the patient to the clinic's portal
// or phone; the clinic file must then have one.
func (k Kind) NeedsContact() bool { return k != KindFeedback }

// State is where a notice is on its way to the patient.
type State string

// Notice states. queued: accepted, waiting for its send. sent, delivered, read:
// as Meta reports. failed: it cannot be sent (Reason says why) and the clinic was
// told with message.failed. answered: a feedback question that got its score.
const (
	StateQueued    State = "queued"
	StateSent      State = "sent"
	StateDelivered State = "delivered"
	StateRead      State = "read"
	StateFailed    State = "failed"
	StateAnswered  State = "answered"
)

// Request is what the EHR asks for. DueDate is the recall's local date
// (recall_due only); AppointmentID the visit a feedback question is about.
type Request struct {
	Kind          Kind
	DueDate       string // YYYY-MM-DD
	AppointmentID string
}

// Notice is one accepted request and its state.
type Notice struct {
	ClinicID      string
	ID            string
	PatientID     string
	Kind          Kind
	DueDate       string
	AppointmentID string
	// Source is "api" for a request, "recall" or "feedback" for one the visit's
	// plan scheduled.
	Source    string
	State     State
	Reason    string
	Score     int // feedback only, once answered
	CreatedAt time.Time
	UpdatedAt time.Time
	// NotBefore is when it may be sent (a scheduled recall or feedback question).
	NotBefore time.Time
}

// Sources.
const (
	SourceAPI      = "api"
	SourceRecall   = "recall"
	SourceFeedback = "feedback"
)

// ID derives a notice id from what makes it unique, so a retried request, a
// redelivered EHR update or a re-run plan finds the notice it already created
// instead of making a second one.
func ID(clinicID string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(clinicID))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return "ntc_" + hex.EncodeToString(h.Sum(nil))[:24]
}

// RecallID is the id of the recall a fulfilled appointment schedules: one per
// appointment however often the EHR repeats its update.
func RecallID(clinicID, appointmentID string) string {
	return ID(clinicID, SourceRecall, appointmentID)
}

// FeedbackID is the id of the question a fulfilled appointment schedules.
func FeedbackID(clinicID, appointmentID string) string {
	return ID(clinicID, SourceFeedback, appointmentID)
}

// Vars are the template's values: the patient's given name, the clinic's name, its
// portal link or phone (from the clinic file) and, for recalls and feedback, a
// local date. Nothing from the request's free text reaches a message: the request
// has none.
func Vars(n Notice, givenName, clinicName, contact string, loc *time.Location, lang string, visit time.Time) (reminder.Vars, error) {
	v := reminder.Vars{GivenName: givenName, Clinic: clinicName, Contact: contact, ClinicID: n.ClinicID}
	switch n.Kind {
	case KindRecallDue:
		d, err := time.ParseInLocation(time.DateOnly, n.DueDate, loc)
		if err != nil {
			return reminder.Vars{}, fmt.Errorf("notice: recall date %q: %w", n.DueDate, err)
		}
		v.Date = reminder.FormatDate(d, loc, lang)
	case KindFeedback:
		if visit.IsZero() {
			return reminder.Vars{}, fmt.Errorf("notice: feedback %s has no visit time", n.ID)
		}
		v.Date = reminder.FormatDate(visit, loc, lang)
	}
	return v, nil
}

// Due says that a queued notice must be looked at from At on: when its NotBefore
// arrives, or, for a notice sent at once, a little later in case that send never
// happened. The dispatcher finds these without scanning notices.
type Due struct {
	ClinicID  string
	PatientID string
	NoticeID  string
	At        time.Time
}

// UsefulUntil is when a notice stops being worth sending: Useful after it was
// accepted or, for a scheduled one, after its NotBefore.
func (n Notice) UsefulUntil(useful time.Duration) time.Time {
	from := n.CreatedAt
	if n.NotBefore.After(from) {
		from = n.NotBefore
	}
	return from.Add(useful)
}
