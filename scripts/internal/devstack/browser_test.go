package devstack_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is a headless Chromium tab for the console's tests: each action is a
// named step whose failure says where the page was and what it showed, and
// screenshots go to the test's artifact folder.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string
}

// openBrowser starts Chromium (exe) with a fresh profile; it closes when the test ends.
func openBrowser(t *testing.T, exe string) *browser {
	t.Helper()
	// A temporary folder, kept when the test runs with -artifacts (e.g.
	// go test -artifacts -outputdir=/tmp/console ...) so a reviewer can look at the screenshots.
	dir := t.ArtifactDir()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900))
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(cancelCtx)
	if err := chromedp.Do(ctx); err != nil { // starts the browser without a timeout, as chromedp asks
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx, dir: dir}
}

func (b *browser) step(name string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		body, _ := chromedp.Run(b.ctx, chromedp.EvaluateAsDevTools[string](`document.body ? document.body.innerText : ""`))
		b.t.Fatalf("%s: %v (at %s, showing %q)", name, err, loc, body)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// signIn opens url signed out, which leads to the dev OpenID provider's page,
// picks the demo staff member subject there and waits to be back signed in.
func (b *browser) signIn(url, subject string) {
	b.t.Helper()
	b.step("sign in as "+subject, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#user-"+subject)))
	b.shot("signin-" + subject)
	b.step("pick "+subject, chromedp.Click(chromedp.CSS("#user-"+subject)), chromedp.WaitVisible(chromedp.CSS("#sign-out")))
}
