package devstack_test

// The front-desk console in headless Chromium against the dev stack and its
// conversation service: sign-in through the dev OpenID provider, Today, the Inbox
// with an emergency on top, a reply that is delivered and read, another clinic's staff refused, a forged cross-site POST
// refused, and sign-out ending the session. Each page's screenshot is written under
// the test's temporary folder and its path logged.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
	"github.com/frontdesk-health/frontdesk/scripts/internal/localstack"
	"github.com/frontdesk-health/frontdesk/shared/appointment"
	"github.com/frontdesk-health/frontdesk/shared/dynamo"
	"github.com/frontdesk-health/frontdesk/shared/localtest"
	"github.com/frontdesk-health/frontdesk/shared/platform"
	"github.com/frontdesk-health/frontdesk/shared/reminder"
	"github.com/frontdesk-health/frontdesk/shared/thread"
	"github.com/frontdesk-health/frontdesk/shared/whatsapp/whatsapptest"
)

const (
	emergencyText = "My chest hurts <b>badly</b> since this morning"
	replyText     = "Dana here: please call 911 now, we are calling you too"
	patientPhone  = "+15550100143"
	patientName   = "Robin"
	questionText  = "Can I come 30 minutes later?"
	questionPhone = "+15550100144"
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

	// The whole dev stack, the conversation service included (cfg.Conversations
	// stays nil): patients write through the signed webhook route, staff answer in
	// the browser, and the Graph API stand-in reports the reply delivered and read.
	logs := &localtest.LogBuffer{}
	cfg, err := devstack.ConfigFromEnv(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Port, cfg.GraphPort, cfg.OIDCPort = freePort(t), freePort(t), freePort(t)
	cfg.TablePrefix, cfg.Log, cfg.SweepEvery = "browser-", logs, time.Second
	startCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stack, err := devstack.Start(startCtx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stack.Stop)
	w := &world{stack: stack, cfg: cfg, logs: logs, http: &http.Client{Timeout: 10 * time.Second}}
	w.dumpOnFailure(t, 0)
	seedToday(t, stack.Store)
	ctx0 := context.Background()
	if err := stack.Store.PutPatient(ctx0, appointment.Patient{ClinicID: devstack.DemoClinicID, ID: "pat-kai", Phone: questionPhone,
		GivenName: "Kai", Language: "en-US"}); err != nil {
		t.Fatal(err)
	}

	// Robin's emergency, then Kai's newer question: the emergency stays first.
	for _, m := range []struct{ from, text string }{{patientPhone, emergencyText}, {questionPhone, questionText}} {
		if code := w.postWebhook(t, w.inboundMessage(strings.TrimPrefix(m.from, "+"),
			map[string]any{"type": "text", "text": map[string]string{"body": m.text}})); code != http.StatusOK {
			t.Fatalf("webhook answered %d", code)
		}
		time.Sleep(1100 * time.Millisecond) // webhook timestamps are whole seconds
	}
	var emergencyID, questionID string
	eventually(t, waitTimeout, "both conversations open", func() (bool, string) {
		convs, _, err := stack.Store.ListConversations(ctx0, devstack.DemoClinicID, thread.Open, "", 10)
		if err != nil {
			return false, err.Error()
		}
		for _, c := range convs {
			switch {
			case c.Urgency == thread.Urgent && slices.Contains(c.PatientIDs, "pat-robin"):
				emergencyID = c.ID
			case slices.Contains(c.PatientIDs, "pat-kai"):
				questionID = c.ID
			}
		}
		return emergencyID != "" && questionID != "", fmt.Sprintf("%d open", len(convs))
	})
	// The conversation opens before the inbox's answer goes out: wait for both
	// messages to be handled, so their answers are not counted as staff's.
	w.waitDrained(t, "inbound", 0)
	sentBefore := len(stack.Stub.Sent())

	// A page on another site that posts to the console when opened: "localhost" is a
	// different site from "127.0.0.1" for the browser.
	target := stack.APIURL + "/console/clinics/" + devstack.DemoClinicID + "/conversations/" + questionID + "/close"
	evil := serveEvil(t, target)

	b := openBrowser(t, exe)

	// Sign in as a demo staff member: Today with the day's appointment and its answer.
	b.signIn(stack.ConsoleURL, "dev-dana")
	b.step("today", chromedp.WaitVisible(chromedp.CSS("table.today")))
	if got := b.text("table.today"); !strings.Contains(got, "Confirmed") || !strings.Contains(got, patientName) || !strings.Contains(got, "48 h before") {
		t.Errorf("Today shows %q", got)
	}
	b.shot("today")

	// The Inbox: the emergency on top, marked, though the question is newer.
	b.step("inbox", chromedp.Click(chromedp.CSS(`nav a[href$="/inbox"]`)), chromedp.WaitVisible(chromedp.CSS("ol.inbox")))
	if first := b.text("ol.inbox li:first-child"); !strings.Contains(first, "Emergency") || !strings.Contains(first, patientName) {
		t.Fatalf("first in the inbox: %q", first)
	}
	if second := b.text("ol.inbox li:nth-child(2)"); !strings.Contains(second, "Kai") {
		t.Fatalf("second in the inbox: %q", second)
	}
	b.shot("inbox")

	// Open it, reply, see the reply delivered and read (the stand-in posts Meta's
	// statuses to the webhook; the thread shows the latest).
	b.step("open", chromedp.Click(chromedp.CSS("ol.inbox li:first-child a")), chromedp.WaitVisible(chromedp.CSS("#reply-text")))
	if got := b.text("ol.thread"); !strings.Contains(got, emergencyText) {
		t.Fatalf("the patient's words are not shown as written: %q", got)
	}
	if got := b.text("#window-countdown"); !strings.Contains(got, "h") {
		t.Errorf("countdown %q", got)
	}
	b.shot("thread")
	b.step("reply", chromedp.SendKeys(chromedp.CSS("#reply-text"), replyText), chromedp.Click(chromedp.CSS("#send-reply")),
		chromedp.WaitVisible(chromedp.CSS("#notice")))
	eventually(t, waitTimeout, "the reply delivered, then read", func() (bool, string) {
		b.step("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("ol.thread")))
		last := b.text("ol.thread li:last-child")
		return strings.Contains(last, replyText) && strings.Contains(last, "Dana Demo") && b.text("ol.thread li:last-child .status") == "read", last
	})
	b.shot("thread-replied")
	// The reply went through delivered to read: both of Meta's statuses for its
	// wamid were applied (the logs name the wamid by its digest).
	var replyWAMID string
	for _, r := range stack.Stub.Sent()[sentBefore:] {
		if got := sentTexts([]whatsapptest.Recorded{r}, patientPhone); len(got) == 1 && got[0] == replyText {
			replyWAMID = r.WAMID
		}
	}
	var statuses []string
	for _, l := range linesSince(logs, 0) {
		if l["msg"] == "inbound status applied" && replyWAMID != "" && l["wamid"] == platform.Hash(replyWAMID) {
			statuses = append(statuses, fmt.Sprint(l["status"]))
		}
	}
	if !slices.Contains(statuses, "delivered") || !slices.Contains(statuses, "read") {
		t.Errorf("statuses applied to the reply %v, want delivered and read", statuses)
	}

	// A forged cross-site POST is refused and changes nothing.
	b.step("forged post", chromedp.Navigate(evil), chromedp.WaitVisible(chromedp.CSS("main")))
	if loc, _ := chromedp.Run(b.ctx, chromedp.Location()); !strings.HasPrefix(loc, target) {
		t.Fatalf("the forged form did not reach the console: at %s", loc)
	}
	if body := b.text("body"); !strings.Contains(body, "Forbidden") || !strings.Contains(body, "refused") {
		t.Fatalf("the forged POST was answered with %q", body)
	}
	b.shot("forged-post")
	if c, err := stack.Store.GetConversation(ctx0, devstack.DemoClinicID, questionID); err != nil || c.State != thread.Open {
		t.Fatalf("after a forged POST the question is %q (%v), want open", c.State, err)
	}

	// Signing out ends the session: the console asks to sign in again.
	b.step("sign out", chromedp.Navigate(stack.APIURL+"/console/clinics/"+devstack.DemoClinicID+"/inbox"),
		chromedp.WaitVisible(chromedp.CSS("#sign-out")), chromedp.Click(chromedp.CSS("#sign-out")),
		chromedp.WaitVisible(chromedp.CSS("#signed-out")))
	b.shot("signed-out")
	b.step("after sign-out", chromedp.Navigate(stack.APIURL+"/console/clinics/"+devstack.DemoClinicID+"/inbox"),
		chromedp.WaitVisible(chromedp.CSS(`button[id^="user-"]`)))

	// A staff member of the second clinic cannot open the first clinic's conversation.
	b.step("pick sol", chromedp.Click(chromedp.CSS("#user-dev-sol")), chromedp.WaitVisible(chromedp.CSS("#sign-out")))
	b.step("other clinic", chromedp.Navigate(stack.APIURL+"/console/clinics/"+devstack.DemoClinicID+"/conversations/"+emergencyID),
		chromedp.WaitVisible(chromedp.CSS("#error-message")))
	body := b.text("body")
	if !strings.Contains(body, "not staff of this clinic") {
		t.Fatalf("second clinic's staff on the first clinic's thread: %q", body)
	}
	for _, leak := range []string{"Demo Family Clinic", emergencyText, patientName, "Dana Demo"} {
		if strings.Contains(body, leak) {
			t.Errorf("the 403 page shows %q", leak)
		}
	}
	b.shot("forbidden")

	// The reply reached the patient once, with exactly the staff text; nothing else
	// was sent to either patient by the console.
	if got := sentTexts(stack.Stub.Sent()[sentBefore:], patientPhone); len(got) != 1 || got[0] != replyText {
		t.Errorf("texts sent to the patient from the console: %q", got)
	}
	if got := sentTexts(stack.Stub.Sent()[sentBefore:], questionPhone); len(got) != 0 {
		t.Errorf("texts sent to the other patient: %q", got)
	}
	// The conversation service audited Dana's read and reply, and nothing of Sol's.
	audits, _, err := stack.Store.AuditTrail(ctx0, devstack.DemoClinicID, time.Now().Add(-time.Hour), time.Now().Add(time.Minute), "", 500)
	if err != nil {
		t.Fatal(err)
	}
	var read, replied bool
	for _, a := range audits {
		dana := strings.Contains(a.Actor, "Dana Demo")
		read = read || a.Action == thread.AuditRead && dana && a.ConversationID == emergencyID
		replied = replied || a.Action == thread.AuditReply && dana && a.ConversationID == emergencyID
		if strings.Contains(a.Actor, "Sol Second") {
			t.Errorf("a refused read was audited as an access: %+v", a)
		}
	}
	if !read || !replied {
		t.Errorf("audit trail = %+v", audits)
	}

	// The log capture of the whole test holds no message text, phone number or name.
	all := string(logs.Since(0))
	for _, secret := range []string{emergencyText, "chest hurts", replyText, questionText, "30 minutes later", patientPhone, "5550100143",
		questionPhone, "5550100144", patientName, "Kai", "Dana Demo", "Lee Demo", "Sol Second"} {
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
	if err := store.SaveAppointment(ctx, a, []reminder.Write{{Reminder: r}}); err != nil {
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
