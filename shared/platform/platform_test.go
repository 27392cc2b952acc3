package platform

import (
	"bytes"
	"encoding/json"
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
