package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for Client fields left zero.
const (
	DefaultBaseURL = "https://graph.facebook.com"
	DefaultVersion = "v23.0"
	// DefaultTimeout bounds one Graph API call. The sender and inbound Lambdas run
	// for 30 s and make several calls per invocation, so one hung call must leave
	// room for the rest of the batch and for recording its outcome.
	DefaultTimeout = 10 * time.Second
)

// maxAnswer bounds how much of a Graph answer is read; real answers are a few hundred bytes.
const maxAnswer = 1 << 20

// Client calls the Graph API. The zero value is not usable: Token is required.
type Client struct {
	BaseURL string                                    // default DefaultBaseURL; the dev stack points it at the stand-in
	Version string                                    // default DefaultVersion
	Token   func(ctx context.Context) (string, error) // system-user access token, looked up per call so rotation needs no restart
	HTTP    *http.Client                              // default http.DefaultClient
	// Timeout bounds every call (default DefaultTimeout), also when ctx carries a
	// later deadline such as the Lambda's: a hung connection must not eat the whole
	// invocation. An earlier deadline on ctx still wins.
	Timeout time.Duration
}

// SendResponse is Graph's success answer to a send.
type SendResponse struct {
	MessagingProduct string `json:"messaging_product"`
	Contacts         []struct {
		Input string `json:"input"`
		WaID  string `json:"wa_id"`
	} `json:"contacts"`
	Messages []struct {
		ID            string `json:"id"`
		MessageStatus string `json:"message_status,omitempty"`
	} `json:"messages"`
}

// GraphErrorBody is the envelope of every Graph API error answer. Exported so the
// Graph API stand-in answers with exactly what the client parses.
type GraphErrorBody struct {
	Error GraphError `json:"error"`
}

// GraphError is the inner Graph error object.
type GraphError struct {
	Message        string     `json:"message"`
	Type           string     `json:"type,omitempty"`
	Code           int        `json:"code"`
	ErrorSubcode   int        `json:"error_subcode,omitempty"`
	ErrorUserTitle string     `json:"error_user_title,omitempty"`
	ErrorUserMsg   string     `json:"error_user_msg,omitempty"`
	ErrorData      *ErrorData `json:"error_data,omitempty"`
	FBTraceID      string     `json:"fbtrace_id,omitempty"`
}

// Send posts m from the business number phoneNumberID and returns the new message's
// wamid. Errors are *APIError for Graph answers; use Classify for what to do.
func (c *Client) Send(ctx context.Context, phoneNumberID string, m Message) (string, error) {
	if phoneNumberID == "" {
		return "", fmt.Errorf("whatsapp: send: %w: phone number id is empty", ErrInvalidMessage)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("whatsapp: send: encode: %w: %v", ErrInvalidMessage, err)
	}
	var out SendResponse
	if err := c.do(ctx, "send", http.MethodPost, c.url(phoneNumberID, "messages", nil), body, &out); err != nil {
		return "", err
	}
	if len(out.Messages) == 0 || out.Messages[0].ID == "" {
		return "", errors.New("whatsapp: send: answer has no message id")
	}
	return out.Messages[0].ID, nil
}

// TemplateDefinition is a message template as submitted to /{WABA-ID}/message_templates.
type TemplateDefinition struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	Category string `json:"category"` // UTILITY for reminders
	// ParameterFormat is "named" or "positional" (Meta's default).
	ParameterFormat string `json:"parameter_format,omitempty"`
	// MessageSendTTLSeconds stops Meta delivering a stale reminder late.
	MessageSendTTLSeconds int                           `json:"message_send_ttl_seconds,omitempty"`
	Components            []TemplateDefinitionComponent `json:"components"`
}

// TemplateDefinitionComponent is HEADER, BODY, FOOTER or BUTTONS.
type TemplateDefinitionComponent struct {
	Type    string                     `json:"type"`
	Format  string                     `json:"format,omitempty"`
	Text    string                     `json:"text,omitempty"`
	Example *TemplateExample           `json:"example,omitempty"`
	Buttons []TemplateDefinitionButton `json:"buttons,omitempty"`
}

// TemplateExample gives reviewers sample values for the variables.
type TemplateExample struct {
	HeaderText          []string            `json:"header_text,omitempty"`
	BodyText            [][]string          `json:"body_text,omitempty"`
	HeaderTextNamed     []NamedParamExample `json:"header_text_named_params,omitempty"`
	BodyTextNamedParams []NamedParamExample `json:"body_text_named_params,omitempty"`
}

// NamedParamExample is a sample value for a named variable.
type NamedParamExample struct {
	ParamName string `json:"param_name"`
	Example   string `json:"example"`
}

// TemplateDefinitionButton is a template button (QUICK_REPLY for Confirm/Cancel/...).
type TemplateDefinitionButton struct {
	Type string `json:"type"`
	Text string `json:"text"`
	URL  string `json:"url,omitempty"`
}

// TemplateSubmission is Graph's answer to a template submission.
type TemplateSubmission struct {
	ID       string `json:"id"`
	Status   string `json:"status"` // PENDING, APPROVED, REJECTED
	Category string `json:"category"`
}

// TemplateInfo is a template as listed by the WABA, with its review status.
type TemplateInfo struct {
	ID              string                        `json:"id"`
	Name            string                        `json:"name"`
	Language        string                        `json:"language"`
	Status          string                        `json:"status"`
	Category        string                        `json:"category"`
	ParameterFormat string                        `json:"parameter_format,omitempty"`
	RejectedReason  string                        `json:"rejected_reason,omitempty"`
	Components      []TemplateDefinitionComponent `json:"components,omitempty"`
	MessageSendTTL  int                           `json:"message_send_ttl_seconds,omitempty"`
}

// SubmitTemplate creates a template in the WABA for review.
func (c *Client) SubmitTemplate(ctx context.Context, wabaID string, t TemplateDefinition) (TemplateSubmission, error) {
	body, err := json.Marshal(t)
	if err != nil {
		return TemplateSubmission{}, fmt.Errorf("whatsapp: submit template %s: encode: %w", t.Name, err)
	}
	var out TemplateSubmission
	if err := c.do(ctx, "submit template "+t.Name, http.MethodPost, c.url(wabaID, "message_templates", nil), body, &out); err != nil {
		return TemplateSubmission{}, err
	}
	return out, nil
}

// ListTemplates returns the WABA's templates, all pages, optionally only those
// called name.
func (c *Client) ListTemplates(ctx context.Context, wabaID, name string) ([]TemplateInfo, error) {
	var all []TemplateInfo
	q := url.Values{"limit": {"100"}}
	if name != "" {
		q.Set("name", name)
	}
	for page := 0; ; page++ {
		if page > 1000 {
			return nil, errors.New("whatsapp: list templates: more than 1000 pages, giving up")
		}
		var out struct {
			Data   []TemplateInfo `json:"data"`
			Paging struct {
				Cursors struct {
					After string `json:"after"`
				} `json:"cursors"`
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := c.do(ctx, "list templates", http.MethodGet, c.url(wabaID, "message_templates", q), nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Data...)
		// Graph signals the last page by omitting `next`; its absolute URL is not
		// followed so that BaseURL (the stand-in) stays in charge.
		if out.Paging.Next == "" || out.Paging.Cursors.After == "" {
			return all, nil
		}
		q.Set("after", out.Paging.Cursors.After)
	}
}

func (c *Client) url(node, edge string, q url.Values) string {
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	version := c.Version
	if version == "" {
		version = DefaultVersion
	}
	u := strings.TrimRight(base, "/") + "/" + url.PathEscape(version) + "/" + url.PathEscape(node) + "/" + edge
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// do performs one Graph call and decodes a 2xx answer into out, or returns *APIError.
func (c *Client) do(ctx context.Context, op, method, u string, body []byte, out any) error {
	if c.Token == nil {
		return fmt.Errorf("whatsapp: %s: no token source configured", op)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	token, err := c.Token(ctx)
	if err != nil {
		return fmt.Errorf("whatsapp: %s: access token: %w", op, err)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("whatsapp: %s: build request: %w", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("whatsapp: %s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("whatsapp: %s: read answer (HTTP %d): %w", op, resp.StatusCode, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseAPIError(op, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("whatsapp: %s: decode answer (HTTP %d): %w", op, resp.StatusCode, err)
	}
	return nil
}

func parseAPIError(op string, status int, raw []byte) *APIError {
	e := &APIError{Op: op, HTTPStatus: status}
	var body GraphErrorBody
	if err := json.Unmarshal(raw, &body); err != nil || (body.Error.Code == 0 && body.Error.Message == "") {
		// Proxies and load balancers answer with HTML; the HTTP status still classifies it.
		e.Message = fmt.Sprintf("non-Graph error answer (%d bytes)", len(raw))
		return e
	}
	g := body.Error
	e.Code, e.Subcode, e.Type, e.Message, e.FBTraceID = g.Code, g.ErrorSubcode, g.Type, g.Message, g.FBTraceID
	if g.ErrorData != nil {
		e.Details = g.ErrorData.Details
	}
	return e
}
