package appointment

import (
	"testing"
	"time"
)

func TestValidateAndWindow(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	ok := Appointment{ClinicID: "c", ID: "a", Status: StatusBooked, Start: now, PatientID: "p", Duration: 30 * time.Minute}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Appointment){
		"no id":        func(a *Appointment) { a.ID = "" },
		"bad status":   func(a *Appointment) { a.Status = "rescheduled" },
		"no start":     func(a *Appointment) { a.Start = time.Time{} },
		"no patient":   func(a *Appointment) { a.PatientID = "" },
		"negative dur": func(a *Appointment) { a.Duration = -time.Minute },
	} {
		a := ok
		mut(&a)
		if a.Validate() == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if len(Statuses) != 10 {
		t.Fatalf("FHIR R4 has 10 appointment statuses, have %d", len(Statuses))
	}
	p := Patient{LastInboundAt: now.Add(-23 * time.Hour)}
	if !p.InServiceWindow(now) || p.InServiceWindow(now.Add(time.Hour)) || (Patient{}).InServiceWindow(now) {
		t.Error("the 24-hour window opens with the patient's last message and closes 24 h later")
	}
}
