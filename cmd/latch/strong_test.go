package main

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/latch-idp/latch/sessions"
)

// signInPassword signs b in with l's account and returns the final response.
func (b *browser) signInPassword(email, password string) *http.Response {
	b.t.Helper()
	return b.signIn(b.do("GET", "/login", nil), email, password)
}

// post submits a form on one of latch's pages with the page's CSRF token.
func (b *browser) post(pagePath, action string, fields url.Values) *http.Response {
	b.t.Helper()
	form := hiddenFields(page(b.t, b.do("GET", pagePath, nil)))
	csrf := url.Values{"csrf_token": {form.Get("csrf_token")}}
	for k, v := range fields {
		csrf[k] = v
	}
	return b.do("POST", action, csrf)
}

var secretRe = regexp.MustCompile(`id="totp-secret">(.*?)</p>`)
var tagRe = regexp.MustCompile(`<[^>]+>`)

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// enrollTOTP sets up an authenticator app from the security page and
// returns its secret.
func enrollTOTP(t *testing.T, l *testLatch, b *browser) string {
	t.Helper()
	resp := b.post("/account/security", "/account/security/totp/begin", nil)
	body := page(t, resp)
	m := secretRe.FindStringSubmatch(body)
	if resp.Request.URL.Path != "/account/security" || m == nil || !strings.Contains(body, "data:image/png;base64,") {
		t.Fatalf("setup page at %s lacks a QR code and secret:\n%.1500s", resp.Request.URL, body)
	}
	secret := strings.ReplaceAll(tagRe.ReplaceAllString(m[1], ""), " ", "")
	resp = b.post("/account/security", "/account/security/totp/confirm", url.Values{"code": {"000000"}})
	if body := page(t, resp); !strings.Contains(body, "not right") {
		t.Fatal("a wrong confirmation code was not refused")
	}
	resp = b.post("/account/security", "/account/security/totp/confirm", url.Values{"code": {totpCode(t, secret, l.clock.Now())}})
	body = page(t, resp)
	if !strings.Contains(body, "Authenticator app turned on") {
		t.Fatalf("confirmation failed:\n%.1500s", body)
	}
	return secret
}

// TestTOTPSignIn: enrolment from the security page, the second step after
// the password, a code working once per step, ±1 step of skew, and amr.
func TestTOTPSignIn(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	secret := enrollTOTP(t, l, b)
	l.clock.Add(95 * time.Second) // well past the step the confirmation used

	a := l.appA()
	other := l.browser()
	f := a.newFlow()
	resp := other.signIn(other.do("GET", f.url, nil), l.email, testPassword)
	body := page(t, resp)
	if resp.Request.URL.Path != "/login/verify" || !strings.Contains(body, `autocomplete="one-time-code"`) {
		t.Fatalf("password did not lead to the second step: %s", resp.Request.URL)
	}
	verify := func(field, value string) *http.Response {
		form := hiddenFields(body)
		form.Set(field, value)
		return other.do("POST", "/login/verify", form)
	}
	resp = verify("code", "123456")
	body = page(t, resp)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d", resp.StatusCode)
	}
	code := totpCode(t, secret, l.clock.Now().Add(-30*time.Second)) // one step of skew
	tok := a.mustExchange(a.callback(verify("code", code), f), f)
	if !slices.Equal(tok.claims.AMR, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("amr = %v", tok.claims.AMR)
	}

	// The same code again, in a third browser, is refused: each step once.
	third := l.browser()
	resp = third.signInPassword(l.email, testPassword)
	body = page(t, resp)
	form := hiddenFields(body)
	form.Set("code", code)
	resp = third.do("POST", "/login/verify", form)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed code: %d", resp.StatusCode)
	}
	// Two steps of skew are too many.
	form.Set("code", totpCode(t, secret, l.clock.Now().Add(-65*time.Second)))
	resp = third.do("POST", "/login/verify", form)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("code from two steps ago: %d", resp.StatusCode)
	}
	l.clock.Add(30 * time.Second)
	form.Set("code", totpCode(t, secret, l.clock.Now()))
	resp = third.do("POST", "/login/verify", form)
	resp.Body.Close()
	if resp.Request.URL.Path != "/account" {
		t.Fatalf("next step's code: %d %s", resp.StatusCode, resp.Request.URL)
	}

	// The TOTP secret is sealed at rest. What is at rest is the point, so
	// the test reads the row itself: no method of latch's hands out a
	// stored secret.
	var sealed []byte
	l.db.Pool.QueryRow(t.Context(), `SELECT secret FROM totp_secrets`).Scan(&sealed)
	if strings.Contains(string(sealed), secret) || len(sealed) < 30 {
		t.Fatal("TOTP secret stored in clear")
	}
}

// TestSecondFactorThrottle: wrong codes are limited like passwords.
func TestSecondFactorThrottle(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	enrollTOTP(t, l, b)
	other := l.browser()
	body := page(t, other.signInPassword(l.email, testPassword))
	form := hiddenFields(body)
	form.Set("code", "000000")
	// Fifty guesses at once: the throttle counts each before checking it,
	// so only the five free attempts are evaluated.
	codes := make(chan int, 50)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := other.do("POST", "/login/verify", form)
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	evaluated := 0
	for c := range codes {
		if c == http.StatusUnauthorized {
			evaluated++
		}
	}
	if evaluated > 5 {
		t.Fatalf("%d of 50 parallel guesses were evaluated, want at most 5", evaluated)
	}
	for range 100 {
		l.clock.Add(16 * time.Minute)
		body = page(t, other.signInPassword(l.email, testPassword))
		form = hiddenFields(body)
		form.Set("code", "000000")
		other.do("POST", "/login/verify", form).Body.Close()
	}
	if locks := l.countActivity(l.accountID(l.email), ofKind("account_locked")); locks != 1 {
		t.Fatalf("second-factor lock recorded %d times", locks)
	}
}

var keyRe = regexp.MustCompile(`<li><code>([A-Z2-7]{4}(?:-[A-Z2-7]{4}){5})</code></li>`)

// generateRecoveryKeys generates a set from the security page, shown once.
func generateRecoveryKeys(t *testing.T, b *browser) []string {
	t.Helper()
	resp := b.post("/account/security", "/account/security/recovery/generate", nil)
	body := page(t, resp)
	var keys []string
	for _, m := range keyRe.FindAllStringSubmatch(body, -1) {
		keys = append(keys, m[1])
	}
	if len(keys) != 10 || !strings.Contains(body, `download="latch-recovery-keys.txt"`) {
		t.Fatalf("got %d keys:\n%.2000s", len(keys), body)
	}
	if again := page(t, b.do("GET", "/account/security", nil)); keyRe.MatchString(again) || !strings.Contains(again, "10 of 10") {
		t.Fatal("keys shown twice, or the count is missing")
	}
	return keys
}

// TestRecoveryKeyAsSecondFactor: a recovery key replaces the code once.
func TestRecoveryKeyAsSecondFactor(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	enrollTOTP(t, l, b)
	keys := generateRecoveryKeys(t, b)
	use := func(key string) int {
		other := l.browser()
		page(t, other.signInPassword(l.email, testPassword))
		resp := other.do("GET", "/login/verify?recovery=1", nil)
		body := page(t, resp)
		if !strings.Contains(body, `name="recovery_key"`) {
			t.Fatal("no recovery key field")
		}
		form := hiddenFields(body)
		form.Set("recovery_key", strings.ToLower(key))
		resp = other.do("POST", "/login/verify", form)
		resp.Body.Close()
		if resp.Request.URL.Path == "/account" {
			return http.StatusOK
		}
		return resp.StatusCode
	}
	if code := use(keys[3]); code != http.StatusOK {
		t.Fatalf("recovery key: %d", code)
	}
	if code := use(keys[3]); code != http.StatusUnauthorized {
		t.Fatalf("the same key again: %d", code)
	}
	if uses := l.countActivity(l.accountID(l.email), ofKind("recovery_key_used")); uses != 1 {
		t.Fatalf("recovery key uses recorded: %d", uses)
	}
	if body := page(t, b.do("GET", "/account/security", nil)); !strings.Contains(body, "9 of 10") {
		t.Fatal("remaining count not updated")
	}
}

// TestRecoverySession: a passkey-only account signs in with email and a
// recovery key into a session limited to the security page for 15 minutes,
// which becomes normal once a password is set.
func TestRecoverySession(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	acct, err := l.srv.Accounts().Create(t.Context(), "grace@example.com", "Grace", "")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := l.srv.Recovery().Generate(t.Context(), acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Accounts with a password cannot use this door.
	ada, _ := l.srv.Accounts().ByEmail(t.Context(), l.email)
	adaKeys, _ := l.srv.Recovery().Generate(t.Context(), ada.ID)
	recoverWith := func(b *browser, email, key string) *http.Response {
		form := hiddenFields(page(t, b.do("GET", "/login/recover", nil)))
		form.Set("email", email)
		form.Set("recovery_key", key)
		return b.do("POST", "/login/recover", form)
	}
	b := l.browser()
	if resp := recoverWith(b, l.email, adaKeys[0]); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("recovery sign-in for a password account: %d", resp.StatusCode)
	}
	if resp := recoverWith(b, "grace@example.com", "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d", resp.StatusCode)
	}
	resp := recoverWith(b, "grace@example.com", keys[0])
	body := page(t, resp)
	if resp.Request.URL.Path != "/account/security" || !strings.Contains(body, "recovery key") {
		t.Fatalf("recovery sign-in ended at %s", resp.Request.URL)
	}
	// Limited: the account page and apps send it back to the security page.
	resp = b.do("GET", "/account", nil)
	resp.Body.Close()
	if resp.Request.URL.Path != "/account/security" {
		t.Fatalf("recovery session reached %s", resp.Request.URL)
	}
	a := l.appA()
	f := a.newFlow()
	resp = b.do("GET", f.url, nil)
	resp.Body.Close()
	if resp.Request.URL.Path != "/account/security" {
		t.Fatalf("recovery session signed in to an app: %s", resp.Request.URL)
	}
	resp = b.post("/account/security", "/account/security/recovery/generate", nil)
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.RawQuery, "error=restricted") {
		t.Fatalf("recovery session generated keys: %s", resp.Request.URL)
	}
	// The key is burnt.
	if resp := recoverWith(l.browser(), "grace@example.com", keys[0]); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a used key signed in again: %d", resp.StatusCode)
	}
	// Setting a password makes it a normal session.
	resp = b.post("/account/security", "/account/security/password", url.Values{"new_password": {"a new passphrase"}, "confirm_password": {"a new passphrase"}})
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.RawQuery, "done=password_set") {
		t.Fatalf("setting a password: %s", resp.Request.URL)
	}
	resp = b.do("GET", "/account", nil)
	resp.Body.Close()
	if resp.Request.URL.Path != "/account" {
		t.Fatalf("after setting a password the session is still limited: %s", resp.Request.URL)
	}

	// A recovery session left alone dies after 15 minutes.
	c := l.browser()
	recoverWith(c, "grace@example.com", keys[1]).Body.Close()
	l.clock.Add(16 * time.Minute)
	resp = c.do("GET", "/account/security", nil)
	resp.Body.Close()
	if resp.Request.URL.Path != "/login" {
		t.Fatalf("recovery session alive after 16 minutes: %s", resp.Request.URL)
	}
}

// TestStepUp: a sensitive change with a stale authentication goes to
// re-authenticate, and is applied afterwards.
func TestStepUp(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	l.clock.Add(11 * time.Minute)
	resp := b.post("/account/security", "/account/security/password", url.Values{"new_password": {"brand new passphrase"}, "confirm_password": {"brand new passphrase"}})
	body := page(t, resp)
	if resp.Request.URL.Path != "/account/reauth" || !strings.Contains(body, "change your password") {
		t.Fatalf("stale change went to %s", resp.Request.URL)
	}
	form := hiddenFields(body)
	form.Set("password", "wrong password")
	resp = b.do("POST", "/account/reauth", form)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password at step-up: %d", resp.StatusCode)
	}
	form.Set("password", testPassword)
	resp = b.do("POST", "/account/reauth", form)
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.RawQuery, "done=password_set") {
		t.Fatalf("after step-up: %s", resp.Request.URL)
	}
	// The change took effect: the new password signs in, the old one not.
	if r := l.browser().signInPassword(l.email, "brand new passphrase"); r.Request.URL.Path != "/account" {
		t.Fatal("new password refused")
	}
	if r := l.browser().signInPassword(l.email, testPassword); r.StatusCode != http.StatusUnauthorized {
		t.Fatal("old password still works")
	}
	// Within the window no step-up is asked.
	resp = b.post("/account/security", "/account/security/recovery/generate", nil)
	resp.Body.Close()
	if resp.Request.URL.Path != "/account/security" {
		t.Fatalf("fresh change went to %s", resp.Request.URL)
	}
	if changes := l.countActivity(l.accountID(l.email), func(e sessions.HistoryEvent) bool {
		return (e.Kind == "password_set" || e.Kind == "recovery_generate") && e.IP != nil && e.DeviceSessionID != ""
	}); changes != 2 {
		t.Fatalf("recorded changes: %d", changes)
	}
}

// TestLastCredential: the last way to sign in cannot be removed.
func TestLastCredential(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	resp := b.post("/account/security", "/account/security/password/remove", nil)
	body := page(t, resp)
	if !strings.Contains(resp.Request.URL.RawQuery, "error=last_credential") || !strings.Contains(body, "only way to sign in") {
		t.Fatalf("removing the only password: %s", resp.Request.URL)
	}
	if r := l.browser().signInPassword(l.email, testPassword); r.Request.URL.Path != "/account" {
		t.Fatal("password gone")
	}
}

// TestPasskeyRequired: acr_values=phr accepts no password and no
// password-based SSO session.
func TestPasskeyRequired(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	a := l.appA()
	b := l.browser()
	b.signInFlow(a)
	f := a.newFlow(oauth2.SetAuthURLParam("acr_values", "phr"))
	resp := b.do("GET", f.url, nil)
	body := page(t, resp)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `name="password"`) || !strings.Contains(body, "data-passkey-login") {
		t.Fatalf("acr_values=phr with a password session: %d", resp.StatusCode)
	}
	form := hiddenFields(body)
	form.Set("email", l.email)
	form.Set("password", testPassword)
	resp = b.do("POST", "/login", form)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("password for an acr=phr request: %d", resp.StatusCode)
	}
}
