package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latch-idp/latch/cmd/latch/demoapp"
	"github.com/latch-idp/latch/internal/browsertest"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// EnvDocsScreenshots names the environment variable with a directory where
// TestAccessibilityInBrowser saves the README's pictures of the sessions
// page (make screenshots sets it to docs/). Without it they go where
// browsertest.Screenshot puts any other, so make test rewrites nothing.
const EnvDocsScreenshots = "LATCH_DOCS_SCREENSHOTS"

// User agents of the devices the test signs in with, as their browsers
// send them.
const (
	uaLinuxChrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaIPhone      = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
	uaWindowsEdge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
	uaLinuxFox    = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaAndroid     = "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)

// a11yLayouts are the four ways each page is checked: a desktop window and
// a phone, each light and dark.
var a11yLayouts = []struct {
	name          string
	width, height int64
	mobile        bool
	scheme        string
}{
	{"1280 light", 1280, 900, false, "light"},
	{"1280 dark", 1280, 900, false, "dark"},
	{"390 light", 390, 844, true, "light"},
	{"390 dark", 390, 844, true, "dark"},
}

// a11yAudit runs axe-core on page after page and gathers the serious and
// critical violations, each element once with every page and layout where
// it broke the rule, so that one faulty rule in the layout reads as one
// finding rather than eighty.
type a11yAudit struct {
	t        *testing.T
	findings map[string]*a11yFinding
	order    []string
	pages    int
	minor    map[string]int // rule id: pages with a minor or moderate violation
	version  string
}

type a11yFinding struct {
	v     browsertest.AxeViolation // with the one node
	where []string
}

func newA11yAudit(t *testing.T) *a11yAudit {
	return &a11yAudit{t: t, findings: map[string]*a11yFinding{}, minor: map[string]int{}}
}

// check runs axe on the page in ctx, as it is now, in each layout, and
// leaves the tab at 1280 px, light.
func (a *a11yAudit) check(ctx context.Context, page string) {
	a.t.Helper()
	a.pages++
	for _, l := range a11yLayouts {
		browsertest.Viewport(a.t, ctx, l.width, l.height, l.mobile)
		// Without motion, a change of scheme has no transitions to wait
		// for; the colours they end on are the same.
		browsertest.Media(a.t, ctx, map[string]string{"prefers-color-scheme": l.scheme, "prefers-reduced-motion": "reduce"})
		for _, v := range browsertest.Axe(a.t, ctx) {
			if !v.Serious() {
				a.minor[v.ID]++
				continue
			}
			for _, n := range v.Nodes {
				key := v.ID + " " + n.Target
				f := a.findings[key]
				if f == nil {
					one := v
					one.Nodes = []browsertest.AxeNode{n}
					f = &a11yFinding{v: one}
					a.findings[key] = f
					a.order = append(a.order, key)
				}
				f.where = append(f.where, page+" at "+l.name)
			}
		}
	}
	if a.version == "" {
		a.version = browsertest.AxeVersion(a.t, ctx)
	}
	browsertest.Viewport(a.t, ctx, 1280, 900, false)
	browsertest.ColorScheme(a.t, ctx, "light")
}

// a11yShown is how many findings report spells out; past it, a change
// that breaks a rule everywhere (a colour of the palette, say) is counted
// by rule instead of burying the first findings in hundreds more.
const a11yShown = 30

// report fails the test with each finding.
func (a *a11yAudit) report() {
	a.t.Helper()
	a.t.Logf("axe-core %s: %d pages in %d layouts; %d serious or critical findings", a.version, a.pages, len(a11yLayouts), len(a.order))
	if len(a.minor) > 0 {
		a.t.Logf("minor and moderate rules broken (pages×layouts), not failing: %v", a.minor)
	}
	more := map[string]int{}
	for i, key := range a.order {
		f := a.findings[key]
		if i >= a11yShown {
			more[f.v.ID]++
			continue
		}
		where := f.where
		if len(where) > 6 {
			where = append(where[:6:6], fmt.Sprintf("and %d more", len(f.where)-6))
		}
		a.t.Errorf("%s\n\ton: %s\n\t%s", f.v, strings.Join(where, "; "), f.v.HelpURL)
	}
	if len(more) > 0 {
		a.t.Errorf("and %d more elements, by rule: %v", len(a.order)-a11yShown, more)
	}
}

// TestAccessibilityInBrowser: every page a person can reach, in the states
// worth seeing (each form's error, a passkey renamed or suspended, the
// authenticator app being set up, recovery keys shown once, each step of
// advanced security, a recovery session, several sessions with a trusted
// one and one recently ended, ending them confirmed by the dialog or the
// page, a device being renamed, the checklist after a report), passes
// axe-core with no serious or critical
// violation at 1280 and 390 px, light and dark. On the way it
// takes the README's pictures of the sessions page.
func TestAccessibilityInBrowser(t *testing.T) {
	t.Parallel()
	start := time.Now()
	a := newA11yAudit(t)
	// The demo apps of latch dev, ChatGPT and Codex, are the apps the
	// devices sign in to; their pages are checked too.
	type demo struct {
		name, id, url string
		ln            net.Listener
	}
	demos := []*demo{{name: "ChatGPT", id: "chatgpt-web"}, {name: "Codex", id: "codex-web"}}
	clients := testClients
	for _, d := range demos {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		d.ln, d.url = ln, "http://localhost:"+port(ln)
		clients += fmt.Sprintf("  - id: %s\n    app: %s\n    secret: %s-secret-0123456789\n    redirect_uris: [%s/callback]\n"+
			"    post_logout_redirect_uris: [%s/]\n    backchannel_logout_uri: %s/backchannel-logout\n    first_party: true\n",
			d.id, d.name, d.id, d.url, d.url, d.url)
	}
	// The agent ChatGPT's demo starts, as latch dev registers it.
	clients += `  - id: codex-task-runner
    app: Codex task runner
    kind: agent
    secret: runner-secret-0123456789
    allowed_scopes: [files:read, pull_requests:write]
    scope_descriptions: {"files:read": read your files, "pull_requests:write": open pull requests}
    started_by: [chatgpt-web]
`
	l := startLatch(t, func(c *Config) { c.ClientsFile = writeFile(t, "clients.yaml", clients) })
	for _, d := range demos {
		cfg := demoapp.Config{Name: d.name, ClientID: d.id, ClientSecret: d.id + "-secret-0123456789", Issuer: l.url, BaseURL: d.url}
		if d.id == "chatgpt-web" {
			cfg.Agent = demoAgent
		}
		app, err := demoapp.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: app}
		go srv.Serve(d.ln)
		t.Cleanup(func() { srv.Close() })
	}
	chatgpt, codex := demos[0], demos[1]
	openApp := func(ctx context.Context, d *demo) {
		t.Helper()
		browsertest.Navigate(t, ctx, d.url+"/login")
		waitText(t, ctx, "main", "Signed in as")
	}

	laptop := browsertest.Chrome(t)
	browsertest.UserAgent(t, laptop, uaLinuxChrome)
	deviceBound := browsertest.AddAuthenticator(t, laptop, browsertest.AuthenticatorOptions{})

	// Signed out: the sign-in page, with a wrong password, and the
	// recovery-key sign-in, with a wrong key. (A page with an error holds
	// everything the page without one does.)
	browsertest.Navigate(t, laptop, l.url+"/login")
	browsertest.WaitVisible(t, laptop, "[data-passkey-login]")
	browsertest.SetValue(t, laptop, "input[name=email]", l.email)
	browsertest.SetValue(t, laptop, "input[name=password]", "not the password")
	browsertest.Click(t, laptop, "form button[type=submit]")
	browsertest.WaitVisible(t, laptop, "#form-error")
	a.check(laptop, "sign-in, wrong password")
	browsertest.Navigate(t, laptop, l.url+"/login/recover")
	browsertest.SetValue(t, laptop, "#email", l.email)
	browsertest.SetValue(t, laptop, "#recovery_key", "AAAA-BBBB-CCCC-DDDD")
	browsertest.Click(t, laptop, `form[action="/login/recover"] button[type=submit]`)
	browsertest.WaitVisible(t, laptop, "#form-error")
	a.check(laptop, "recovery-key sign-in, wrong key")

	// Four devices sign in while the password is enough; three open apps.
	passwordSignIn(t, laptop, l)
	a.check(laptop, "account")
	openApp(laptop, chatgpt)
	a.check(laptop, "demo app, signed in")
	iphone, windows, firefox := browsertest.NewContext(t, laptop), browsertest.NewContext(t, laptop), browsertest.NewContext(t, laptop)
	for _, d := range []struct {
		ctx  context.Context
		ua   string
		apps []*demo
	}{
		{iphone, uaIPhone, []*demo{chatgpt, codex}},
		{windows, uaWindowsEdge, []*demo{codex}},
		{firefox, uaLinuxFox, []*demo{chatgpt}},
	} {
		browsertest.UserAgent(t, d.ctx, d.ua)
		passwordSignIn(t, d.ctx, l)
		for _, app := range d.apps {
			openApp(d.ctx, app)
		}
	}

	// Security: as it starts, with a passkey (renamed, suspended), setting
	// up the authenticator app (a wrong code first), and recovery keys
	// shown once.
	browsertest.Navigate(t, laptop, l.url+"/account/security")
	a.check(laptop, "security")
	addPasskey(t, laptop, l, "Work laptop")
	browsertest.Click(t, laptop, ".item-rename summary")
	browsertest.WaitVisible(t, laptop, ".item-rename-form input[name=name]")
	a.check(laptop, "security, passkey added, renaming it")
	// A suspended passkey's warning, as a copy with a lower counter leaves
	// it (TestSuspendedPasskeyInBrowser plays the copy), and back.
	suspend := func(on bool) {
		t.Helper()
		ctx, acct := t.Context(), l.accountID(l.email)
		for _, pk := range l.passkeys(acct) {
			var err error
			switch {
			case on:
				err = l.srv.Passkeys().Suspend(ctx, acct, pk.ID, l.clock.Now())
			case pk.Suspended():
				// As its owner keeps it, confirmed after the suspension.
				err = l.srv.Sessions().Transact(ctx, func(tx *sessions.Tx) error {
					_, err := l.srv.Passkeys().Reinstate(ctx, tx, acct, pk.ID, pk.SuspendedAt.Add(time.Second))
					return err
				})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	suspend(true)
	browsertest.Navigate(t, laptop, l.url+"/account/security")
	browsertest.WaitVisible(t, laptop, ".item-warning")
	a.check(laptop, "security, suspended passkey")
	suspend(false)
	browsertest.Navigate(t, laptop, l.url+"/account/security")
	browsertest.Click(t, laptop, `form[action="/account/security/totp/begin"] button`)
	browsertest.WaitVisible(t, laptop, "#totp-secret")
	secret := strings.Join(strings.Fields(browsertest.Text(t, laptop, "#totp-secret")), "")
	browsertest.SetValue(t, laptop, "#totp-code", "000000")
	browsertest.Click(t, laptop, `form[action="/account/security/totp/confirm"] button[type=submit]`)
	browsertest.WaitVisible(t, laptop, "#totp-error")
	a.check(laptop, "security, authenticator app setup, wrong code")
	browsertest.SetValue(t, laptop, "#totp-code", totpCode(t, secret, l.clock.Now()))
	browsertest.Click(t, laptop, `form[action="/account/security/totp/confirm"] button[type=submit]`)
	waitText(t, laptop, "main", "Authenticator app turned on")
	browsertest.Click(t, laptop, `#recovery form[action="/account/security/recovery/generate"] button`)
	browsertest.WaitVisible(t, laptop, "#recovery-keys")
	a.check(laptop, "security, recovery keys shown once")

	// The step-up, with a passkey, a password and a code (a wrong password
	// first); then advanced security's recovery keys, waiting to be typed
	// back.
	browsertest.Navigate(t, laptop, l.url+"/account/reauth?next=/account/security%23advanced")
	browsertest.WaitVisible(t, laptop, "[data-passkey-reauth]")
	browsertest.SetValue(t, laptop, "#password", "not the password")
	browsertest.SetValue(t, laptop, "#code", "000000")
	browsertest.Click(t, laptop, `form[action="/account/reauth"] button[type=submit]`)
	browsertest.WaitVisible(t, laptop, "#form-error")
	browsertest.WaitVisible(t, laptop, "[data-passkey-reauth]")
	a.check(laptop, "step-up, wrong password")
	browsertest.Click(t, laptop, "[data-passkey-reauth]")
	waitPath(t, laptop, "/account/security")
	browsertest.Click(t, laptop, `form[action="/account/security/advanced/recovery"] button`)
	browsertest.WaitVisible(t, laptop, "#recovery-keys")
	a.check(laptop, "security, advanced security's recovery keys")
	advancedKey := browsertest.Eval[string](t, laptop, `document.querySelector('#recovery-keys code').innerText`)

	// An Android phone, after the password: the authenticator app code (a
	// wrong one first), the recovery key instead, and back to the code,
	// trusting the phone.
	android := browsertest.NewContext(t, laptop)
	browsertest.UserAgent(t, android, uaAndroid)
	browsertest.Navigate(t, android, l.url+"/login")
	browsertest.SetValue(t, android, "input[name=email]", l.email)
	browsertest.SetValue(t, android, "input[name=password]", testPassword)
	browsertest.Click(t, android, "form button[type=submit]")
	waitPath(t, android, "/login/verify")
	browsertest.SetValue(t, android, "#code", "000000")
	browsertest.Click(t, android, `form[action="/login/verify"] button[type=submit]`)
	browsertest.WaitVisible(t, android, "#form-error")
	a.check(android, "second factor, wrong code")
	browsertest.Click(t, android, `a[href="/login/verify?recovery=1"]`)
	browsertest.WaitVisible(t, android, "#recovery_key")
	a.check(android, "second factor, recovery key")
	browsertest.Click(t, android, `a[href="/login/verify"]`)
	l.clock.Add(30 * time.Second) // the code the laptop confirmed with works once
	browsertest.SetValue(t, android, "#code", totpCode(t, secret, l.clock.Now()))
	browsertest.Click(t, android, "#trust_device")
	browsertest.Click(t, android, `form[action="/login/verify"] button[type=submit]`)
	waitPath(t, android, "/account")
	// An app that asks for a phishing-resistant sign-in, in a new browser.
	phr := browsertest.NewContext(t, laptop)
	browsertest.Navigate(t, phr, l.appA().newFlow(oauth2.SetAuthURLParam("acr_values", "phr")).url)
	browsertest.WaitVisible(t, phr, "[data-passkey-login]")
	a.check(phr, "sign-in, passkey only")

	// Sessions: this laptop, an iPhone and a Windows PC with their apps, a
	// trusted Android phone, and a Firefox that signed out, recently ended.
	// Firefox signs out from ChatGPT, which signs it out of latch too.
	browsertest.Navigate(t, firefox, chatgpt.url+"/")
	browsertest.Click(t, firefox, `header form[action="/logout"] button`)
	waitText(t, firefox, ".notice", "You signed out of latch and ChatGPT")
	a.check(firefox, "demo app, signed out of latch and the app")
	// ChatGPT on this laptop starts an agent, and a command-line app signs
	// in with a code approved here.
	browsertest.Navigate(t, laptop, chatgpt.url+"/")
	browsertest.Click(t, laptop, `form[action="/agent/start"] button`)
	browsertest.WaitVisible(t, laptop, "#agent-claims")
	a.check(laptop, "demo app, an agent started")
	cli := l.deviceApp("codex-cli")
	code := cli.start("ada-laptop")
	polled := cli.poll(code)
	browsertest.Navigate(t, laptop, code.VerificationURIComplete)
	browsertest.Click(t, laptop, `button[name=decision][value=approve]`)
	if p := waitPolled(t, polled); p.err != nil {
		t.Fatalf("the command-line app's tokens: %v", p.err)
	}
	browsertest.Navigate(t, laptop, l.url+"/account/sessions")
	for _, want := range []string{"Safari on iPhone", "Edge on Windows", "Codex", "Trusted", "Recently ended", "Firefox on Linux",
		"Codex CLI on ada-laptop", "Agents acting for you", "Codex task runner"} {
		waitText(t, laptop, "main", want)
	}
	a.check(laptop, "sessions")
	sessionsScreenshots(t, laptop)
	// Ending asks first: the dialog, and the page that asks without script
	// (a form posted without its submit event).
	browsertest.Click(t, laptop, `form[action="/account/sessions/end-others"] button`)
	browsertest.WaitVisible(t, laptop, "#confirm-end")
	a.check(laptop, "sessions, the dialog before signing out all others")
	browsertest.Click(t, laptop, "#confirm-end [data-confirm-no]")
	browsertest.Eval[bool](t, laptop, `(() => { document.querySelector('form[action="/account/sessions/end-others"]').submit(); return true })()`)
	waitText(t, laptop, "main", "Sign out of all other sessions?")
	a.check(laptop, "sessions, confirmation without script")
	browsertest.Navigate(t, laptop, l.url+"/account/sessions")
	browsertest.Click(t, laptop, `.device-current .device-rename summary`)
	browsertest.WaitVisible(t, laptop, `.device-current .rename-form input[name=name]`)
	a.check(laptop, "sessions, renaming a device")
	browsertest.Navigate(t, laptop, l.url+"/account/activity")
	waitText(t, laptop, "main", "Passkey")
	a.check(laptop, "activity")
	// "This wasn't me" for the Windows PC: its checklist.
	browsertest.Navigate(t, laptop, l.url+"/account/sessions")
	browsertest.Click(t, laptop, `[data-device-name="Edge on Windows"] form[action$="/not-me"] button`)
	waitText(t, laptop, "main", "We ended that session")
	a.check(laptop, "checklist after a report")

	// An app that is not latch's own asks for consent.
	outsider := l.rp("outsider", "outsider-secret-0123456789", "http://localhost:47004/callback")
	browsertest.Navigate(t, laptop, outsider.newFlow().url)
	waitPath(t, laptop, "/consent")
	a.check(laptop, "consent")
	// Allowed, it is a connected app: the list, with its removal to confirm.
	browsertest.Click(t, laptop, `button[name=decision][value=allow]`)
	// The app's redirect URI has nothing behind it: wait until the browser
	// has given up on it before going on.
	waitFor(t, func() bool { return !strings.Contains(browsertest.Location(t, laptop), "/consent") })
	waitFor(t, func() bool { return l.count(`SELECT count(*) FROM consents WHERE client_id = 'outsider'`) == 1 })
	browsertest.Navigate(t, laptop, l.url+"/account/apps/outsider/remove")
	waitText(t, laptop, "main", "Remove Outsider's access?")
	a.check(laptop, "connected apps, removing one")
	// A command-line app's code: typed wrong, then its approval page.
	da := l.deviceApp("codex-cli").start("ada-laptop")
	browsertest.Navigate(t, laptop, l.url+"/device")
	browsertest.SetValue(t, laptop, "input[name=user_code]", "BCDF-GHJK")
	browsertest.Click(t, laptop, `form[action="/device"] button[type=submit]`)
	browsertest.WaitVisible(t, laptop, "#form-error")
	a.check(laptop, "device code, wrong code")
	browsertest.Navigate(t, laptop, da.VerificationURIComplete)
	waitText(t, laptop, "main", "Sign in to Codex CLI?")
	a.check(laptop, "device approval")
	// Errors: an app latch does not know and a page that does not exist
	// (a method a page does not take shows the same page as the 404).
	browsertest.Navigate(t, laptop, l.url+"/authorize?"+url.Values{"client_id": {"nobody"}, "response_type": {"code"},
		"scope": {"openid"}, "redirect_uri": {"http://localhost:47009/callback"}}.Encode())
	waitText(t, laptop, "main", "This sign-in link can't be used")
	a.check(laptop, "error")
	browsertest.Navigate(t, laptop, l.url+"/no-such-page")
	waitText(t, laptop, "main", "Page not found")
	a.check(laptop, "404")
	browsertest.Navigate(t, laptop, l.url+"/logout")
	waitText(t, laptop, "main", "Sign out of latch?")
	a.check(laptop, "sign-out confirmation")
	// The page for a database that is away, as latch serves it.
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	away := http.NewServeMux()
	away.Handle("GET /static/", templates.Static())
	away.HandleFunc("GET /", pages.Unavailable)
	awaySrv := httptest.NewServer(away)
	t.Cleanup(awaySrv.Close)
	browsertest.Navigate(t, laptop, browsertest.Localhost(awaySrv.URL)+"/account")
	waitText(t, laptop, "main", "latch can't reach its database right now")
	a.check(laptop, "database away (503)")

	// Advanced security: a second, synced passkey and the key typed back
	// make it ready; then it is on.
	browsertest.RemoveAuthenticator(t, laptop, deviceBound)
	browsertest.AddAuthenticator(t, laptop, browsertest.AuthenticatorOptions{BackupEligibility: true, BackupState: true})
	addPasskey(t, laptop, l, "Phone")
	browsertest.SetValue(t, laptop, "#advanced-recovery-key", advancedKey)
	browsertest.Click(t, laptop, `form[action="/account/security/advanced/confirm-key"] button[type=submit]`)
	waitText(t, laptop, "main", "Recovery keys confirmed")
	a.check(laptop, "security, advanced security ready")
	browsertest.Click(t, laptop, `form[action="/account/security/advanced/enroll"] button`)
	waitText(t, laptop, "main", "Advanced security is on")
	a.check(laptop, "security, advanced security on")
	// Signed out, a recovery-key sign-in leads to the security page alone.
	signOut(t, laptop, l)
	a.check(laptop, "signed out")
	browsertest.Navigate(t, laptop, l.url+"/login/recover")
	browsertest.SetValue(t, laptop, "#email", l.email)
	browsertest.SetValue(t, laptop, "#recovery_key", advancedKey)
	browsertest.Click(t, laptop, `form[action="/login/recover"] button[type=submit]`)
	waitPath(t, laptop, "/account/security")
	waitText(t, laptop, "main", "You signed in with a recovery key")
	a.check(laptop, "security, after a recovery-key sign-in")

	a.report()
	t.Logf("%d pages checked in %v", a.pages, time.Since(start).Round(time.Millisecond))
}

// sessionsScreenshots saves the sessions page in ctx as the README shows
// it: at 1280 px light, and as a phone in the dark.
func sessionsScreenshots(t *testing.T, ctx context.Context) {
	t.Helper()
	dir := os.Getenv(EnvDocsScreenshots)
	if dir != "" {
		var err error
		if dir, err = filepath.Abs(dir); err != nil {
			t.Fatal(err)
		}
	}
	shot := func(name string) {
		if dir != "" {
			name = filepath.Join(dir, name)
		}
		t.Logf("sessions page: %s", browsertest.Screenshot(t, ctx, name))
	}
	shot("sessions.png")
	browsertest.Viewport(t, ctx, 390, 844, true)
	browsertest.ColorScheme(t, ctx, "dark")
	shot("sessions-phone-dark.png")
	browsertest.Viewport(t, ctx, 1280, 900, false)
	browsertest.ColorScheme(t, ctx, "light")
}
