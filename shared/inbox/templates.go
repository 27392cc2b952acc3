package inbox

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/templatestate"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// AlertTemplateBlocked is the log key (and alarm) of a template Meta paused,
// disabled or re-categorised: every reminder using it waits until it is approved.
const AlertTemplateBlocked = "whatsapp_template_blocked"

// TemplateStore keeps what Meta last said about each template.
type TemplateStore interface {
	TemplateState(ctx context.Context, waba, name, lang string) (templatestate.State, error)
	RecordTemplateStatus(ctx context.Context, waba, name, lang, status, reason string, at time.Time) (bool, error)
	RecordTemplateCategory(ctx context.Context, waba, name, lang, category string, at time.Time) (bool, error)
	ClinicsOfWABA(ctx context.Context, waba string) ([]clinic.Clinic, error)
}

// handleTemplate records a template lifecycle change (message_template_status_update,
// template_category_update). When it turns the template from usable to blocked or
// back, each clinic of the WABA gets one template.status_changed callback and ops one
// alarm line: the event id is derived from the report, and the newest-report-wins
// write makes a redelivered report change nothing, so three deliveries are one effect.
// The sender reads the stored state before every send, so the change holds at once.
func (s *Service) handleTemplate(ctx context.Context, entry whatsapp.Entry, ch whatsapp.Change) error {
	t := ch.Template
	waba := entry.ID
	at := s.now()
	if entry.Time > 0 {
		at = time.Unix(entry.Time, 0).UTC()
	}
	if t.Name == "" || t.Language == "" || waba == "" {
		s.log().Warn("inbound template change without template", "field", ch.Field)
		return nil
	}
	before, err := s.Store.TemplateState(ctx, waba, t.Name, t.Language)
	if err != nil {
		return fmt.Errorf("inbox: template state: %w", err)
	}
	after := before
	var record func() (bool, error)
	switch ch.Field {
	case whatsapp.FieldTemplateStatus:
		if !before.StatusAt.Before(at) {
			return nil // this report or a newer one is stored
		}
		after.Status, after.StatusReason = strings.ToUpper(t.Event), t.Reason
		// The status report names the category the template has now (an approval
		// after an appeal brings UTILITY back): newer than a stored category report.
		withCategory := t.Category != "" && before.CategoryAt.Before(at)
		if withCategory {
			after.Category = strings.ToUpper(t.Category)
		}
		record = func() (bool, error) {
			if withCategory {
				if _, err := s.Store.RecordTemplateCategory(ctx, waba, t.Name, t.Language, after.Category, at); err != nil {
					return false, err
				}
			}
			return s.Store.RecordTemplateStatus(ctx, waba, t.Name, t.Language, after.Status, t.Reason, at)
		}
	case whatsapp.FieldTemplateCategory:
		if t.PreviousCategory == "" && t.CorrectCategory != "" {
			// An impending change: Meta will re-categorise at category_update_timestamp
			// and send the completed change then. Nothing is blocked yet.
			s.log().Warn("inbound template category change announced", "waba_id", waba, "template", t.Name,
				"language", t.Language, "new_category", t.NewCategory)
			return nil
		}
		if !before.CategoryAt.Before(at) {
			return nil
		}
		after.Category = strings.ToUpper(t.NewCategory)
		record = func() (bool, error) {
			return s.Store.RecordTemplateCategory(ctx, waba, t.Name, t.Language, after.Category, at)
		}
	default:
		return nil
	}
	was, now := before.Blocked(), after.Blocked()
	if (was == "") != (now == "") {
		clinics, err := s.Store.ClinicsOfWABA(ctx, waba)
		if err != nil {
			return fmt.Errorf("inbox: clinics of waba: %w", err)
		}
		for _, c := range clinics {
			ev := clinic.NewTemplateStatusChanged(derivedID("event", clinic.EventTemplateStatusChanged, waba, t.Name, t.Language, ch.Field, at.Format(time.RFC3339Nano), c.ID),
				c.ID, at, clinic.TemplateStatusChanged{TemplateName: t.Name, Language: t.Language, Status: after.Status,
					Category: after.Category, Usable: now == "", Reason: now})
			if err := s.publish(ctx, ev); err != nil {
				return fmt.Errorf("inbox: template event: %w", err)
			}
		}
	}
	applied, err := record()
	if err != nil {
		return fmt.Errorf("inbox: record template change: %w", err)
	}
	if !applied {
		return nil
	}
	attrs := []any{"waba_id", waba, "template", t.Name, "language", t.Language, "status", after.Status, "category", after.Category}
	switch {
	case was == "" && now != "":
		// WARN, not ERROR: Meta acted, nothing in Frontdesk failed; the alert key alarms.
		s.log().Warn("template blocked: its reminders wait", append(attrs, "alert", AlertTemplateBlocked, "reason", now)...)
	case was != "" && now == "":
		s.log().Info("template usable again: its reminders resume", attrs...)
	default:
		s.log().Info("template change recorded", append(attrs, "reason", now)...)
	}
	return nil
}
