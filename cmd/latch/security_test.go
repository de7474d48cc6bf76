package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

func sessionCookie(t *testing.T, resp *http.Response, name string) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// lastResponses collects every response in a redirect chain.
func (b *browser) chain(resp *http.Response) []*http.Response {
	var out []*http.Response
	for r := resp; r != nil; r = r.Request.Response {
		out = append(out, r)
	}
	return out
}

// TestSessionCookie: 256 random bits, only the SHA-256 stored, a new secret
// at every sign-in, HttpOnly and SameSite=Lax.
func TestSessionCookie(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.browser()
	login := b.do("GET", "/login", nil)
	planted := &http.Cookie{Name: "latch", Value: strings.Repeat("A", 43), Path: "/"}
	u, _ := url.Parse(l.url)
	b.client.Jar.SetCookies(u, []*http.Cookie{planted})
	resp := b.signIn(login, l.email, testPassword)
	resp.Body.Close()
	var set *http.Cookie
	for _, r := range b.chain(resp) {
		if c := sessionCookie(t, r, "latch"); c != nil {
			set = c
		}
	}
	if set == nil {
		t.Fatal("sign-in set no latch cookie")
	}
	raw, err := base64.RawURLEncoding.DecodeString(set.Value)
	if err != nil || len(raw) != 32 {
		t.Fatalf("cookie secret is %d bytes (%v), want 32", len(raw), err)
	}
	if set.Value == planted.Value {
		t.Fatal("sign-in kept a cookie set before it (session fixation)")
	}
	if !set.HttpOnly || set.SameSite != http.SameSiteLaxMode || set.Path != "/" {
		t.Fatalf("cookie flags: HttpOnly %v SameSite %v Path %q", set.HttpOnly, set.SameSite, set.Path)
	}
	// What is at rest is the point here, so the test reads the row itself:
	// no method of latch's hands out a stored secret.
	var stored []byte
	var n int
	l.db.Pool.QueryRow(t.Context(), `SELECT secret_hash FROM device_sessions`).Scan(&stored)
	sum := sha256.Sum256([]byte(set.Value))
	if string(stored) != string(sum[:]) {
		t.Fatal("stored value is not the SHA-256 of the cookie")
	}
	l.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM device_sessions WHERE position($1::bytea in secret_hash) > 0`,
		[]byte(set.Value)).Scan(&n)
	if n != 0 {
		t.Fatal("cookie secret stored in clear")
	}

	// Signing in again (prompt=login) replaces the secret: the old cookie
	// is worthless afterwards.
	old := set.Value
	a := l.appA()
	l.clock.Add(time.Second) // the test clock stands still; a real sign-in is older than the request
	f := a.newFlow()
	f.url += "&prompt=login"
	resp = b.signIn(b.do("GET", f.url, nil), l.email, testPassword)
	a.callback(resp, f)
	jar := b.client.Jar.Cookies(u)
	var now string
	for _, c := range jar {
		if c.Name == "latch" {
			now = c.Value
		}
	}
	if now == "" || now == old {
		t.Fatal("re-authentication did not replace the cookie secret")
	}
	other := l.browser()
	other.client.Jar.SetCookies(u, []*http.Cookie{{Name: "latch", Value: old, Path: "/"}})
	resp = other.do("GET", "/account", nil)
	resp.Body.Close()
	if resp.Request.URL.Path != "/login" {
		t.Fatal("the cookie from before re-authentication still signs in")
	}
}

// TestSecureCookieOnHTTPS: over https the cookie is __Host-latch and Secure.
func TestSecureCookieOnHTTPS(t *testing.T) {
	t.Parallel()
	l := startLatch(t, func(c *Config) { c.Issuer = "https://id.example.com" })
	req := httptest.NewRequest("GET", "https://id.example.com/login", nil)
	rec := httptest.NewRecorder()
	l.srv.Handler().ServeHTTP(rec, req)
	csrf := sessionCookie(t, rec.Result(), "__Host-latch_csrf")
	if csrf == nil || !csrf.Secure || !csrf.HttpOnly {
		t.Fatalf("https CSRF cookie: %+v", rec.Result().Cookies())
	}
	form := hiddenFields(rec.Body.String())
	form.Set("email", l.email)
	form.Set("password", testPassword)
	req = httptest.NewRequest("POST", "https://id.example.com/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(csrf)
	rec = httptest.NewRecorder()
	l.srv.Handler().ServeHTTP(rec, req)
	c := sessionCookie(t, rec.Result(), "__Host-latch")
	if rec.Code != http.StatusSeeOther || c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Fatalf("https session cookie: %d %+v", rec.Code, rec.Result().Cookies())
	}
}

// TestCSRF: a cross-site POST without the token is refused with 403, and so
// are a cross-site POST with it and a same-site POST without it.
func TestCSRF(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.browser()
	form := hiddenFields(page(t, b.do("GET", "/login", nil)))
	form.Set("email", l.email)
	form.Set("password", testPassword)
	u, _ := url.Parse(l.url)
	cookies := b.client.Jar.Cookies(u)
	cases := map[string]struct {
		token     string
		crossSite bool
	}{
		"cross-site without token": {"", true},
		"cross-site with token":    {form.Get("csrf_token"), true},
		"same-site without token":  {"", false},
		"same-site wrong token":    {"x" + form.Get("csrf_token"), false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/login", "/logout"} {
				f := url.Values{}
				for k, v := range form {
					f[k] = v
				}
				f.Set("csrf_token", c.token)
				req, _ := http.NewRequest("POST", l.url+path, strings.NewReader(f.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if c.crossSite {
					req.Header.Set("Sec-Fetch-Site", "cross-site")
					req.Header.Set("Origin", "http://evil.example")
				} else {
					req.Header.Set("Sec-Fetch-Site", "same-origin")
					req.Header.Set("Origin", l.url)
				}
				for _, ck := range cookies {
					req.AddCookie(ck)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden {
					t.Fatalf("POST %s: %d, want 403", path, resp.StatusCode)
				}
				if sessionCookie(t, resp, "latch") != nil {
					t.Fatalf("POST %s set a session cookie", path)
				}
			}
		})
	}
	// The same form with its token, same-site, signs in: the 403s above
	// come from the CSRF rule and nothing else.
	resp := b.do("POST", "/login", form)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/account" {
		t.Fatalf("valid POST: %d %s", resp.StatusCode, resp.Request.URL)
	}
}

// TestSecurityHeaders: every response carries the CSP without inline
// script, frame-ancestors 'none', nosniff and a strict Referrer-Policy.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	for _, path := range []string{"/login", "/account", "/logged-out", "/.well-known/openid-configuration", "/keys", "/healthz", "/nope"} {
		resp, err := http.Get(l.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") ||
			strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
		if rp := resp.Header.Get("Referrer-Policy"); rp != "no-referrer" && rp != "strict-origin" && rp != "same-origin" {
			t.Errorf("%s: Referrer-Policy %q", path, rp)
		}
	}
}

// TestSigningKeys: private halves are sealed in the database, JWKS exposes
// no private material, and after a rotation tokens signed by the old key
// still verify while new ones use the new key.
func TestSigningKeys(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	a := l.appA()
	b := l.browser()
	before := b.signInFlow(a)

	// What is at rest is the point here, so the test reads the row itself:
	// no method of latch's hands out a stored private key.
	var sealed []byte
	var jwk string
	l.db.Pool.QueryRow(t.Context(), `SELECT private_key, public_jwk::text FROM signing_keys`).Scan(&sealed, &jwk)
	if strings.Contains(jwk, `"d"`) {
		t.Fatal("public_jwk holds the private exponent")
	}
	if strings.Contains(string(sealed), "PRIVATE") || len(sealed) < 100 {
		t.Fatalf("private key not sealed: %q", sealed)
	}

	kid, err := l.srv.Provider().Keys.Rotate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(l.url + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS has %d keys after rotation, want 2", len(set.Keys))
	}
	for _, k := range set.Keys {
		if _, ok := k["d"]; ok {
			t.Fatal("JWKS exposes a private key")
		}
		if k["alg"] != "ES256" || k["kty"] != "EC" {
			t.Fatalf("JWKS key %v", k)
		}
	}
	// A fresh verifier (empty key cache) still accepts the old token.
	fresh := oidc.NewVerifier(l.url, oidc.NewRemoteKeySet(t.Context(), l.url+"/keys"),
		&oidc.Config{ClientID: "app-a", SupportedSigningAlgs: []string{"ES256"}})
	if _, err := fresh.Verify(t.Context(), before.Extra("id_token").(string)); err != nil {
		t.Fatalf("token signed before rotation: %v", err)
	}
	f := a.newFlow()
	after := a.mustExchange(a.callback(b.do("GET", f.url, nil), f), f)
	hdr := strings.Split(after.Extra("id_token").(string), ".")[0]
	h, _ := base64.RawURLEncoding.DecodeString(hdr)
	if !strings.Contains(string(h), kid) {
		t.Fatalf("new token header %s does not name new key %s", h, kid)
	}
	// Past the overlap the retired key leaves the JWKS.
	l.clock.Add(25 * time.Hour)
	keys, err := l.srv.Provider().Keys.KeySet(context.Background())
	if err != nil || len(keys) != 1 {
		t.Fatalf("after the overlap: %d keys, %v", len(keys), err)
	}
}

// TestClientSecretsHashed: the plaintext secret is not kept anywhere in the
// client.
func TestClientSecretsHashed(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	c, ok := l.srv.Provider().Client("app-a")
	if !ok {
		t.Fatal("no app-a")
	}
	if s := strings.ToLower(strings.ReplaceAll(fmtAll(c), " ", "")); strings.Contains(s, "alpha-secret") {
		t.Fatal("client keeps its plaintext secret")
	}
	if !c.CheckSecret("alpha-secret-0123456789") || c.CheckSecret("alpha-secret-012345678") {
		t.Fatal("secret check wrong")
	}
}

func fmtAll(v any) string {
	b, _ := json.Marshal(v)
	return string(b) + " " + strings.ReplaceAll(strings.TrimSpace(sprint(v)), "\n", " ")
}
