package main

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latch-idp/latch/sessions"
)

// attempt posts the sign-in form from b and returns the final response and
// its body.
func attempt(t *testing.T, b *browser, email, password string) (*http.Response, string) {
	t.Helper()
	form := hiddenFields(page(t, b.do("GET", "/login", nil)))
	form.Set("email", email)
	form.Set("password", password)
	resp := b.do("POST", "/login", form)
	return resp, page(t, resp)
}

// mustWait checks that resp is a 429 with a Retry-After of a positive number
// of seconds, and that it is not a lock.
func mustWait(t *testing.T, what string, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("%s: %d, want 429", what, resp.StatusCode)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("%s: Retry-After %q", what, resp.Header.Get("Retry-After"))
	}
	if strings.Contains(body, "locked") {
		t.Fatalf("%s: a lock, want a delay", what)
	}
}

// signedIn checks that resp ended on the account page.
func signedIn(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	if resp.Request.URL.Path != "/account" {
		t.Fatalf("%s: %d at %s, want /account", what, resp.StatusCode, resp.Request.URL)
	}
}

// outbox returns the text of the alerts with subject, oldest first (the
// tests' alerts are all about l.email's account).
func outbox(t *testing.T, l *testLatch, subject string) []string {
	t.Helper()
	var out []string
	for _, m := range l.alerts(l.accountID(l.email)) {
		if m.Subject == subject {
			out = append(out, m.Text)
		}
	}
	return out
}

// countActivity counts the events of a kind in l.email's history.
func countActivity(t *testing.T, l *testLatch, kind sessions.EventKind) int {
	t.Helper()
	return l.countActivity(l.accountID(l.email), ofKind(kind))
}

const throttleAlert = "Someone is trying to sign in to your account"

// TestThrottleSparesKnownDevices (issue 9): an attacker's wrong passwords
// from an unknown browser slow that browser down (429 with Retry-After),
// 15 of them or 100, but never lock the account and never slow the owner's
// browser that signed in before: it keeps its own budget. The owner hears of
// it once per engagement.
func TestThrottleSparesKnownDevices(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	owner := l.browser()
	signedIn(t, "first sign-in", owner.signInPassword(l.email, testPassword))
	owner.post("/account", "/logout", nil).Body.Close()

	attacker := l.browser()
	paced := func(n int) {
		t.Helper()
		for i := range n {
			l.clock.Add(16 * time.Minute) // past the longest delay
			if code, _ := failSignIn(t, attacker, l.email); code != http.StatusUnauthorized {
				t.Fatalf("paced wrong password %d: %d, want 401", i+1, code)
			}
		}
	}
	ownerSignsIn := func(what string) {
		t.Helper()
		resp, _ := attempt(t, owner, l.email, testPassword)
		signedIn(t, what, resp)
		owner.post("/account", "/logout", nil).Body.Close()
	}

	paced(15)
	resp, body := attempt(t, attacker, l.email, "wrong password!")
	mustWait(t, "unknown browser after 15 wrong passwords", resp, body)
	// Even its right password waits: that browser has proved nothing.
	resp, body = attempt(t, attacker, l.email, testPassword)
	mustWait(t, "right password from the unknown browser during the delay", resp, body)
	// The owner's browser gets in at once, and its own typo is its own.
	ownerSignsIn("known device after 15 wrong passwords elsewhere")
	if resp, _ := attempt(t, owner, l.email, "a typo of mine"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("owner's typo on a known device: %d, want 401", resp.StatusCode)
	}
	ownerSignsIn("known device after its own typo")
	// The owner signing in does not give the attacker a fresh budget.
	resp, body = attempt(t, attacker, l.email, "wrong password!")
	mustWait(t, "unknown browser after the owner signed in", resp, body)

	alerts := outbox(t, l, throttleAlert)
	if len(alerts) != 1 {
		t.Fatalf("%d throttle alerts after 15 wrong passwords, want 1", len(alerts))
	}
	for _, want := range []string{"wrong passwords 5 times", "sign-ins from unknown devices are slowed down", "Your own devices are not affected"} {
		if !strings.Contains(alerts[0], want) {
			t.Errorf("the alert lacks %q:\n%s", want, alerts[0])
		}
	}

	paced(85) // 100 paced wrong passwords in all
	resp, body = attempt(t, attacker, l.email, "wrong password!")
	mustWait(t, "unknown browser after 100 wrong passwords", resp, body)
	ownerSignsIn("known device after 100 wrong passwords elsewhere")
	if n := countActivity(t, l, "account_locked"); n != 0 {
		t.Fatalf("password guesses locked the account (%d locks recorded)", n)
	}
	if n := len(outbox(t, l, throttleAlert)); n != 1 {
		t.Fatalf("%d throttle alerts for one engagement, want 1", n)
	}

	// Past the delay, the right password signs in even from that browser:
	// password guesses slow down, they never lock.
	l.clock.Add(16 * time.Minute)
	resp, _ = attempt(t, attacker, l.email, testPassword)
	signedIn(t, "right password from the unknown browser after the delay", resp)
	// That ended the engagement; the next one is announced again, once.
	other := l.browser()
	for range 8 {
		failSignIn(t, other, l.email)
	}
	if n := len(outbox(t, l, throttleAlert)); n != 2 {
		t.Fatalf("%d throttle alerts after a second engagement, want 2", n)
	}
}

const lockAlert = "Your account is locked: change your password"

// TestSecondFactorLock (issue 9): wrong second-factor codes after a correct
// password are a real compromise signal, the password is known. The owner's
// known device keeps its own budget while the guessing is only slowed, but
// 100 failures lock password sign-in on every device, the owner's known and
// trusted ones included, until an operator unlocks it, and an alert tells
// the owner to change the password.
func TestSecondFactorLock(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	owner := l.browser()
	signedIn(t, "first sign-in", owner.signInPassword(l.email, testPassword))
	secret := enrollTOTP(t, l, owner)
	owner.post("/account", "/logout", nil).Body.Close()
	verify := func(b *browser, loginResp *http.Response, code string, trust bool) *http.Response {
		t.Helper()
		body := page(t, loginResp)
		if loginResp.Request.URL.Path != "/login/verify" {
			t.Fatalf("the password led to %s (%d), not the second step", loginResp.Request.URL, loginResp.StatusCode)
		}
		form := hiddenFields(body)
		form.Set("code", code)
		if trust {
			form.Set("trust_device", "1")
		}
		return b.do("POST", "/login/verify", form)
	}
	// A browser the owner trusts: it skips the second factor.
	trusted := l.browser()
	l.clock.Add(time.Minute)
	signedIn(t, "trusting a device", verify(trusted, trusted.signInPassword(l.email, testPassword), totpCode(t, secret, l.clock.Now()), true))
	trusted.post("/account", "/logout", nil).Body.Close()
	signedIn(t, "trusted device", trusted.signInPassword(l.email, testPassword))
	trusted.post("/account", "/logout", nil).Body.Close()

	attacker := l.browser()
	wrongCode := func() *http.Response {
		t.Helper()
		return verify(attacker, attacker.signInPassword(l.email, testPassword), "000000", false)
	}
	for i := range 10 {
		resp := wrongCode()
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d", i+1, resp.StatusCode)
		}
		l.clock.Add(16 * time.Minute)
	}
	wrongCode().Body.Close()
	if resp := wrongCode(); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("wrong code right after the 11th: %d, want 429 with Retry-After", resp.StatusCode)
	}
	// The owner's known device is not slowed by that: password, code, in.
	l.clock.Add(30 * time.Second) // a fresh TOTP step
	signedIn(t, "known device during second-factor guessing", verify(owner, owner.signInPassword(l.email, testPassword), totpCode(t, secret, l.clock.Now()), false))
	owner.post("/account", "/logout", nil).Body.Close()
	if n := len(outbox(t, l, "Someone knows your password")); n != 1 {
		t.Fatalf("%d alerts that the password is known, want 1", n)
	}

	for countActivity(t, l, "account_locked") == 0 {
		l.clock.Add(16 * time.Minute)
		resp := wrongCode()
		resp.Body.Close()
		if n := countActivity(t, l, "signin_failed"); n > 100 {
			t.Fatalf("no lock after %d failures", n)
		}
	}
	if n := countActivity(t, l, "signin_failed"); n != 100 {
		t.Fatalf("locked after %d failures, want 100", n)
	}
	l.clock.Add(16 * time.Minute)
	locked := func(what string, b *browser) {
		t.Helper()
		resp := b.signInPassword(l.email, testPassword)
		body := page(t, resp)
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "locked") {
			t.Fatalf("%s after the lock: %d at %s", what, resp.StatusCode, resp.Request.URL)
		}
	}
	locked("the attacker's right password", attacker)
	locked("the owner's known device", owner)
	locked("the owner's trusted device", trusted)
	alerts := outbox(t, l, lockAlert)
	if len(alerts) != 1 || !strings.Contains(alerts[0], "change your password") {
		t.Fatalf("lock alerts: %q", alerts)
	}
	if n := countActivity(t, l, "account_locked"); n != 1 {
		t.Fatalf("lock recorded %d times", n)
	}

	// An operator unlocks it.
	var out, errOut strings.Builder
	args := []string{"accounts", "unlock", "--email", l.email, "--database-url", l.cfg.DatabaseURL, "--master-key-file", l.cfg.MasterKeyFile}
	if code := run(t.Context(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("unlock: %s", errOut.String())
	}
	signedIn(t, "trusted device after unlock", trusted.signInPassword(l.email, testPassword))
}

// loginPost is a sign-in form post that reports errors instead of failing
// the test, for goroutines.
func loginPost(l *testLatch, b *browser, form url.Values) (*http.Response, error) {
	req, err := http.NewRequest("POST", l.url+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", b.ua)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", l.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.client.Do(req)
}

// signInForm opens the sign-in page in b and fills it with l's account.
func signInForm(l *testLatch, b *browser) (url.Values, error) {
	resp, err := b.client.Get(l.url + "/login")
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	form := hiddenFields(string(body))
	form.Set("email", l.email)
	form.Set("password", testPassword)
	return form, nil
}

// TestConcurrentSignIns (issue 9): correct sign-ins of one account racing
// each other never answer 5xx. 100 at once: each signs in or is told to wait
// (the throttle counts attempts before checking them). 4 browsers signing
// in 25 times each, so that counting and clearing interleave: every one of
// the 100 signs in.
func TestConcurrentSignIns(t *testing.T) {
	// Not parallel: a hundred sign-ins at once is a load test, and other
	// tests' load beside it could hold a database connection or a hashing
	// worker past its wait and turn a correct sign-in into a 503.
	l := startLatch(t)
	type result struct {
		code       int
		path       string
		retryAfter string
		err        error
	}
	const n = 100
	forms := make([]url.Values, n)
	browsers := make([]*browser, n)
	for i := range n {
		browsers[i] = l.browser()
		var err error
		if forms[i], err = signInForm(l, browsers[i]); err != nil {
			t.Fatal(err)
		}
	}
	results := make(chan result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := loginPost(l, browsers[i], forms[i])
			if err != nil {
				results <- result{err: err}
				return
			}
			resp.Body.Close()
			results <- result{code: resp.StatusCode, path: resp.Request.URL.Path, retryAfter: resp.Header.Get("Retry-After")}
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	var in, waited int
	for r := range results {
		switch {
		case r.err != nil:
			t.Fatal(r.err)
		case r.code >= 500:
			t.Errorf("a correct sign-in answered %d", r.code)
		case r.code == http.StatusOK && r.path == "/account":
			in++
		case r.code == http.StatusTooManyRequests && r.retryAfter != "":
			waited++
		default:
			t.Errorf("a correct sign-in answered %d at %s", r.code, r.path)
		}
	}
	if in == 0 {
		t.Fatal("none of 100 concurrent correct sign-ins got in")
	}
	t.Logf("100 at once: %d signed in, %d told to wait", in, waited)

	// 4 browsers × 25 sign-ins: at most 4 attempts are in flight, fewer than
	// the free ones, so every sign-in gets in.
	l.clock.Add(time.Minute)
	results = make(chan result, n)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				b := l.browser()
				form, err := signInForm(l, b)
				if err != nil {
					results <- result{err: err}
					return
				}
				resp, err := loginPost(l, b, form)
				if err != nil {
					results <- result{err: err}
					return
				}
				resp.Body.Close()
				results <- result{code: resp.StatusCode, path: resp.Request.URL.Path}
			}
		}()
	}
	wg.Wait()
	close(results)
	for r := range results {
		switch {
		case r.err != nil:
			t.Fatal(r.err)
		case r.code != http.StatusOK || r.path != "/account":
			t.Errorf("one of 4×25 correct sign-ins answered %d at %s", r.code, r.path)
		}
	}
}
