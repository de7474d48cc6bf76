package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/latch-idp/latch/internal/browsertest"
)

// devtools runs one DevTools command on the tab of ctx.
func devtools[P any](t *testing.T, ctx context.Context, cmd cdp.Command[P, cdp.Empty], params P) {
	t.Helper()
	_, err := chromedp.Run(ctx, func(ctx context.Context, tgt *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tgt, cmd, params)
	})
	if err != nil {
		t.Fatalf("%s: %v", cmd.Method, err)
	}
}

// asDevice makes the tab send this User-Agent from now on, as that
// browser would.
func asDevice(t *testing.T, ctx context.Context, ua string) {
	t.Helper()
	devtools(t, ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua})
}

// atWidth sets the tab's viewport.
func atWidth(t *testing.T, ctx context.Context, width, height int64) {
	t.Helper()
	devtools(t, ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: width, Height: height, DeviceScaleFactor: 1})
}

// TestSessionsPanelInBrowser: a person with four devices (macOS here, and
// an iPhone, Windows and Linux) sees on screen what is true and confirms
// what cannot be undone: rows of one kind told apart by their second line;
// "End selected sessions" disabled until something is ticked, then a
// dialog naming the devices before anything ends, and a flash naming what
// ended at a URL that says nothing; one app signed out on another device
// says single sign-on can open it again, with "End session" right there;
// "Sign out all other sessions" asks the same way; a device renamed; "This
// wasn't me" leads to a checklist; the activity list shows no address.
func TestSessionsPanelInBrowser(t *testing.T) {
	t.Parallel()
	l, app, cb := startLatchWithApp(t)
	main := browsertest.Chrome(t)
	atWidth(t, main, 1280, 900)
	asDevice(t, main, uaChromeMacOS)
	phone, windows, linux := browsertest.NewContext(t, main), browsertest.NewContext(t, main), browsertest.NewContext(t, main)
	asDevice(t, phone, uaSafariIPhone)
	asDevice(t, windows, uaEdgeWindows)
	asDevice(t, linux, uaFirefoxLinux)
	for _, ctx := range []context.Context{main, phone, windows, linux} {
		passwordSignIn(t, ctx, l)
	}
	for _, ctx := range []context.Context{main, linux} {
		f := app.newFlow()
		browsertest.Navigate(t, ctx, f.url) // SSO into Gamma
		app.mustExchange(waitCallback(t, cb, app, f), f)
	}
	sessionsPage := func() {
		browsertest.Navigate(t, main, l.url+"/account/sessions")
		browsertest.WaitVisible(t, main, "#devices-heading")
	}
	sessionsPage()
	text := browsertest.Text(t, main, "main")
	for _, want := range []string{"Chrome on macOS", "Safari on iPhone", "Edge on Windows", "Firefox on Linux", "This device"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the page lacks %q:\n%s", want, text)
		}
	}
	// The second line: place, sign-in time, apps.
	lines := browsertest.Eval[[]string](t, main, `Array.from(document.querySelectorAll('[data-device-facts]')).map(p => p.innerText)`)
	if len(lines) != 4 {
		t.Fatalf("%d second lines", len(lines))
	}
	for _, a := range lines {
		if !regexp.MustCompile(`This computer.*Signed in (just now|\d+ minutes? ago|today, \d\d:\d\d)`).MatchString(strings.ReplaceAll(a, "\n", " ")) {
			t.Errorf("second line %q lacks the place or the sign-in time", a)
		}
	}
	if !strings.Contains(lines[0], "Gamma") {
		t.Errorf("this device's second line lacks its app: %q", lines[0])
	}
	// A second iPhone, signed in to Gamma: two rows of one name, told apart.
	phone2 := browsertest.NewContext(t, main)
	asDevice(t, phone2, uaSafariIPhone)
	passwordSignIn(t, phone2, l)
	f := app.newFlow()
	browsertest.Navigate(t, phone2, f.url)
	app.mustExchange(waitCallback(t, cb, app, f), f)
	sessionsPage()
	iphones := browsertest.Eval[[]string](t, main, `Array.from(document.querySelectorAll('[data-device-name="Safari on iPhone"] [data-device-facts]')).map(p => p.innerText)`)
	if len(iphones) != 2 || iphones[0] == iphones[1] {
		t.Errorf("two Safari on iPhone rows read alike: %q", iphones)
	}
	browsertest.Screenshot(t, main, "two-iphones.png")
	signOut(t, phone2, l)
	sessionsPage()

	// End selected: disabled until ticked; the dialog names the two.
	disabled := `document.querySelector('[data-bulk-end]').disabled`
	if !browsertest.Eval[bool](t, main, disabled) {
		t.Fatal("End selected sessions is enabled with nothing ticked")
	}
	tick := func(name string) {
		t.Helper()
		browsertest.Eval[bool](t, main, `(() => { const row = Array.from(document.querySelectorAll('[data-device]')).find(r => r.dataset.deviceName === `+jsString(name)+`);
			row.querySelector('.device-select label').click(); return true })()`)
	}
	tick("Safari on iPhone")
	tick("Edge on Windows")
	if browsertest.Eval[bool](t, main, disabled) || browsertest.Text(t, main, "[data-bulk-end]") != "End 2 selected sessions" {
		t.Fatal("ticking two did not enable the button with its count")
	}
	browsertest.Click(t, main, "[data-bulk-end]")
	browsertest.WaitVisible(t, main, "#confirm-end")
	asked := browsertest.Text(t, main, "#confirm-end")
	if !strings.Contains(asked, "End these 2 sessions?") || !strings.Contains(asked, "Safari on iPhone") || !strings.Contains(asked, "Edge on Windows") ||
		strings.Contains(asked, "Firefox on Linux") {
		t.Fatalf("the dialog says:\n%s", asked)
	}
	browsertest.Screenshot(t, main, "confirm-end-selected.png")
	// Cancel ends nothing.
	browsertest.Click(t, main, "#confirm-end [data-confirm-no]")
	if browsertest.Eval[bool](t, main, `document.getElementById('confirm-end').open`) {
		t.Fatal("Cancel left the dialog open")
	}
	browsertest.Click(t, main, "[data-bulk-end]")
	browsertest.Click(t, main, "#confirm-end [data-confirm-yes]")
	waitText(t, main, "[role=status]", "Signed out of Safari on iPhone and Edge on Windows.")
	if loc := browsertest.Location(t, main); loc != l.url+"/account/sessions" {
		t.Errorf("after ending, the address bar shows %s", loc)
	}

	// One app on another device.
	browsertest.Click(t, main, `[data-device-name="Firefox on Linux"] .app form button`)
	want := "Gamma on Firefox on Linux is signed out, but that device is still signed in to latch and can open Gamma again. End the whole session to stop it."
	waitText(t, main, "[role=status]", want)
	browsertest.Screenshot(t, main, "app-signed-out.png")
	browsertest.Click(t, main, "[role=status] form button")
	waitText(t, main, "[role=status]", "Signed out of Firefox on Linux.")

	// Sign out all other sessions, after the dialog names them.
	for _, ctx := range []context.Context{phone, windows} {
		passwordSignIn(t, ctx, l)
	}
	sessionsPage()
	browsertest.Click(t, main, `form[action="/account/sessions/end-others"] button`)
	browsertest.WaitVisible(t, main, "#confirm-end")
	asked = browsertest.Text(t, main, "#confirm-end")
	if !strings.Contains(asked, "Sign out of all other sessions?") || !strings.Contains(asked, "Safari on iPhone") ||
		!strings.Contains(asked, "Edge on Windows") || strings.Contains(asked, "Chrome on macOS") {
		t.Fatalf("the dialog says:\n%s", asked)
	}
	browsertest.Click(t, main, "#confirm-end [data-confirm-yes]")
	waitText(t, main, "[role=status]", "Signed out of ")
	said := browsertest.Text(t, main, "[role=status]")
	if !strings.Contains(said, "Safari on iPhone") || !strings.Contains(said, "Edge on Windows") {
		t.Errorf("the flash says %q", said)
	}

	// Rename this device.
	browsertest.Click(t, main, `.device-current .device-rename summary`)
	browsertest.SetValue(t, main, `.device-current .rename-form input[name=name]`, "Work laptop")
	browsertest.Click(t, main, `.device-current .rename-form button`)
	waitText(t, main, "[role=status]", "Renamed Chrome on macOS to “Work laptop”.")
	if name := browsertest.Text(t, main, ".device-current .device-name"); !strings.Contains(name, "Work laptop") || !strings.Contains(name, "Chrome on macOS") {
		t.Errorf("the renamed row reads %q", name)
	}

	// Recently ended: every pill names its app.
	for _, pill := range browsertest.Eval[[]string](t, main, `Array.from(document.querySelectorAll('.delivery')).map(p => p.innerText.trim())`) {
		if !strings.Contains(pill, "Gamma") {
			t.Errorf("a pill without its app: %q", pill)
		}
	}

	// This wasn't me.
	passwordSignIn(t, windows, l)
	sessionsPage()
	browsertest.Click(t, main, `[data-device-name="Edge on Windows"] form[action$="/not-me"] button`)
	waitText(t, main, "main", "We ended that session")
	steps := browsertest.Eval[[]string](t, main, `Array.from(document.querySelectorAll('[data-step]')).map(s => s.dataset.step + ':' + s.querySelector('.tag').innerText)`)
	if strings.Join(steps, " ") != "password:To do credentials:Done sessions:Done activity:To do" {
		t.Errorf("the checklist: %v", steps)
	}
	browsertest.Screenshot(t, main, "reported-checklist.png")

	// The activity list, details closed, shows no address.
	browsertest.Navigate(t, main, l.url+"/account/activity")
	text = browsertest.Text(t, main, "main")
	if regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b|::1`).MatchString(text) {
		t.Errorf("the activity list shows an address:\n%s", text)
	}
	for _, want := range []string{"Session ended\nfrom Work laptop", "Signed out of Gamma\nfrom Work laptop", "Session reported as not you\nfrom Work laptop"} {
		if !strings.Contains(text, strings.ReplaceAll(want, "\n", " ")) && !strings.Contains(text, want) {
			t.Errorf("the activity lacks %q:\n%s", want, text)
		}
	}
	browsertest.Screenshot(t, main, "activity-sentences.png")
}

// TestRecoveryKeysInBrowser: at 1280 pixels (and on a 390-pixel phone) each
// new recovery key is on one line and inside its place; the step-up page
// says "Confirm it's you" once.
func TestRecoveryKeysInBrowser(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	ctx := browsertest.Chrome(t)
	atWidth(t, ctx, 1280, 900)
	passwordSignIn(t, ctx, l)
	browsertest.Navigate(t, ctx, l.url+"/account/security")
	browsertest.Click(t, ctx, `form[action="/account/security/recovery/generate"] button`)
	browsertest.WaitVisible(t, ctx, "#recovery-keys")
	type key struct {
		Lines    int  `json:"lines"`
		Overflow bool `json:"overflow"`
	}
	measure := func(width int64) {
		t.Helper()
		atWidth(t, ctx, width, 900)
		keys := browsertest.Eval[[]key](t, ctx, `Array.from(document.querySelectorAll('#recovery-keys code')).map(c => {
			const r = c.getBoundingClientRect(), li = c.parentElement.getBoundingClientRect();
			const line = parseFloat(getComputedStyle(c).lineHeight) || 20;
			return {lines: Math.round(r.height / line), overflow: r.right > li.right + 0.5};
		})`)
		if len(keys) != 10 {
			t.Fatalf("%d keys", len(keys))
		}
		for i, k := range keys {
			if k.Lines != 1 || k.Overflow {
				t.Errorf("at %d px, key %d takes %d lines (out of its place: %v)", width, i+1, k.Lines, k.Overflow)
			}
		}
	}
	measure(1280)
	measure(390)
	atWidth(t, ctx, 1280, 900)
	if text := browsertest.Text(t, ctx, "main"); strings.Contains(text, "no longer work") || strings.Contains(text, "under Advanced security") {
		t.Errorf("a first set, from the recovery panel:\n%s", text)
	}
	browsertest.Screenshot(t, ctx, "recovery-keys-1280.png")

	browsertest.Navigate(t, ctx, l.url+"/account/reauth?next=/account/security")
	if n := strings.Count(browsertest.Text(t, ctx, "main"), "Confirm it's you"); n != 1 {
		t.Errorf("the step-up page says \"Confirm it's you\" %d times", n)
	}
}
