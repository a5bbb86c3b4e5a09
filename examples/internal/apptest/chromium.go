package apptest

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/entrasaml/entrasaml/internal/tooltest"
)

// NewChromium starts a headless Chromium for the test and returns its
// context. Without Chromium the test is skipped, except on CI.
func NewChromium(t *testing.T) context.Context {
	t.Helper()
	chromium := tooltest.Chromium().Need(t)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	// The first action starts the browser, which lives as long as the
	// context of that action: so no timeout on it, but a watchdog.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browserCtx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting %s: %v", chromium, err)
		}
	case <-time.After(60 * time.Second):
		cancelBrowser()
		t.Fatalf("%s did not start within 60 s", chromium)
	}
	return browserCtx
}

// NewTab returns a tab in a fresh browser context (its own cookies) that
// fails every step after 60 s.
func NewTab(t *testing.T, browserCtx context.Context) context.Context {
	t.Helper()
	tabCtx, cancelTab := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelTab)
	ctx, cancel := context.WithTimeout(tabCtx, 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
