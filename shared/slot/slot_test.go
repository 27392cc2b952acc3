package slot_test

import (
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/slot"
)

func TestMatches(t *testing.T) {
	appt := appointment.Appointment{
		ClinicID: "demo-clinic", ID: "appt-1", Status: appointment.StatusBooked,
		Location:     appointment.Location{Name: "Main Street Clinic", Address: "100 Example Ave"},
		Practitioner: appointment.Practitioner{Display: "Dr. Ana Example"}, VisitType: "FOLLOWUP",
	}
	bare := appointment.Appointment{ClinicID: "demo-clinic", ID: "appt-2"}
	cases := []struct {
		name string
		s    slot.Slot
		a    appointment.Appointment
		want bool
	}{
		{"slot names nothing: any appointment", slot.Slot{ClinicID: "demo-clinic"}, appt, true},
		{"slot names nothing, appointment names nothing", slot.Slot{ClinicID: "demo-clinic"}, bare, true},
		{"everything equal", slot.Slot{ClinicID: "demo-clinic", Location: "Main Street Clinic", Practitioner: "Dr. Ana Example", VisitType: "FOLLOWUP"}, appt, true},
		{"location differs in case and spaces", slot.Slot{ClinicID: "demo-clinic", Location: "  main STREET clinic "}, appt, true},
		{"practitioner differs in case and spaces", slot.Slot{ClinicID: "demo-clinic", Practitioner: "DR. ANA EXAMPLE\t"}, appt, true},
		{"non-ASCII case folding", slot.Slot{ClinicID: "demo-clinic", Location: "CLÍNICA SÃO JOSÉ"},
			appointment.Appointment{ClinicID: "demo-clinic", Location: appointment.Location{Name: "Clínica São José"}}, true},
		{"other location", slot.Slot{ClinicID: "demo-clinic", Location: "Harbor Clinic"}, appt, false},
		{"other practitioner", slot.Slot{ClinicID: "demo-clinic", Practitioner: "Dr. Bo Sample"}, appt, false},
		{"other visit type", slot.Slot{ClinicID: "demo-clinic", VisitType: "NEW"}, appt, false},
		{"visit type is a code: case matters", slot.Slot{ClinicID: "demo-clinic", VisitType: "followup"}, appt, false},
		{"slot names a location the appointment lacks", slot.Slot{ClinicID: "demo-clinic", Location: "Main Street Clinic"}, bare, false},
		{"slot names a visit type the appointment lacks", slot.Slot{ClinicID: "demo-clinic", VisitType: "FOLLOWUP"}, bare, false},
		{"blank slot fields say nothing", slot.Slot{ClinicID: "demo-clinic", Location: "  ", Practitioner: "\t", VisitType: " "}, bare, true},
		{"the location address is not compared", slot.Slot{ClinicID: "demo-clinic", Location: "100 Example Ave"}, appt, false},
		{"another clinic never matches", slot.Slot{ClinicID: "other-clinic"}, appt, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := slot.Matches(tc.s, tc.a); got != tc.want {
				t.Errorf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	start := time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)
	good := slot.Slot{ClinicID: "c1", ID: "s1", Start: start, Duration: 30 * time.Minute, Status: slot.Free}
	cases := []struct {
		name  string
		edit  func(*slot.Slot)
		valid bool
	}{
		{"valid", func(*slot.Slot) {}, true},
		{"busy is valid", func(s *slot.Slot) { s.Status = slot.Busy }, true},
		{"no id", func(s *slot.Slot) { s.ID = "" }, false},
		{"unknown status", func(s *slot.Slot) { s.Status = "busy-tentative" }, false},
		{"no start", func(s *slot.Slot) { s.Start = time.Time{} }, false},
		{"zero duration", func(s *slot.Slot) { s.Duration = 0 }, false},
		{"negative duration", func(s *slot.Slot) { s.Duration = -time.Minute }, false},
	}
	for _, tc := range cases {
		s := good
		tc.edit(&s)
		if err := s.Validate(); (err == nil) != tc.valid {
			t.Errorf("%s: Validate() = %v, want valid %v", tc.name, err, tc.valid)
		}
	}
	if got := good.End(); !got.Equal(start.Add(30 * time.Minute)) {
		t.Errorf("End = %v", got)
	}
}
