package main

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"golang.org/x/oauth2"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/notify"
)

// fakePasskey stores a passkey row for an account, enough for the
// enrolment conditions (which count passkeys and look at their backup
// flag); the browser test does the real ceremonies.
func fakePasskey(t *testing.T, l *testLatch, accountID string, synced bool) {
	t.Helper()
	id := make([]byte, 16)
	rand.Read(id)
	l.addPasskey(&authn.Passkey{ID: id, AccountID: accountID, Name: "Key", BackupEligible: synced,
		Credential: webauthn.Credential{ID: id, Flags: webauthn.CredentialFlags{BackupEligible: synced, BackupState: synced}}})
}

// passkeyStepUp marks a browser's session as freshly authenticated with a
// passkey (what a passkey sign-in or step-up leaves behind).
func passkeyStepUp(t *testing.T, l *testLatch, secret string) {
	t.Helper()
	sid := l.sid(secret)
	if err := l.srv.Sessions().StampAuthentication(t.Context(), sid, []string{"hwk", "user", "mfa"}, "phr", l.clock.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the other replicas' caches hear it
}

func enroll(t *testing.T, b *browser) (*http.Response, string) {
	t.Helper()
	resp := b.post("/account/security", "/account/security/advanced/enroll", nil)
	body := page(t, resp)
	return resp, body
}

// TestAdvancedEnrolment: each missing condition refuses enrolment with its
// reason; all met, the account turns advanced in one go: password and
// authenticator app gone, other sessions ended (their refresh tokens dead,
// their apps told), this session under advanced lifetimes.
func TestAdvancedEnrolment(t *testing.T) {
	t.Parallel()
	l, rcv := startLatchWithReceiver(t)
	acct, _ := l.srv.Accounts().ByEmail(t.Context(), l.email)
	other := l.browser()
	otherTok := other.signInFlow(l.appA())
	me := l.browser()
	me.signInPassword(l.email, testPassword).Body.Close()
	enrollTOTP(t, l, me)

	refused := func(missing string) {
		t.Helper()
		resp, body := enroll(t, me)
		if !strings.Contains(resp.Request.URL.RawQuery, "error=advanced_need_") || !strings.Contains(body, missing) {
			t.Fatalf("enrolled while missing %q: %s", missing, resp.Request.URL)
		}
		if a, _ := l.srv.Accounts().ByEmail(t.Context(), l.email); a.Advanced() {
			t.Fatalf("account advanced while missing %s", missing)
		}
	}
	refused("Confirm it&#39;s you with a passkey first")
	fakePasskey(t, l, acct.ID, false)
	passkeyStepUp(t, l, me.session())
	refused("Add a second passkey first")
	fakePasskey(t, l, acct.ID, false)
	refused("must be synced")
	fakePasskey(t, l, acct.ID, true)
	refused("type one back first")
	keys := generateRecoveryKeys(t, me)
	resp := me.post("/account/security", "/account/security/advanced/confirm-key", url.Values{"recovery_key": {"AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"}})
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.RawQuery, "error=advanced_key") {
		t.Fatalf("a wrong typed-back key: %s", resp.Request.URL)
	}
	refused("type one back first")
	resp = me.post("/account/security", "/account/security/advanced/confirm-key", url.Values{"recovery_key": {keys[4]}})
	resp.Body.Close()
	if st, _ := l.srv.Recovery().Status(t.Context(), acct.ID); st.Remaining != 10 {
		t.Fatal("typing a key back burnt it")
	}
	// A stale passkey step-up is not enough.
	l.clock.Add(11 * time.Minute)
	me.do("GET", "/account", nil).Body.Close()
	refused("Confirm it&#39;s you with a passkey first")
	passkeyStepUp(t, l, me.session())

	resp, body := enroll(t, me)
	if !strings.Contains(resp.Request.URL.RawQuery, "done=advanced_on") {
		t.Fatalf("enrolment with every condition met: %s\n%.600s", resp.Request.URL, body)
	}
	a, _ := l.srv.Accounts().ByEmail(t.Context(), l.email)
	if !a.Advanced() || a.HasPassword {
		t.Fatalf("after enrolment: mode %s, password %v", a.SecurityMode, a.HasPassword)
	}
	if on, _ := l.srv.TOTP().Enabled(t.Context(), a.ID); on {
		t.Fatal("the authenticator app survived enrolment")
	}
	if signedInAt(t, l.url, "/account", other.session()) {
		t.Fatal("another session survived enrolment")
	}
	if _, err := l.appA().refresh(otherTok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("the other session's refresh token: %v", err)
	}
	select {
	case <-rcv.got:
	case <-time.After(10 * time.Second):
		t.Fatal("the other session's app got no logout token")
	}
	if reason := l.endReason(otherTok.claims.Sid); reason != "advanced_security" {
		t.Fatalf("end reason %q", reason)
	}
	if !signedInAt(t, l.url, "/account", me.session()) {
		t.Fatal("the enrolling session ended")
	}
	// This session now lives under advanced lifetimes: 15 minutes idle.
	l.clock.Add(16 * time.Minute)
	if signedInAt(t, l.url, "/account", me.session()) {
		t.Fatal("the session outlived the advanced idle limit")
	}
	// Password sign-in is refused, with the same answer as any wrong
	// password (which says plainly that advanced accounts use passkeys).
	resp = l.browser().signInPassword(l.email, testPassword)
	body = page(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "sign in with a passkey only") {
		t.Fatalf("password sign-in to an advanced account: %d", resp.StatusCode)
	}
	unknown := page(t, l.browser().signInPassword("nobody@example.com", "whatever password"))
	norm := func(s, email string) string {
		return strings.Join(strings.Fields(csrfValue.ReplaceAllString(strings.ReplaceAll(s, email, "E"), "")), " ")
	}
	if a, b := norm(body, l.email), norm(unknown, "nobody@example.com"); a != b {
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		t.Fatalf("the answer for an advanced account differs from an unknown email's at %q vs %q", a[max(0, i-40):min(len(a), i+40)], b[max(0, i-40):min(len(b), i+40)])
	}
	// No administrator shortcut.
	args := []string{"accounts", "reset-password", "--email", l.email, "--password-stdin", "--database-url", l.cfg.DatabaseURL, "--master-key-file", l.cfg.MasterKeyFile}
	code, _, errOut := cli(t, "a new password here\n", args...)
	if code == 0 || !strings.Contains(errOut, "advanced security") {
		t.Fatalf("reset-password on an advanced account: %d %s", code, errOut)
	}
	code, _, errOut = cli(t, "", "accounts", "reset-2fa", "--email", l.email, "--database-url", l.cfg.DatabaseURL, "--master-key-file", l.cfg.MasterKeyFile)
	if code == 0 || !strings.Contains(errOut, "advanced security") {
		t.Fatalf("reset-2fa on an advanced account: %d %s", code, errOut)
	}

	// Recovery: email plus a recovery key, once, ending every other session.
	c1 := l.browser()
	c1.signInPassword(l.email, testPassword).Body.Close() // refused, but sets cookies
	passkeySession := l.browser()
	d, secret, err := l.srv.Sessions().Create(t.Context(), sessionForTest(a.ID))
	if err != nil {
		t.Fatal(err)
	}
	_ = d
	u, _ := url.Parse(l.url)
	passkeySession.client.Jar.SetCookies(u, []*http.Cookie{{Name: "latch", Value: secret, Path: "/"}})
	form := hiddenFields(page(t, c1.do("GET", "/login/recover", nil)))
	form.Set("email", l.email)
	form.Set("recovery_key", keys[0])
	resp = c1.do("POST", "/login/recover", form)
	resp.Body.Close()
	if resp.Request.URL.Path != "/account/security" {
		t.Fatalf("recovery sign-in: %s", resp.Request.URL)
	}
	if signedInAt(t, l.url, "/account/security", secret) {
		t.Fatal("recovery on an advanced account left another session alive")
	}
	resp = c1.post("/account/security", "/account/security/password", url.Values{"new_password": {"sneaky password"}, "confirm_password": {"sneaky password"}})
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.RawQuery, "error=advanced") {
		t.Fatalf("a recovery session set a password on an advanced account: %s", resp.Request.URL)
	}
	form.Set("recovery_key", keys[0])
	if resp := l.browser().do("POST", "/login/recover", form); resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the same recovery key twice: %d", resp.StatusCode)
	}
}

// TestAdvancedLifetimes: 12 hours absolute, and prompt=none after it
// answers login_required.
func TestAdvancedLifetimes(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	acct, _ := l.srv.Accounts().ByEmail(t.Context(), l.email)
	l.makeAdvanced(acct.ID)
	b := l.browser()
	_, secret, err := l.srv.Sessions().Create(t.Context(), sessionForTest(acct.ID))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(l.url)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "latch", Value: secret, Path: "/"}})
	a := l.appA()
	f := a.newFlow(oauth2.SetAuthURLParam("prompt", "none"))
	tok := a.mustExchange(a.callback(b.do("GET", f.url, nil), f), f)
	// Active every 10 minutes for 12 hours: alive until the absolute limit.
	for elapsed := time.Duration(0); elapsed < 11*time.Hour+50*time.Minute; elapsed += 10 * time.Minute {
		l.clock.Add(10 * time.Minute)
		if !signedInAt(t, l.url, "/account", secret) {
			t.Fatalf("ended after %v of activity", elapsed+10*time.Minute)
		}
	}
	if _, err := a.refresh(tok.RefreshToken); err != nil {
		t.Fatalf("refresh inside the lifetime: %v", err)
	}
	l.clock.Add(11 * time.Minute)
	if signedInAt(t, l.url, "/account", secret) {
		t.Fatal("alive past 12 hours")
	}
	f = a.newFlow(oauth2.SetAuthURLParam("prompt", "none"))
	resp := b.do("GET", f.url, nil)
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none past the lifetime: %s", resp.Header.Get("Location"))
	}
}

// TestAdvancedLeave: turning advanced security off takes a passkey step-up
// within 5 minutes; then standard lifetimes return and a password may be
// set again.
func TestAdvancedLeave(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	acct, _ := l.srv.Accounts().ByEmail(t.Context(), l.email)
	l.makeAdvanced(acct.ID)
	b := l.browser()
	_, secret, err := l.srv.Sessions().Create(t.Context(), sessionForTest(acct.ID))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(l.url)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "latch", Value: secret, Path: "/"}})

	// A passkey sign-in 6 minutes old is too old for an advanced account.
	l.clock.Add(6 * time.Minute)
	resp := b.post("/account/security", "/account/security/advanced/leave", nil)
	body := page(t, resp)
	if resp.Request.URL.Path != "/account/reauth" || strings.Contains(body, `name="password"`) {
		t.Fatalf("stale leave went to %s (password offered: %v)", resp.Request.URL, strings.Contains(body, `name="password"`))
	}
	passkeyStepUp(t, l, secret)
	resp = b.post("/account/security", "/account/security/advanced/leave", nil)
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.RawQuery, "done=advanced_off") {
		t.Fatalf("leave after a passkey step-up: %s", resp.Request.URL)
	}
	if a, _ := l.srv.Accounts().ByEmail(t.Context(), l.email); a.Advanced() {
		t.Fatal("still advanced")
	}
	// Standard lifetimes: an hour idle is fine now.
	l.clock.Add(time.Hour)
	if !signedInAt(t, l.url, "/account", secret) {
		t.Fatal("the session kept the advanced idle limit")
	}
	passkeyStepUp(t, l, secret)
	resp = b.post("/account/security", "/account/security/password", url.Values{"new_password": {"back to a password"}, "confirm_password": {"back to a password"}})
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.RawQuery, "done=password_set") {
		t.Fatalf("setting a password after leaving: %s", resp.Request.URL)
	}
	if events := l.countAlerts(acct.ID, func(m notify.Queued) bool { return m.Subject == "Advanced security is off" }); events != 1 {
		t.Fatal("leaving was not announced")
	}
}

// TestAdvancedPolicyWords: the security page states the advanced policy as
// configured by the flags, not as hard-coded defaults.
func TestAdvancedPolicyWords(t *testing.T) {
	t.Parallel()
	l := startLatch(t, func(c *Config) { c.AdvancedSessionAbsolute = 8 * time.Hour; c.AdvancedSessionIdle = 10 * time.Minute })
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	body := page(t, b.do("GET", "/account/security", nil))
	if !strings.Contains(body, "at most 8 hours") || !strings.Contains(body, "after 10 minutes without activity") {
		t.Fatal("the advanced section does not state the configured lifetimes")
	}
}
