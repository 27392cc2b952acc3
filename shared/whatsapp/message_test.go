package whatsapp_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

func TestTemplateMessageShape(t *testing.T) {
	m, err := whatsapp.TemplateMessage("+15550142", "appointment_reminder_48h", "es",
		[]whatsapp.TemplateParam{{Name: "clinic_name", Text: "Clínica Sol"}, {Name: "time", Text: "14:30"}},
		[]string{"c:a1:confirm", "c:a1:cancel"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(m)
	want := `{"messaging_product":"whatsapp","recipient_type":"individual","to":"15550142","type":"template",` +
		`"template":{"name":"appointment_reminder_48h","language":{"policy":"deterministic","code":"es"},"components":[` +
		`{"type":"body","parameters":[{"type":"text","parameter_name":"clinic_name","text":"Clínica Sol"},{"type":"text","parameter_name":"time","text":"14:30"}]},` +
		`{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"c:a1:confirm"}]},` +
		`{"type":"button","sub_type":"quick_reply","index":"1","parameters":[{"type":"payload","payload":"c:a1:cancel"}]}]}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	pos, err := whatsapp.TemplateMessage("15550142", "t", "en_US", []whatsapp.TemplateParam{{Text: "a"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(pos); strings.Contains(string(b), "parameter_name") {
		t.Fatalf("positional parameter carries a name: %s", b)
	}
}

func TestReplyButtonsAndTextShape(t *testing.T) {
	m, err := whatsapp.ReplyButtonsMessage("15550142", "Tuesday 14:30?", []whatsapp.ReplyButton{{ID: "confirm:a1", Title: "Confirm"}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(m)
	want := `{"messaging_product":"whatsapp","recipient_type":"individual","to":"15550142","type":"interactive",` +
		`"interactive":{"type":"button","body":{"text":"Tuesday 14:30?"},"action":{"buttons":[{"type":"reply","reply":{"id":"confirm:a1","title":"Confirm"}}]}}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	txt, err := whatsapp.TextMessage("15550142", "Noted.")
	if err != nil {
		t.Fatal(err)
	}
	got, _ = json.Marshal(txt.InReplyTo("wamid.X"))
	want = `{"messaging_product":"whatsapp","recipient_type":"individual","to":"15550142","type":"text","context":{"message_id":"wamid.X"},"text":{"body":"Noted."}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestBuildersRejectInvalidInput(t *testing.T) {
	btn := func(n int) []whatsapp.ReplyButton {
		var out []whatsapp.ReplyButton
		for i := range n {
			out = append(out, whatsapp.ReplyButton{ID: "id" + string(rune('a'+i)), Title: "T" + string(rune('a'+i))})
		}
		return out
	}
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = "p"
	}
	cases := []struct {
		name string
		err  func() error
	}{
		{"to with letters", func() error { _, err := whatsapp.TextMessage("+1555abc0142", "x"); return err }},
		{"to too short", func() error { _, err := whatsapp.TextMessage("+155", "x"); return err }},
		{"to too long", func() error { _, err := whatsapp.TextMessage("+1555014200000000", "x"); return err }},
		{"to with spaces", func() error { _, err := whatsapp.TextMessage("+1 555 0142", "x"); return err }},
		{"empty text", func() error { _, err := whatsapp.TextMessage("15550142", " "); return err }},
		{"text too long", func() error { _, err := whatsapp.TextMessage("15550142", strings.Repeat("a", 4097)); return err }},
		{"template without name", func() error { _, err := whatsapp.TemplateMessage("15550142", "", "en_US", nil, nil); return err }},
		{"template without language", func() error { _, err := whatsapp.TemplateMessage("15550142", "t", "", nil, nil); return err }},
		{"mixed named and positional", func() error {
			_, err := whatsapp.TemplateMessage("15550142", "t", "en_US", []whatsapp.TemplateParam{{Name: "a", Text: "x"}, {Text: "y"}}, nil)
			return err
		}},
		{"empty parameter", func() error {
			_, err := whatsapp.TemplateMessage("15550142", "t", "en_US", []whatsapp.TemplateParam{{Text: ""}}, nil)
			return err
		}},
		{"eleven quick replies", func() error { _, err := whatsapp.TemplateMessage("15550142", "t", "en_US", nil, eleven); return err }},
		{"empty payload", func() error {
			_, err := whatsapp.TemplateMessage("15550142", "t", "en_US", nil, []string{""})
			return err
		}},
		{"no buttons", func() error { _, err := whatsapp.ReplyButtonsMessage("15550142", "x", nil); return err }},
		{"four buttons", func() error { _, err := whatsapp.ReplyButtonsMessage("15550142", "x", btn(4)); return err }},
		{"title 21 chars", func() error {
			_, err := whatsapp.ReplyButtonsMessage("15550142", "x", []whatsapp.ReplyButton{{ID: "a", Title: strings.Repeat("é", 21)}})
			return err
		}},
		{"id 257 chars", func() error {
			_, err := whatsapp.ReplyButtonsMessage("15550142", "x", []whatsapp.ReplyButton{{ID: strings.Repeat("a", 257), Title: "t"}})
			return err
		}},
		{"id with spaces around", func() error {
			_, err := whatsapp.ReplyButtonsMessage("15550142", "x", []whatsapp.ReplyButton{{ID: " a", Title: "t"}})
			return err
		}},
		{"duplicate id", func() error {
			_, err := whatsapp.ReplyButtonsMessage("15550142", "x", []whatsapp.ReplyButton{{ID: "a", Title: "t"}, {ID: "a", Title: "u"}})
			return err
		}},
		{"duplicate title", func() error {
			_, err := whatsapp.ReplyButtonsMessage("15550142", "x", []whatsapp.ReplyButton{{ID: "a", Title: "t"}, {ID: "b", Title: "t"}})
			return err
		}},
		{"empty body", func() error { _, err := whatsapp.ReplyButtonsMessage("15550142", "", btn(1)); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if !errors.Is(err, whatsapp.ErrInvalidMessage) {
				t.Fatalf("got %v, want ErrInvalidMessage", err)
			}
			if whatsapp.Classify(err) != whatsapp.ClassPermanent {
				t.Fatalf("class %v", whatsapp.Classify(err))
			}
		})
	}
	// The limits themselves are allowed.
	if _, err := whatsapp.ReplyButtonsMessage("15550142", "x", []whatsapp.ReplyButton{
		{ID: strings.Repeat("a", 256), Title: strings.Repeat("é", 20)}, {ID: "b", Title: "B"}, {ID: "c", Title: "C"},
	}); err != nil {
		t.Fatalf("limits rejected: %v", err)
	}
}
