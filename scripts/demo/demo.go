package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// demoPatientPhone is a fictional number (555-01xx range).
const demoPatientPhone = "+12025550143"

type demo struct {
	cfg      devstack.Config
	apiURL   string
	graphURL string
	now      func() time.Time
	http     *http.Client
}

func newDemo(lookup func(string) (string, bool)) (*demo, error) {
	cfg, err := devstack.ConfigFromEnv(lookup)
	if err != nil {
		return nil, err
	}
	return &demo{
		cfg: cfg, apiURL: fmt.Sprintf("http://127.0.0.1:%d", cfg.Port), graphURL: fmt.Sprintf("http://127.0.0.1:%d", cfg.GraphPort),
		now: func() time.Time { return time.Now().UTC() }, http: &http.Client{Timeout: 10 * time.Second},
	}, nil
}

func (d *demo) run(cmd string, args []string, out io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	id := fs.String("id", "demo-appt-1", "appointment id")
	in := fs.Duration("in", 47*time.Hour, "book: how far ahead the visit starts")
	status := fs.String("status", "booked", "book: FHIR appointment status")
	button := fs.String("button", "confirm", "tap: confirm, reschedule or cancel")
	text := fs.String("text", "hello", "say: what the patient writes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch cmd {
	case "book":
		return d.book(out, *id, *in, *status)
	case "sent":
		return d.sent(out)
	case "tap":
		return d.tap(out, *id, reminder.Action(*button))
	case "say":
		return d.say(out, *text)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

func (d *demo) book(out io.Writer, id string, in time.Duration, status string) error {
	now := d.now()
	body, _ := json.Marshal(map[string]any{
		"status": status, "start": now.Add(in).Truncate(time.Minute).Format(time.RFC3339), "durationMinutes": 30,
		"location":     map[string]string{"name": "Demo Family Clinic", "address": "100 Example Ave, Springfield"},
		"practitioner": map[string]string{"display": "Dr. Demo Example"},
		"patient":      map[string]string{"id": "demo-patient-1", "phone": demoPatientPhone, "givenName": "Sam", "language": "en-US"},
		"consent":      map[string]string{"whatsapp": "opted_in", "at": now.Add(-time.Hour).Format(time.RFC3339), "source": "demo", "evidence": "demo intake form"},
		"updatedAt":    now.Format(time.RFC3339Nano),
	})
	req, err := d.cfg.SignedEHRRequest(context.Background(), http.MethodPut, d.apiURL+"/v1/clinics/"+devstack.DemoClinicID+"/appointments/"+id, now, body)
	if err != nil {
		return err
	}
	return d.do(out, req)
}

func (d *demo) do(out io.Writer, req *http.Request) error {
	resp, err := d.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w (is `make dev` running?)", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Fprintf(out, "%s %s -> %d\n%s\n", req.Method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(b))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("answered %d", resp.StatusCode)
	}
	return nil
}

// recordings reads the stand-in's recorded sends.
func (d *demo) recordings() ([]whatsapptest.Recorded, error) {
	resp, err := d.http.Get(d.graphURL + "/_stub/messages")
	if err != nil {
		return nil, fmt.Errorf("read the Graph API stand-in: %w (is `make dev` running?)", err)
	}
	defer resp.Body.Close()
	var recs []whatsapptest.Recorded
	if err := json.NewDecoder(resp.Body).Decode(&recs); err != nil {
		return nil, fmt.Errorf("decode recordings: %w", err)
	}
	return recs, nil
}

func (d *demo) sent(out io.Writer) error {
	recs, err := d.recordings()
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		fmt.Fprintln(out, "nothing sent yet (the sweep runs every few seconds)")
	}
	for _, r := range recs {
		var m whatsapp.Message
		_ = json.Unmarshal(r.Body, &m)
		fmt.Fprintf(out, "%s  %-12s template=%-26s http=%d wamid=%s\n", r.At.Format(time.TimeOnly), m.Type, r.Template, r.HTTPStatus, r.WAMID)
		for _, p := range payloads(r.Body) {
			if bp, err := reminder.ParseButtonPayload(p); err == nil {
				fmt.Fprintf(out, "    button %-10s -> appointment %s\n", bp.Action, bp.AppointmentID)
			}
		}
	}
	return nil
}

// payloads extracts quick-reply payloads from a template send body.
func payloads(body []byte) []string {
	var m struct {
		Template struct {
			Components []struct {
				Type       string `json:"type"`
				Parameters []struct {
					Payload string `json:"payload"`
				} `json:"parameters"`
			} `json:"components"`
		} `json:"template"`
	}
	_ = json.Unmarshal(body, &m)
	var out []string
	for _, c := range m.Template.Components {
		if c.Type == "button" {
			for _, p := range c.Parameters {
				out = append(out, p.Payload)
			}
		}
	}
	return out
}

func (d *demo) tap(out io.Writer, id string, action reminder.Action) error {
	recs, err := d.recordings()
	if err != nil {
		return err
	}
	for i := len(recs) - 1; i >= 0; i-- {
		for _, p := range payloads(recs[i].Body) {
			bp, err := reminder.ParseButtonPayload(p)
			if err == nil && bp.AppointmentID == id && bp.Action == action && recs[i].WAMID != "" {
				title := strings.ToUpper(string(action[:1])) + string(action[1:])
				msg := map[string]any{"type": "button", "button": map[string]string{"payload": p, "text": title},
					"context": map[string]string{"from": "15550100000", "id": recs[i].WAMID}}
				return d.webhook(out, msg)
			}
		}
	}
	return errors.New("no sent reminder with that button for that appointment yet: run `demo sent`")
}

func (d *demo) say(out io.Writer, text string) error {
	return d.webhook(out, map[string]any{"type": "text", "text": map[string]string{"body": text}})
}

// webhook posts a message from the demo patient, signed as Meta signs webhooks.
func (d *demo) webhook(out io.Writer, msg map[string]any) error {
	now := d.now()
	waID := strings.TrimPrefix(demoPatientPhone, "+")
	msg["from"] = waID
	msg["id"] = "wamid.demo" + platform.NewID()
	msg["timestamp"] = strconv.FormatInt(now.Unix(), 10)
	payload := map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": "200000000000001", "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]string{"display_phone_number": "15550100000", "phone_number_id": d.cfg.PhoneNumberID},
			"contacts":          []any{map[string]any{"profile": map[string]string{"name": "Sam"}, "wa_id": waID}},
			"messages":          []any{msg},
		}}},
	}}}
	body, _ := json.Marshal(payload)
	req, _ := http.NewRequest(http.MethodPost, d.apiURL+"/webhooks/whatsapp", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", whatsapp.Sign([]byte(d.cfg.AppSecret), body))
	return d.do(out, req)
}
