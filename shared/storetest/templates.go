package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/templatestate"
)

// TemplateStore keeps what Meta reported of each message template, and finds the
// clinics of a WhatsApp Business Account.
type TemplateStore interface {
	PutClinic(ctx context.Context, c clinic.Clinic) error
	TemplateState(ctx context.Context, waba, name, lang string) (templatestate.State, error)
	RecordTemplateStatus(ctx context.Context, waba, name, lang, status, reason string, at time.Time) (bool, error)
	RecordTemplateCategory(ctx context.Context, waba, name, lang, category string, at time.Time) (bool, error)
	ClinicsOfWABA(ctx context.Context, waba string) ([]clinic.Clinic, error)
}

// Templates asserts template reports: the newest wins per field, repeats are not
// applied, and a stored clinic is listed under its WABA.
func Templates[S TemplateStore](t *testing.T, newStore func(t *testing.T, clock platform.Clock) S) {
	open := func(t *testing.T) (TemplateStore, *platform.FakeClock) {
		clock := platform.NewFakeClock(t0)
		return newStore(t, clock), clock
	}
	t.Run("templateStateNewestWins", func(t *testing.T) { templateStateNewestWins(t, open) })
}

// Template reports: the newest wins per field, repeats are not applied, and a clinic
// is listed under its WABA when stored.
func templateStateNewestWins(t *testing.T, newStore func(*testing.T) (TemplateStore, *platform.FakeClock)) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	const waba, name, lang = "206555010001", "appointment_reminder_48h", "en_US"
	st, err := s.TemplateState(ctx, waba, name, lang)
	if err != nil || !st.Usable() {
		t.Fatalf("unknown template: %+v %v; want usable", st, err)
	}
	steps := []struct {
		do      func() (bool, error)
		applied bool
		blocked string
	}{
		{func() (bool, error) { return s.RecordTemplateCategory(ctx, waba, name, lang, "MARKETING", at) }, true, "template_recategorised"},
		{func() (bool, error) { return s.RecordTemplateCategory(ctx, waba, name, lang, "MARKETING", at) }, false, "template_recategorised"},
		{func() (bool, error) {
			return s.RecordTemplateStatus(ctx, waba, name, lang, "PAUSED", "low quality", at)
		}, true, "template_paused"},
		{func() (bool, error) {
			return s.RecordTemplateCategory(ctx, waba, name, lang, "UTILITY", at.Add(-time.Hour))
		}, false, "template_paused"},
		{func() (bool, error) {
			return s.RecordTemplateCategory(ctx, waba, name, lang, "UTILITY", at.Add(time.Hour))
		}, true, "template_paused"},
		{func() (bool, error) {
			return s.RecordTemplateStatus(ctx, waba, name, lang, "APPROVED", "", at.Add(time.Hour))
		}, true, ""},
	}
	for i, step := range steps {
		applied, err := step.do()
		if err != nil || applied != step.applied {
			t.Fatalf("step %d: applied %v (%v), want %v", i, applied, err, step.applied)
		}
		st, _ := s.TemplateState(ctx, waba, name, lang)
		if st.Blocked() != step.blocked {
			t.Fatalf("step %d: blocked %q, want %q", i, st.Blocked(), step.blocked)
		}
	}
	c := clinic.Clinic{ID: "clinic-a", WABAID: waba, PhoneNumberID: "106555010001"}
	if err := s.PutClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClinicsOfWABA(ctx, waba)
	if err != nil || len(got) != 1 || got[0].ID != "clinic-a" {
		t.Fatalf("clinics of waba = %+v, %v", got, err)
	}
}
