package consent

import (
	"testing"
	"time"
)

func TestCurrentFollowsStatementTimeNotArrival(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	in := Entry{ClinicID: "c", PatientID: "p", ID: "1", State: OptedIn, At: t0, Source: SourceEHR, RecordedAt: t0}
	out := Entry{ClinicID: "c", PatientID: "p", ID: "2", State: OptedOut, At: t0.Add(time.Hour), Source: SourceWhatsApp, RecordedAt: t0.Add(time.Hour)}
	// The EHR's older opt-in arrives after the patient's STOP: the STOP stands.
	lateIn := in
	lateIn.ID, lateIn.RecordedAt = "3", t0.Add(2*time.Hour)
	cases := []struct {
		name   string
		ledger []Entry
		want   State
	}{
		{"empty", nil, Unknown},
		{"opt in", []Entry{in}, OptedIn},
		{"then out", []Entry{in, out}, OptedOut},
		{"late old opt-in does not undo STOP", []Entry{out, lateIn}, OptedOut},
		{"out then in again", []Entry{out, {ClinicID: "c", PatientID: "p", ID: "4", State: OptedIn, At: t0.Add(3 * time.Hour), Source: SourceWhatsApp}}, OptedIn},
	}
	for _, c := range cases {
		if got := Current(c.ledger); got != c.want {
			t.Errorf("%s: Current = %s, want %s", c.name, got, c.want)
		}
	}
	if MaySend(Unknown) || MaySend(OptedOut) || !MaySend(OptedIn) {
		t.Error("only an opt-in allows business-initiated messages")
	}
}

func TestEntryValidate(t *testing.T) {
	ok := Entry{ClinicID: "c", PatientID: "p", State: OptedIn, At: time.Now(), Source: SourceAPI}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Entry){
		"no patient": func(e *Entry) { e.PatientID = "" },
		"bad state":  func(e *Entry) { e.State = "maybe" },
		"no time":    func(e *Entry) { e.At = time.Time{} },
		"no source":  func(e *Entry) { e.Source = "" },
	} {
		e := ok
		mut(&e)
		if e.Validate() == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
