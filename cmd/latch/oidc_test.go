package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestSignInAndSSO is the main journey: code + PKCE for one app, then single
// sign-on into a second app, userinfo, and the ID token's claims.
func TestSignInAndSSO(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.browser()
	a := l.appA()
	tokA := b.signInFlow(a)
	if tokA.id.Subject == "" || tokA.claims.Sid == "" {
		t.Fatalf("ID token lacks sub or sid: %+v", tokA.claims)
	}
	if tokA.claims.AuthTime == 0 || !slices.Equal(tokA.claims.AMR, []string{"pwd"}) {
		t.Fatalf("auth_time %d, amr %v; want a time and [pwd]", tokA.claims.AuthTime, tokA.claims.AMR)
	}
	if tokA.claims.Email != l.email {
		t.Fatalf("email claim = %q", tokA.claims.Email)
	}
	if tokA.RefreshToken == "" {
		t.Fatal("offline_access gave no refresh token")
	}
	if code := a.userinfo(tokA.AccessToken); code != http.StatusOK {
		t.Fatalf("userinfo = %d", code)
	}
	info, err := a.provider.UserInfo(a.ctx, oauth2.StaticTokenSource(tokA.Token))
	if err != nil || info.Email != l.email || info.Subject != tokA.id.Subject {
		t.Fatalf("userinfo = %+v, %v", info, err)
	}

	// Second app: no sign-in page, same device session.
	bApp := l.appB()
	f := bApp.newFlow()
	resp := b.do("GET", f.url, nil)
	tokB := bApp.mustExchange(bApp.callback(resp, f), f)
	if tokB.claims.Sid != tokA.claims.Sid || tokB.id.Subject != tokA.id.Subject {
		t.Fatalf("SSO gave sid %q sub %q, want %q %q", tokB.claims.Sid, tokB.id.Subject, tokA.claims.Sid, tokA.id.Subject)
	}
	if code := bApp.userinfo(tokB.AccessToken); code != http.StatusOK {
		t.Fatalf("opaque token userinfo = %d", code)
	}
	// Each client's first exchange created its own app session in the one device session.
	if n := len(l.device(tokA.claims.Sid).Apps); n != 2 {
		t.Fatalf("app sessions = %d; want 2", n)
	}
	// And the device session holds what the sessions page needs.
	d, err := l.srv.Sessions().Get(t.Context(), tokA.claims.Sid)
	if err != nil || d.UserAgent != b.ua || d.IP.String() != "127.0.0.1" || !slices.Equal(d.AMR, []string{"pwd"}) {
		t.Fatalf("device session: %+v err %v", d, err)
	}
}

// TestPKCERequired: S256 for every client; plain, a missing method or a
// missing challenge is invalid_request, and a token request without the
// verifier fails.
func TestPKCERequired(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	a := l.appA()
	b := l.browser()
	for name, params := range map[string]url.Values{
		"no challenge":         {},
		"plain":                {"code_challenge": {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"}, "code_challenge_method": {"plain"}},
		"challenge, no method": {"code_challenge": {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"}},
		"unknown method":       {"code_challenge": {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"}, "code_challenge_method": {"S512"}},
	} {
		t.Run(name, func(t *testing.T) {
			q := url.Values{"client_id": {"app-a"}, "redirect_uri": {a.oauth.RedirectURL}, "response_type": {"code"},
				"scope": {"openid"}, "state": {"s1"}}
			for k, v := range params {
				q[k] = v
			}
			resp := b.do("GET", "/authorize?"+q.Encode(), nil)
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_request" {
				t.Fatalf("got %d %s, want a redirect with error=invalid_request", resp.StatusCode, loc)
			}
			if loc.Query().Get("iss") != l.url || loc.Query().Get("state") != "s1" {
				t.Fatalf("error response lacks iss or state: %s", loc)
			}
		})
	}
	t.Run("token request without verifier", func(t *testing.T) {
		f := a.newFlow()
		code := a.callback(b.signIn(b.do("GET", f.url, nil), l.email, testPassword), f)
		_, err := a.oauth.Exchange(a.ctx, code)
		if err == nil || oauthErrorCode(err) != "invalid_request" {
			t.Fatalf("exchange without verifier: %v", err)
		}
		_, err = a.oauth.Exchange(a.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if oauthErrorCode(err) != "invalid_grant" {
			t.Fatalf("exchange with a wrong verifier: %v", err)
		}
	})
}

// TestRedirectURIExact: an unregistered redirect_uri gets an error page and
// never a Location header.
func TestRedirectURIExact(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.browser()
	for name, uri := range map[string]string{
		"trailing slash": "http://localhost:47001/callback/",
		"extra query":    "http://localhost:47001/callback?x=1",
		"other port":     "http://localhost:47009/callback",
		"other host":     "http://evil.example/callback",
		"other client's": "http://localhost:47002/callback",
	} {
		t.Run(name, func(t *testing.T) {
			f := l.appA().newFlow(oauth2.SetAuthURLParam("redirect_uri", uri))
			resp := b.do("GET", f.url, nil)
			body := page(t, resp)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("got %d Location %q, want 400 without Location:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
		})
	}
}

// TestCodeSingleUse: a replayed code is invalid_grant and the tokens of its
// first use stop working; a code older than 60 s is refused.
func TestCodeSingleUse(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	a := l.appA()
	b := l.browser()
	f := a.newFlow()
	code := a.callback(b.signIn(b.do("GET", f.url, nil), l.email, testPassword), f)
	first := a.mustExchange(code, f)
	if a.userinfo(first.AccessToken) != http.StatusOK {
		t.Fatal("fresh token refused")
	}
	if _, err := a.exchange(code, f); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("replayed code: %v, want invalid_grant", err)
	}
	if code := a.userinfo(first.AccessToken); code != http.StatusUnauthorized {
		t.Fatalf("userinfo with first use's token after replay = %d, want 401", code)
	}
	if _, err := a.refresh(first.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("refresh with first use's token after replay: %v, want invalid_grant", err)
	}

	f2 := a.newFlow()
	code2 := a.callback(b.do("GET", f2.url, nil), f2)
	l.clock.Add(61 * time.Second)
	if _, err := a.exchange(code2, f2); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("61 s old code: %v, want invalid_grant", err)
	}
}

// TestCrossClient: client B cannot redeem client A's code or refresh token.
func TestCrossClient(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	a, bApp := l.appA(), l.appB()
	b := l.browser()
	f := a.newFlow()
	code := a.callback(b.signIn(b.do("GET", f.url, nil), l.email, testPassword), f)
	bApp.oauth.RedirectURL = a.oauth.RedirectURL
	if _, err := bApp.exchange(code, f); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("B redeeming A's code: %v, want invalid_grant", err)
	}
	tok := a.mustExchange(code, f)
	if _, err := bApp.refresh(tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("B using A's refresh token: %v, want invalid_grant", err)
	}
	if _, err := a.refresh(tok.RefreshToken); err != nil {
		t.Fatalf("A's own refresh after B's attempt: %v", err)
	}
}

// TestRefreshRotation: each refresh returns a new token; the rotated-out one
// is invalid_grant and ends the app session, so the newest one dies too.
func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	a := l.appA()
	b := l.browser()
	tok := b.signInFlow(a)
	t1, err := a.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if t1.RefreshToken == "" || t1.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh did not rotate: %q", t1.RefreshToken)
	}
	id1, err := a.verify(t1, "")
	if err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	if id1.claims.Sid != tok.claims.Sid || id1.claims.AuthTime != tok.claims.AuthTime {
		t.Fatalf("refreshed ID token sid/auth_time changed: %+v vs %+v", id1.claims, tok.claims)
	}
	t2, err := a.refresh(t1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.refresh(t1.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("reused refresh token: %v, want invalid_grant", err)
	}
	if _, err := a.refresh(t2.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("newest refresh token after reuse: %v, want invalid_grant", err)
	}
	if code := a.userinfo(t2.AccessToken); code != http.StatusUnauthorized {
		t.Fatalf("access token of the ended app session: userinfo %d, want 401", code)
	}
	// Only that app session ended: the browser is still signed in.
	f := a.newFlow()
	a.mustExchange(a.callback(b.do("GET", f.url, nil), f), f)
}

// TestRefreshConcurrentReuse: two simultaneous refreshes with one token
// cannot both win.
func TestRefreshConcurrentReuse(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	a := l.appA()
	tok := l.browser().signInFlow(a)
	errs := make(chan error, 2)
	for range 2 {
		go func() { _, err := a.refresh(tok.RefreshToken); errs <- err }()
	}
	var ok int
	for range 2 {
		if err := <-errs; err == nil {
			ok++
		}
	}
	if ok > 1 {
		t.Fatalf("%d concurrent refreshes with one token succeeded", ok)
	}
}

// TestRefusedFlows: implicit, hybrid, password and other grants are
// refused, and discovery advertises only what works (the code, refresh and
// device grants).
func TestRefusedFlows(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	a := l.appA()
	b := l.browser()
	for _, rt := range []string{"token", "id_token", "id_token token", "code id_token", "code token"} {
		f := a.newFlow(oauth2.SetAuthURLParam("response_type", rt))
		resp := b.do("GET", f.url, nil)
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode == http.StatusOK || (loc != nil && loc.Query().Get("code") != "") || strings.Contains(resp.Header.Get("Location"), "access_token") {
			t.Fatalf("response_type %q accepted: %d %s", rt, resp.StatusCode, loc)
		}
	}
	// The device grant is latch's, for clients registered with it: others
	// are unauthorized_client (TestDeviceClientsWithoutGrant).
	for _, grant := range []string{"password", "client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer",
		"implicit"} {
		resp, err := http.PostForm(l.url+"/oauth/token", url.Values{"grant_type": {grant}, "client_id": {"app-a"},
			"client_secret": {"alpha-secret-0123456789"}, "username": {l.email}, "password": {testPassword}, "scope": {"openid"}})
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || e.Error != "unsupported_grant_type" {
			t.Fatalf("grant %s: %d %q, want 400 unsupported_grant_type", grant, resp.StatusCode, e.Error)
		}
	}
	var doc map[string]any
	resp, err := http.Get(l.url + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	want := map[string]string{
		"response_types_supported":                       `["code"]`,
		"grant_types_supported":                          `["authorization_code","refresh_token","urn:ietf:params:oauth:grant-type:device_code","urn:ietf:params:oauth:grant-type:token-exchange"]`,
		"code_challenge_methods_supported":               `["S256"]`,
		"response_modes_supported":                       `["query"]`,
		"id_token_signing_alg_values_supported":          `["ES256"]`,
		"authorization_response_iss_parameter_supported": `true`,
	}
	for k, v := range want {
		got, _ := json.Marshal(doc[k])
		if string(got) != v {
			t.Errorf("discovery %s = %s, want %s", k, got, v)
		}
	}
	if doc["device_authorization_endpoint"] != l.url+"/oauth/device_authorization" {
		t.Errorf("discovery device_authorization_endpoint = %v", doc["device_authorization_endpoint"])
	}
	for _, k := range []string{"check_session_iframe", "request_object_signing_alg_values_supported"} {
		if _, ok := doc[k]; ok {
			t.Errorf("discovery advertises %s", k)
		}
	}
}

// TestPromptAndMaxAge: prompt=none without a session is login_required;
// with one it answers at once; prompt=login and max_age ask again and the
// new ID token has a later auth_time.
func TestPromptAndMaxAge(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	a := l.appA()
	b := l.browser()

	f := a.newFlow(oauth2.SetAuthURLParam("prompt", "none"))
	resp := b.do("GET", f.url, nil)
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Query().Get("error") != "login_required" || loc.Query().Get("state") != f.state || loc.Query().Get("iss") != l.url {
		t.Fatalf("prompt=none without session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	first := b.signInFlow(a)
	f = a.newFlow(oauth2.SetAuthURLParam("prompt", "none"))
	silent := a.mustExchange(a.callback(b.do("GET", f.url, nil), f), f)
	if silent.claims.AuthTime != first.claims.AuthTime {
		t.Fatal("prompt=none changed auth_time")
	}

	l.clock.Add(2 * time.Second)
	f = a.newFlow(oauth2.SetAuthURLParam("max_age", "1"))
	resp = b.do("GET", f.url, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("max_age=1 after 2 s: got %d, want the sign-in page", resp.StatusCode)
	}
	again := a.mustExchange(a.callback(b.signIn(resp, l.email, testPassword), f), f)
	if again.claims.AuthTime <= first.claims.AuthTime {
		t.Fatalf("auth_time %d not later than %d", again.claims.AuthTime, first.claims.AuthTime)
	}
	if again.claims.Sid != first.claims.Sid {
		t.Fatal("re-authentication changed the sid")
	}

	l.clock.Add(2 * time.Second)
	f = a.newFlow(oauth2.SetAuthURLParam("prompt", "login"))
	resp = b.do("GET", f.url, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("prompt=login: got %d, want the sign-in page", resp.StatusCode)
	}
	last := a.mustExchange(a.callback(b.signIn(resp, l.email, testPassword), f), f)
	if last.claims.AuthTime <= again.claims.AuthTime {
		t.Fatal("prompt=login did not renew auth_time")
	}

	// A long state survives unchanged, up to latch's limit of 1,024 bytes;
	// a longer one is refused without being echoed (every request is
	// stored, so its size is bounded).
	long := strings.Repeat("x", 1024)
	f = a.newFlow()
	f.state = long
	f.url = a.oauth.AuthCodeURL(long, oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier))
	a.mustExchange(a.callback(b.do("GET", f.url, nil), f), f)
	f.url = a.oauth.AuthCodeURL(long+"x", oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier))
	resp = b.do("GET", f.url, nil)
	resp.Body.Close()
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_request" || loc.Query().Has("state") {
		t.Fatalf("a 1,025-byte state: %d %s", resp.StatusCode, loc)
	}
}

// TestSignOutEndsEverything: after sign-out the cookie, refresh tokens and
// access tokens (userinfo, introspection) are refused.
func TestSignOutEndsEverything(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	a, bApp := l.appA(), l.appB()
	b := l.browser()
	tokA := b.signInFlow(a)
	tokB := b.signInFlow(bApp)
	if active := introspect(t, l, "app-b", "beta-secret-0123456789", tokB.AccessToken); !active {
		t.Fatal("live opaque token introspects inactive")
	}
	acct := b.do("GET", "/account", nil)
	form := hiddenFields(page(t, acct))
	if form.Get("csrf_token") == "" {
		t.Fatal("account page has no sign-out form")
	}
	resp := b.do("POST", "/logout", url.Values{"csrf_token": {form.Get("csrf_token")}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/logged-out" {
		t.Fatalf("sign-out ended at %d %s", resp.StatusCode, resp.Request.URL)
	}
	resp = b.do("GET", "/account", nil)
	resp.Body.Close()
	if resp.Request.URL.Path != "/login" {
		t.Fatalf("after sign-out /account ended at %s", resp.Request.URL)
	}
	if _, err := a.refresh(tokA.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("refresh after sign-out: %v", err)
	}
	if code := a.userinfo(tokA.AccessToken); code != http.StatusUnauthorized {
		t.Fatalf("JWT access token userinfo after sign-out = %d", code)
	}
	if code := bApp.userinfo(tokB.AccessToken); code != http.StatusUnauthorized {
		t.Fatalf("opaque access token userinfo after sign-out = %d", code)
	}
	if introspect(t, l, "app-b", "beta-secret-0123456789", tokB.AccessToken) {
		t.Fatal("introspection says active after sign-out")
	}
	if reason := l.endReason(tokA.claims.Sid); reason != "signed_out" {
		t.Fatalf("end reason = %q", reason)
	}
}

func introspect(t *testing.T, l *testLatch, client, secret, token string) bool {
	t.Helper()
	req, _ := http.NewRequest("POST", l.url+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.SetBasicAuth(client, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Active bool   `json:"active"`
		Sid    string `json:"sid"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r.Active
}

// TestEndSession: without an id_token_hint latch asks first; with one it
// signs out and redirects only to a registered post_logout_redirect_uri.
func TestEndSession(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	a := l.appA()
	b := l.browser()
	tok := b.signInFlow(a)
	raw := tok.Extra("id_token").(string)

	resp := b.do("GET", "/end_session?"+url.Values{"client_id": {"app-a"}, "post_logout_redirect_uri": {"http://localhost:47001/"}}.Encode(), nil)
	body := page(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="request"`) {
		t.Fatalf("end_session without hint: %d, want the confirmation page:\n%.500s", resp.StatusCode, body)
	}
	if a.userinfo(tok.AccessToken) != http.StatusOK {
		t.Fatal("end_session without hint signed out before confirmation")
	}

	resp = b.do("GET", "/end_session?"+url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {"http://localhost:47001/other"}}.Encode(), nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("unregistered post_logout_redirect_uri: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	resp = b.do("GET", "/end_session?"+url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {"http://localhost:47001/"}, "state": {"bye"}}.Encode(), nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://localhost:47001/?state=bye" {
		t.Fatalf("end_session with hint: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if a.userinfo(tok.AccessToken) != http.StatusUnauthorized {
		t.Fatal("access token alive after end_session")
	}
	resp = b.do("GET", "/account", nil)
	resp.Body.Close()
	if resp.Request.URL.Path != "/login" {
		t.Fatal("browser still signed in after end_session")
	}
}

// TestEndSessionConfirm: the confirmation page signs out and continues to
// the validated post-logout address.
func TestEndSessionConfirm(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	a := l.appA()
	b := l.browser()
	tok := b.signInFlow(a)
	resp := b.do("GET", "/end_session?"+url.Values{"client_id": {"app-a"}, "post_logout_redirect_uri": {"http://localhost:47001/"}}.Encode(), nil)
	form := hiddenFields(page(t, resp))
	resp = b.do("POST", "/logout", form)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "http://localhost:47001/" {
		t.Fatalf("confirmed sign-out: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if a.userinfo(tok.AccessToken) != http.StatusUnauthorized {
		t.Fatal("session alive after confirmed sign-out")
	}
	form.Set("request", form.Get("request")+"x")
	resp = b.do("POST", "/logout", form)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("tampered request: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestRevocationAndExpiry: RFC 7009 revocation of access and refresh
// tokens, and access tokens that die after their 5 minutes.
func TestRevocationAndExpiry(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	a := l.appA()
	b := l.browser()
	revoke := func(token, hint string) int {
		req, _ := http.NewRequest("POST", l.url+"/revoke", strings.NewReader(url.Values{"token": {token}, "token_type_hint": {hint}}.Encode()))
		req.SetBasicAuth("app-a", "alpha-secret-0123456789")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tok := b.signInFlow(a)
	if code := revoke(tok.AccessToken, "access_token"); code != http.StatusOK {
		t.Fatalf("revoke access token: %d", code)
	}
	if code := a.userinfo(tok.AccessToken); code != http.StatusUnauthorized {
		t.Fatalf("revoked access token: userinfo %d", code)
	}
	if code := revoke(tok.RefreshToken, "refresh_token"); code != http.StatusOK {
		t.Fatalf("revoke refresh token: %d", code)
	}
	if _, err := a.refresh(tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("revoked refresh token: %v", err)
	}
	// Another client cannot revoke app-a's tokens.
	tok = b.signInFlow(a)
	req, _ := http.NewRequest("POST", l.url+"/revoke", strings.NewReader(url.Values{"token": {tok.RefreshToken}}.Encode()))
	req.SetBasicAuth("app-b", "beta-secret-0123456789")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := a.refresh(tok.RefreshToken); err != nil {
		t.Fatalf("another client revoked app-a's token: %v", err)
	}
	// Access tokens live 5 minutes.
	tok = b.signInFlow(a)
	l.clock.Add(4 * time.Minute)
	if code := a.userinfo(tok.AccessToken); code != http.StatusOK {
		t.Fatalf("4-minute-old access token: %d", code)
	}
	l.clock.Add(61 * time.Second)
	if code := a.userinfo(tok.AccessToken); code != http.StatusUnauthorized {
		t.Fatalf("5-minute-old access token: %d", code)
	}
}

// TestConsent: an app that is not latch's own asks once, per set of
// scopes; first-party apps never ask; refusing answers access_denied.
func TestConsent(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.browser()
	b.signInFlow(l.appA()) // first party: no consent page
	if _, consented, err := l.srv.Accounts().Consented(t.Context(), l.accountID(l.email), "app-a"); err != nil || consented {
		t.Fatal("a first-party app recorded a consent")
	}
	outsider := l.rp("outsider", "outsider-secret-0123456789", "http://localhost:47004/callback")
	outsider.oauth.Scopes = []string{"openid", "email"}
	f := outsider.newFlow()
	resp := b.do("GET", f.url, nil)
	body := page(t, resp)
	if resp.Request.URL.Path != "/consent" || !strings.Contains(body, "Outsider") || !strings.Contains(body, "See your email address") {
		t.Fatalf("third-party app without consent: %s", resp.Request.URL)
	}
	resp = b.do("GET", f.url, nil)
	resp = b.consent(resp, "deny")
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Query().Get("error") != "access_denied" || loc.Query().Get("iss") != l.url {
		t.Fatalf("refused consent: %s", resp.Header.Get("Location"))
	}
	b.signInFlow(outsider) // allows
	f = outsider.newFlow()
	outsider.mustExchange(outsider.callback(b.do("GET", f.url, nil), f), f) // no page the second time
	// More scopes ask again.
	outsider.oauth.Scopes = append(outsider.oauth.Scopes, "profile")
	f = outsider.newFlow()
	if resp := b.do("GET", f.url, nil); resp.Request.URL.Path != "/consent" {
		t.Fatalf("new scopes did not ask again: %s", resp.Request.URL)
	}
}
