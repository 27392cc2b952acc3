package contact

import (
	"errors"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/consent"
)

func TestKeyOfJoinsTheFormsOfOnePhone(t *testing.T) {
	cases := []struct {
		in, want string
		err      error
	}{
		{"+15550100143", "+15550100143", nil},
		{"15550100143", "+15550100143", nil},
		{"5215550100143", "+525550100143", nil},   // WhatsApp's Mexican mobile form
		{"+525550100143", "+525550100143", nil},   // E.164 since 2019
		{"551188880143", "+5511988880143", nil},   // Brazilian mobile before the ninth digit
		{"+5511988880143", "+5511988880143", nil}, // with it
		{"551133330143", "+551133330143", nil},    // Brazilian landline: eight digits stay
		{"", "", ErrNotAPhone},
		{"+1555", "", ErrNotAPhone},
		{"+1555010014a", "", ErrNotAPhone},
		{"+0155501001", "", ErrNotAPhone},
		{"+1234567890123456", "", ErrNotAPhone},
	}
	for _, c := range cases {
		got, err := KeyOf(c.in)
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("KeyOf(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestOptedOutFollowsTheLatestStatement(t *testing.T) {
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		c    Contact
		want bool
	}{
		{"never said anything", Contact{}, false},
		{"STOP", Contact{Consent: &consent.Entry{State: consent.OptedOut, At: at}}, true},
		{"START", Contact{Consent: &consent.Entry{State: consent.OptedIn, At: at}}, false},
	}
	for _, c := range cases {
		if got := c.c.OptedOut(); got != c.want {
			t.Errorf("%s: OptedOut = %v, want %v", c.name, got, c.want)
		}
		if got := len(c.c.Statements()); got != map[bool]int{true: 1, false: 0}[c.want] {
			t.Errorf("%s: %d statements, want the STOP only", c.name, got)
		}
	}
}
