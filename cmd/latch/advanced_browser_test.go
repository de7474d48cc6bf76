package main

import (
	"strings"
	"testing"

	"github.com/latch-idp/latch/internal/browsertest"
)

// TestAdvancedEnrolmentInBrowser: two virtual authenticators, one of them
// syncing (backup eligible); a passkey step-up; recovery keys generated and
// one typed back; then advanced security turns on and the other browser is
// signed out.
func TestAdvancedEnrolmentInBrowser(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	ctx := browsertest.Chrome(t)
	other := browsertest.NewContext(t, ctx)
	passwordSignIn(t, other, l)

	deviceBound := browsertest.AddAuthenticator(t, ctx, browsertest.AuthenticatorOptions{})
	passwordSignIn(t, ctx, l)
	addPasskey(t, ctx, l, "Security key")
	// A tab holds one platform authenticator at a time: swap in a syncing one.
	browsertest.RemoveAuthenticator(t, ctx, deviceBound)
	browsertest.AddAuthenticator(t, ctx, browsertest.AuthenticatorOptions{BackupEligibility: true, BackupState: true})
	addPasskey(t, ctx, l, "Phone")
	if text := browsertest.Text(t, ctx, "main"); !strings.Contains(text, "Synced") || !strings.Contains(text, "This device only") {
		t.Fatalf("passkeys not shown as synced and device-bound:\n%s", text)
	}

	// Confirm with a passkey.
	browsertest.Navigate(t, ctx, l.url+"/account/reauth?next=/account/security%23advanced")
	browsertest.WaitVisible(t, ctx, "[data-passkey-reauth]")
	browsertest.Click(t, ctx, "[data-passkey-reauth]")
	waitPath(t, ctx, "/account/security")

	// Recovery keys for the purpose, one typed back.
	browsertest.Click(t, ctx, `form[action="/account/security/advanced/recovery"] button`)
	browsertest.WaitVisible(t, ctx, "#recovery-keys")
	key := browsertest.Eval[string](t, ctx, `document.querySelector('#recovery-keys code').innerText`)
	browsertest.SetValue(t, ctx, `form[action="/account/security/advanced/confirm-key"] input[name=recovery_key]`, key)
	browsertest.Click(t, ctx, `form[action="/account/security/advanced/confirm-key"] button[type=submit]`)
	waitText(t, ctx, "main", "Recovery keys confirmed")
	if disabled := browsertest.Eval[bool](t, ctx, `document.querySelector('form[action="/account/security/advanced/enroll"] button').disabled`); disabled {
		t.Fatalf("enrolment still disabled with every condition met:\n%s", browsertest.Text(t, ctx, "#advanced"))
	}
	browsertest.Screenshot(t, ctx, "advanced-ready.png")
	browsertest.Click(t, ctx, `form[action="/account/security/advanced/enroll"] button`)
	waitText(t, ctx, "main", "Advanced security is on")
	browsertest.Screenshot(t, ctx, "advanced-on.png")

	browsertest.Navigate(t, other, l.url+"/account")
	waitPath(t, other, "/login")
	a, _ := l.srv.Accounts().ByEmail(t.Context(), l.email)
	if !a.Advanced() || a.HasPassword {
		t.Fatalf("mode %s, password %v", a.SecurityMode, a.HasPassword)
	}
	// Signing in now takes the passkey.
	signOut(t, ctx, l)
	browsertest.Navigate(t, ctx, l.url+"/login")
	waitPath(t, ctx, "/account")
}
