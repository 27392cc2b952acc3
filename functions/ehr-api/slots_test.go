package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdesk-health/frontdesk/shared/app/apptest"
	"github.com/frontdesk-health/frontdesk/shared/ehr"
	"github.com/frontdesk-health/frontdesk/shared/fault"
)

// TestSlotLifecycle sends the EHR's slot PUT and the slot list GET through the
// Lambda entry point: the deployed wiring reaches the slots table and its index.
func TestSlotLifecycle(t *testing.T) {
	st := apptest.Start(t, map[string]string{"API_STAGE_NAME": "prod"})
	st.PutClinic(t, apptest.DemoClinic(""))
	h := proxy(t, st)
	ctx := context.Background()
	const slotID = "slot-events-1"

	put := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-put-slot.json")
	body := []byte(put.Body)
	signedAtItsOwnTime(t, put)
	if resp := invoke(t, h, put); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("expired signature: status %d, want 401: %s", resp.StatusCode, resp.Body)
	}
	if _, err := st.Store.GetSlot(ctx, apptest.ClinicID, slotID); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("a refused request stored something: %v", err)
	}

	hdr, err := ehr.SignHeaders(apptest.EHRSecret, put.Headers[ehr.HeaderWebhookID], time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{ehr.HeaderWebhookID, ehr.HeaderWebhookTimestamp, ehr.HeaderWebhookSignature} {
		apptest.SetHeader(&put, k, hdr.Get(k))
	}
	wantStart := time.Date(2035, 3, 16, 14, 0, 0, 0, time.UTC)
	resp := invoke(t, h, put)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("signed PUT: status %d, want 201: %s", resp.StatusCode, resp.Body)
	}
	s, err := st.Store.GetSlot(ctx, apptest.ClinicID, slotID)
	if err != nil || !s.Start.Equal(wantStart) || s.Status != "free" || s.VisitType != "FOLLOWUP" || s.Revision != 1 {
		t.Fatalf("stored slot %+v, %v", s, err)
	}
	if resp := invoke(t, h, put); resp.StatusCode != http.StatusCreated || apptest.Header(resp, "Idempotent-Replayed") != "true" {
		t.Fatalf("redelivery: status %d, Idempotent-Replayed %q", resp.StatusCode, apptest.Header(resp, "Idempotent-Replayed"))
	}
	if s, _ := st.Store.GetSlot(ctx, apptest.ClinicID, slotID); s.Revision != 1 {
		t.Fatalf("the replay wrote again: revision %d", s.Revision)
	}

	get := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-get-slots.json")
	resp = invoke(t, h, get)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET slots: status %d: %s", resp.StatusCode, resp.Body)
	}
	var list ehr.SlotList
	if err := json.Unmarshal([]byte(resp.Body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Slots) != 1 || list.Slots[0].SlotID != slotID || !list.Slots[0].Start.Equal(wantStart) || list.Next != "" {
		t.Fatalf("GET slots %+v", list)
	}
	wrong := apptest.Envelope[events.APIGatewayProxyRequest](t, "apigw-get-slots.json")
	apptest.SetHeader(&wrong, "Authorization", "Bearer not-the-clinic-token")
	if resp := invoke(t, h, wrong); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("another token: status %d, want 401", resp.StatusCode)
	}
}
