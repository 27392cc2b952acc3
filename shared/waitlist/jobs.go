package waitlist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/consent"
	"github.com/frontdesk-health/frontdesk/shared/contact"
	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/slot"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// RecipientStore is what JobSender reads to address a patient (dynamo.Store).
type RecipientStore interface {
	GetClinic(ctx context.Context, id string) (clinic.Clinic, error)
	GetPatient(ctx context.Context, clinicID, patientID string) (appointment.Patient, error)
	ConsentLedger(ctx context.Context, clinicID, patientID string) ([]consent.Entry, error)
	ContactOfPhone(ctx context.Context, clinicID, phone string) (contact.Contact, error)
}

// JobPublisher puts prepared messages on the outbound queue (queue.ReminderOutbox).
type JobPublisher interface {
	PublishJobs(ctx context.Context, jobs ...outbound.Job) error
}

// JobSender puts offers and the sweep's answers on the outbound queue as
// prepared jobs: the offer as the waitlist_offer template (kind offer, expiring
// with the offer), an answer as text (kind reply) while the patient's window is
// open; outside it the clinic's event is the notice. The sender re-checks the
// number's opt-out, the window and the expiry, takes the number's send budget and
// sends each job once (its Key); JobSender checks the patient's own opt-out first,
// so nothing is queued for a patient who opted out.
type JobSender struct {
	Store RecipientStore
	Jobs  JobPublisher
	Now   func() time.Time
	Log   *slog.Logger
}

// OptedOut reports whether the patient, or their number, opted out.
func (g *JobSender) OptedOut(ctx context.Context, clinicID, patientID string) (bool, error) {
	p, err := g.Store.GetPatient(ctx, clinicID, patientID)
	if errors.Is(err, fault.ErrNotFound) {
		return true, nil // nobody to write to
	}
	if err != nil {
		return false, err
	}
	return g.optedOut(ctx, p)
}

func (g *JobSender) optedOut(ctx context.Context, p appointment.Patient) (bool, error) {
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

// recipient reads the clinic and the patient; ok is false when there is nobody
// to write to (no patient, no phone, opted out).
func (g *JobSender) recipient(ctx context.Context, clinicID, patientID string) (clinic.Clinic, appointment.Patient, bool, error) {
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

// Offer queues the waitlist_offer template, unless it has lapsed or the patient
// opted out. The waves record each offer before queueing it, and the job's key
// derives from the offer, so a retried wave queues nothing new.
func (g *JobSender) Offer(ctx context.Context, o Offer) error {
	if !g.Now().Before(o.ExpiresAt) {
		return nil
	}
	c, p, ok, err := g.recipient(ctx, o.ClinicID, o.PatientID)
	if err != nil || !ok {
		return err
	}
	msg, err := OfferMessage(c, p.Phone, p.Language, o)
	if err != nil {
		return err
	}
	return g.publish(ctx, p, outbound.Job{Type: outbound.KindOffer, Key: "waitlist-offer:" + o.Key,
		Job: reminder.Job{ClinicID: o.ClinicID, AppointmentID: o.AppointmentID}, Message: &msg, ExpiresAt: o.ExpiresAt}, "offer")
}

// OfferMessage is the waitlist_offer template for o, in the patient's language
// and the clinic's wall clock; its buttons name the clinic, appointment and slot.
func OfferMessage(c clinic.Clinic, to, lang string, o Offer) (whatsapp.Message, error) {
	return templateMessage(c, to, lang, reminder.TemplateWaitlistOffer, "offer", o.SlotStart,
		reminder.Vars{ClinicID: o.ClinicID, AppointmentID: o.AppointmentID, Generation: o.SlotID})
}

// templateMessage renders the template name for the patient's language (or the
// clinic's), with the clinic's name and the date and time of at on its wall clock
// added to v; what names the message in an error.
func templateMessage(c clinic.Clinic, to, lang, name, what string, at time.Time, v reminder.Vars) (whatsapp.Message, error) {
	t, err := reminder.TemplateNamed(name, lang, c.DefaultLanguage)
	if err != nil {
		return whatsapp.Message{}, err
	}
	loc, err := c.Location()
	if err != nil {
		return whatsapp.Message{}, err
	}
	v.Clinic, v.Date, v.Time = c.Name, reminder.FormatDate(at, loc, t.Language), reminder.FormatTime(at, loc, t.Language)
	msg, err := reminder.Message(to, t, v)
	if err != nil {
		return whatsapp.Message{}, fmt.Errorf("waitlist: %s template: %w", what, err)
	}
	return msg, nil
}

// Reply queues an answer the sweep owes a patient (a lapsed hold) while their
// window is open; the job's key derives from the answer, so it goes out once.
func (g *JobSender) Reply(ctx context.Context, r Reply) error {
	c, p, ok, err := g.recipient(ctx, r.ClinicID, r.PatientID)
	if err != nil || !ok || !p.InServiceWindow(g.Now()) {
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
	return g.publish(ctx, p, outbound.Job{Type: outbound.KindReply, Key: "waitlist-answer:" + r.Key,
		Job:     reminder.Job{ClinicID: r.ClinicID, AppointmentID: r.AppointmentID},
		Message: &msg, WindowEndsAt: p.LastInboundAt.Add(appointment.ServiceWindow)}, r.Answer)
}

// Moved queues the news that the EHR moved a's visit to the slot the patient
// chose (h): as text inside the patient's window, else as the appointment_moved
// template (clinic, date, time and place). It is useful until the visit starts,
// and its key derives from the hold, so it goes out once.
func (g *JobSender) Moved(ctx context.Context, h slot.Hold, a appointment.Appointment) error {
	c, p, ok, err := g.recipient(ctx, a.ClinicID, a.PatientID)
	if err != nil || !ok {
		return err
	}
	job := outbound.Job{Type: outbound.KindReply, Key: "visit-moved:" + ID(h.ClinicID, h.SlotID, h.AppointmentID, h.HeldAt.Format(time.RFC3339Nano)),
		Job: reminder.Job{ClinicID: a.ClinicID, AppointmentID: a.ID}, ExpiresAt: a.Start}
	var msg whatsapp.Message
	if p.InServiceWindow(g.Now()) {
		words, err := (&Desk{}).words(c, AnswerMoved, p.Language, a.Start)
		if err != nil {
			return err
		}
		if msg, err = whatsapp.TextMessage(p.Phone, words); err != nil {
			return fmt.Errorf("waitlist: visit moved: %w", err)
		}
		job.WindowEndsAt = p.LastInboundAt.Add(appointment.ServiceWindow)
	} else if msg, err = MovedMessage(c, p.Phone, p.Language, a); err != nil {
		return err
	}
	job.Message = &msg
	return g.publish(ctx, p, job, AnswerMoved)
}

// MovedMessage is the appointment_moved template for a, in the patient's
// language and the clinic's wall clock: the clinic, date, time and place only.
func MovedMessage(c clinic.Clinic, to, lang string, a appointment.Appointment) (whatsapp.Message, error) {
	return templateMessage(c, to, lang, reminder.TemplateVisitMoved, "visit moved", a.Start,
		reminder.Vars{Place: place(a.Location), ClinicID: a.ClinicID, AppointmentID: a.ID, Generation: reminder.Generation(a.Start)})
}

// place is where the visit is: the location's name and address, never the
// practitioner (it can reveal a specialty).
func place(l appointment.Location) string {
	var parts []string
	for _, s := range []string{l.Name, l.Address} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

func (g *JobSender) publish(ctx context.Context, p appointment.Patient, job outbound.Job, what string) error {
	key, err := contact.KeyOf(p.Phone)
	if err != nil {
		// Stored numbers were normalised on the way in; one that is not cannot be reached.
		g.log().WarnContext(ctx, "waitlist_unreachable", "clinic_id", p.ClinicID, "patient_id", p.ID, "what", what)
		return nil
	}
	job.ContactKey, job.PatientID = key, p.ID
	if err := g.Jobs.PublishJobs(ctx, job); err != nil {
		return fmt.Errorf("waitlist: queue %s: %w", what, err)
	}
	g.log().InfoContext(ctx, "waitlist_queued", "clinic_id", job.ClinicID, "appointment_id", job.AppointmentID,
		"what", what, "type", string(job.Type))
	return nil
}

func (g *JobSender) log() *slog.Logger { return platform.LoggerOrDiscard(g.Log) }
