package clinic

import (
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/slot"
)

func TestSlotPolicyTakesTheClinicsSettingsAndDefaultsTheRest(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    WaitlistSettings
		want slot.Policy
	}{
		{"defaults", WaitlistSettings{}, slot.Policy{Horizon: 14 * 24 * time.Hour, HoldTTL: 15 * time.Minute, WaveSize: 3,
			WaveGap: 10 * time.Minute, OfferTTL: 2 * time.Hour, MinLead: 2 * time.Hour}},
		{"all set", WaitlistSettings{HorizonDays: 7, HoldMinutes: 30, WaveSize: 5, WaveGapMinutes: 20, OfferValidMinutes: 60, MinLeadMinutes: 240},
			slot.Policy{Horizon: 7 * 24 * time.Hour, HoldTTL: 30 * time.Minute, WaveSize: 5, WaveGap: 20 * time.Minute,
				OfferTTL: time.Hour, MinLead: 4 * time.Hour}},
		{"some set", WaitlistSettings{WaveSize: 1}, slot.Policy{Horizon: 14 * 24 * time.Hour, HoldTTL: 15 * time.Minute, WaveSize: 1,
			WaveGap: 10 * time.Minute, OfferTTL: 2 * time.Hour, MinLead: 2 * time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Clinic{Waitlist: tc.w}).SlotPolicy(); got != tc.want {
				t.Errorf("policy %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestWaitlistSettingsAreValidatedOnOnboarding(t *testing.T) {
	for _, tc := range []struct {
		name    string
		w       WaitlistSettings
		wantErr string
	}{
		{"absent", WaitlistSettings{}, ""},
		{"in range", WaitlistSettings{HorizonDays: 30, HoldMinutes: 60, WaveSize: 10, WaveGapMinutes: 5, OfferValidMinutes: 120, MinLeadMinutes: 30}, ""},
		{"negative wave", WaitlistSettings{WaveSize: -1}, "waveSize"},
		{"horizon too far", WaitlistSettings{HorizonDays: 400}, "horizonDays"},
		{"offer outlives its template", WaitlistSettings{OfferValidMinutes: 121}, "offerValidMinutes"},
		{"offer too short", WaitlistSettings{OfferValidMinutes: 5}, "offerValidMinutes"},
		{"hold negative", WaitlistSettings{HoldMinutes: -15}, "holdMinutes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validClinic()
			c.Waitlist = tc.w
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), "waitlist: "+tc.wantErr)):
				t.Errorf("Validate: %v, want an error naming waitlist %s", err, tc.wantErr)
			}
		})
	}
}
