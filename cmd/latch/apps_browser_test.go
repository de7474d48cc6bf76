package main

import (
	"strings"
	"testing"

	"github.com/latch-idp/latch/internal/browsertest"
)

// TestConnectedAppsInBrowser: a person allows an app that is not latch's
// own, finds it from the sessions page under Connected apps with what it
// may do and this device, removes its access after the confirmation, and
// its token stops working; the activity page says so.
func TestConnectedAppsInBrowser(t *testing.T) {
	t.Parallel()
	app := newCallbackApp(t)
	clients := testClients + "  - id: partner\n    app: Partner Notes\n    secret: partner-secret-0123456789\n" +
		"    redirect_uris: [" + app.url + "/callback]\n"
	l := startLatch(t, func(c *Config) { c.ClientsFile = writeFile(t, "clients.yaml", clients) })
	partner := l.rp("partner", "partner-secret-0123456789", app.url+"/callback")
	partner.oauth.Scopes = []string{"openid", "email", "offline_access"}
	ctx := browsertest.Chrome(t)

	passwordSignIn(t, ctx, l)
	f := partner.newFlow()
	browsertest.Navigate(t, ctx, f.url)
	waitPath(t, ctx, "/consent")
	waitText(t, ctx, "main", "See your email address")
	browsertest.Click(t, ctx, `button[name=decision][value=allow]`)
	tok := partner.mustExchange(waitCallback(t, app, partner, f), f)

	browsertest.Navigate(t, ctx, l.url+"/account/sessions")
	browsertest.Click(t, ctx, `.page-intro a[href="/account/apps"]`)
	waitPath(t, ctx, "/account/apps")
	text := browsertest.Text(t, ctx, "main")
	for _, want := range []string{"Partner Notes", "See your email address", "Stay signed in while you're away", "This device", "Last used"} {
		if !strings.Contains(text, want) {
			t.Fatalf("connected apps lacks %q:\n%s", want, text)
		}
	}
	browsertest.Screenshot(t, ctx, "connected-apps.png")

	browsertest.Click(t, ctx, `.connected-app a.item-remove`)
	waitPath(t, ctx, "/account/apps/partner/remove")
	waitText(t, ctx, "main", "Remove Partner Notes's access?")
	browsertest.Screenshot(t, ctx, "connected-apps-confirm.png")
	browsertest.Click(t, ctx, `[data-confirm-remove]`)
	waitText(t, ctx, "main", "Partner Notes no longer has access to your account. It was signed out on 1 device.")
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('.connected-app').length`); n != 0 {
		t.Fatalf("%d apps listed after the removal", n)
	}
	if activeAs(t, l.url, "partner", "partner-secret-0123456789", tok.AccessToken) {
		t.Fatal("the removed app's token is active")
	}
	if code := refreshAt(t, l.url, "partner", "partner-secret-0123456789", tok.RefreshToken); code != "invalid_grant" {
		t.Fatalf("the removed app's refresh: %q", code)
	}
	browsertest.Navigate(t, ctx, l.url+"/account/activity")
	waitText(t, ctx, "main", "Removed Partner Notes's access and signed it out on 1 device")

	// The next authorization asks again.
	browsertest.Navigate(t, ctx, partner.newFlow().url)
	waitPath(t, ctx, "/consent")
}
