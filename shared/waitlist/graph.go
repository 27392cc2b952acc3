package waitlist

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
	"github.com/frontdesk-health/frontdesk/shared/messagelog"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// GraphStore is what GraphSender reads (dynamo.Store).
type GraphStore interface {
	GetClinic(ctx context.Context, id string) (clinic.Clinic, error)
	GetPatient(ctx context.Context, clinicID, patientID string) (appointment.Patient, error)
	ConsentLedger(ctx context.Context, clinicID, patientID string) ([]consent.Entry, error)
	ContactOfPhone(ctx context.Context, clinicID, phone string) (contact.Contact, error)
	ClaimOnce(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// PutMessage records a sent message, so that Meta's statuses for it find it.
	PutMessage(ctx context.Context, m messagelog.Record) (bool, error)
}

// Messenger sends one WhatsApp message from a clinic's number (whatsapp.Client).
type Messenger interface {
	Send(ctx context.Context, phoneNumberID string, msg whatsapp.Message) (string, error)
}

// GraphSender sends offers and the sweep's answers straight to the Graph API:
// the offer as the waitlist_offer template, an answer as text while the patient's
// window is open (outside it the clinic's event is the notice). It re-checks the
// patient's opt-out, the number's STOP included, before each send.
type GraphSender struct {
	Store     GraphStore
	Messenger Messenger
	Now       func() time.Time
	Log       *slog.Logger
}

// sentTTL keeps the once-only marker of an answer longer than any retry.
const sentTTL = 8 * 24 * time.Hour

// OptedOut reports whether the patient, or their number, opted out.
func (g *GraphSender) OptedOut(ctx context.Context, clinicID, patientID string) (bool, error) {
	p, err := g.Store.GetPatient(ctx, clinicID, patientID)
	if errors.Is(err, fault.ErrNotFound) {
		return true, nil // nobody to write to
	}
	if err != nil {
		return false, err
	}
	return g.optedOut(ctx, p)
}

func (g *GraphSender) optedOut(ctx context.Context, p appointment.Patient) (bool, error) {
	ledger, err := g.Store.ConsentLedger(ctx, p.ClinicID, p.ID)
	if err != nil {
		return false, err
	}
	if p.Phone != "" {
		num, err := g.Store.ContactOfPhone(ctx, p.ClinicID, p.Phone)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return false, err
		}
		ledger = append(ledger, num.Statements()...)
	}
	return consent.Current(ledger) != consent.OptedIn, nil
}

func (g *GraphSender) recipient(ctx context.Context, clinicID, patientID string) (clinic.Clinic, appointment.Patient, bool, error) {
	c, err := g.Store.GetClinic(ctx, clinicID)
	if err != nil {
		return c, appointment.Patient{}, false, err
	}
	p, err := g.Store.GetPatient(ctx, clinicID, patientID)
	if errors.Is(err, fault.ErrNotFound) || err == nil && p.Phone == "" {
		return c, p, false, nil
	}
	if err != nil {
		return c, p, false, err
	}
	out, err := g.optedOut(ctx, p)
	return c, p, !out, err
}

// Offer sends the waitlist_offer template (once per offer: the waves record
// each offer before sending it), unless it has lapsed or the patient opted out.
func (g *GraphSender) Offer(ctx context.Context, o Offer) error {
	if !g.Now().Before(o.ExpiresAt) {
		return nil
	}
	c, p, ok, err := g.recipient(ctx, o.ClinicID, o.PatientID)
	if err != nil || !ok {
		return err
	}
	t, err := reminder.TemplateNamed(reminder.TemplateWaitlistOffer, p.Language, c.DefaultLanguage)
	if err != nil {
		return err
	}
	loc, err := c.Location()
	if err != nil {
		return err
	}
	body, payloads := reminder.Render(t, reminder.Vars{Clinic: c.Name,
		Date: reminder.FormatDate(o.SlotStart, loc, t.Language), Time: reminder.FormatTime(o.SlotStart, loc, t.Language),
		ClinicID: o.ClinicID, AppointmentID: o.AppointmentID, Generation: o.SlotID})
	params := make([]whatsapp.TemplateParam, len(body))
	for i, b := range body {
		params[i] = whatsapp.TemplateParam{Name: b.Name, Text: b.Text}
	}
	msg, err := whatsapp.TemplateMessage(p.Phone, t.Name, t.Language, params, payloads)
	if err != nil {
		return fmt.Errorf("waitlist: offer template: %w", err)
	}
	return g.send(ctx, c, msg, "offer", o.AppointmentID)
}

// Reply sends an answer the sweep owes a patient (a lapsed hold), once, while
// their window is open.
func (g *GraphSender) Reply(ctx context.Context, r Reply) error {
	c, p, ok, err := g.recipient(ctx, r.ClinicID, r.PatientID)
	if err != nil || !ok || !p.InServiceWindow(g.Now()) {
		return err
	}
	first, err := g.Store.ClaimOnce(ctx, "waitlist-answer:"+r.Key, sentTTL)
	if err != nil || !first {
		return err
	}
	words, err := (&Desk{}).words(c, r.Answer, p.Language, r.SlotStart)
	if err != nil {
		return err
	}
	msg, err := whatsapp.TextMessage(p.Phone, words)
	if err != nil {
		return fmt.Errorf("waitlist: answer: %w", err)
	}
	return g.send(ctx, c, msg, r.Answer, r.AppointmentID)
}

func (g *GraphSender) send(ctx context.Context, c clinic.Clinic, msg whatsapp.Message, what, appointmentID string) error {
	wamid, err := g.Messenger.Send(ctx, c.PhoneNumberID, msg)
	if err != nil {
		return fmt.Errorf("waitlist: send %s: %w", what, err)
	}
	// Recorded as every send is: Meta's statuses for an unrecorded message are
	// retried as if they had overtaken the record, until they reach the DLQ.
	now := g.Now()
	rec := messagelog.Record{WAMID: wamid, Direction: messagelog.Outbound, ClinicID: c.ID, AppointmentID: appointmentID,
		Type: msg.Type, Status: messagelog.StatusAccepted, CreatedAt: now, UpdatedAt: now}
	if _, err := g.Store.PutMessage(ctx, rec); err != nil && g.Log != nil {
		// Sent: failing would not unsend it. Its statuses will find no record, which is logged there.
		g.Log.ErrorContext(ctx, "waitlist sent message not recorded", "clinic_id", c.ID, "appointment_id", appointmentID, "what", what, "error", err.Error())
	}
	if g.Log != nil {
		g.Log.InfoContext(ctx, "waitlist_sent", "clinic_id", c.ID, "appointment_id", appointmentID, "what", what, "type", msg.Type)
	}
	return nil
}
