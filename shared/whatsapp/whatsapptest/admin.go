package whatsapptest

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// The /_stub routes are for `make dev` users and tests; they carry no auth because
// the stand-in listens on 127.0.0.1 only.

func (s *Stub) handleGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Stub) handleSetFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err == nil {
		err = json.Unmarshal(b, &f)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "faults: " + err.Error()})
		return
	}
	s.SetFaults(f)
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Stub) handleMessages(w http.ResponseWriter, _ *http.Request) {
	sent := s.Sent()
	if sent == nil {
		sent = []Recorded{}
	}
	writeJSON(w, http.StatusOK, sent)
}

func (s *Stub) handleStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Stub) handleReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Stub) handleSubmitTemplate(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var t whatsapp.TemplateDefinition
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	var problem string
	switch {
	case err != nil:
		problem = "request body is not a template definition"
	case t.Name == "" || t.Language == "" || t.Category == "" || len(t.Components) == 0:
		problem = "name, language, category and components are required"
	case strings.ToLower(t.Name) != t.Name || strings.ContainsAny(t.Name, " -"):
		problem = "template name must be lowercase letters, digits and underscores"
	}
	if problem != "" {
		s.writeError(w, http.StatusBadRequest, whatsapp.GraphError{
			Message: "(#100) Invalid parameter", Code: whatsapp.CodeInvalidParameter,
			ErrorData: &whatsapp.ErrorData{MessagingProduct: "whatsapp", Details: problem},
		})
		return
	}
	s.mu.Lock()
	for _, existing := range s.templates {
		if existing.Name == t.Name && existing.Language == t.Language {
			s.mu.Unlock()
			s.writeError(w, http.StatusBadRequest, whatsapp.GraphError{
				Message: "(#100) Invalid parameter", Code: whatsapp.CodeInvalidParameter, ErrorSubcode: 2388024,
				ErrorUserTitle: "Content in this language already exists",
			})
			return
		}
	}
	info := whatsapp.TemplateInfo{
		ID: strconv.Itoa(1689556908000000 + len(s.templates)), Name: t.Name, Language: t.Language,
		// Approved at once so `make dev` can send it right away.
		Status: "APPROVED", Category: strings.ToUpper(t.Category), ParameterFormat: t.ParameterFormat,
		Components: t.Components, MessageSendTTL: t.MessageSendTTLSeconds,
	}
	s.templates = append(s.templates, info)
	s.stats.TemplatesSubmitted++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, whatsapp.TemplateSubmission{ID: info.ID, Status: info.Status, Category: info.Category})
}

func (s *Stub) handleListTemplates(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 || limit > 100 {
		limit = 25
	}
	after, _ := strconv.Atoi(q.Get("after"))
	s.mu.Lock()
	var match []whatsapp.TemplateInfo
	for _, t := range s.templates {
		if name := q.Get("name"); name == "" || t.Name == name {
			match = append(match, t)
		}
	}
	s.mu.Unlock()
	sort.SliceStable(match, func(i, j int) bool { return match[i].ID < match[j].ID })
	if after > len(match) || after < 0 {
		after = len(match)
	}
	end := min(after+limit, len(match))
	type cursors struct {
		Before string `json:"before"`
		After  string `json:"after"`
	}
	type paging struct {
		Cursors cursors `json:"cursors"`
		Next    string  `json:"next,omitempty"`
	}
	out := struct {
		Data   []whatsapp.TemplateInfo `json:"data"`
		Paging paging                  `json:"paging"`
	}{Data: append([]whatsapp.TemplateInfo{}, match[after:end]...)}
	out.Paging.Cursors = cursors{Before: strconv.Itoa(after), After: strconv.Itoa(end)}
	if end < len(match) {
		nq := r.URL.Query()
		nq.Set("after", strconv.Itoa(end))
		out.Paging.Next = "http://" + r.Host + r.URL.Path + "?" + nq.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}
