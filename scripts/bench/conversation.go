package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp"
)

// benchConversation starts the dev stack (its own DynamoDB Local, moto, routers,
// queue consumers and Graph API stand-in, on free ports) and measures, n times:
// from a patient's message posted to the webhook until the API lists its
// conversation, and from a staff reply posted to the API until the stand-in
// receives the Graph API call. It prints the medians.
func benchConversation(ctx context.Context, n int) error {
	stack, cfg, err := startDevStack(ctx)
	if err != nil {
		return err
	}
	defer stack.Stop()
	b := &convBench{stack: stack, cfg: cfg, http: &http.Client{Timeout: 10 * time.Second}, seen: map[string]bool{}}

	var listed, answered, replied []time.Duration
	for i := range n {
		phone := fmt.Sprintf("1555010%04d", 3000+i) // +1 555 010 3000...: fictional
		before := len(b.stack.Stub.Sent())
		d, id, err := b.messageToListed(ctx, phone)
		if err != nil {
			return err
		}
		listed = append(listed, d)
		if d, err = b.botReplied(ctx, before, phone); err != nil {
			return err
		}
		answered = append(answered, d)
		d, err = b.replyToGraph(ctx, id, phone, i)
		if err != nil {
			return err
		}
		replied = append(replied, d)
	}
	fmt.Printf("conversation (%d messages and %d replies through the dev stack)\n", n, n)
	fmt.Printf("  patient message -> listed by GET /conversations: median %s (min %s, max %s)\n", median(listed), slices.Min(listed).Round(time.Millisecond), slices.Max(listed).Round(time.Millisecond))
	fmt.Printf("  patient message -> the bot's reply at the stand-in: median %s (min %s, max %s)\n", median(answered), slices.Min(answered).Round(time.Millisecond), slices.Max(answered).Round(time.Millisecond))
	fmt.Printf("  staff reply POST -> Graph API call at the stand-in: median %s (min %s, max %s)\n", median(replied), slices.Min(replied).Round(time.Millisecond), slices.Max(replied).Round(time.Millisecond))
	return nil
}

type convBench struct {
	stack *devstack.Stack
	cfg   devstack.Config
	http  *http.Client
	seen  map[string]bool
	// posted is when the last patient message was posted to the webhook.
	posted time.Time
}

// botReplied returns when the stand-in recorded the bot's answer to the patient's
// last message (the hand-off reply, sent by the inbound handler), counted from the
// message's post; before is how many sends the stand-in held then.
func (b *convBench) botReplied(ctx context.Context, before int, phone string) (time.Duration, error) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range b.stack.Stub.Sent()[before:] {
			var m struct {
				To string `json:"to"`
			}
			if json.Unmarshal(r.Body, &m) == nil && (m.To == phone || m.To == "+"+phone) {
				return r.At.Sub(b.posted), nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond): // polling interval of the measurement
		}
	}
	return 0, fmt.Errorf("no reply to %s recorded by the stand-in within 30 s", platform.MaskPhone("+"+phone))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(time.Millisecond)
}

func (b *convBench) do(ctx context.Context, method, path string, body []byte) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, method, b.stack.APIURL+path, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+b.cfg.EHRWriteToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return out, resp.StatusCode, err
}

// messageToListed posts a free-text message from phone and polls the open list
// until a conversation not seen before appears.
func (b *convBench) messageToListed(ctx context.Context, phone string) (time.Duration, string, error) {
	now := time.Now()
	body, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": "200000000000001", "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]string{"display_phone_number": "15550100000", "phone_number_id": b.cfg.PhoneNumberID},
			"messages": []any{map[string]any{"from": phone, "id": "wamid.bench" + platform.NewID(), "type": "text",
				"timestamp": strconv.FormatInt(now.Unix(), 10), "text": map[string]string{"body": "Could I come a bit later?"}}},
		}}},
	}}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.stack.APIURL+"/webhooks/whatsapp", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign([]byte(b.cfg.AppSecret), body))
	start := time.Now()
	b.posted = start
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, "", fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	for time.Since(start) < 30*time.Second {
		out, code, err := b.do(ctx, http.MethodGet, "/v1/clinics/"+devstack.DemoClinicID+"/conversations?limit=100", nil)
		if err != nil || code != http.StatusOK {
			return 0, "", fmt.Errorf("list: HTTP %d: %v %s", code, err, out)
		}
		var list struct {
			Conversations []struct{ ID string } `json:"conversations"`
		}
		if err := json.Unmarshal(out, &list); err != nil {
			return 0, "", err
		}
		for _, c := range list.Conversations {
			if !b.seen[c.ID] {
				b.seen[c.ID] = true
				return time.Since(start), c.ID, nil
			}
		}
		time.Sleep(5 * time.Millisecond) // polling interval of the measurement, not synchronisation
	}
	return 0, "", fmt.Errorf("the message from %s was not listed within 30 s", platform.MaskPhone("+"+phone))
}

// replyToGraph posts a staff reply and returns when the stand-in recorded the send.
func (b *convBench) replyToGraph(ctx context.Context, id, phone string, i int) (time.Duration, error) {
	text := fmt.Sprintf("Yes, that works (%d).", i)
	before := len(b.stack.Stub.Sent())
	body, _ := json.Marshal(map[string]string{"text": text, "author": "Bench"})
	start := time.Now()
	out, code, err := b.do(ctx, http.MethodPost, "/v1/clinics/"+devstack.DemoClinicID+"/conversations/"+id+"/messages", body)
	if err != nil || code != http.StatusAccepted {
		return 0, fmt.Errorf("reply: HTTP %d: %v %s", code, err, out)
	}
	// The reply is a staff_reply job: the sender takes it from the outbound queue.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range b.stack.Stub.Sent()[before:] {
			var m struct {
				To   string `json:"to"`
				Text *struct {
					Body string `json:"body"`
				} `json:"text"`
			}
			if json.Unmarshal(r.Body, &m) == nil && m.Text != nil && m.Text.Body == text {
				return r.At.Sub(start), nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	fmt.Fprintln(os.Stderr, "bench: the reply is not among the stand-in's recordings")
	return 0, fmt.Errorf("reply %d not recorded by the stand-in", i)
}
