package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// noRedirects is a client that stops at the first redirect.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorizeStep starts f in b and returns latch's answer without following
// it out of latch.
func (b *browser) authorizeStep(f *flow) *http.Response {
	b.t.Helper()
	return b.do("GET", f.url, nil)
}

// authRequestID returns the authorization request id of a sign-in page
// reached from /authorize.
func authRequestID(t *testing.T, resp *http.Response) string {
	t.Helper()
	id := resp.Request.URL.Query().Get("authRequestID")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/login" || id == "" {
		t.Fatalf("want the sign-in page of a request, got %d at %s", resp.StatusCode, resp.Request.URL)
	}
	resp.Body.Close()
	return id
}

// errorAtApp returns the OAuth error of a redirect to the app.
func errorAtApp(t *testing.T, resp *http.Response, redirect string) string {
	t.Helper()
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirect) {
		t.Fatalf("want a redirect to %s, got %d to %q", redirect, resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("error")
}

// TestConsentRechecksConditions: the consent form cannot complete a request
// whose conditions (max_age, prompt=login, acr_values=phr) the session does
// not meet; it once issued a code with a stale auth_time.
func TestConsentRechecksConditions(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	outsider := l.rp("outsider", "outsider-secret-0123456789", "http://localhost:47004/callback")
	outsider.oauth.Scopes = []string{"openid", "email"}
	l.clock.Add(10 * time.Second)
	for name, opt := range map[string]oauth2.AuthCodeOption{
		"max_age=2":       oauth2.SetAuthURLParam("max_age", "2"),
		"prompt=login":    oauth2.SetAuthURLParam("prompt", "login"),
		"acr_values=phr":  oauth2.SetAuthURLParam("acr_values", "phr"),
		"max_age=0 again": oauth2.SetAuthURLParam("max_age", "0"),
	} {
		t.Run(name, func(t *testing.T) {
			f := outsider.newFlow(opt)
			id := authRequestID(t, b.authorizeStep(f))
			form := hiddenFields(page(t, b.do("GET", "/account", nil)))
			b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			defer func() { b.client.CheckRedirect = nil }()
			resp := b.do("POST", "/consent", url.Values{"csrf_token": {form.Get("csrf_token")}, "auth_request": {id}, "decision": {"allow"}})
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/login?authRequestID="+id {
				t.Fatalf("consent for a request the session does not satisfy: %d to %q, want the sign-in page", resp.StatusCode, loc)
			}
		})
	}
}

// TestHintsAtAuthorize: id_token_hint and login_hint for another account
// than the signed-in one answer login_required to prompt=none and show the
// sign-in page otherwise, with login_hint's email filled in.
func TestHintsAtAuthorize(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	if _, err := l.srv.Accounts().Create(t.Context(), "bob@example.com", "Bob", testPassword); err != nil {
		t.Fatal(err)
	}
	a := l.appA()
	bob := l.browser()
	bob.l = &testLatch{t: t, url: l.url, email: "bob@example.com", srv: l.srv, db: l.db, clock: l.clock, cfg: l.cfg}
	bobTok := bob.signInFlow(a)
	bobIDToken, _ := bobTok.Extra("id_token").(string)

	alice := l.browser()
	aliceTok := alice.signInFlow(a)
	aliceIDToken, _ := aliceTok.Extra("id_token").(string)
	alice.client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != strings.TrimPrefix(l.url, "http://") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	for _, c := range []struct {
		name  string
		opts  []oauth2.AuthCodeOption
		error string // "" means the sign-in page
		email string
	}{
		{"prompt=none, Bob's id_token_hint", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("id_token_hint", bobIDToken)}, "login_required", ""},
		{"Bob's id_token_hint", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("id_token_hint", bobIDToken)}, "", ""},
		{"prompt=none, Bob's login_hint", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("login_hint", "Bob@Example.com")}, "login_required", ""},
		{"Bob's login_hint", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("login_hint", "bob@example.com")}, "", "bob@example.com"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := a.newFlow(c.opts...)
			resp := alice.authorizeStep(f)
			if c.error != "" {
				if got := errorAtApp(t, resp, "http://localhost:47001/callback"); got != c.error {
					t.Fatalf("error = %q, want %q", got, c.error)
				}
				return
			}
			body := page(t, resp)
			if resp.StatusCode != 200 || resp.Request.URL.Path != "/login" {
				t.Fatalf("want the sign-in page, got %d at %s", resp.StatusCode, resp.Request.URL)
			}
			if c.email != "" && !strings.Contains(body, `value="`+c.email+`"`) {
				t.Fatalf("the sign-in page does not fill in %s", c.email)
			}
		})
	}
	// Hints for the signed-in person are answered without a page.
	f := a.newFlow(oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("id_token_hint", aliceIDToken),
		oauth2.SetAuthURLParam("login_hint", "ADA@example.com"))
	if code := a.callback(alice.authorizeStep(f), f); code == "" {
		t.Fatal("no code for the hinted, signed-in person")
	}
	// Alice signing in when the app asked for Bob: the app hears it.
	f = a.newFlow(oauth2.SetAuthURLParam("id_token_hint", bobIDToken))
	resp := alice.signIn(alice.authorizeStep(f), l.email, testPassword)
	if got := errorAtApp(t, resp, "http://localhost:47001/callback"); got != "login_required" {
		t.Fatalf("signing in as someone else than id_token_hint: error %q", got)
	}
}

// TestPromptNoneConsentRequired: prompt=none never shows the consent page.
func TestPromptNoneConsentRequired(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	b.client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != strings.TrimPrefix(l.url, "http://") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	outsider := l.rp("outsider", "outsider-secret-0123456789", "http://localhost:47004/callback")
	f := outsider.newFlow(oauth2.SetAuthURLParam("prompt", "none"))
	if got := errorAtApp(t, b.authorizeStep(f), "http://localhost:47004/callback"); got != "consent_required" {
		t.Fatalf("prompt=none needing consent: error %q, want consent_required", got)
	}
}

// TestRedirectsOnlyToRegistered: no answer, error or success, goes to a
// redirect URI the client has not registered; a native app's loopback
// redirect works on any port (RFC 8252 §7.3), nothing else is loosened.
func TestRedirectsOnlyToRegistered(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	get := func(client, redirect string, extra url.Values) *http.Response {
		q := url.Values{"client_id": {client}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid"},
			"state": {"s"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}
		for k, v := range extra {
			q[k] = v
		}
		req, _ := http.NewRequest("GET", l.url+"/authorize?"+q.Encode(), nil)
		for _, c := range b.client.Jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	badScope := url.Values{"scope": {"profile"}} // no openid: an error the app would hear
	for _, c := range []struct {
		name, client, redirect string
	}{
		{"web client, other port", "app-a", "http://localhost:47999/callback"},
		{"public web client, other port", "cli", "http://127.0.0.1:9999/callback"},
		{"native client, localhost", "desktop", "http://localhost:9999/callback"},
		{"native client, other path", "desktop", "http://127.0.0.1:9999/cb"},
		{"native client, https loopback", "desktop", "https://127.0.0.1:9999/callback"},
		{"native client, other scheme", "desktop", "com.example.evil:/callback"},
		{"unknown client", "nobody", "http://127.0.0.1:9999/callback"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, extra := range []url.Values{nil, badScope} {
				resp := get(c.client, c.redirect, extra)
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Fatalf("%v: %d to %q, want a 400 page", extra, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
		})
	}
	// A native app on a port of its choosing: errors and codes both go there.
	resp := get("desktop", "http://127.0.0.1:51234/callback", badScope)
	if got := errorAtApp(t, resp, "http://127.0.0.1:51234/callback"); got != "invalid_scope" {
		t.Fatalf("native loopback error = %q", got)
	}
	desktop := l.rp("desktop", "", "http://127.0.0.1:51234/callback")
	desktop.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if tok := b.signInFlow(desktop); tok.AccessToken == "" {
		t.Fatal("no tokens for a native app on a loopback port")
	}

	// Sign-out: post_logout_redirect_uri follows the same rule.
	for uri, ok := range map[string]bool{
		"http://127.0.0.1:40000/signed-out": true,
		"http://127.0.0.1:40000/elsewhere":  false,
		"http://localhost:40000/signed-out": false,
	} {
		q := url.Values{"client_id": {"desktop"}, "post_logout_redirect_uri": {uri}}
		resp, err := noRedirects.Get(l.url + "/end_session?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.StatusCode != http.StatusBadRequest; got != ok {
			t.Errorf("post_logout_redirect_uri %s: %d, allowed %v", uri, resp.StatusCode, ok)
		}
	}
}

// TestAuthorizeRateLimit: every authorization request is a stored row, so
// browsers that are not signed in get a per-address limit; a signed-in
// browser is not held up by it.
func TestAuthorizeRateLimit(t *testing.T) {
	t.Parallel()
	l := startLatch(t, func(c *Config) { c.AuthorizeRateLimit = 5 })
	a := l.appA()
	stranger := l.browser()
	for i := 0; i < 5; i++ {
		resp := stranger.authorizeStep(a.newFlow())
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Request.URL.Path != "/login" {
			t.Fatalf("request %d: %d at %s", i+1, resp.StatusCode, resp.Request.URL)
		}
	}
	resp := stranger.authorizeStep(a.newFlow())
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("request 6: %d, want 429 with Retry-After", resp.StatusCode)
	}
	if rows, err := l.srv.Provider().Storage.StoredRequests(t.Context()); err != nil || rows != 5 {
		t.Fatalf("%d stored requests, want 5 (%v)", rows, err)
	}
	// The person who is signed in (same address) still signs in to apps.
	me := l.browser()
	me.signInPassword(l.email, testPassword).Body.Close()
	if tok := me.signInFlow(a); tok.AccessToken == "" {
		t.Fatal("a signed-in browser was held up by the limit")
	}
}

// TestStyledMisses: an unknown path is latch's 404 page and a wrong method
// its 405 page with Allow; under /api/ and /oauth/ both are JSON.
func TestStyledMisses(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
		want         string
	}{
		{"GET", "/no-such-page", 404, "text/html", "Page not found"},
		{"GET", "/account/nothing/here", 404, "text/html", "Page not found"},
		{"DELETE", "/healthz", 405, "text/html", "can&#39;t be done here"},
		{"GET", "/api/account/nothing", 404, "application/json", `"error":"not_found"`},
		{"DELETE", "/api/account/sessions", 405, "application/json", `"error":"method_not_allowed"`},
		{"GET", "/oauth/nothing", 404, "application/json", `"error":"not_found"`},
	} {
		req, _ := http.NewRequest(tc.method, l.url+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := page(t, resp)
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.contentType) || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %s\n%.400s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if tc.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tc.method, tc.path)
		}
		if tc.contentType == "text/html" && !strings.Contains(body, "/static/") {
			t.Errorf("%s %s: not latch's styled page:\n%.400s", tc.method, tc.path, body)
		}
	}
}
