package browsertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser; a
// chromium on PATH is the fallback.
const chromiumPath = "/usr/bin/chromium"

// startTimeout bounds the start of the browser and of each tab. A cold
// Chromium starts in about half a second; a loaded CI runner is slower.
const startTimeout = 30 * time.Second

// profilePrefix names the profile directories under os.TempDir. The test
// binary's process id follows it, so a later start can tell which
// directories belong to binaries that are gone (see sweepProfiles).
const profilePrefix = "latch-chromium-"

// shared is the browser of this test binary. It is package state because
// tests in one binary share nothing else; the once makes the first caller
// start it and every later caller wait for that start.
var shared struct {
	once sync.Once
	ctx  context.Context // chromedp context that owns the browser process
	err  error
}

// Chrome returns a chromedp context for a new tab in a new browser context
// (a separate cookie jar, storage and set of authenticators) of the binary's
// shared headless Chromium, which it starts on first use. The tab and its
// browser context are closed when t ends.
//
// If Chromium is not installed, Chrome fails the test; it never skips it.
func Chrome(t testing.TB) context.Context {
	t.Helper()
	shared.once.Do(func() { shared.ctx, shared.err = startBrowser() })
	if shared.err != nil {
		t.Fatalf("browsertest: %v", shared.err)
	}
	return newTab(t, shared.ctx)
}

// NewContext returns a chromedp context for a tab in another new browser
// context of the same browser as parent, which came from Chrome or
// NewContext. It shares no cookies, storage or authenticators with parent,
// so one test can play several devices. It is closed when t ends.
func NewContext(t testing.TB, parent context.Context) context.Context {
	t.Helper()
	if c := chromedp.FromContext(parent); c == nil || c.Browser == nil {
		t.Fatal("browsertest: NewContext needs a context from Chrome or NewContext")
	}
	return newTab(t, parent)
}

// Localhost returns rawURL with an IP loopback host (127.0.0.1 or [::1])
// replaced by localhost and the port kept, such as an httptest server's URL.
// Pages that use WebAuthn must be opened under a domain; see the package
// documentation.
func Localhost(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
		if port := u.Port(); port != "" {
			u.Host = "localhost:" + port
		} else {
			u.Host = "localhost"
		}
	}
	return u.String()
}

// newTab opens a tab in a new browser context of the browser that parent
// holds and closes both when t ends.
func newTab(t testing.TB, parent context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	// The first Run on a context creates its tab and ties the tab's life to
	// the context it is given, so it gets ctx itself and not a context with
	// a deadline; the deadline is enforced around it instead.
	if err := runWithin(ctx, cancel, startTimeout); err != nil {
		cancel()
		t.Fatalf("browsertest: open a tab: %v", err)
	}
	t.Cleanup(cancel)
	// Registered after cancel, so it runs before it: cleanups run last in,
	// first out, and the tab must still be open.
	t.Cleanup(func() {
		if t.Failed() && os.Getenv(EnvScreenshots) != "" {
			saveFailureScreenshot(t, ctx)
		}
	})
	return ctx
}

// runWithin makes the first Run on ctx, which starts its browser or tab, and
// gives up after d. It cannot hand Run a context with a deadline, because
// what the first Run starts lives only as long as the context it gets.
func runWithin(ctx context.Context, cancel context.CancelFunc, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		cancel()
		<-done
		return fmt.Errorf("no answer from chromium within %v", d)
	}
}

// startBrowser starts the shared browser. Its context is never cancelled:
// chromedp starts Chromium with a parent-death signal (SIGKILL) on Linux, so
// the browser and its helper processes end with the test binary, however the
// binary ends. Only the profile directory outlives it, and the next start
// removes it.
func startBrowser() (context.Context, error) {
	path, err := findChromium()
	if err != nil {
		return nil, err
	}
	sweepProfiles()
	dir, err := os.MkdirTemp("", profilePrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		// The sandbox cannot start as root, and CI runs as root. The browser
		// only opens pages the tests serve themselves.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 900),
	)
	// Neither cancel function is kept: the browser lives as long as the
	// binary, and ending it early would break tests still running.
	actx, _ := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := runWithin(ctx, cancel, startTimeout); err != nil {
		cancel()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	return ctx, nil
}

// findChromium returns Debian's Chromium, or a chromium on PATH.
func findChromium() (string, error) {
	if _, err := os.Stat(chromiumPath); err == nil {
		return chromiumPath, nil
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	return "", errors.New("chromium not found: run scripts/install-deps.sh")
}

// sweepProfiles removes the profile directories of test binaries that have
// exited. A directory whose process id is in use again stays until a later
// sweep; that costs disk space, never a running test's profile.
func sweepProfiles() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), profilePrefix+"*"))
	for _, dir := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), profilePrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(dir)
		}
	}
}
