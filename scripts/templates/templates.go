package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// subcodeTemplateExists is Meta's error_subcode for a name+language that is
// already registered on the WABA.
const subcodeTemplateExists = 2388024

// BuildDefinition turns a template from shared/reminder into what is submitted to
// /{WABA-ID}/message_templates. Reminder bodies use {{given_name}}-style variables,
// hence the NAMED parameter format; examples follow the order the variables appear
// in the body.
func BuildDefinition(t reminder.Template) whatsapp.TemplateDefinition {
	body := whatsapp.TemplateDefinitionComponent{Type: "BODY", Text: t.Body}
	if vars := t.Variables(); len(vars) > 0 {
		body.Example = &whatsapp.TemplateExample{}
		for _, v := range vars {
			body.Example.BodyTextNamedParams = append(body.Example.BodyTextNamedParams,
				whatsapp.NamedParamExample{ParamName: v, Example: t.Examples[v]})
		}
	}
	def := whatsapp.TemplateDefinition{Name: t.Name, Language: t.Language, Category: t.Category, ParameterFormat: "NAMED",
		MessageSendTTLSeconds: t.MessageSendTTLSeconds, Components: []whatsapp.TemplateDefinitionComponent{body}}
	if len(t.Buttons) > 0 {
		btns := whatsapp.TemplateDefinitionComponent{Type: "BUTTONS"}
		for _, b := range t.Buttons {
			btns.Buttons = append(btns.Buttons, whatsapp.TemplateDefinitionButton{Type: "QUICK_REPLY", Text: b.Text})
		}
		def.Components = append(def.Components, btns)
	}
	return def
}

// SubmitResult is Meta's answer to one template creation.
type SubmitResult struct {
	Name, Language string
	ID             string
	Status         string // PENDING, APPROVED, REJECTED; EXISTS when it was already registered
}

// submit creates one template. One that is already registered counts as done, so
// re-running -submit is harmless.
func submit(ctx context.Context, c *whatsapp.Client, waba string, t reminder.Template) (SubmitResult, error) {
	res := SubmitResult{Name: t.Name, Language: t.Language}
	ans, err := c.SubmitTemplate(ctx, waba, BuildDefinition(t))
	if alreadyExists(err) {
		res.Status = "EXISTS"
		return res, nil
	}
	if err != nil {
		// The client's error names the template but not its language.
		return res, fmt.Errorf("submit %s/%s: %w", t.Name, t.Language, err)
	}
	res.ID, res.Status = ans.ID, ans.Status
	if ans.Category != "" && ans.Category != t.Category {
		// Meta may recategorise a template; a reminder billed or blocked as marketing
		// is a problem to see at once.
		res.Status += " (category " + ans.Category + ")"
	}
	return res, nil
}

// alreadyExists recognises Meta's answer for a name+language that is already
// registered: the subcode, or failing that the wording, so an answer that says
// "already exists" without the subcode still counts.
func alreadyExists(err error) bool {
	var e *whatsapp.APIError
	return errors.As(err, &e) &&
		(e.Subcode == subcodeTemplateExists || strings.Contains(strings.ToLower(e.Message), "already exists"))
}

// Report matches Frontdesk's templates against what the WABA holds. problems lists
// templates that cannot be sent: missing, rejected, paused or disabled, or moved by
// Meta out of the category they were submitted in (a reminder re-classed as
// marketing is held back by the sender).
func Report(ours []reminder.Template, registered []whatsapp.TemplateInfo) (lines []string, problems []string) {
	got := map[string]whatsapp.TemplateInfo{}
	for _, r := range registered {
		got[r.Name+"/"+r.Language] = r
	}
	for _, t := range ours {
		key := t.Name + "/" + t.Language
		r, ok := got[key]
		status := r.Status
		if !ok {
			status = "MISSING"
		}
		line := fmt.Sprintf("%-28s %-6s %s", t.Name, t.Language, status)
		moved := ok && r.Category != "" && !strings.EqualFold(r.Category, t.Category)
		if moved {
			line += fmt.Sprintf("  category %s (submitted as %s)", strings.ToUpper(r.Category), t.Category)
		}
		lines = append(lines, line)
		switch status {
		case "APPROVED", "PENDING", "IN_APPEAL":
		default:
			problems = append(problems, key+" "+status)
		}
		if moved {
			problems = append(problems, key+" CATEGORY "+strings.ToUpper(r.Category))
		}
	}
	sort.Strings(problems)
	return lines, problems
}
