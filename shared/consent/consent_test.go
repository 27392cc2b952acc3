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

func TestAdmitOnlyThePatientOrEvidenceLiftsAnOptOut(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	entry := func(id string, st State, at time.Duration, source, evidence string) Entry {
		return Entry{ClinicID: "c", PatientID: "p", ID: id, State: st, At: t0.Add(at), Source: source, Evidence: evidence, RecordedAt: t0.Add(at)}
	}
	ehrIn := entry("in", OptedIn, 0, SourceEHR, "")
	waStop := entry("stop", OptedOut, time.Hour, SourceWhatsApp, "msg_1")
	ehrOut := entry("ehr-out", OptedOut, time.Hour, SourceEHR, "")
	cases := []struct {
		name     string
		onRecord []Entry
		e        Entry
		ch       Channel
		want     string // NotApplied
		state    State  // Current after appending
	}{
		{"embedded opt-in, nothing on record", nil, entry("e", OptedIn, 2*time.Hour, SourceEHR, ""), ChannelEmbedded, "", OptedIn},
		{"embedded opt-in after an earlier opt-in", []Entry{ehrIn}, entry("e", OptedIn, 2*time.Hour, SourceEHR, ""), ChannelEmbedded, "", OptedIn},
		{"embedded opt-in after STOP", []Entry{ehrIn, waStop}, entry("e", OptedIn, 2*time.Hour, SourceEHR, ""), ChannelEmbedded, NotAppliedEmbedded, OptedOut},
		{"embedded opt-in with evidence after STOP", []Entry{waStop}, entry("e", OptedIn, 2*time.Hour, "intake-form", "form 17"), ChannelEmbedded, NotAppliedEmbedded, OptedOut},
		{"embedded opt-in after a clinic opt-out", []Entry{ehrOut}, entry("e", OptedIn, 2*time.Hour, SourceEHR, ""), ChannelEmbedded, NotAppliedEmbedded, OptedOut},
		{"embedded opt-in older than STOP changes nothing", []Entry{waStop}, entry("e", OptedIn, 30*time.Minute, SourceEHR, ""), ChannelEmbedded, "", OptedOut},
		{"endpoint without evidence after STOP", []Entry{waStop}, entry("e", OptedIn, 2*time.Hour, SourceAPI, ""), ChannelEndpoint, NotAppliedNoEvidence, OptedOut},
		{"endpoint with evidence after STOP", []Entry{waStop}, entry("e", OptedIn, 2*time.Hour, SourceAPI, "signed form 2026-11-02"), ChannelEndpoint, "", OptedIn},
		{"endpoint without evidence after a clinic opt-out", []Entry{ehrOut}, entry("e", OptedIn, 2*time.Hour, SourceAPI, ""), ChannelEndpoint, "", OptedIn},
		{"endpoint without evidence after STOP then a clinic opt-out", []Entry{waStop, entry("ehr-out-2", OptedOut, 90*time.Minute, SourceEHR, "")},
			entry("e", OptedIn, 2*time.Hour, SourceAPI, ""), ChannelEndpoint, NotAppliedNoEvidence, OptedOut},
		{"endpoint without evidence after STOP, START, clinic opt-out", []Entry{waStop, entry("start", OptedIn, 80*time.Minute, SourceWhatsApp, "msg_2"),
			entry("ehr-out-2", OptedOut, 90*time.Minute, SourceEHR, "")}, entry("e", OptedIn, 2*time.Hour, SourceAPI, ""), ChannelEndpoint, "", OptedIn},
		{"START on WhatsApp", []Entry{waStop}, entry("e", OptedIn, 2*time.Hour, SourceWhatsApp, "msg_2"), ChannelWhatsApp, "", OptedIn},
		{"opt-out always applies", []Entry{ehrIn}, entry("e", OptedOut, 2*time.Hour, SourceEHR, ""), ChannelEmbedded, "", OptedOut},
	}
	for _, c := range cases {
		got := Admit(c.onRecord, c.e, c.ch)
		if got.NotApplied != c.want {
			t.Errorf("%s: NotApplied = %q, want %q", c.name, got.NotApplied, c.want)
		}
		if st := Current(append(append([]Entry(nil), c.onRecord...), got)); st != c.state {
			t.Errorf("%s: state after = %s, want %s", c.name, st, c.state)
		}
	}
}
