package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

// CreateRequest is the Graph API body for POST /{WABA-ID}/message_templates with
// named parameters.
type CreateRequest struct {
	Name                  string      `json:"name"`
	Language              string      `json:"language"`
	Category              string      `json:"category"`
	ParameterFormat       string      `json:"parameter_format"`
	MessageSendTTLSeconds int         `json:"message_send_ttl_seconds"`
	Components            []Component `json:"components"`
}

// Component is a template component (BODY, BUTTONS).
type Component struct {
	Type    string        `json:"type"`
	Text    string        `json:"text,omitempty"`
	Example *BodyExample  `json:"example,omitempty"`
	Buttons []ButtonModel `json:"buttons,omitempty"`
}

// BodyExample gives Meta's reviewers a value per named variable.
type BodyExample struct {
	BodyTextNamedParams []NamedExample `json:"body_text_named_params"`
}

// NamedExample is one variable's example.
type NamedExample struct {
	ParamName string `json:"param_name"`
	Example   string `json:"example"`
}

// ButtonModel is a template button as submitted.
type ButtonModel struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// BuildCreateRequest turns a template from shared/reminder into the Graph body.
// Examples follow the order the variables appear in the body.
func BuildCreateRequest(t reminder.Template) CreateRequest {
	body := Component{Type: "BODY", Text: t.Body}
	if vars := t.Variables(); len(vars) > 0 {
		body.Example = &BodyExample{}
		for _, v := range vars {
			body.Example.BodyTextNamedParams = append(body.Example.BodyTextNamedParams, NamedExample{ParamName: v, Example: t.Examples[v]})
		}
	}
	req := CreateRequest{Name: t.Name, Language: t.Language, Category: t.Category, ParameterFormat: "NAMED",
		MessageSendTTLSeconds: t.MessageSendTTLSeconds, Components: []Component{body}}
	if len(t.Buttons) > 0 {
		btns := Component{Type: "BUTTONS"}
		for _, b := range t.Buttons {
			btns.Buttons = append(btns.Buttons, ButtonModel{Type: "QUICK_REPLY", Text: b.Text})
		}
		req.Components = append(req.Components, btns)
	}
	return req
}

// Graph talks to the WhatsApp Business Account's template endpoints.
type Graph struct {
	BaseURL string // e.g. https://graph.facebook.com, or the local stand-in
	Version string // e.g. v23.0
	Token   string
	HTTP    *http.Client
}

// GraphError is a Graph API error answer.
type GraphError struct {
	HTTPStatus int
	Code       int    `json:"code"`
	Subcode    int    `json:"error_subcode"`
	Type       string `json:"type"`
	Message    string `json:"message"`
	FBTraceID  string `json:"fbtrace_id"`
}

func (e *GraphError) Error() string {
	return fmt.Sprintf("graph: HTTP %d code %d/%d: %s (fbtrace_id %s)", e.HTTPStatus, e.Code, e.Subcode, e.Message, e.FBTraceID)
}

// alreadyExists recognises Meta's answer for a name+language that is already
// registered (subcode 2388024), so re-running -submit is harmless.
func (e *GraphError) alreadyExists() bool {
	return e.Subcode == 2388024 || strings.Contains(strings.ToLower(e.Message), "already exists")
}

func (g *Graph) templatesURL(waba string) string {
	return strings.TrimRight(g.BaseURL, "/") + "/" + url.PathEscape(g.Version) + "/" + url.PathEscape(waba) + "/message_templates"
}

func (g *Graph) do(ctx context.Context, method, u string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+g.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := g.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var env struct {
			Error GraphError `json:"error"`
		}
		_ = json.Unmarshal(raw, &env)
		env.Error.HTTPStatus = resp.StatusCode
		if env.Error.Message == "" {
			env.Error.Message = strings.TrimSpace(string(raw))
		}
		return &env.Error
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("graph: decode answer: %w", err)
		}
	}
	return nil
}

// SubmitResult is Meta's answer to one template creation.
type SubmitResult struct {
	Name, Language string
	ID             string
	Status         string // PENDING, APPROVED, REJECTED; EXISTS when it was already registered
}

// Submit creates one template.
func (g *Graph) Submit(ctx context.Context, waba string, t reminder.Template) (SubmitResult, error) {
	body, err := json.Marshal(BuildCreateRequest(t))
	if err != nil {
		return SubmitResult{}, err
	}
	var ans struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Category string `json:"category"`
	}
	res := SubmitResult{Name: t.Name, Language: t.Language}
	err = g.do(ctx, http.MethodPost, g.templatesURL(waba), body, &ans)
	var ge *GraphError
	if errors.As(err, &ge) && ge.alreadyExists() {
		res.Status = "EXISTS"
		return res, nil
	}
	if err != nil {
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

// TemplateStatus is one registered template's review state.
type TemplateStatus struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	Status   string `json:"status"`
}

// List returns every template registered on the WABA, following Graph's cursor
// paging (rebuilding the URL from the cursor rather than trusting paging.next).
func (g *Graph) List(ctx context.Context, waba string) ([]TemplateStatus, error) {
	var all []TemplateStatus
	after := ""
	for page := 0; page < 100; page++ {
		q := url.Values{"fields": {"name,language,status"}, "limit": {"100"}}
		if after != "" {
			q.Set("after", after)
		}
		var ans struct {
			Data   []TemplateStatus `json:"data"`
			Paging struct {
				Cursors struct {
					After string `json:"after"`
				} `json:"cursors"`
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := g.do(ctx, http.MethodGet, g.templatesURL(waba)+"?"+q.Encode(), nil, &ans); err != nil {
			return nil, fmt.Errorf("list templates: %w", err)
		}
		all = append(all, ans.Data...)
		if ans.Paging.Next == "" || ans.Paging.Cursors.After == "" || ans.Paging.Cursors.After == after {
			return all, nil
		}
		after = ans.Paging.Cursors.After
	}
	return all, errors.New("list templates: too many pages")
}

// Report matches Frontdesk's templates against what the WABA holds. problems lists
// templates that cannot be sent: missing, rejected, paused or disabled.
func Report(ours []reminder.Template, registered []TemplateStatus) (lines []string, problems []string) {
	got := map[string]string{}
	for _, r := range registered {
		got[r.Name+"/"+r.Language] = r.Status
	}
	for _, t := range ours {
		key := t.Name + "/" + t.Language
		status, ok := got[key]
		if !ok {
			status = "MISSING"
		}
		lines = append(lines, fmt.Sprintf("%-28s %-6s %s", t.Name, t.Language, status))
		switch status {
		case "APPROVED", "PENDING", "IN_APPEAL":
		default:
			problems = append(problems, key+" "+status)
		}
	}
	sort.Strings(problems)
	return lines, problems
}
