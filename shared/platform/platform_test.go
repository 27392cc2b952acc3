package platform

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestEnvListsEveryMissingVariable(t *testing.T) {
	e := NewEnvFrom(map[string]string{"PRESENT": "x", "BAD_INT": "x", "DUR": "5m"})
	e.Required("PRESENT")
	e.Required("ZETA")
	e.Required("ALPHA")
	e.Int("BAD_INT", 1)
	if d := e.Duration("DUR", 0); d != 5*time.Minute {
		t.Fatalf("duration = %v", d)
	}
	err := e.Err()
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"ALPHA, ZETA", "BAD_INT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if NewEnvFrom(map[string]string{"A": "1"}).Err() != nil {
		t.Fatal("no requirements must give no error")
	}
}

func TestMaskPhone(t *testing.T) {
	cases := map[string]string{"+15550100123": "*********23", "+1 (555) 0142": "******42", "7": "***", "": "***"}
	for in, want := range cases {
		if got := MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoggerWritesJSONWithoutNumber(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, nil)
	log.Info("sent", Phone("to", "+15550100199"), "patient", Hash("p-1"))
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if strings.Contains(buf.String(), "5550100199") {
		t.Fatalf("log leaks the number: %s", buf.String())
	}
	if m["to"] != "*********99" {
		t.Fatalf("to = %v", m["to"])
	}
}

// A component built without a logger or a clock still works: it logs nowhere and
// reads the system's time in UTC; one built with them uses them.
func TestDefaultsForAComponentBuiltWithoutLoggerOrClock(t *testing.T) {
	var buf bytes.Buffer
	given := NewLogger(&buf, nil)
	if got := LoggerOrDiscard(given); got != given {
		t.Errorf("LoggerOrDiscard(logger) = %p, want the logger %p", got, given)
	}
	if got := LoggerOrDiscard(nil); got == nil || got.Handler().Enabled(t.Context(), slog.LevelError) {
		t.Errorf("LoggerOrDiscard(nil) = %v, want a logger that writes nothing", got)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		clock Clock
		check func(time.Time) bool
	}{
		{"fake clock", NewFakeClock(at), func(got time.Time) bool { return got.Equal(at) }},
		{"no clock", nil, func(got time.Time) bool { return got.Location() == time.UTC && time.Since(got).Abs() < time.Minute }},
	} {
		if got := NowOf(tc.clock); !tc.check(got) {
			t.Errorf("%s: NowOf = %v", tc.name, got)
		}
	}
}
