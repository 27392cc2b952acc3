package devstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// On the running stack: a freed slot nobody takes is offered wave after wave. A
// clinic of this test's own sets the waitlist to waves of 2 a minute apart
// (waveSize, waveGapMinutes in the clinic file): the first wave goes to the first
// two joiners, and only after the gap the second wave to the next two, each offer
// valid under Meta's spec and sent once.
func TestUnansweredOffersMoveToTheNextWaveAfterTheGap(t *testing.T) {
	w := stackFor(t)
	w.dumpOnFailure(t, w.logs.Len())
	ctx := context.Background()
	demo, err := w.stack.Store.GetClinic(ctx, devstack.DemoClinicID)
	if err != nil {
		t.Fatal(err)
	}
	c := demo
	c.ID, c.PhoneNumberID = "systest-wl-waves", "100000000000953"
	c.QuietHours = reminder.QuietHours{}
	c.Waitlist = clinic.WaitlistSettings{WaveSize: 2, WaveGapMinutes: 1}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := w.stack.Store.PutClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	waiters := []string{"+15550100241", "+15550100242", "+15550100243", "+15550100244"}
	for i, phone := range waiters {
		body, _ := json.Marshal(map[string]any{"status": "booked", "start": now.Add(time.Duration(5*24+i) * time.Hour).Truncate(time.Minute).Format(time.RFC3339),
			"durationMinutes": 30, "waitlist": true,
			"patient": map[string]string{"id": fmt.Sprintf("pat-wv-%d", i), "phone": phone, "givenName": "Wave", "language": "en-US"},
			"consent": map[string]string{"whatsapp": "opted_in", "at": now.Add(-time.Hour).Format(time.RFC3339), "source": "systest", "evidence": "intake form"},
			"version": 1})
		w.putFor(t, c.ID, fmt.Sprintf("/appointments/wv-%d", i), body)
	}
	start := now.Add(28 * time.Hour).Truncate(time.Minute).Format(time.RFC3339)
	w.putFor(t, c.ID, "/slots/systest-wv-slot", []byte(fmt.Sprintf(`{"start":%q,"durationMinutes":30,"status":"busy","version":1}`, start)))
	w.putFor(t, c.ID, "/slots/systest-wv-slot", []byte(fmt.Sprintf(`{"start":%q,"durationMinutes":30,"status":"free","version":2}`, start)))

	offers := func() map[string][]whatsapptest.Recorded {
		out := map[string][]whatsapptest.Recorded{}
		for _, r := range w.stack.Stub.Sent() {
			if r.Type == "template" && r.Template == reminder.TemplateWaitlistOffer && r.PhoneNumberID == c.PhoneNumberID && r.WAMID != "" {
				num := strings.TrimPrefix(to(r), "+")
				out[num] = append(out[num], r)
			}
		}
		return out
	}
	eventually(t, waitTimeout, "the first wave of offers", func() (bool, string) {
		got := offers()
		return len(got) >= 2, fmt.Sprintf("%d offers", len(got))
	})
	first := offers()
	if len(first) != 2 || first["15550100241"] == nil || first["15550100242"] == nil {
		t.Fatalf("first wave to %v, want the first two joiners", sortedKeys(first))
	}
	firstAt := first["15550100241"][0].At
	if at := first["15550100242"][0].At; at.After(firstAt) {
		firstAt = at
	}
	eventually(t, 3*time.Minute, "the second wave of offers", func() (bool, string) {
		got := offers()
		return len(got) >= 4, fmt.Sprintf("%d offers", len(got))
	})
	all := offers()
	if len(all) != 4 {
		t.Fatalf("offers to %v, want the four joiners", sortedKeys(all))
	}
	for _, num := range []string{"15550100243", "15550100244"} {
		r := all[num][0]
		if gap := r.At.Sub(firstAt); gap < 55*time.Second {
			t.Errorf("offer to %s %s after the first wave, want the clinic's one-minute gap", num, gap)
		}
	}
	for num, rs := range all {
		if len(rs) != 1 {
			t.Errorf("%d offers to %s, want one", len(rs), num)
		}
		if err := whatsappspec.ValidateMessage(rs[0].Body); err != nil {
			t.Errorf("offer to %s does not match Meta's spec: %v\n%s", num, err, rs[0].Body)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
