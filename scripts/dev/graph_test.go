package main

// `make dev` on a laptop: it honours WHATSAPP_API_BASE_URL (no stand-in of its own,
// sends go to the given Graph API), and it starts without Meta's spec, saying in one
// line that the stand-in's schema validation is off. Both are shown with the built
// commands, as a user runs them, and with the demo command's booking.

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsappspec"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

// demoPhone is the demo command's fictional patient number, as Meta's "to" shows it.
const demoPhone = "12025550143"

// buildCommands builds the dev and demo commands once for a test.
func buildCommands(t *testing.T) (root, devBin, demoBin string) {
	t.Helper()
	root, err := platform.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	devBin, demoBin = filepath.Join(dir, "dev"), filepath.Join(dir, "demo")
	for bin, pkg := range map[string]string{devBin: "./scripts/dev", demoBin: "./scripts/demo"} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return root, devBin, demoBin
}

// demoBook runs `demo book` against the dev command on port, as the README says.
func demoBook(t *testing.T, demoBin, root string, port int, id string) {
	t.Helper()
	cmd := exec.Command(demoBin, "book", "-id", id, "-in", "47h")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("demo book: %v\n%s", err, out)
	}
}

func TestDevSendsToWhatsAppAPIBaseURL(t *testing.T) {
	root, devBin, demoBin := buildCommands(t)
	// Another Graph API fake, as a Meta test number's API would be: dev must send here.
	fake := whatsapptest.NewServer(t, whatsapptest.Config{AccessToken: "dev-access-token", AppSecret: "another-fake-secret"})
	port, graphPort := freePort(t), freePort(t)
	d := startDev(t, devBin, root, port, graphPort, "WHATSAPP_API_BASE_URL="+fake.URL)
	d.waitHealthy(t)
	d.waitOutput(t, "Frontdesk is running.")

	if busy := busyPorts(graphPort); len(busy) != 0 {
		t.Fatalf("GRAPH_PORT %d is in use: the built-in stand-in started although WHATSAPP_API_BASE_URL is set", graphPort)
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(graphPort) + "/_stub/messages")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("something answers on GRAPH_PORT (%s)", resp.Status)
	}

	demoBook(t, demoBin, root, port, "base-url-appt")
	deadline := time.Now().Add(healthyWithin)
	for {
		n := 0
		for _, r := range fake.Sent() {
			if strings.Contains(string(r.Body), `"to":"`+demoPhone+`"`) && strings.Contains(string(r.Body), `"type":"template"`) {
				n++
			}
		}
		if n == 1 {
			break
		}
		if n > 1 || time.Now().After(deadline) {
			t.Fatalf("%d reminders reached the fake at WHATSAPP_API_BASE_URL, want 1 (within %s):\n%s", n, healthyWithin, d.output())
		}
		time.Sleep(100 * time.Millisecond) // polling the fake's recordings, bounded by deadline
	}
	d.interrupt(t)
}

func TestDevStartsWithoutTheSpec(t *testing.T) {
	root, devBin, demoBin := buildCommands(t)
	port, graphPort := freePort(t), freePort(t)
	absent := filepath.Join(t.TempDir(), "absent", whatsappspec.SpecFileName)
	d := startDev(t, devBin, root, port, graphPort, whatsappspec.EnvSpec+"="+absent)
	d.waitHealthy(t)
	d.waitOutput(t, "Frontdesk is running.")
	// The one line, as a JSON log line's message.
	line, _ := json.Marshal(whatsappspec.SkipMessage(absent))
	if n := strings.Count(d.output(), string(line)); n != 1 {
		t.Fatalf("dev printed %s %d times, want once:\n%s", line, n, d.output())
	}

	demoBook(t, demoBin, root, port, "no-spec-appt")
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(healthyWithin)
	for {
		resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(graphPort) + "/_stub/messages")
		if err != nil {
			t.Fatalf("stand-in recordings: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), demoPhone) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reminder reached the stand-in within %s:\n%s", healthyWithin, d.output())
		}
		time.Sleep(100 * time.Millisecond) // polling the stand-in's recordings, bounded by deadline
	}
	d.interrupt(t)
}
