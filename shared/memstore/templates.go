package memstore

import (
	"context"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/templatestate"
)

// tblTemplates maps key(wabaID, name, language) to a templateRec.
const tblTemplates = "templates"

// templateRec is a template's last known status and category; the flags say
// whether each was ever recorded (a zero instant can be recorded too).
type templateRec struct {
	st          templatestate.State
	hasStatus   bool
	hasCategory bool
}

// TemplateState returns what is known of a template; a template never reported is
// returned with only its names set.
func (s *Store) TemplateState(_ context.Context, waba, name, lang string) (templatestate.State, error) {
	defer s.lock()()
	rec, ok := get[templateRec](s, tblTemplates, key(waba, name, lang))
	if !ok {
		return templatestate.State{WABAID: waba, Name: name, Language: lang}, nil
	}
	return rec.st, nil
}

// RecordTemplateStatus stores a template's status when at is newer than the stored
// one; false when a newer status is kept.
func (s *Store) RecordTemplateStatus(_ context.Context, waba, name, lang, status, reason string, at time.Time) (bool, error) {
	defer s.lock()()
	k := key(waba, name, lang)
	rec := s.template(k, waba, name, lang)
	if rec.hasStatus && rec.st.StatusAt.UnixNano() >= at.UnixNano() {
		return false, nil
	}
	rec.hasStatus = true
	rec.st.Status, rec.st.StatusReason, rec.st.StatusAt = status, reason, exactUTC(at)
	put(s, tblTemplates, k, rec)
	return true, nil
}

// RecordTemplateCategory stores a template's category when at is newer than the
// stored one; false when a newer category is kept.
func (s *Store) RecordTemplateCategory(_ context.Context, waba, name, lang, category string, at time.Time) (bool, error) {
	defer s.lock()()
	k := key(waba, name, lang)
	rec := s.template(k, waba, name, lang)
	if rec.hasCategory && rec.st.CategoryAt.UnixNano() >= at.UnixNano() {
		return false, nil
	}
	rec.hasCategory = true
	rec.st.Category, rec.st.CategoryAt = category, exactUTC(at)
	put(s, tblTemplates, k, rec)
	return true, nil
}

func (s *Store) template(k, waba, name, lang string) templateRec {
	rec, ok := get[templateRec](s, tblTemplates, k)
	if !ok {
		rec.st = templatestate.State{WABAID: waba, Name: name, Language: lang}
	}
	return rec
}

// exactUTC is t as the DynamoDB store keeps compared instants: exact nanoseconds in
// UTC, the zero time staying zero.
func exactUTC(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.Unix(0, t.UnixNano()).UTC()
}
