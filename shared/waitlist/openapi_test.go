package waitlist_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/slot"
	"github.com/frontdesk-health/frontdesk/shared/waitlist"
)

// The events this package posts match their schemas in the OpenAPI document's
// webhooks section, so the contract integrators read is the one they receive.
func TestEventsMatchTheOpenAPIWebhooks(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(ehr.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(doc) // YAML's map[string]any into plain JSON values
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	const url = "https://frontdesk.dev/openapi.json"
	if err := c.AddResource(url, inst); err != nil {
		t.Fatal(err)
	}
	schema := func(webhook string) *jsonschema.Schema {
		s, err := c.Compile(url + "#/webhooks/" + webhook + "/post/requestBody/content/application~1json/schema")
		if err != nil {
			t.Fatalf("%s: %v", webhook, err)
		}
		return s
	}
	svc, store, clock, ev, _ := newService(t)
	checks := map[string]string{
		clinic.EventAppointmentRescheduleRequested:      "appointmentRescheduleRequested",
		clinic.EventAppointmentRescheduleRequestExpired: "appointmentRescheduleRequestExpired",
	}
	ctx := ctxT(t)
	sl := slot.Slot{ClinicID: "clinic-a", ID: "slot-1", Start: t0.Add(26 * time.Hour), Duration: 30 * time.Minute, Status: slot.Free, Version: 1}
	if err := store.SaveSlot(ctx, sl); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Choose(ctx, waitlist.Choice{ClinicID: "clinic-a", AppointmentID: "appt-1", PatientID: "pat-1", SlotID: sl.ID,
		Reason: slot.ReasonReschedule, MessageID: "wamid.pick"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(slot.DefaultHoldTTL)
	if _, err := svc.ReleaseExpired(ctx, "clinic-a"); err != nil {
		t.Fatal(err)
	}
	for typ, hook := range checks {
		evs := ev.ofType(typ)
		if len(evs) == 0 {
			t.Fatalf("no %s event to check", typ)
		}
		for _, e := range evs {
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema(hook).Validate(v); err != nil {
				t.Errorf("%s does not match the OpenAPI webhook %s: %v\n%s", typ, hook, err, b)
			}
			// The schema has teeth: an event without its slot id is refused.
			var mangled map[string]any
			if err := json.Unmarshal(b, &mangled); err != nil {
				t.Fatal(err)
			}
			delete(mangled["data"].(map[string]any), "slotId")
			mangled["type"] = "appointment.other"
			b, _ = json.Marshal(mangled)
			if v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b)); schema(hook).Validate(v) == nil {
				t.Errorf("%s: a mangled event passed the schema", typ)
			}
		}
	}
}
