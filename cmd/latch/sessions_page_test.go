package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// cityDB writes a two-network GeoLite2-City database: 81.2.69.0/24 is
// London, England, United Kingdom, and 89.160.20.0/24 Stockholm,
// Stockholm County, Sweden.
func cityDB(t *testing.T) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-City", RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	name := func(s string) mmdbtype.Map { return mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(s)}} }
	_, n, _ := net.ParseCIDR("81.2.69.0/24")
	if err := tree.Insert(n, mmdbtype.Map{"city": name("London"), "subdivisions": mmdbtype.Slice{name("England")},
		"country": name("United Kingdom")}); err != nil {
		t.Fatal(err)
	}
	_, n, _ = net.ParseCIDR("89.160.20.0/24")
	if err := tree.Insert(n, mmdbtype.Map{"city": name("Stockholm"), "subdivisions": mmdbtype.Slice{name("Stockholm County")},
		"country": name("Sweden")}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "city.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSessionsPage: the page shows each device with its name, place (never
// the IP), method and apps; X-Forwarded-For counts only from trusted
// proxies; one app can be signed out on one device; "This wasn't me" ends
// the session and leads to the security page.
func TestSessionsPage(t *testing.T) {
	t.Parallel()
	l := startLatch(t, func(c *Config) {
		c.GeoIPDB = cityDB(t)
		c.TrustedProxies = []string{"127.0.0.1/32"}
	})
	me := l.browser()
	me.ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	me.signInPassword(l.email, testPassword).Body.Close()
	me.signInFlow(l.appA())

	phone := l.browser()
	phone.ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
	// Behind the trusted proxy, the client address is the forwarded one.
	login := phone.do("GET", "/login", nil)
	form := hiddenFields(page(t, login))
	form.Set("email", l.email)
	form.Set("password", testPassword)
	req, _ := http.NewRequest("POST", l.url+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", phone.ua)
	req.Header.Set("X-Forwarded-For", "81.2.69.142")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := phone.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	phone.signInFlow(l.appB())

	body := page(t, me.do("GET", "/account/sessions", nil))
	for _, want := range []string{"Chrome on macOS", "Safari on iPhone", "London, England, United Kingdom", "This computer", "Alpha", "Beta", "This device", "Signed in with password"} {
		if !strings.Contains(body, want) {
			t.Errorf("sessions page lacks %q", want)
		}
	}
	if strings.Contains(body, "81.2.69.142") {
		t.Error("the sessions page shows a raw IP")
	}
	if i, j := strings.Index(body, "Chrome on macOS"), strings.Index(body, "Safari on iPhone"); i < 0 || j < i {
		t.Error("this device is not listed first")
	}
	var ip string
	for _, d := range l.devices(l.accountID(l.email)) {
		if d.Name == "Safari on iPhone" {
			ip = d.IP.String()
		}
	}
	if ip != "81.2.69.142" {
		t.Fatalf("stored address %q, want the forwarded one", ip)
	}

	// Sign the phone out of Beta only.
	phoneSid := l.sid(phone.session())
	var betaApp string
	for _, a := range l.device(phoneSid).Apps {
		if a.ClientID == "app-b" {
			betaApp = a.ID
		}
	}
	resp = me.post("/account/sessions", "/account/sessions/"+phoneSid+"/apps/"+betaApp+"/end", nil)
	resp.Body.Close()
	if !signedInAt(t, l.url, "/account", phone.session()) {
		t.Fatal("ending one app ended the device session")
	}
	if alive, err := l.srv.Sessions().AppAlive(t.Context(), l.srv.Sessions().DB, betaApp); err != nil || alive {
		t.Fatal("the app session did not end")
	}

	// "This wasn't me".
	resp = me.post("/account/sessions", "/account/sessions/"+phoneSid+"/not-me", nil)
	body = page(t, resp)
	if resp.Request.URL.Path != "/account/sessions/"+phoneSid+"/reported" || !strings.Contains(body, "We ended that session") {
		t.Fatalf("not-me ended at %s", resp.Request.URL)
	}
	if signedInAt(t, l.url, "/account", phone.session()) {
		t.Fatal("the reported session is still alive")
	}
	body = page(t, me.do("GET", "/account/sessions", nil))
	if !strings.Contains(body, "Reported as not you") {
		t.Fatal("recently ended lacks the reason")
	}
	body = page(t, me.do("GET", "/account/activity", nil))
	for _, want := range []string{"Session reported as not you", "Signed in on a new device", "81.2.69.142", "Safari on iPhone"} {
		if !strings.Contains(body, want) {
			t.Errorf("activity page lacks %q", want)
		}
	}

	// Without the trusted proxy the header is ignored.
	l2 := startLatch(t, func(c *Config) { c.GeoIPDB = cityDB(t) })
	b := l2.browser()
	form = hiddenFields(page(t, b.do("GET", "/login", nil)))
	form.Set("email", l2.email)
	form.Set("password", testPassword)
	req, _ = http.NewRequest("POST", l2.url+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "81.2.69.142")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, _ = b.client.Do(req)
	resp.Body.Close()
	ip = ""
	for _, d := range l2.devices(l2.accountID(l2.email)) {
		ip = d.IP.String()
	}
	if ip != "127.0.0.1" {
		t.Fatalf("an untrusted X-Forwarded-For was believed: %s", ip)
	}
}

// TestTrustedDevice: "trust this device" skips the second factor there for
// 30 days, not elsewhere, and stops when the device is no longer trusted.
func TestTrustedDevice(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	setup := l.browser()
	setup.signInPassword(l.email, testPassword).Body.Close()
	secret := enrollTOTP(t, l, setup)
	l.clock.Add(95 * time.Second)

	laptop := l.browser()
	body := page(t, laptop.signInPassword(l.email, testPassword))
	if !strings.Contains(body, `name="trust_device"`) {
		t.Fatal("no trust-this-device choice")
	}
	form := hiddenFields(body)
	form.Set("code", totpCode(t, secret, l.clock.Now()))
	form.Set("trust_device", "1")
	laptop.do("POST", "/login/verify", form).Body.Close()
	laptop.post("/account", "/logout", nil).Body.Close()

	if r := laptop.signInPassword(l.email, testPassword); r.Request.URL.Path != "/account" {
		t.Fatalf("trusted device asked again: %s", r.Request.URL)
	}
	// A password alone, though enough to sign in here, is not a step-up
	// for an account with an authenticator app.
	if r := laptop.post("/account/security", "/account/security/totp/remove", nil); r.Request.URL.Path != "/account/reauth" {
		t.Fatalf("a password-only session removed the authenticator app: %s", r.Request.URL)
	}
	if r := l.browser().signInPassword(l.email, testPassword); r.Request.URL.Path != "/login/verify" {
		t.Fatal("an untrusted browser skipped the second factor")
	}
	body = page(t, laptop.do("GET", "/account/sessions", nil))
	if !strings.Contains(body, "Trusted") {
		t.Fatal("the page does not show the trusted device")
	}
	laptop.post("/account/sessions", "/account/sessions/"+l.sid(laptop.session())+"/untrust", nil).Body.Close()
	laptop.post("/account", "/logout", nil).Body.Close()
	if r := laptop.signInPassword(l.email, testPassword); r.Request.URL.Path != "/login/verify" {
		t.Fatal("an untrusted device still skips the second factor")
	}
	// Trust lasts 30 days.
	trusted := l.browser()
	form = hiddenFields(page(t, trusted.signInPassword(l.email, testPassword)))
	l.clock.Add(31 * time.Second)
	form.Set("code", totpCode(t, secret, l.clock.Now()))
	form.Set("trust_device", "1")
	trusted.do("POST", "/login/verify", form).Body.Close()
	trusted.post("/account", "/logout", nil).Body.Close()
	l.clock.Add(31 * 24 * time.Hour)
	if r := trusted.signInPassword(l.email, testPassword); r.Request.URL.Path != "/login/verify" {
		t.Fatal("trust outlived 30 days")
	}
}

// TestExpiredSessionsEnd: the sweep ends sessions past their lifetime with
// reason "expired", and their apps get their logout.
func TestExpiredSessionsEnd(t *testing.T) {
	t.Parallel()
	l, rcv := startLatchWithReceiver(t)
	b := l.browser()
	tok := b.signInFlow(l.appA())
	l.clock.Add(15 * 24 * time.Hour) // past the 14-day idle limit
	n, err := l.srv.Sessions().EndExpired(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("ended %d: %v", n, err)
	}
	if reason := l.endReason(tok.claims.Sid); reason != "expired" {
		t.Fatalf("reason %q", reason)
	}
	select {
	case <-rcv.got:
	case <-time.After(10 * time.Second):
		t.Fatal("the expired session's app got no logout")
	}
}

// TestNativeClientDeviceName: a session used only by a CLI client is named
// after the clients file's device_name.
func TestNativeClientDeviceName(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	cli := l.rp("cli", "", "http://127.0.0.1:47003/callback")
	b := l.browser()
	b.signInFlow(cli)
	other := l.browser()
	other.signInPassword(l.email, testPassword).Body.Close()
	body := page(t, other.do("GET", "/account/sessions", nil))
	if !strings.Contains(body, "Alpha CLI") {
		t.Fatalf("the CLI's session is not named after its device_name:\n%.2000s", body)
	}
}

// TestEndingForgetsTrust: a trusted device whose session is ended from
// another device, or reported as not the person's, must show the second
// factor again at its next sign-in; signing out on the device itself keeps
// the trust the person asked for.
func TestEndingForgetsTrust(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	me := l.browser()
	me.signInPassword(l.email, testPassword).Body.Close()
	secret := enrollTOTP(t, l, me)
	trust := func(b *browser) {
		t.Helper()
		l.clock.Add(31 * time.Second)
		form := hiddenFields(page(t, b.signInPassword(l.email, testPassword)))
		form.Set("code", totpCode(t, secret, l.clock.Now()))
		form.Set("trust_device", "1")
		b.do("POST", "/login/verify", form).Body.Close()
	}
	asksCode := func(b *browser) bool {
		r := b.signInPassword(l.email, testPassword)
		r.Body.Close()
		return r.Request.URL.Path == "/login/verify"
	}
	l.clock.Add(95 * time.Second)
	for _, end := range []string{"end", "not-me"} {
		phone := l.browser()
		trust(phone)
		sid := l.sid(phone.session())
		me.post("/account/sessions", "/account/sessions/"+sid+"/"+end, nil).Body.Close()
		if _, err := l.srv.Sessions().BySecret(t.Context(), phone.session()); err == nil {
			t.Fatalf("%s: the session was not ended", end)
		}
		if !asksCode(phone) {
			t.Errorf("%s: the ended device signed in again without the second factor", end)
		}
	}
	laptop := l.browser()
	trust(laptop)
	laptop.post("/account", "/logout", nil).Body.Close()
	if asksCode(laptop) {
		t.Error("signing out on the trusted device itself forgot its trust")
	}
}
