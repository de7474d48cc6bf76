package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// actionTimeout bounds each helper. Waiting for a page that never shows an
// element should fail the test with a readable message long before go
// test's own timeout kills the binary without one.
const actionTimeout = 15 * time.Second

// EnvScreenshots names the environment variable with a directory that keeps
// screenshots after the test binary ends, for example as CI artifacts.
// Without it, screenshots go to the test's temporary directory.
const EnvScreenshots = "LATCH_SCREENSHOTS"

// Navigate opens rawURL in the tab and waits for the page to load. Use a
// localhost URL for pages that use WebAuthn (see Localhost).
func Navigate(t testing.TB, ctx context.Context, rawURL string) {
	t.Helper()
	do(t, ctx, "navigate to "+rawURL, chromedp.Navigate(rawURL))
}

// WaitVisible waits until the first element matching the CSS selector is
// visible.
func WaitVisible(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	do(t, ctx, fmt.Sprintf("wait for %q to be visible", sel), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// SetValue sets the value of the first input matching the CSS selector
// without typing, so no key or input events fire.
func SetValue(t testing.TB, ctx context.Context, sel, value string) {
	t.Helper()
	do(t, ctx, fmt.Sprintf("set the value of %q", sel), chromedp.SetValue(chromedp.CSS(sel), value))
}

// SendKeys focuses the first visible element matching the CSS selector and
// types keys into it, firing key and input events as a person typing would.
// "\n" presses Enter.
func SendKeys(t testing.TB, ctx context.Context, sel, keys string) {
	t.Helper()
	do(t, ctx, fmt.Sprintf("type into %q", sel), chromedp.SendKeys(chromedp.CSS(sel), keys))
}

// Click waits until the first element matching the CSS selector is visible
// and clicks its centre with the mouse. It does not wait for a navigation
// the click starts; wait for an element of the next page instead.
func Click(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	do(t, ctx, fmt.Sprintf("click %q", sel), chromedp.Click(chromedp.CSS(sel)))
}

// Text returns the visible text (innerText) of the first element matching
// the CSS selector, once it exists.
func Text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	return run(t, ctx, fmt.Sprintf("read the text of %q", sel), chromedp.Text(chromedp.CSS(sel)))
}

// Location returns the URL of the page in the tab.
func Location(t testing.TB, ctx context.Context) string {
	t.Helper()
	return run(t, ctx, "read the location", chromedp.Location())
}

// Eval evaluates the JavaScript expression in the page, waits for the
// promise it returns if any, and decodes the JSON value of the result into
// T. A thrown exception or rejected promise fails the test; to test for an
// expected failure, catch it in the script and return it as a value.
func Eval[T any](t testing.TB, ctx context.Context, js string) T {
	t.Helper()
	return run(t, ctx, "evaluate "+snippet(js, 80), chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// Settle waits for the next frame, so that styles follow a change such as
// the colour scheme or the viewport, and then until every transition and
// finite animation in the page has ended. A change of colour scheme starts
// the page's transitions (a button's background, say): a screenshot or a
// contrast check taken at once would catch colours half way. Headless
// Chromium now and then holds a tab's frames back (a frame callback never
// comes), so the wait for the frame gives up after 200 ms and the wait for
// the animations after 5 s: a settled page is what it is for, not a hang.
func Settle(t testing.TB, ctx context.Context) {
	t.Helper()
	Eval[bool](t, ctx, `new Promise(r => { requestAnimationFrame(() => r()); setTimeout(r, 200); }).then(() => Promise.race([
		Promise.all(document.getAnimations()
			.filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
			.map(a => a.finished.catch(() => null))),
		new Promise(r => setTimeout(r, 5000)),
	])).then(() => true)`)
}

// Screenshot saves a PNG of the whole page, beyond the viewport, once it
// has settled (see Settle), and returns its path. name is a file name such as "login.png"; the file goes
// into $LATCH_SCREENSHOTS/<test name>/ if that variable is set (made if
// missing), else into the test's temporary directory. An absolute name is
// used as it is.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	path := name
	if !filepath.IsAbs(name) {
		path = filepath.Join(screenshotDir(t), name)
	}
	Settle(t, ctx)
	// Quality 100 makes chromedp ask for PNG; lower values give JPEG.
	png := run(t, ctx, "take a screenshot", chromedp.FullScreenshot(100))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	return path
}

// screenshotDir is where Screenshot puts files with a relative name.
func screenshotDir(t testing.TB) string {
	if dir := os.Getenv(EnvScreenshots); dir != "" {
		return filepath.Join(dir, t.Name())
	}
	return t.TempDir()
}

// saveFailureScreenshot keeps the last state of a failed test's tab. It
// reports instead of failing: the test has failed already.
func saveFailureScreenshot(t testing.TB, ctx context.Context) {
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(actx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("browsertest: no screenshot of the failure: %v", err)
		return
	}
	path := filepath.Join(os.Getenv(EnvScreenshots), t.Name(), fmt.Sprintf("failed-%d.png", time.Now().UnixNano()))
	err = os.MkdirAll(filepath.Dir(path), 0o755)
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		t.Logf("browsertest: no screenshot of the failure: %v", err)
		return
	}
	t.Logf("browsertest: screenshot of the failure: %s", path)
}

// do runs a chromedp action that returns nothing; see run.
func do(t testing.TB, ctx context.Context, what string, a chromedp.Action[chromedp.Void]) {
	t.Helper()
	run(t, ctx, what, a)
}

// run runs a chromedp action with actionTimeout and fails the test with
// what was being done, where the page is and what it says.
func run[T any](t testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(actx, a)
	if err != nil {
		t.Fatalf("browsertest: %s: %v\n%s", what, err, pageState(ctx))
	}
	return v
}

// pageState describes the tab for an error message: its URL and the start
// of its visible text. It ignores ctx's own end, which may be why the action
// failed; the tab is still open.
func pageState(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	type state struct {
		URL  string `json:"url"`
		Text string `json:"text"`
	}
	s, err := chromedp.Run(ctx, chromedp.Evaluate[state](
		`({url: location.href, text: document.body ? document.body.innerText : ""})`))
	if err != nil {
		return fmt.Sprintf("\t(page state unavailable: %v)", err)
	}
	return fmt.Sprintf("\tat:   %s\n\tpage: %q", s.URL, snippet(s.Text, 500))
}

// snippet shortens s to about n bytes on one line.
func snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

// SetTimezone makes the tab's JavaScript (Date, Intl) run in the IANA time
// zone, such as "Asia/Tokyo", from now on, whatever the host's zone.
func SetTimezone(t testing.TB, ctx context.Context, zone string) {
	t.Helper()
	run(t, ctx, "set the time zone to "+zone, func(ctx context.Context, tgt *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tgt, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone})
	})
}
