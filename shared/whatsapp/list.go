package whatsapp

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Meta's limits on interactive list messages.
const (
	MaxListRows           = 10
	MaxListButtonLabel    = 20
	MaxListRowTitle       = 24
	MaxListRowDescription = 72
	MaxListRowID          = 200
	MaxListSectionTitle   = 24
)

// ListSection is one titled group of rows of a list message.
type ListSection struct {
	Title string    `json:"title,omitempty"`
	Rows  []ListRow `json:"rows"`
}

// ListRow is one choice: ID comes back in the webhook's list_reply.id.
type ListRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// ListMessage builds an interactive list message (only inside the 24-hour
// window): a body, the label of the button that opens the list, and at most 10
// rows in all, each id unique, within Meta's lengths. A message with several
// sections needs a title on each.
func ListMessage(to, body, button string, sections []ListSection) (Message, error) {
	m, err := newMessage(to, TypeInteractive)
	if err != nil {
		return Message{}, err
	}
	bad := func(format string, a ...any) (Message, error) {
		return Message{}, fmt.Errorf("%w: list: "+format, append([]any{ErrInvalidMessage}, a...)...)
	}
	switch {
	case strings.TrimSpace(body) == "":
		return bad("body is empty")
	case utf8.RuneCountInString(body) > MaxInteractiveBody:
		return bad("body longer than %d characters", MaxInteractiveBody)
	case strings.TrimSpace(button) == "" || utf8.RuneCountInString(button) > MaxListButtonLabel:
		return bad("button label empty or longer than %d characters", MaxListButtonLabel)
	case len(sections) == 0:
		return bad("no section")
	}
	rows, ids := 0, map[string]bool{}
	for i, sec := range sections {
		if len(sections) > 1 && strings.TrimSpace(sec.Title) == "" {
			return bad("section %d needs a title", i)
		}
		if utf8.RuneCountInString(sec.Title) > MaxListSectionTitle {
			return bad("section %d title longer than %d characters", i, MaxListSectionTitle)
		}
		if len(sec.Rows) == 0 {
			return bad("section %d has no rows", i)
		}
		for j, r := range sec.Rows {
			rows++
			switch {
			case strings.TrimSpace(r.ID) == "" || utf8.RuneCountInString(r.ID) > MaxListRowID || ids[r.ID]:
				return bad("row %d.%d: id empty, longer than %d characters or repeated", i, j, MaxListRowID)
			case strings.TrimSpace(r.Title) == "" || utf8.RuneCountInString(r.Title) > MaxListRowTitle:
				return bad("row %d.%d: title empty or longer than %d characters", i, j, MaxListRowTitle)
			case utf8.RuneCountInString(r.Description) > MaxListRowDescription:
				return bad("row %d.%d: description longer than %d characters", i, j, MaxListRowDescription)
			}
			ids[r.ID] = true
		}
	}
	if rows > MaxListRows {
		return bad("%d rows, at most %d", rows, MaxListRows)
	}
	m.Interactive = &OutInteractive{Type: "list", Body: &InteractiveBody{Text: body}, Action: InteractiveAction{Button: button, Sections: sections}}
	return m, nil
}
