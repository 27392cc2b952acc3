package devstack_test

// The front-desk console in headless Chromium against the dev stack: sign-in through
// the dev OpenID provider, Today, the Inbox with an emergency on top, a reply that is
// delivered and read, another clinic's staff refused, a forged cross-site POST
// refused, and sign-out ending the session. Each page's screenshot is written under
// the test's temporary folder and its path logged.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
	"github.com/frontdesk-health/frontdesk/scripts/internal/localstack"
	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/console"
	"github.com/frontdesk-health/frontdesk/shared/console/consoletest"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
)

const (
	emergencyText = "My chest hurts <b>badly</b> since this morning"
	replyText     = "Dana here: please call 911 now, we are calling you too"
	patientPhone  = "+15550100143"
	patientName   = "Robin"
)

// chromium finds Debian's chromium; make test installs it, so missing it here is
// a skip locally and a failure in CI.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "Chromium is not installed: apt-get install chromium (make test installs it)"
	if os.Getenv("CI") != "" || os.Getenv("FRONTDESK_REQUIRE_LOCAL") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := localstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConsoleInBrowser(t *testing.T) {
	exe := chromium(t)
	localtest.DynamoClient(t) // skips without the local servers' environment, like the other stack tests

	// The conversation service is not part of the dev stack yet: the Inbox and thread
	// run against the recording stand-in, everything else is the real stack.
	clock := platform.SystemClock{}
	convs := &consoletest.Conversations{Clock: clock}
	now := clock.Now()
	convs.Add(devstack.DemoClinicID, console.Thread{Open: true, ConversationSummary: console.ConversationSummary{
		ID: "conv-question", PatientName: "Kai", Reason: "free text", LastMessageAt: now.Add(-time.Minute), WindowUntil: now.Add(23 * time.Hour)},
		Messages: []console.Message{{At: now.Add(-time.Minute), From: "patient", Text: "Can I come 30 minutes later?"}}})
	convs.Add(devstack.DemoClinicID, console.Thread{Open: true, ConversationSummary: console.ConversationSummary{
		ID: "conv-emergency", PatientName: patientName, Reason: "emergency", Urgent: true, LastMessageAt: now.Add(-time.Hour),
		WindowUntil: now.Add(23 * time.Hour)},
		Messages: []console.Message{{At: now.Add(-time.Hour), From: "patient", Text: emergencyText}}})

	logs := &localtest.LogBuffer{}
	cfg, err := devstack.ConfigFromEnv(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Port, cfg.GraphPort, cfg.OIDCPort = freePort(t), freePort(t), freePort(t)
	cfg.TablePrefix, cfg.Log, cfg.SweepEvery = "browser-", logs, time.Second
	cfg.Conversations = convs
	startCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stack, err := devstack.Start(startCtx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stack.Stop)
	seedToday(t, stack.Store)

	// A page on another site that posts to the console when opened: "localhost" is a
	// different site from "127.0.0.1" for the browser.
	target := stack.APIURL + "/console/clinics/" + devstack.DemoClinicID + "/conversations/conv-question/close"
	evil := serveEvil(t, target)

	// A temporary folder, kept when the test runs with -artifacts (e.g.
	// go test -artifacts -outputdir=/tmp/console ...) so a reviewer can look at the screenshots.
	dir := t.ArtifactDir()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900))
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	if err := chromedp.Do(ctx); err != nil { // starts the browser without a timeout, as chromedp asks
		t.Fatalf("start chromium: %v", err)
	}
	step := func(name string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			body, _ := chromedp.Run(ctx, chromedp.EvaluateAsDevTools[string](`document.body ? document.body.innerText : ""`))
			t.Fatalf("%s: %v (at %s, showing %q)", name, err, loc, body)
		}
	}
	text := func(sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(dir, name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
	signIn := func(subject string) {
		step("sign in as "+subject,
			chromedp.Navigate(stack.ConsoleURL),
			chromedp.WaitVisible(chromedp.CSS("#user-"+subject)))
		shot("signin-" + subject)
		step("pick "+subject, chromedp.Click(chromedp.CSS("#user-"+subject)), chromedp.WaitVisible(chromedp.CSS("#sign-out")))
	}

	// Sign in as a demo staff member: Today with the day's appointment and its answer.
	signIn("dev-dana")
	step("today", chromedp.WaitVisible(chromedp.CSS("table.today")))
	if got := text("table.today"); !strings.Contains(got, "Confirmed") || !strings.Contains(got, patientName) || !strings.Contains(got, "48 h before") {
		t.Errorf("Today shows %q", got)
	}
	shot("today")

	// The Inbox: the emergency on top, marked.
	step("inbox", chromedp.Click(chromedp.CSS(`nav a[href$="/inbox"]`)), chromedp.WaitVisible(chromedp.CSS("ol.inbox")))
	if first := text("ol.inbox li:first-child"); !strings.Contains(first, "Emergency") || !strings.Contains(first, patientName) {
		t.Fatalf("first in the inbox: %q", first)
	}
	shot("inbox")

	// Open it, reply, see the reply delivered and read.
	step("open", chromedp.Click(chromedp.CSS("ol.inbox li:first-child a")), chromedp.WaitVisible(chromedp.CSS("#reply-text")))
	if got := text("ol.thread"); !strings.Contains(got, emergencyText) {
		t.Fatalf("the patient's words are not shown as written: %q", got)
	}
	if got := text("#window-countdown"); !strings.Contains(got, "h") {
		t.Errorf("countdown %q", got)
	}
	shot("thread")
	step("reply", chromedp.SendKeys(chromedp.CSS("#reply-text"), replyText), chromedp.Click(chromedp.CSS("#send-reply")),
		chromedp.WaitVisible(chromedp.CSS("#notice")))
	last := text("ol.thread li:last-child")
	if !strings.Contains(last, replyText) || !strings.Contains(last, "Dana Demo") || !strings.Contains(last, "read") {
		t.Fatalf("the reply as shown: %q", last)
	}
	shot("thread-replied")

	// A forged cross-site POST is refused and changes nothing.
	step("forged post", chromedp.Navigate(evil), chromedp.WaitVisible(chromedp.CSS("main")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, target) {
		t.Fatalf("the forged form did not reach the console: at %s", loc)
	}
	if body := text("body"); !strings.Contains(body, "Forbidden") || !strings.Contains(body, "refused") {
		t.Fatalf("the forged POST was answered with %q", body)
	}
	shot("forged-post")
	if _, _, closed := convs.Snapshot(); len(closed) != 0 {
		t.Fatalf("a forged POST closed %v", closed)
	}

	// Signing out ends the session: the console asks to sign in again.
	step("sign out", chromedp.Navigate(stack.APIURL+"/console/clinics/"+devstack.DemoClinicID+"/inbox"),
		chromedp.WaitVisible(chromedp.CSS("#sign-out")), chromedp.Click(chromedp.CSS("#sign-out")),
		chromedp.WaitVisible(chromedp.CSS("#signed-out")))
	shot("signed-out")
	step("after sign-out", chromedp.Navigate(stack.APIURL+"/console/clinics/"+devstack.DemoClinicID+"/inbox"),
		chromedp.WaitVisible(chromedp.CSS(`button[id^="user-"]`)))

	// A staff member of the second clinic cannot open the first clinic's conversation.
	step("pick sol", chromedp.Click(chromedp.CSS("#user-dev-sol")), chromedp.WaitVisible(chromedp.CSS("#sign-out")))
	step("other clinic", chromedp.Navigate(stack.APIURL+"/console/clinics/"+devstack.DemoClinicID+"/conversations/conv-emergency"),
		chromedp.WaitVisible(chromedp.CSS("#error-message")))
	body := text("body")
	if !strings.Contains(body, "not staff of this clinic") {
		t.Fatalf("second clinic's staff on the first clinic's thread: %q", body)
	}
	for _, leak := range []string{"Demo Family Clinic", emergencyText, patientName, "Dana Demo"} {
		if strings.Contains(body, leak) {
			t.Errorf("the 403 page shows %q", leak)
		}
	}
	shot("forbidden")

	replies, audits, _ := convs.Snapshot()
	if len(replies) != 1 || replies[0].Author.Name != "Dana Demo" || replies[0].Text != replyText {
		t.Errorf("replies = %+v", replies)
	}
	var read, replied bool
	for _, a := range audits {
		read = read || a.Action == consoletest.AuditRead && a.Actor.Name == "Dana Demo"
		replied = replied || a.Action == consoletest.AuditReply && a.Actor.Name == "Dana Demo"
		if a.Actor.Name == "Sol Second" {
			t.Errorf("a refused read was audited as an access: %+v", a)
		}
	}
	if !read || !replied {
		t.Errorf("audit trail = %+v", audits)
	}

	// The log capture of the whole test holds no message text, phone number or name.
	all := string(logs.Since(0))
	for _, secret := range []string{emergencyText, "chest hurts", replyText, "30 minutes later", patientPhone, "5550100143",
		patientName, "Kai", "Dana Demo", "Lee Demo", "Sol Second"} {
		if strings.Contains(all, secret) {
			t.Errorf("the logs hold %q", secret)
		}
	}
	if !strings.Contains(all, `"console request"`) {
		t.Error("the capture holds no console request lines: is it capturing the console's logs?")
	}
}

func seedToday(t *testing.T, store *dynamo.Store) {
	t.Helper()
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Now().In(ny)
	at := time.Date(now.Year(), now.Month(), now.Day(), 15, 30, 0, 0, ny)
	ctx := context.Background()
	if err := store.PutPatient(ctx, appointment.Patient{ClinicID: devstack.DemoClinicID, ID: "pat-robin", Phone: patientPhone,
		GivenName: patientName, Language: "en-US"}); err != nil {
		t.Fatal(err)
	}
	a := appointment.Appointment{ClinicID: devstack.DemoClinicID, ID: "browser-appt-1", Status: appointment.StatusBooked, Start: at,
		Duration: 30 * time.Minute, PatientID: "pat-robin", Version: 1, Response: appointment.ResponseConfirmed}
	r := reminder.Reminder{ClinicID: a.ClinicID, AppointmentID: a.ID, Kind: reminder.KindDayBefore, DueAt: at.Add(-48 * time.Hour),
		NotAfter: at, State: reminder.StateRead, Generation: "browser"}
	if err := store.SaveAppointment(ctx, a, []dynamo.ReminderWrite{{Reminder: r}}); err != nil {
		t.Fatal(err)
	}
}

// serveEvil serves, on "localhost" (another site than 127.0.0.1), a page whose
// form posts to target as soon as it loads.
func serveEvil(t *testing.T, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><body><form id="f" method="post" action=%q>
<input type="hidden" name="csrf" value="guessed"></form><script>document.getElementById("f").submit()</script></body></html>`, target)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return fmt.Sprintf("http://localhost:%d/", ln.Addr().(*net.TCPAddr).Port)
}
