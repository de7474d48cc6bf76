package main

import (
	"strings"
	"testing"
	"time"

	"github.com/latch-idp/latch/internal/browsertest"
)

// TestDeviceApprovalInBrowser: the approval page in Chromium. A person who
// is not signed in opens the link the CLI printed, signs in and comes back
// to it. A request from the person's own computer shows no warning; a code
// made from London (device-code phishing: someone else's machine) shows
// the places side by side and a plain warning, and is denied.
func TestDeviceApprovalInBrowser(t *testing.T) {
	t.Parallel()
	l := startLatch(t, func(c *Config) {
		c.DevicePollInterval = time.Second
		c.GeoIPDB = cityDB(t)
		c.TrustedProxies = []string{"127.0.0.1/32"}
	})
	ctx := browsertest.Chrome(t)

	mine := l.deviceApp("codex-cli")
	mine.header.Set("User-Agent", "codex-cli/0.1 (linux; amd64)")
	da := mine.start("ada-laptop")
	browsertest.Navigate(t, ctx, da.VerificationURIComplete)
	waitPath(t, ctx, "/login")
	browsertest.SetValue(t, ctx, "input[name=email]", l.email)
	browsertest.SetValue(t, ctx, "input[name=password]", testPassword)
	browsertest.Click(t, ctx, "form button[type=submit]")
	waitPath(t, ctx, "/device")
	waitText(t, ctx, "main", "Sign in to Codex CLI?")
	text := browsertest.Text(t, ctx, "main")
	for _, want := range []string{da.UserCode, "ada-laptop", "as reported by the device", "This computer"} {
		if !strings.Contains(text, want) {
			t.Errorf("approval page lacks %q:\n%s", want, text)
		}
	}
	if browsertest.Eval[bool](t, ctx, `!!document.querySelector('#device-warning')`) {
		t.Fatalf("a warning for a request from this computer:\n%s", text)
	}
	browsertest.Screenshot(t, ctx, "device-approve.png")
	browsertest.Click(t, ctx, `button[value=approve]`)
	waitText(t, ctx, "main", "Codex CLI is signed in")
	if res := waitPolled(t, mine.poll(da)); res.err != nil {
		t.Fatalf("tokens after the approval: %v", res.err)
	}

	// Someone in London sends the person a real code.
	phish := l.deviceApp("codex-cli")
	phish.header.Set("X-Forwarded-For", "81.2.69.142")
	da = phish.start("Codex CLI on ada-laptop")
	browsertest.Navigate(t, ctx, l.url+"/device")
	browsertest.SetValue(t, ctx, "input[name=user_code]", strings.ToLower(da.UserCode))
	browsertest.Click(t, ctx, `form[action="/device"] button[type=submit]`)
	waitText(t, ctx, "main", "Sign in to Codex CLI?")
	warning := browsertest.Text(t, ctx, "#device-warning")
	for _, want := range []string{"different place", "London, England, United Kingdom", "This computer", "Deny"} {
		if !strings.Contains(warning, want) {
			t.Errorf("the warning lacks %q: %q", want, warning)
		}
	}
	if !strings.Contains(browsertest.Text(t, ctx, "main"), "81.2.69.142") {
		t.Error("the page does not show the address the request came from")
	}
	if role := browsertest.Eval[string](t, ctx, `document.querySelector('#device-warning').getAttribute('role')`); role != "alert" {
		t.Errorf("the warning's role is %q", role)
	}
	browsertest.Screenshot(t, ctx, "device-phishing-warning.png")
	browsertest.Click(t, ctx, `button[value=deny]`)
	waitText(t, ctx, "main", "Sign-in refused")
	if res := waitPolled(t, phish.poll(da)); oauthErrorCode(res.err) != "access_denied" {
		t.Fatalf("the phished code after Deny: %v", res.err)
	}
	if n := l.count(`SELECT count(*) FROM device_sessions WHERE kind = 'cli'`); n != 1 {
		t.Fatalf("%d CLI sessions, want the one approved", n)
	}
}

// TestDeviceStepUpInBrowser: an account with advanced security approves a
// device only right after a passkey: Approve leads to a passkey step-up,
// which comes back to the same request, and the approval goes through.
func TestDeviceStepUpInBrowser(t *testing.T) {
	t.Parallel()
	l := startLatch(t, func(c *Config) { c.DevicePollInterval = time.Second })
	ctx := browsertest.Chrome(t)
	browsertest.AddAuthenticator(t, ctx, browsertest.AuthenticatorOptions{})
	passwordSignIn(t, ctx, l)
	addPasskey(t, ctx, l, "Laptop")
	// Advanced security, as enrolment leaves it: passkeys only. This
	// browser signed in with its password before, so it is not fresh.
	l.makeAdvanced(l.accountID(l.email))

	c := l.deviceApp("codex-cli")
	da := c.start("ada-laptop")
	browsertest.Navigate(t, ctx, da.VerificationURIComplete)
	waitText(t, ctx, "main", "confirm with a passkey")
	browsertest.Click(t, ctx, `button[value=approve]`)
	waitPath(t, ctx, "/account/reauth")
	if n := l.count(`SELECT count(*) FROM device_sessions WHERE kind = 'cli'`); n != 0 {
		t.Fatal("a device was signed in before the step-up")
	}
	if browsertest.Eval[bool](t, ctx, `!!document.querySelector('input[name=password]')`) {
		t.Fatal("the step-up offers a password to an advanced account")
	}
	browsertest.WaitVisible(t, ctx, "[data-passkey-reauth]")
	browsertest.Screenshot(t, ctx, "device-step-up.png")
	browsertest.Click(t, ctx, "[data-passkey-reauth]")
	waitPath(t, ctx, "/device")
	waitText(t, ctx, "main", "Sign in to Codex CLI?")
	if !strings.Contains(browsertest.Text(t, ctx, "main"), da.UserCode) {
		t.Fatal("the step-up did not come back to the same request")
	}
	browsertest.Click(t, ctx, `button[value=approve]`)
	waitText(t, ctx, "main", "Codex CLI is signed in")
	res := waitPolled(t, c.poll(da))
	if res.err != nil {
		t.Fatalf("tokens after the step-up: %v", res.err)
	}
	if n := l.count(`SELECT count(*) FROM device_sessions WHERE kind = 'cli' AND acr = 'phr' AND id = $1`, idTokenSid(t, res.tok)); n != 1 {
		t.Fatal("the CLI session does not carry the passkey sign-in it was approved with")
	}
	if n := l.count(`SELECT count(*) FROM activity WHERE kind = 'step_up'`); n != 1 {
		t.Fatalf("%d step-ups recorded", n)
	}
}
