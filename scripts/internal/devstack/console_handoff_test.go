package devstack_test

import (
	"net/http"
	"strings"
	"testing"

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
	b := openBrowser(t, exe)

	inbox := w.stack.APIURL + "/console/clinics/" + devstack.DemoClinicID + "/inbox"
	b.signIn(inbox, "dev-dana")
	eventually(t, waitTimeout, "the emergency at the top of the inbox", func() (bool, string) {
		b.step("inbox", chromedp.Navigate(inbox), chromedp.WaitVisible(chromedp.CSS("main")))
		first, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("main")))
		return err == nil && strings.Contains(first, "Emergency"), first
	})
	if first := b.text("ol.inbox li:first-child"); !strings.Contains(first, "Emergency") {
		t.Fatalf("first in the inbox: %q", first)
	}
	b.shot("handoff-inbox")
	b.step("open", chromedp.Click(chromedp.CSS("ol.inbox li:first-child a")), chromedp.WaitVisible(chromedp.CSS("#reply-text")))
	if got := b.text("ol.thread"); !strings.Contains(got, text) {
		t.Fatalf("the patient's words: %q", got)
	}
	b.step("reply", chromedp.SendKeys(chromedp.CSS("#reply-text"), reply), chromedp.Click(chromedp.CSS("#send-reply")),
		chromedp.WaitVisible(chromedp.CSS("#notice")))
	eventually(t, waitTimeout, "the reply delivered and read", func() (bool, string) {
		b.step("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("ol.thread")))
		last := b.text("ol.thread li:last-child")
		return strings.Contains(last, reply) && strings.Contains(last, "Dana Demo") && strings.Contains(last, "read"), last
	})
	b.shot("handoff-thread")
	all := string(w.logs.Since(offset))
	for _, secret := range []string{"chest pain", reply, "Dana Demo", "5550100177"} {
		if strings.Contains(all, secret) {
			t.Errorf("the logs hold %q", secret)
		}
	}
}
