// Package notices accepts notices for patients (something ready, a recall due, a
// feedback question), builds their template message and hands it to the outbound
// path, and records what happened to them. The message is built here, from the
// clinic file and the patient's given name only; the sender re-checks the
// number's opt-out and the job's expiry when it sends.
package notices

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/notice"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// Store is what the service reads and writes (the DynamoDB store).
type Store interface {
	GetPatient(ctx context.Context, clinicID, patientID string) (appointment.Patient, error)
	GetAppointment(ctx context.Context, clinicID, id string) (appointment.Appointment, []reminder.Reminder, error)
	ConsentLedger(ctx context.Context, clinicID, patientID string) ([]consent.Entry, error)
	ContactOfPhone(ctx context.Context, clinicID, phone string) (contact.Contact, error)
	CreateNotice(ctx context.Context, n notice.Notice) (notice.Notice, bool, error)
	GetNotice(ctx context.Context, clinicID, patientID, id string) (notice.Notice, error)
	SetNoticeState(ctx context.Context, n notice.Notice, state notice.State, reason string, from ...notice.State) error
	DeleteNoticeDue(ctx context.Context, clinicID, noticeID string) error
}

// Send is one notice ready for the outbound path: its template message, the
// number whose STOP the sender re-checks, and when it stops being useful.
type Send struct {
	Notice     notice.Notice
	Message    whatsapp.Message
	ContactKey string
	ExpiresAt  time.Time
	// PhoneNumberID is the clinic's WhatsApp number the notice goes out from.
	PhoneNumberID string
	// NotBefore holds the send until the clinic's quiet hours end.
	NotBefore time.Time
	// WindowEndsAt, set for a message that is not a template (the feedback list),
	// is when the patient's 24-hour window closes: it must not be sent after.
	WindowEndsAt time.Time
}

// Outbox puts a notice on the outbound path, lowest priority. Publishing the same
// notice twice must send it once (the job's key is the notice id).
type Outbox interface {
	EnqueueNotice(ctx context.Context, s Send) error
}

// Events tells the clinic about a notice that cannot be sent (queue.EventOutbox).
type Events interface {
	Publish(ctx context.Context, evs ...clinic.Event) error
}

// Service accepts notices.
type Service struct {
	Store  Store
	Outbox Outbox
	Events Events
	Clock  platform.Clock
	Log    *slog.Logger
}

// Errors the API maps to 4xx.
var (
	ErrUnknownPatient     = errors.New("notices: unknown patient")
	ErrUnknownAppointment = errors.New("notices: unknown appointment for this patient")
	ErrNoContact          = errors.New("notices: the clinic file has no portalUrl or phone for the patient to get it")
)

// Useful is how long a notice is worth sending after it was accepted.
const Useful = 72 * time.Hour

// Why a notice was not sent.
const (
	ReasonOptedOut  = "opted_out"
	ReasonNoConsent = "no_consent"
	ReasonNoAddress = "no_address"
	// ReasonExpired: its time came while it could not be sent (a dispatch outage)
	// and it is no longer useful.
	ReasonExpired = "expired"
)

// Create accepts a request. key makes it idempotent (the request's webhook-id):
// the same key finds the notice it created. The checks that make it a 4xx run
// before anything is stored.
func (s *Service) Create(ctx context.Context, c clinic.Clinic, patientID, key string, req notice.Request) (notice.Notice, error) {
	if req.Kind.NeedsContact() && c.NoticeContact() == "" {
		return notice.Notice{}, ErrNoContact
	}
	if _, err := s.Store.GetPatient(ctx, c.ID, patientID); err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			return notice.Notice{}, ErrUnknownPatient
		}
		return notice.Notice{}, fmt.Errorf("notices: create: %w", err)
	}
	if req.Kind == notice.KindFeedback {
		a, _, err := s.Store.GetAppointment(ctx, c.ID, req.AppointmentID)
		if errors.Is(err, fault.ErrNotFound) || err == nil && a.PatientID != patientID {
			return notice.Notice{}, ErrUnknownAppointment
		}
		if err != nil {
			return notice.Notice{}, fmt.Errorf("notices: create: %w", err)
		}
	}
	now := s.Clock.Now().UTC()
	n := notice.Notice{ClinicID: c.ID, ID: notice.ID(c.ID, "api", key), PatientID: patientID, Kind: req.Kind,
		DueDate: req.DueDate, AppointmentID: req.AppointmentID, Source: notice.SourceAPI, State: notice.StateQueued,
		CreatedAt: now, UpdatedAt: now}
	if loc, err := c.Location(); err == nil {
		// Quiet hours hold a notice as they hold a reminder: it waits for their end.
		if _, until, quiet := c.QuietHours.Period(now, loc); quiet {
			n.NotBefore = until.UTC()
		}
	}
	return s.Accept(ctx, c, n)
}

// Accept stores n (once) and hands a queued notice that is due to the outbound
// path; one scheduled for later (NotBefore) is stored with a due marker, and the
// Dispatcher hands it on when its time comes. A notice that cannot go out (no
// consent, no address) is failed and the clinic is told. Running it again for the
// same notice is harmless: a queued notice is enqueued again under the same key,
// which the sender sends once.
func (s *Service) Accept(ctx context.Context, c clinic.Clinic, n notice.Notice) (notice.Notice, error) {
	stored, _, err := s.Store.CreateNotice(ctx, n)
	if err != nil {
		return notice.Notice{}, fmt.Errorf("notices: store %s: %w", n.ID, err)
	}
	if stored.State != notice.StateQueued || s.Clock.Now().Before(stored.NotBefore) {
		return stored, nil
	}
	out, err := s.release(ctx, c, stored)
	if err != nil {
		return notice.Notice{}, err
	}
	if out.failed {
		return s.Store.GetNotice(ctx, n.ClinicID, n.PatientID, n.ID)
	}
	return stored, nil
}

// released is what release did with a due notice: held to the end of quiet hours
// (holdUntil), failed, or (neither) handed to the Outbox.
type released struct {
	holdUntil time.Time
	failed    bool
}

// release settles a queued notice whose time came, with the checks of the moment
// it goes out: usefulness, quiet hours, the patient's address and consent, the
// 24-hour window (which decides the feedback question's form). A notice handed on
// or failed has its due marker removed.
func (s *Service) release(ctx context.Context, c clinic.Clinic, n notice.Notice) (released, error) {
	now := s.Clock.Now()
	if !now.Before(n.UsefulUntil(Useful)) {
		if _, err := s.fail(ctx, n, ReasonExpired); err != nil {
			return released{}, err
		}
		s.doneWith(ctx, n.ClinicID, n.ID)
		return released{failed: true}, nil
	}
	if loc, err := c.Location(); err == nil {
		if _, until, quiet := c.QuietHours.Period(now, loc); quiet {
			return released{holdUntil: until.UTC()}, nil
		}
	}
	send, reason, err := s.prepare(ctx, c, n)
	if err != nil {
		return released{}, err
	}
	if reason != "" {
		if _, err := s.fail(ctx, n, reason); err != nil {
			return released{}, err
		}
		s.doneWith(ctx, n.ClinicID, n.ID)
		return released{failed: true}, nil
	}
	if err := s.Outbox.EnqueueNotice(ctx, send); err != nil {
		return released{}, fmt.Errorf("notices: enqueue %s: %w", n.ID, err)
	}
	s.log().Info("notice.enqueued", "clinic_id", c.ID, "notice_id", n.ID, "kind", string(n.Kind), "form", send.Message.Type)
	s.doneWith(ctx, n.ClinicID, n.ID)
	return released{}, nil
}

// doneWith removes a settled notice's due marker. A marker left behind by a failed
// delete comes due later and is found settled then, so the failure is only logged.
func (s *Service) doneWith(ctx context.Context, clinicID, noticeID string) {
	if err := s.Store.DeleteNoticeDue(context.WithoutCancel(ctx), clinicID, noticeID); err != nil {
		s.log().Warn("notice.due_not_removed", "clinic_id", clinicID, "notice_id", noticeID, "error", err.Error())
	}
}

// Get reads a notice.
func (s *Service) Get(ctx context.Context, clinicID, patientID, id string) (notice.Notice, error) {
	return s.Store.GetNotice(ctx, clinicID, patientID, id)
}

// prepare builds the template send, or says why there is none.
func (s *Service) prepare(ctx context.Context, c clinic.Clinic, n notice.Notice) (Send, string, error) {
	p, err := s.Store.GetPatient(ctx, c.ID, n.PatientID)
	if err != nil {
		return Send{}, "", fmt.Errorf("notices: prepare %s: %w", n.ID, err)
	}
	if p.Phone == "" {
		return Send{}, ReasonNoAddress, nil
	}
	ledger, err := s.Store.ConsentLedger(ctx, c.ID, p.ID)
	if err != nil {
		return Send{}, "", fmt.Errorf("notices: prepare %s: %w", n.ID, err)
	}
	number, err := s.Store.ContactOfPhone(ctx, c.ID, p.Phone)
	if err != nil {
		return Send{}, "", fmt.Errorf("notices: prepare %s: %w", n.ID, err)
	}
	switch consent.Current(append(ledger, number.Statements()...)) {
	case consent.OptedIn:
	case consent.OptedOut:
		return Send{}, ReasonOptedOut, nil
	default:
		return Send{}, ReasonNoConsent, nil
	}
	var visit time.Time
	if n.Kind == notice.KindFeedback {
		a, _, err := s.Store.GetAppointment(ctx, c.ID, n.AppointmentID)
		if err != nil {
			return Send{}, "", fmt.Errorf("notices: prepare %s: %w", n.ID, err)
		}
		visit = a.Start
	}
	send := Send{Notice: n, ContactKey: number.Key, ExpiresAt: n.UsefulUntil(Useful), PhoneNumberID: c.PhoneNumberID, NotBefore: n.NotBefore}
	// The feedback question's form is decided now, from the window the patient's
	// last message opened: a list inside it, the link-free template outside.
	if n.Kind == notice.KindFeedback && InListWindow(p, s.Clock.Now()) {
		send.Message, err = FeedbackList(c, p, n, visit)
		send.WindowEndsAt = p.LastInboundAt.Add(appointment.ServiceWindow)
	} else {
		send.Message, err = Compose(c, p, n, visit)
	}
	if err != nil {
		return Send{}, "", fmt.Errorf("notices: prepare %s: %w", n.ID, err)
	}
	return send, "", nil
}

// Compose builds a notice's template message in the patient's language.
func Compose(c clinic.Clinic, p appointment.Patient, n notice.Notice, visit time.Time) (whatsapp.Message, error) {
	loc, err := c.Location()
	if err != nil {
		return whatsapp.Message{}, err
	}
	t, err := reminder.TemplateNamed(n.Kind.Template(), p.Language, c.DefaultLanguage)
	if err != nil {
		return whatsapp.Message{}, err
	}
	v, err := notice.Vars(n, p.GivenName, c.Name, c.NoticeContact(), loc, t.Language, visit)
	if err != nil {
		return whatsapp.Message{}, err
	}
	return reminder.Message(p.Phone, t, v)
}

// fail records why a notice is not sent and tells the clinic (message.failed with
// the notice id; the event id is derived from it, so a retry tells it once).
func (s *Service) fail(ctx context.Context, n notice.Notice, reason string) (notice.Notice, error) {
	err := s.Store.SetNoticeState(ctx, n, notice.StateFailed, reason, notice.StateQueued)
	if err != nil && !errors.Is(err, fault.ErrConflict) {
		return notice.Notice{}, fmt.Errorf("notices: fail %s: %w", n.ID, err)
	}
	if err := s.publishFailed(ctx, n, reason); err != nil {
		return notice.Notice{}, err
	}
	s.log().Info("notice.failed", "clinic_id", n.ClinicID, "notice_id", n.ID, "kind", string(n.Kind), "reason", reason)
	return s.Store.GetNotice(ctx, n.ClinicID, n.PatientID, n.ID)
}

func (s *Service) publishFailed(ctx context.Context, n notice.Notice, reason string) error {
	if s.Events == nil {
		return nil
	}
	ev := FailedEvent(n, reason, s.Clock.Now())
	if err := s.Events.Publish(context.WithoutCancel(ctx), ev); err != nil {
		return fmt.Errorf("notices: publish %s: %w", ev.ID, err)
	}
	return nil
}

// FailedEvent is the clinic's message.failed for a notice: ids and a reason only.
func FailedEvent(n notice.Notice, reason string, at time.Time) clinic.Event {
	return clinic.NewMessageFailed(notice.ID(n.ClinicID, "event", "failed", n.ID), n.ClinicID, at.UTC(),
		clinic.MessageFailed{NoticeID: n.ID, PatientID: n.PatientID, NoticeKind: string(n.Kind), Reason: reason})
}

func (s *Service) log() *slog.Logger { return platform.LoggerOrDiscard(s.Log) }
