package clinic

import (
	"errors"
	"fmt"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

// WaitlistSettings tune the reschedule list, holds and waitlist offers of a
// clinic that publishes slots. A field left out (0) takes its default.
type WaitlistSettings struct {
	HorizonDays int `json:"horizonDays,omitempty"` // how far ahead the reschedule list looks (default 14)
	HoldMinutes int `json:"holdMinutes,omitempty"` // how long a chosen slot is held for the EHR to book it (15)
	WaveSize    int `json:"waveSize,omitempty"`    // patients offered a freed slot at a time (3)
	// WaveGapMinutes is the wait before the next wave (10).
	WaveGapMinutes int `json:"waveGapMinutes,omitempty"`
	// OfferValidMinutes is how long an offer can be accepted (120). It may not
	// exceed the offer template's message_send_ttl_seconds, after which Meta stops
	// trying to deliver it, so a patient never gets an offer that has lapsed
	// because of its validity; a shorter one may arrive late and is answered
	// kindly that it ended.
	OfferValidMinutes int `json:"offerValidMinutes,omitempty"`
	// MinLeadMinutes: a slot starting sooner than this is not offered any more (120).
	MinLeadMinutes int `json:"minLeadMinutes,omitempty"`
}

// Bounds of the waitlist settings.
const (
	maxHorizonDays   = 90
	maxHoldMinutes   = 24 * 60
	maxWaveSize      = 50
	maxWaveGap       = 24 * 60
	minOfferValidity = 10
	maxMinLead       = 7 * 24 * 60
)

// Validate checks each given setting's range.
func (w WaitlistSettings) Validate() error {
	var errs []error
	check := func(name string, v, lo, hi int) {
		if v != 0 && (v < lo || v > hi) {
			errs = append(errs, fmt.Errorf("%s %d must be %d-%d, or absent for the default", name, v, lo, hi))
		}
	}
	check("horizonDays", w.HorizonDays, 1, maxHorizonDays)
	check("holdMinutes", w.HoldMinutes, 1, maxHoldMinutes)
	check("waveSize", w.WaveSize, 1, maxWaveSize)
	check("waveGapMinutes", w.WaveGapMinutes, 1, maxWaveGap)
	check("offerValidMinutes", w.OfferValidMinutes, minOfferValidity, offerTemplateTTLMinutes())
	check("minLeadMinutes", w.MinLeadMinutes, 1, maxMinLead)
	return errors.Join(errs...)
}

// offerTemplateTTLMinutes is the offer template's message_send_ttl_seconds in minutes.
func offerTemplateTTLMinutes() int {
	t, err := reminder.TemplateNamed(reminder.TemplateWaitlistOffer, reminder.LangEnglish, reminder.LangEnglish)
	if err != nil || t.MessageSendTTLSeconds <= 0 {
		return int(slot.DefaultOfferTTL / time.Minute)
	}
	return t.MessageSendTTLSeconds / 60
}

// SlotPolicy is the clinic's slot policy: its settings, the defaults where it
// gives none. Every service takes its policy from here, so a default is applied
// in one place.
func (c Clinic) SlotPolicy() slot.Policy {
	w := c.Waitlist
	minutes := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	return slot.Policy{
		Horizon: time.Duration(w.HorizonDays) * 24 * time.Hour, HoldTTL: minutes(w.HoldMinutes),
		WaveSize: w.WaveSize, WaveGap: minutes(w.WaveGapMinutes), OfferTTL: minutes(w.OfferValidMinutes),
		MinLead: minutes(w.MinLeadMinutes),
	}.WithDefaults()
}
