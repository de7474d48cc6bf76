package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"golang.org/x/oauth2"

	"github.com/latch-idp/latch/internal/browsertest"
	"github.com/latch-idp/latch/sessions"
)

// page helpers for latch's own forms in a real browser.

func waitPath(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		u, _ := url.Parse(browsertest.Location(t, ctx))
		if u.Path == path {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("browser at %s, want %s; page: %.400s", u, path, browsertest.Text(t, ctx, "body"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := browsertest.Eval[string](t, ctx, `(document.querySelector(`+jsString(sel)+`)||{}).innerText||""`)
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never said %q (says %q) at %s", sel, want, got, browsertest.Location(t, ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// passkeyError waits until the page shows a passkey error and returns it.
func passkeyError(t *testing.T, ctx context.Context) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		msg := browsertest.Eval[string](t, ctx, `((document.querySelector('[data-passkey-error]')||{}).innerText||'').trim()`)
		if msg != "" {
			return msg
		}
		if time.Now().After(deadline) {
			t.Fatalf("no passkey error at %s", browsertest.Location(t, ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func passwordSignIn(t *testing.T, ctx context.Context, l *testLatch) {
	t.Helper()
	browsertest.Navigate(t, ctx, l.url+"/login")
	browsertest.SetValue(t, ctx, "input[name=email]", l.email)
	browsertest.SetValue(t, ctx, "input[name=password]", testPassword)
	browsertest.Click(t, ctx, "form button[type=submit]")
	waitPath(t, ctx, "/account")
}

func addPasskey(t *testing.T, ctx context.Context, l *testLatch, name string) {
	t.Helper()
	browsertest.Navigate(t, ctx, l.url+"/account/security")
	browsertest.WaitVisible(t, ctx, "[data-passkey-add]")
	browsertest.SetValue(t, ctx, "#passkey-name", name)
	browsertest.Click(t, ctx, "[data-passkey-add]")
	waitText(t, ctx, "main", "Passkey added.")
}

func signOut(t *testing.T, ctx context.Context, l *testLatch) {
	t.Helper()
	browsertest.Navigate(t, ctx, l.url+"/account")
	browsertest.Click(t, ctx, "form[action='/logout'] button")
	waitPath(t, ctx, "/logged-out")
}

// callbackApp is a stand-in for an app's redirect URI that a real browser
// can reach: it records where it was sent.
type callbackApp struct {
	url  string
	hits chan *url.URL
}

func newCallbackApp(t *testing.T) *callbackApp {
	t.Helper()
	c := &callbackApp{hits: make(chan *url.URL, 8)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := *r.URL
		if u.Path == "/callback" {
			select {
			case c.hits <- &u:
			default:
			}
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("app callback"))
	}))
	t.Cleanup(srv.Close)
	c.url = browsertest.Localhost(srv.URL)
	return c
}

// startLatchWithApp starts latch with one more client, "browser-app", whose
// redirect URI is a real server.
func startLatchWithApp(t *testing.T) (*testLatch, *rp, *callbackApp) {
	t.Helper()
	app := newCallbackApp(t)
	clients := testClients + "  - id: browser-app\n    app: Gamma\n    secret: gamma-secret-0123456789\n" +
		"    redirect_uris: [" + app.url + "/callback]\n    first_party: true\n"
	l := startLatch(t, func(c *Config) { c.ClientsFile = writeFile(t, "clients.yaml", clients) })
	return l, l.rp("browser-app", "gamma-secret-0123456789", app.url+"/callback"), app
}

// TestPasskeysInBrowser: add a passkey from the security page, sign out,
// sign in with the discoverable button and with autofill, and sign in to an
// app that asks for acr_values=phr.
func TestPasskeysInBrowser(t *testing.T) {
	t.Parallel()
	l, a, app := startLatchWithApp(t)
	ctx := browsertest.Chrome(t)
	auth := browsertest.AddAuthenticator(t, ctx, browsertest.AuthenticatorOptions{})

	passwordSignIn(t, ctx, l)
	addPasskey(t, ctx, l, "Work laptop")
	body := browsertest.Text(t, ctx, "main")
	if !strings.Contains(body, "Work laptop") || !strings.Contains(body, "This device only") {
		t.Fatalf("security page lacks the new passkey:\n%s", body)
	}
	browsertest.Screenshot(t, ctx, "security-page.png")

	// Rename it, go passwordless, and find the last passkey protected.
	browsertest.Click(t, ctx, ".item-rename summary")
	browsertest.SetValue(t, ctx, ".item-rename-form input[name=name]", "Laptop")
	browsertest.Click(t, ctx, ".item-rename-form button[type=submit]")
	waitText(t, ctx, "main", "Passkey renamed.")
	browsertest.Click(t, ctx, "form[action='/account/security/password/remove'] button")
	waitText(t, ctx, "main", "Password removed.")
	if r := l.browser().signInPassword(l.email, testPassword); r.StatusCode != http.StatusUnauthorized {
		t.Fatal("the removed password still signs in")
	}
	browsertest.Click(t, ctx, "form[action$='/remove'] button")
	waitText(t, ctx, "main", "only way to sign in")
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('form[action$="/rename"]').length`); n != 1 {
		t.Fatal("the last passkey was removed")
	}
	if activity := l.countActivity(l.accountID(l.email), func(e sessions.HistoryEvent) bool {
		return e.Kind == "passkey_added" && e.IP != nil
	}); activity != 1 {
		t.Fatal("passkey addition not recorded")
	}

	// Autofill: with a passkey on the device, the sign-in page's
	// conditional request signs in without typing anything.
	signOut(t, ctx, l)
	browsertest.Navigate(t, ctx, l.url+"/login")
	waitPath(t, ctx, "/account")
	waitText(t, ctx, "main", "Passkey")

	// The discoverable button: take the credential away while the page
	// loads (so autofill has nothing), then give it back and click.
	signOut(t, ctx, l)
	creds := browsertest.Credentials(t, ctx, auth)
	if len(creds) != 1 {
		t.Fatalf("%d credentials on the authenticator", len(creds))
	}
	browsertest.RemoveCredentials(t, ctx, auth)
	browsertest.Navigate(t, ctx, l.url+"/login")
	browsertest.WaitVisible(t, ctx, "[data-passkey-login]")
	browsertest.Screenshot(t, ctx, "login-page.png")
	browsertest.AddCredential(t, ctx, auth, credentialFrom(t, creds[0]))
	browsertest.Click(t, ctx, "[data-passkey-login]")
	waitPath(t, ctx, "/account")

	// An app asking for a phishing-resistant sign-in gets a passkey
	// ceremony and acr=phr, even though the account has a password.
	signOut(t, ctx, l)
	f := a.newFlow(oauth2.SetAuthURLParam("acr_values", "phr"))
	browsertest.Navigate(t, ctx, f.url)
	browsertest.WaitVisible(t, ctx, "[data-passkey-login]")
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('input[name=password]').length`); n != 0 {
		t.Fatal("the passkey-only page shows a password field")
	}
	browsertest.Click(t, ctx, "[data-passkey-login]")
	code := waitCallback(t, app, a, f)
	tok := a.mustExchange(code, f)
	var claims struct {
		ACR string   `json:"acr"`
		AMR []string `json:"amr"`
	}
	tok.id.Claims(&claims)
	if claims.ACR != "phr" || !slices.Contains(claims.AMR, "hwk") || !slices.Contains(claims.AMR, "mfa") {
		t.Fatalf("acr %q amr %v after a passkey sign-in", claims.ACR, claims.AMR)
	}
	// The refreshed ID token still says phr.
	t2, err := a.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := a.verify(t2, "")
	if err != nil {
		t.Fatal(err)
	}
	var c2 struct {
		ACR string `json:"acr"`
	}
	v2.id.Claims(&c2)
	if c2.ACR != "phr" {
		t.Fatalf("refreshed ID token acr %q", c2.ACR)
	}
}

// waitCallback waits until the browser has been sent to the app's redirect
// URI and returns the code.
func waitCallback(t *testing.T, app *callbackApp, a *rp, f *flow) string {
	t.Helper()
	select {
	case u := <-app.hits:
		q := u.Query()
		if u.Path != "/callback" || q.Get("state") != f.state || q.Get("iss") != a.l.url || q.Get("code") == "" {
			t.Fatalf("callback %s", u)
		}
		return q.Get("code")
	case <-time.After(15 * time.Second):
		t.Fatal("the browser never reached the app")
	}
	return ""
}

// TestPasskeyWithoutUserVerification: an authenticator that cannot verify
// the person (no PIN, no biometrics) cannot become a passkey.
func TestPasskeyWithoutUserVerification(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	ctx := browsertest.Chrome(t)
	browsertest.AddAuthenticator(t, ctx, browsertest.AuthenticatorOptions{NoUserVerification: true})
	passwordSignIn(t, ctx, l)
	browsertest.Navigate(t, ctx, l.url+"/account/security")
	browsertest.WaitVisible(t, ctx, "[data-passkey-add]")
	browsertest.SetValue(t, ctx, "#passkey-name", "Old key")
	browsertest.Click(t, ctx, "[data-passkey-add]")
	deadline := time.Now().Add(10 * time.Second)
	for browsertest.Eval[string](t, ctx, `((document.querySelector('[data-passkey-error]')||{}).innerText||'').trim()`) == "" {
		if time.Now().After(deadline) {
			t.Fatal("no error shown for an authenticator without user verification")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(l.passkeys(l.accountID(l.email))); n != 0 {
		t.Fatal("a passkey without user verification was stored")
	}
}

// TestForgedPasskeyInBrowser: with the passkey's private key in hand, the
// test plays a cloned authenticator (lower counter) and one whose backup
// flag changed; latch refuses both, records the possible clone and
// suspends the passkey.
func TestForgedPasskeyInBrowser(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	ctx := browsertest.Chrome(t)
	auth := browsertest.AddAuthenticator(t, ctx, browsertest.AuthenticatorOptions{})
	passwordSignIn(t, ctx, l)
	addPasskey(t, ctx, l, "Phone")
	signOut(t, ctx, l)
	creds := browsertest.Credentials(t, ctx, auth)
	cred := credentialFrom(t, creds[0])
	// Use it a few times so the stored counter is above 1.
	for range 3 {
		browsertest.Navigate(t, ctx, l.url+"/login")
		waitPath(t, ctx, "/account")
		signOut(t, ctx, l)
	}
	acct := l.accountID(l.email)
	var stored int64
	if pks := l.passkeys(acct); len(pks) > 0 {
		stored = int64(pks[0].Credential.Authenticator.SignCount)
	}
	if stored < 3 {
		t.Fatalf("stored counter %d", stored)
	}

	tryWith := func(c browsertest.Credential) string {
		other := browsertest.NewContext(t, ctx)
		id := browsertest.AddAuthenticator(t, other, browsertest.AuthenticatorOptions{BackupEligibility: c.BackupEligibility})
		browsertest.Navigate(t, other, l.url+"/login")
		browsertest.WaitVisible(t, other, "[data-passkey-login]")
		browsertest.AddCredential(t, other, id, c)
		browsertest.Click(t, other, "[data-passkey-login]")
		deadline := time.Now().Add(15 * time.Second)
		for {
			msg := browsertest.Eval[string](t, other, `((document.querySelector('[data-passkey-error]')||{}).innerText||'').trim()`)
			if msg != "" {
				return msg
			}
			if u, _ := url.Parse(browsertest.Location(t, other)); u.Path == "/account" {
				t.Fatal("the forged passkey signed in")
			}
			if time.Now().After(deadline) {
				t.Fatal("no answer to the forged passkey")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	lower := cred
	lower.SignCount = 1 // the authenticator answers 2, below what latch stored
	if msg := tryWith(lower); !strings.Contains(msg, "copy") {
		t.Fatalf("lower counter: %q", msg)
	}
	if clones := l.countActivity(acct, ofKind("passkey_clone_refused")); clones == 0 {
		t.Fatal("possible clone not recorded")
	}
	flipped := cred
	flipped.SignCount = stored + 10
	flipped.BackupEligibility = !cred.BackupEligibility
	if msg := tryWith(flipped); msg == "" {
		t.Fatal("flipped backup flag accepted")
	}
	// The real passkey is refused too now: the lower counter suspended the
	// passkey until its owner confirms it with another method (issue 9;
	// TestSuspendedPasskeyInBrowser goes on from here).
	browsertest.Navigate(t, ctx, l.url+"/login")
	if msg := passkeyError(t, ctx); !strings.Contains(msg, "suspended") {
		t.Fatalf("the real passkey while suspended: %q", msg)
	}
}

// TestReplayedAssertionInBrowser: the sign-in request a page sent, sent
// again, is refused: challenges are single use.
func TestReplayedAssertionInBrowser(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	ctx := browsertest.Chrome(t)
	auth := browsertest.AddAuthenticator(t, ctx, browsertest.AuthenticatorOptions{})
	passwordSignIn(t, ctx, l)
	addPasskey(t, ctx, l, "Laptop")
	signOut(t, ctx, l)
	creds := browsertest.Credentials(t, ctx, auth)
	browsertest.RemoveCredentials(t, ctx, auth)
	browsertest.Navigate(t, ctx, l.url+"/login")
	browsertest.WaitVisible(t, ctx, "[data-passkey-login]")
	// Keep a copy of what the page posts to finish the sign-in, in
	// sessionStorage, which outlives the navigation that follows.
	browsertest.Eval[bool](t, ctx, `(() => { const f = window.fetch; window.fetch = (u, o) => {
		if (String(u).includes('/login/passkey/finish')) { sessionStorage.setItem('finish', o.body); sessionStorage.setItem('csrf', o.headers['X-CSRF-Token']); }
		return f(u, o); }; return true; })()`)
	browsertest.AddCredential(t, ctx, auth, credentialFrom(t, creds[0]))
	browsertest.Click(t, ctx, "[data-passkey-login]")
	waitPath(t, ctx, "/account")
	body := browsertest.Eval[string](t, ctx, `sessionStorage.getItem('finish') || ''`)
	csrf := browsertest.Eval[string](t, ctx, `sessionStorage.getItem('csrf') || ''`)
	if body == "" || csrf == "" {
		t.Fatal("never saw the finish request")
	}
	status := browsertest.Eval[int](t, ctx, `fetch('/login/passkey/finish', {method: 'POST', credentials: 'same-origin',
		headers: {'Content-Type': 'application/json', 'X-CSRF-Token': `+jsString(csrf)+`}, body: `+jsString(body)+`}).then(r => r.status)`)
	if status != 401 {
		t.Fatalf("replayed assertion: %d, want 401", status)
	}
}

func credentialFrom(t *testing.T, c *cdpwebauthn.Credential) browsertest.Credential {
	t.Helper()
	return browsertest.FromCDP(t, c)
}
