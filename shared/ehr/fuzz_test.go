package ehr

import (
	"os"
	"path/filepath"
	"testing"
)

// seed adds every testdata file under dir to the corpus.
func seed(f *testing.F, dir string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata/%s: %v", dir, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// The property: no panic, and whatever is accepted is a valid domain value.
func FuzzParseNative(f *testing.F) {
	seed(f, "native")
	f.Add([]byte(`{"status":"booked","start":"2025-03-14T09:30:00Z","patient":{"id":"p","phone":"5550101"},"version":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseNative(body, testClinic, "appt-1", testNow)
		if err != nil {
			if ev != (Event{}) {
				t.Errorf("error %v with a non-zero event", err)
			}
			return
		}
		checkEvent(t, ev)
		if ev.Consent != nil {
			if err := ev.Consent.Validate(); err != nil {
				t.Errorf("accepted consent fails Validate: %v", err)
			}
		}
	})
}

func FuzzParseFHIR(f *testing.F) {
	seed(f, "fhir")
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := ParseFHIR(body, testClinic, testNow)
		if err != nil {
			_ = OperationOutcome(err) // must not panic either
			return
		}
		if res.Kind == KindEvents && len(res.Events) == 0 && len(res.Slots) == 0 {
			t.Error("KindEvents with no events")
		}
		for _, ev := range res.Events {
			checkEvent(t, ev)
		}
		for _, ev := range res.Slots {
			checkSlot(t, ev)
		}
	})
}

func FuzzParseNativeSlot(f *testing.F) {
	f.Add([]byte(`{"start":"2025-03-14T09:30:00Z","durationMinutes":30,"status":"free","location":{"name":"A"},"visitType":"NEW","version":1}`))
	f.Add([]byte(`{"start":"2025-03-14T09:30:00Z","durationMinutes":30,"status":"busy","updatedAt":"2025-03-10T12:00:00Z"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseNativeSlot(body, testClinic, "slot-1", testNow)
		if err != nil {
			if ev != (SlotEvent{}) {
				t.Errorf("error %v with a non-zero event", err)
			}
			return
		}
		checkSlot(t, ev)
	})
}

func checkSlot(t *testing.T, ev SlotEvent) {
	t.Helper()
	if err := ev.Slot.Validate(); err != nil {
		t.Errorf("accepted slot fails Validate: %v", err)
	}
	if !ValidID(ev.Slot.ID) || ev.Slot.Version < 1 || ev.Slot.Version > MaxVersion && ev.Orderings.LastUpdated == 0 {
		t.Errorf("bad slot id %q or version %d", ev.Slot.ID, ev.Slot.Version)
	}
}

func checkEvent(t *testing.T, ev Event) {
	t.Helper()
	if err := ev.Appointment.Validate(); err != nil {
		t.Errorf("accepted appointment fails Validate: %v", err)
	}
	if !ValidID(ev.Appointment.ID) || !ValidID(ev.Patient.ID) || ev.Appointment.PatientID != ev.Patient.ID {
		t.Errorf("bad ids: appointment %q patient %q/%q", ev.Appointment.ID, ev.Appointment.PatientID, ev.Patient.ID)
	}
	if !ev.PatientIncomplete && (len(ev.Patient.Phone) < 2 || ev.Patient.Phone[0] != '+') {
		t.Errorf("complete patient without an E.164 phone")
	}
	if ev.Appointment.Version < 1 && ev.Appointment.Version > -1 {
		t.Errorf("version %d", ev.Appointment.Version)
	}
}
