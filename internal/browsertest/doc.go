// Package browsertest drives latch's pages and passkeys with a real, headless
// Debian Chromium through chromedp. Page and passkey tests call it; nothing
// outside _test.go files should.
//
// Chrome starts one browser for the whole test binary the first time a test
// asks for it, and gives each caller a tab in a browser context of its own:
// its own cookie jar, storage and virtual authenticators, like a separate
// device. NewContext gives a test more such devices. The tab and its browser
// context close when the test ends. The browser itself dies with the test
// binary (chromedp starts it with a parent-death signal on Linux), so nothing
// is needed in TestMain and a crashed or timed-out binary leaves no browser
// behind; the next start removes profile directories of dead binaries.
//
//	func TestLogin(t *testing.T) {
//		srv := httptest.NewServer(handler)
//		t.Cleanup(srv.Close)
//		base := browsertest.Localhost(srv.URL)
//		ctx := browsertest.Chrome(t)
//		browsertest.AddAuthenticator(t, ctx, browsertest.AuthenticatorOptions{})
//		browsertest.Navigate(t, ctx, base+"/login")
//		browsertest.Click(t, ctx, "#passkey")
//		browsertest.WaitVisible(t, ctx, "#signed-in")
//		...
//	}
//
// Navigate to http://localhost:PORT, never to http://127.0.0.1:PORT. WebAuthn
// requires the caller's effective domain to be a valid domain and the RP ID a
// domain (WebAuthn Level 3 §5.1.3 and §5.1.4), so on an IP address every
// ceremony fails with SecurityError. localhost is also a secure context over
// plain HTTP, which WebAuthn needs. Localhost does the rewrite, for example
// of an httptest server's URL; the server may keep listening on 127.0.0.1.
//
// The helpers (Navigate, Click, Text, Eval, ...) end the test with t.Fatal on
// error. Each has its own timeout, and the message names the action, the
// current URL and the start of the page's text, so a failure reads without a
// screenshot. With LATCH_SCREENSHOTS set, a failed test also leaves a
// screenshot there. For anything else use chromedp directly on the context.
//
// Viewport, ColorScheme and UserAgent make a tab a phone or a desktop, dark
// or light, an iPhone or a Windows PC. Axe runs axe-core, the accessibility
// engine that scripts/install-deps.sh fetches, on the page in a tab.
//
// Nothing here skips a test: without Chromium (or axe-core) the test fails
// and says to run scripts/install-deps.sh.
package browsertest
