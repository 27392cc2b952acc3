package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/templatestate"
)

// Template states and the clinics of each WABA live in the clinics table (tenant
// configuration, read by key): pk TEMPLATE#<waba>#<name>#<language> and pk
// WABA#<waba>, which lists the clinics whose file names that WABA, so a template
// change reaches each of them without a scan.
const (
	prefixTemplate = "TEMPLATE#"
	prefixWABA     = "WABA#"

	attrTemplateStatus   = "templateStatus"
	attrTemplateStatusAt = "templateStatusAt" // unix ns: compared in conditions
	attrTemplateCategory = "templateCategory"
	attrTemplateCatAt    = "templateCategoryAt"
	attrWABAClinics      = "clinicIds"
)

func templatePK(waba, name, lang string) string {
	return prefixTemplate + waba + "#" + name + "#" + lang
}

type templateItem struct {
	WABAID     string `dynamodbav:"wabaId"`
	Name       string `dynamodbav:"templateName"`
	Language   string `dynamodbav:"templateLanguage"`
	Status     string `dynamodbav:"templateStatus"`
	Reason     string `dynamodbav:"templateReason"`
	StatusAt   int64  `dynamodbav:"templateStatusAt"`
	Category   string `dynamodbav:"templateCategory"`
	CategoryAt int64  `dynamodbav:"templateCategoryAt"`
}

func (it templateItem) domain() templatestate.State {
	return templatestate.State{WABAID: it.WABAID, Name: it.Name, Language: it.Language, Status: it.Status, StatusReason: it.Reason,
		StatusAt: fromUnixNanos(it.StatusAt), Category: it.Category, CategoryAt: fromUnixNanos(it.CategoryAt)}
}

// TemplateState reads what Meta last said about a template; a template it never
// mentioned is the zero State (usable).
func (s *Store) TemplateState(ctx context.Context, waba, name, lang string) (templatestate.State, error) {
	var it templateItem
	ok, err := s.getItem(ctx, s.names.Clinics, templatePK(waba, name, lang), "", &it)
	if err != nil {
		return templatestate.State{}, wrap(fmt.Sprintf("get template %s/%s/%s", waba, name, lang), err)
	}
	if !ok {
		return templatestate.State{WABAID: waba, Name: name, Language: lang}, nil
	}
	return it.domain(), nil
}

// RecordTemplateStatus stores a status Meta reported at at, unless a later one is
// stored. applied is false for an older or repeated report.
func (s *Store) RecordTemplateStatus(ctx context.Context, waba, name, lang, status, reason string, at time.Time) (bool, error) {
	upd := s.templateBase(waba, name, lang).Set(expression.Name(attrTemplateStatus), expression.Value(status)).
		Set(expression.Name(attrTemplateStatusAt), expression.Value(unixNanos(at)))
	upd = setOrRemove(upd, "templateReason", reason, reason != "")
	return s.recordTemplate(ctx, waba, name, lang, attrTemplateStatusAt, at, upd)
}

// RecordTemplateCategory stores a category Meta reported at at, unless a later one
// is stored.
func (s *Store) RecordTemplateCategory(ctx context.Context, waba, name, lang, category string, at time.Time) (bool, error) {
	upd := s.templateBase(waba, name, lang).Set(expression.Name(attrTemplateCategory), expression.Value(category)).
		Set(expression.Name(attrTemplateCatAt), expression.Value(unixNanos(at)))
	return s.recordTemplate(ctx, waba, name, lang, attrTemplateCatAt, at, upd)
}

func (s *Store) templateBase(waba, name, lang string) expression.UpdateBuilder {
	return expression.Set(expression.Name("wabaId"), expression.Value(waba)).
		Set(expression.Name("templateName"), expression.Value(name)).
		Set(expression.Name("templateLanguage"), expression.Value(lang)).
		Set(expression.Name("updatedAt"), expression.Value(formatSortable(s.now())))
}

func (s *Store) recordTemplate(ctx context.Context, waba, name, lang, atAttr string, at time.Time, upd expression.UpdateBuilder) (bool, error) {
	a := expression.Name(atAttr)
	cond := a.AttributeNotExists().Or(a.LessThan(expression.Value(unixNanos(at))))
	err := s.update(ctx, s.names.Clinics, templatePK(waba, name, lang), "", upd, &cond)
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap(fmt.Sprintf("record template %s/%s/%s", waba, name, lang), err)
	}
	return true, nil
}

// ClinicsOfWABA returns the clinics whose file names the WABA.
func (s *Store) ClinicsOfWABA(ctx context.Context, waba string) ([]clinic.Clinic, error) {
	op := "clinics of waba " + waba
	var it struct {
		IDs []string `dynamodbav:"clinicIds,stringset"`
	}
	if _, err := s.getItem(ctx, s.names.Clinics, prefixWABA+waba, "", &it); err != nil {
		return nil, wrap(op, err)
	}
	var out []clinic.Clinic
	for _, id := range it.IDs {
		c, err := s.GetClinic(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("dynamo: %s: %w", op, err)
		}
		if c.WABAID == waba { // a clinic moved to another WABA since
			out = append(out, c)
		}
	}
	return out, nil
}

// linkWABA lists the clinic under its WABA.
func (s *Store) linkWABA(ctx context.Context, c clinic.Clinic) error {
	if c.WABAID == "" {
		return nil
	}
	upd := expression.Add(expression.Name(attrWABAClinics), expression.Value(&types.AttributeValueMemberSS{Value: []string{c.ID}}))
	return wrap("link clinic "+c.ID+" to waba "+c.WABAID, s.update(ctx, s.names.Clinics, prefixWABA+c.WABAID, "", upd, nil))
}
