package ehr

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
)

// TestWebhooksMatchEventTypes: the document's webhooks section describes every
// event Frontdesk posts to a clinic, signed, and each event's data schema names
// exactly the JSON fields of the Go type it is built from, with the same
// required fields and JSON types, so the document and the code cannot drift.
func TestWebhooksMatchEventTypes(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	hooks, _ := doc["webhooks"].(map[string]any)
	if len(hooks) == 0 {
		t.Fatal("the document has no webhooks section")
	}
	byType := map[string]map[string]any{} // event type -> its envelope schema
	for name, item := range hooks {
		post, _ := dig(item, "post").(map[string]any)
		if post == nil {
			t.Errorf("webhook %s: no post operation", name)
			continue
		}
		if !hasStandardWebhooks(post) {
			t.Errorf("webhook %s: security is not standardWebhooks", name)
		}
		if d, _ := post["description"].(string); strings.TrimSpace(d) == "" {
			t.Errorf("webhook %s: no description", name)
		}
		schema := deref(t, doc, dig(post, "requestBody", "content", "application/json", "schema"))
		typ, _ := dig(schema, "properties", "type", "const").(string)
		if typ == "" {
			t.Errorf("webhook %s: its schema's type has no const", name)
			continue
		}
		if _, dup := byType[typ]; dup {
			t.Errorf("webhook %s: %s is described twice", name, typ)
		}
		byType[typ] = schema
	}
	catalog := map[string]bool{}
	for _, d := range clinic.Catalog() {
		typ := d.EventType()
		catalog[typ] = true
		schema, ok := byType[typ]
		if !ok {
			t.Errorf("%s has no webhooks entry", typ)
			continue
		}
		for _, f := range []string{"id", "type", "clinicId", "timestamp", "data"} {
			if !slices.Contains(strs(dig(schema, "required")), f) {
				t.Errorf("%s: envelope field %s is not required", typ, f)
			}
		}
		data := deref(t, doc, dig(schema, "properties", "data"))
		props, _ := data["properties"].(map[string]any)
		fields := jsonFields(reflect.TypeOf(d))
		var wantProps, wantRequired []string
		for _, f := range fields {
			wantProps = append(wantProps, f.name)
			if f.required {
				wantRequired = append(wantRequired, f.name)
			}
			p, _ := deref(t, doc, props[f.name])["type"].(string)
			if p != "" && p != f.jsonType {
				t.Errorf("%s: data.%s is %s in the document, %s in Go", typ, f.name, p, f.jsonType)
			}
		}
		if got := sortedKeys(props); !slices.Equal(got, sorted(wantProps)) {
			t.Errorf("%s: data properties\n document %v\n       Go %v", typ, got, sorted(wantProps))
		}
		if got := sorted(strs(data["required"])); !slices.Equal(got, sorted(wantRequired)) {
			t.Errorf("%s: data required\n document %v\n       Go %v", typ, got, sorted(wantRequired))
		}
	}
	for typ := range byType {
		if !catalog[typ] {
			t.Errorf("webhook for %s, which no Go event type builds", typ)
		}
	}
}

type jsonField struct {
	name, jsonType string
	required       bool // always present: no omitempty or omitzero
}

var (
	timeType   = reflect.TypeOf(time.Time{})
	secondType = reflect.TypeOf(clinic.Second{})
)

func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		omit := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		out = append(out, jsonField{name: name, jsonType: jsonType(f.Type), required: !omit})
	}
	return out
}

func jsonType(t reflect.Type) string {
	if t == timeType || t == secondType {
		return "string"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonType(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}

func hasStandardWebhooks(op map[string]any) bool {
	sec, _ := op["security"].([]any)
	for _, s := range sec {
		if m, ok := s.(map[string]any); ok {
			if _, ok := m["standardWebhooks"]; ok {
				return true
			}
		}
	}
	return false
}

// dig walks nested maps by key; nil when a step is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// deref follows a local $ref (one or more) to the schema it names.
func deref(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	for range 8 {
		m, _ := v.(map[string]any)
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		path, ok := strings.CutPrefix(ref, "#/")
		if !ok {
			t.Fatalf("$ref %q is not local", ref)
		}
		v = dig(doc, strings.Split(path, "/")...)
	}
	t.Fatal("$ref chain too long")
	return nil
}

func strs(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

// TestEventsMatchWebhookSchemas: events as the code builds them validate against
// their documented schemas (consts, enums, formats), and a mangled one does not.
func TestEventsMatchWebhookSchemas(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 30, 15, 123456789, time.UTC)
	answer := clinic.AppointmentResponse{AppointmentID: "appt-1", PatientID: "pat-1", RespondedAt: at, MessageID: "msg_0123", Source: "whatsapp"}
	confirmed, cancel := answer, answer
	confirmed.Response, cancel.Response = "confirmed", "cancelled_by_patient"
	change := clinic.ConsentChange{PatientID: "pat-1", Source: "whatsapp", MessageID: "msg_0456", ConsentID: "cns_1"}
	tests := []struct {
		name, schema string
		event        clinic.Event
	}{
		{"confirmed", "AppointmentConfirmed", clinic.NewAppointmentConfirmed("evt_1", "clinic-a", at, clinic.AppointmentConfirmed(confirmed))},
		{"cancel requested", "AppointmentCancelRequested", clinic.NewAppointmentCancelRequested("evt_1", "clinic-a", at, clinic.AppointmentCancelRequested(cancel))},
		{"reschedule answer", "AppointmentRescheduleRequested", clinic.NewAppointmentRescheduleRequested("evt_1", "clinic-a", at,
			clinic.AppointmentRescheduleRequested{AppointmentID: "appt-1", PatientID: "pat-1", Response: "reschedule_requested",
				RespondedAt: at, MessageID: "msg_0123", Source: "whatsapp"})},
		{"reschedule hold", "AppointmentRescheduleRequested", clinic.NewAppointmentRescheduleRequested("evt_1", "clinic-a", at,
			clinic.AppointmentRescheduleRequested{AppointmentID: "appt-1", PatientID: "pat-1", SlotID: "slot-9",
				Start: clinic.Second{Time: at.Add(48 * time.Hour)}, Reason: "waitlist", HoldExpiresAt: clinic.Second{Time: at.Add(30 * time.Minute)}})},
		{"hold expired", "AppointmentRescheduleRequestExpired", clinic.NewAppointmentRescheduleRequestExpired("evt_1", "clinic-a", at,
			clinic.AppointmentRescheduleRequestExpired{AppointmentID: "appt-1", PatientID: "pat-1", SlotID: "slot-9",
				Start: clinic.Second{Time: at.Add(48 * time.Hour)}, Reason: "reschedule"})},
		{"opted out", "PatientOptedOut", clinic.NewPatientOptedOut("evt_1", "clinic-a", at, clinic.PatientOptedOut(change))},
		{"opted in", "PatientOptedIn", clinic.NewPatientOptedIn("evt_1", "clinic-a", at, clinic.PatientOptedIn(change))},
		{"escalated", "ConversationEscalated", clinic.NewConversationEscalated("evt_1", "clinic-a", at,
			clinic.ConversationEscalated{Reason: "emergency", Urgency: "urgent", MessageID: "msg_0789", MessageType: "text",
				PatientID: "pat-1", ConversationID: "cnv_0123456789abcdef0123456789abcdef", ConversationURL: "/v1/clinics/clinic-a/conversations/cnv_0123456789abcdef0123456789abcdef/messages"})},
		{"reminder failed", "MessageFailed", clinic.NewMessageFailed("evt_1", "clinic-a", at,
			clinic.MessageFailed{AppointmentID: "appt-1", ReminderKind: "pre48h", ErrorCode: new(131049), Reason: "quality"})},
		{"reminder dead-lettered", "MessageFailed", clinic.NewMessageFailed("evt_1", "clinic-a", at,
			clinic.MessageFailed{AppointmentID: "appt-1", ReminderKind: "pre48h", Reason: "retries_exhausted"})},
		{"status failed", "MessageFailed", clinic.NewMessageFailed("evt_1", "clinic-a", at,
			clinic.MessageFailed{MessageID: "msg_0abc", PatientID: "pat-1", MessageType: "template", ErrorCode: new(131026), ErrorClass: "undeliverable"})},
		{"notice failed", "MessageFailed", clinic.NewMessageFailed("evt_1", "clinic-a", at,
			clinic.MessageFailed{NoticeID: "ntc_1", PatientID: "pat-1", NoticeKind: "recall_due", Reason: "opted_out"})},
		{"template paused", "TemplateStatusChanged", clinic.NewTemplateStatusChanged("evt_1", "clinic-a", at,
			clinic.TemplateStatusChanged{TemplateName: "appointment_reminder_48h", Language: "en_US", Status: "PAUSED", Category: "UTILITY", Reason: "template_paused"})},
		{"feedback", "FeedbackReceived", clinic.NewFeedbackReceived("evt_1", "clinic-a", at,
			clinic.FeedbackReceived{NoticeID: "ntc_2", PatientID: "pat-1", Score: 2, Low: true, AppointmentID: "appt-1"})},
	}
	covered := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := schemaFor(t, tc.schema)
			b, err := json.Marshal(tc.event)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateJSON(t, s, b); err != nil {
				t.Errorf("%s does not match %s: %v\n%s", tc.event.Type, tc.schema, err, b)
			}
			var mangled map[string]any
			if err := json.Unmarshal(b, &mangled); err != nil {
				t.Fatal(err)
			}
			mangled["type"] = "appointment.other"
			b, _ = json.Marshal(mangled)
			if validateJSON(t, s, b) == nil {
				t.Errorf("%s: an event of another type passed its schema", tc.schema)
			}
		})
		covered[tc.event.Type] = true
	}
	for _, d := range clinic.Catalog() {
		if !covered[d.EventType()] {
			t.Errorf("%s: no sample validated against its schema", d.EventType())
		}
	}
}
