package waitlist_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/slot"
	"github.com/frontdesk-health/frontdesk/shared/waitlist"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
)

func TestRescheduleListValidatesAgainstMetasSpec(t *testing.T) {
	v := whatsappspec.RequireSpec(t)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	a := appointment.Appointment{ClinicID: "clinic-a", ID: "appt-1", Status: appointment.StatusBooked, Start: t0.Add(20 * 24 * time.Hour)}
	var free []slot.Slot
	for i := range 12 { // a Wednesday in September gives the longest dates
		free = append(free, slot.Slot{ClinicID: "clinic-a", ID: fmt.Sprintf("slot-%02d", i),
			Start: time.Date(2026, 9, 2+i, 13, 30, 0, 0, time.UTC), Duration: 30 * time.Minute, Status: slot.Free})
	}
	for _, lang := range []string{"en-US", "es-MX", "pt-BR"} {
		t.Run(lang, func(t *testing.T) {
			m, err := waitlist.RescheduleList("15550100143", a, free, "Demo Family Clinic", lang, ny)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.ValidateMessage(b); err != nil {
				t.Fatalf("list message is not valid under Meta's spec: %v\n%s", err, b)
			}
			// The validator has teeth: the same list without its button label is refused.
			broken := m
			inter := *m.Interactive
			inter.Action.Button = ""
			broken.Interactive = &inter
			if bb, _ := json.Marshal(broken); v.ValidateMessage(bb) == nil {
				t.Fatalf("a list without its button label passed Meta's schema")
			}
			rows := m.Interactive.Action.Sections[0].Rows
			if m.Interactive.Type != "list" || len(rows) != 10 {
				t.Fatalf("type %q with %d rows, want a list of 10", m.Interactive.Type, len(rows))
			}
			for i, r := range rows {
				p, err := reminder.ParseButtonPayload(r.ID)
				if err != nil || p.ClinicID != "clinic-a" || p.AppointmentID != "appt-1" {
					t.Fatalf("row %d id %q: %+v %v", i, r.ID, p, err)
				}
				want := reminder.ActionPickSlot
				switch {
				case i == 9:
					want = reminder.ActionPickNone
				case i == 8:
					want = reminder.ActionWaitlistJoin
				case p.Generation != free[i].ID:
					t.Fatalf("row %d names slot %q, want %q", i, p.Generation, free[i].ID)
				}
				if p.Action != want {
					t.Fatalf("row %d action %q, want %q", i, p.Action, want)
				}
			}
			// 13:30 UTC is 09:30 in New York on these dates: the clinic's wall clock.
			if d := rows[0].Description; d != "9:30 AM" && d != "09:30" {
				t.Fatalf("first row time %q, want the clinic's 9:30", d)
			}
		})
	}
}
