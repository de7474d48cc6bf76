package main

import (
	"context"
	"strings"
	"testing"

	"github.com/latch-idp/latch/internal/browsertest"
)

// TestSessionsPageInBrowser: three browsers sign in; the page lists three
// devices with their apps; end one, end two selected, sign out all others,
// each of the last two after its confirmation; the ended browsers are
// signed out.
func TestSessionsPageInBrowser(t *testing.T) {
	t.Parallel()
	l, app, cb := startLatchWithApp(t)
	main := browsertest.Chrome(t)
	others := []context.Context{browsertest.NewContext(t, main), browsertest.NewContext(t, main)}
	for _, ctx := range append([]context.Context{main}, others...) {
		passwordSignIn(t, ctx, l)
		f := app.newFlow()
		browsertest.Navigate(t, ctx, f.url) // SSO into the app
		app.mustExchange(waitCallback(t, cb, app, f), f)
	}
	countDevices := func() int {
		browsertest.Navigate(t, main, l.url+"/account/sessions")
		return browsertest.Eval[int](t, main, `document.querySelectorAll('form[action$="/not-me"]').length + 1`)
	}
	if n := countDevices(); n != 3 {
		t.Fatalf("the page lists %d devices, want 3", n)
	}
	if text := browsertest.Text(t, main, "main"); !strings.Contains(text, "Gamma") || !strings.Contains(text, "This device") {
		t.Fatalf("devices without their apps:\n%s", text)
	}
	browsertest.Screenshot(t, main, "sessions-page.png")

	signedOut := func(ctx context.Context) bool {
		browsertest.Navigate(t, ctx, l.url+"/account")
		return strings.Contains(browsertest.Location(t, ctx), "/login")
	}
	// End one.
	// The end button of a device other than this one.
	browsertest.Eval[bool](t, main, `(() => {
		const other = new URL(document.querySelector('form[action$="/not-me"]').action).pathname.replace('/not-me', '/end');
		document.querySelector('form[action="' + other + '"] button').click(); return true })()`)
	waitText(t, main, "main", "Signed out of Headless Chrome on Linux.")
	if !signedOut(others[0]) && !signedOut(others[1]) {
		t.Fatal("ending one session signed nobody out")
	}
	if n := countDevices(); n != 2 {
		t.Fatalf("%d devices after ending one", n)
	}
	// Sign both back in and end the two selected.
	for _, ctx := range others {
		if signedOut(ctx) {
			passwordSignIn(t, ctx, l)
		}
	}
	if n := countDevices(); n != 3 {
		t.Fatalf("%d devices after signing back in", n)
	}
	browsertest.Eval[bool](t, main, `(() => { document.querySelectorAll('input[name=ids]').forEach(c => c.click()); return true })()`)
	browsertest.Click(t, main, `#bulk-end button[type=submit]`)
	browsertest.Click(t, main, `#confirm-end [data-confirm-yes]`)
	waitText(t, main, "main", "Signed out of Headless Chrome on Linux (2 sessions).")
	for i, ctx := range others {
		if !signedOut(ctx) {
			t.Fatalf("selected browser %d still signed in", i)
		}
	}
	// Sign in again and sign out all others.
	for _, ctx := range others {
		passwordSignIn(t, ctx, l)
	}
	browsertest.Navigate(t, main, l.url+"/account/sessions")
	browsertest.Click(t, main, `form[action="/account/sessions/end-others"] button`)
	browsertest.Click(t, main, `#confirm-end [data-confirm-yes]`)
	waitText(t, main, "main", "Signed out of Headless Chrome on Linux (2 sessions).")
	for i, ctx := range others {
		if !signedOut(ctx) {
			t.Fatalf("browser %d survived sign out all others", i)
		}
	}
	if signedOut(main) {
		t.Fatal("sign out all others signed this browser out")
	}
	browsertest.Navigate(t, main, l.url+"/account/sessions")
	if text := browsertest.Text(t, main, "main"); !strings.Contains(text, "Ended from Headless Chrome on Linux") {
		t.Fatalf("recently ended lacks the reason:\n%s", text)
	}
	browsertest.Screenshot(t, main, "sessions-page-after.png")
	browsertest.Navigate(t, main, l.url+"/account/activity")
	browsertest.Screenshot(t, main, "activity-page.png")
}
