package devstack_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/frontdesk-health/frontdesk/scripts/internal/devstack"
)

// TestConsoleWithTheConversationService drives the console in Chromium against the
// dev stack's real conversation service: an unknown number's emergency is at the
// top of the Inbox, a reply reaches the patient and is shown delivered and read.
func TestConsoleWithTheConversationService(t *testing.T) {
	exe := chromium(t)
	w := stackFor(t)
	offset := w.logs.Len()
	w.dumpOnFailure(t, offset)
	text := "my wife has chest pain and <b>cannot</b> breathe"
	reply := "Dana here, calling you now"
	if code := w.postWebhook(t, w.inboundMessage("15550100177",
		map[string]any{"type": "text", "text": map[string]string{"body": text}})); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	dir := t.ArtifactDir()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900))
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	step := func(name string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			body, _ := chromedp.Run(ctx, chromedp.EvaluateAsDevTools[string](`document.body ? document.body.innerText : ""`))
			t.Fatalf("%s: %v (showing %q)", name, err, body)
		}
	}
	text1 := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
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

	inbox := w.stack.APIURL + "/console/clinics/" + devstack.DemoClinicID + "/inbox"
	step("sign in", chromedp.Navigate(inbox), chromedp.WaitVisible(chromedp.CSS("#user-dev-dana")),
		chromedp.Click(chromedp.CSS("#user-dev-dana")), chromedp.WaitVisible(chromedp.CSS("#sign-out")))
	eventually(t, waitTimeout, "the emergency at the top of the inbox", func() (bool, string) {
		step("inbox", chromedp.Navigate(inbox), chromedp.WaitVisible(chromedp.CSS("main")))
		first, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		return err == nil && strings.Contains(first, "Emergency"), first
	})
	if first := text1("ol.inbox li:first-child"); !strings.Contains(first, "Emergency") {
		t.Fatalf("first in the inbox: %q", first)
	}
	shot("handoff-inbox")
	step("open", chromedp.Click(chromedp.CSS("ol.inbox li:first-child a")), chromedp.WaitVisible(chromedp.CSS("#reply-text")))
	if got := text1("ol.thread"); !strings.Contains(got, text) {
		t.Fatalf("the patient's words: %q", got)
	}
	step("reply", chromedp.SendKeys(chromedp.CSS("#reply-text"), reply), chromedp.Click(chromedp.CSS("#send-reply")),
		chromedp.WaitVisible(chromedp.CSS("#notice")))
	eventually(t, waitTimeout, "the reply delivered and read", func() (bool, string) {
		step("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("ol.thread")))
		last := text1("ol.thread li:last-child")
		return strings.Contains(last, reply) && strings.Contains(last, "Dana Demo") && strings.Contains(last, "read"), last
	})
	shot("handoff-thread")
	all := string(w.logs.Since(offset))
	for _, secret := range []string{"chest pain", reply, "Dana Demo", "5550100177"} {
		if strings.Contains(all, secret) {
			t.Errorf("the logs hold %q", secret)
		}
	}
}
