package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latch-idp/latch/idp"
	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/internal/testclock"
)

// Command-line sign-ins with the OAuth 2.0 Device Authorization Grant (RFC
// 8628), driven by golang.org/x/oauth2's DeviceAuth and DeviceAccessToken
// over real HTTP, approved in a browser signed in to latch.

// followWallClock moves c along with the wall clock until the test ends:
// x/oauth2 polls in real time, and latch measures the interval between
// polls with its own clock.
func followWallClock(t *testing.T, c *testclock.Clock) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		last := time.Now()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				c.Add(now.Sub(last))
				last = now
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// deviceLatch starts latch polling every second, its clock following the
// wall clock.
func deviceLatch(t *testing.T, opts ...func(*Config)) *testLatch {
	t.Helper()
	l := startLatch(t, append([]func(*Config){func(c *Config) { c.DevicePollInterval = time.Second }}, opts...)...)
	followWallClock(t, l.clock)
	return l
}

// pollLog records every answer of the token endpoint a device client got:
// the OAuth error code, or "tokens".
type pollLog struct {
	mu      sync.Mutex
	answers []string
	at      []time.Time
}

func (p *pollLog) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/oauth/token") {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	answer := e.Error
	if resp.StatusCode == http.StatusOK {
		answer = "tokens"
	}
	p.mu.Lock()
	p.answers = append(p.answers, answer)
	p.at = append(p.at, time.Now())
	p.mu.Unlock()
	return resp, nil
}

func (p *pollLog) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.answers...)
}

// waitFor waits until the log holds answer, up to d.
func (p *pollLog) waitFor(t testing.TB, answer string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, a := range p.list() {
			if a == answer {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %q answer within %s; answers: %v", answer, d, p.list())
}

// deviceApp is a command-line app signing in with the device grant.
type deviceApp struct {
	t      testing.TB
	l      *testLatch
	oauth  oauth2.Config
	log    *pollLog
	ctx    context.Context
	header http.Header
}

func (l *testLatch) deviceApp(clientID string, scopes ...string) *deviceApp {
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}
	}
	c := &deviceApp{t: l.t, l: l, log: &pollLog{}, header: http.Header{}}
	c.oauth = oauth2.Config{ClientID: clientID, Scopes: scopes, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: l.url + "/oauth/device_authorization", TokenURL: l.url + "/oauth/token",
		AuthStyle: oauth2.AuthStyleInParams}}
	c.ctx = context.WithValue(l.t.Context(), oauth2.HTTPClient, &http.Client{Transport: headerTransport{c.header, c.log}})
	return c
}

// headerTransport adds headers (a User-Agent, X-Forwarded-For) to every
// request of a device client.
type headerTransport struct {
	h    http.Header
	next http.RoundTripper
}

func (h headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, v := range h.h {
		req.Header[k] = v
	}
	return h.next.RoundTrip(req)
}

func (c *deviceApp) start(hint string) *oauth2.DeviceAuthResponse {
	c.t.Helper()
	var opts []oauth2.AuthCodeOption
	if hint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("device_name", hint))
	}
	da, err := c.oauth.DeviceAuth(c.ctx, opts...)
	if err != nil {
		c.t.Fatalf("device authorization: %v", err)
	}
	return da
}

// poll runs DeviceAccessToken in the background.
func (c *deviceApp) poll(da *oauth2.DeviceAuthResponse) <-chan polled {
	out := make(chan polled, 1)
	go func() {
		tok, err := c.oauth.DeviceAccessToken(c.ctx, da)
		out <- polled{tok, err}
	}()
	return out
}

type polled struct {
	tok *oauth2.Token
	err error
}

func waitPolled(t testing.TB, ch <-chan polled) polled {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(60 * time.Second):
		t.Fatal("the device client is still polling after a minute")
	}
	return polled{}
}

// deviceDecision opens the approval page for userCode in b and answers it.
func (b *browser) deviceDecision(userCode, decision string) (*http.Response, string) {
	b.t.Helper()
	resp := b.do("GET", "/device?user_code="+url.QueryEscape(userCode), nil)
	body := page(b.t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `value="approve"`) {
		b.t.Fatalf("want the approval page, got %d at %s:\n%.1500s", resp.StatusCode, resp.Request.URL, body)
	}
	form := hiddenFields(body)
	form.Set("decision", decision)
	resp = b.do("POST", "/device/decide", form)
	return resp, body
}

var userCodeRe = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// TestDeviceFlow: a command-line app asks for a code, polls (pending) while
// the person approves it in a browser, gets tokens bound to a session of
// its own, sees itself in the sessions API with kind "cli" and its name,
// and refreshes.
func TestDeviceFlow(t *testing.T) {
	t.Parallel()
	l := deviceLatch(t)
	// Discovery names the endpoint and the grant (RFC 8628 §4).
	p, err := oidc.NewProvider(t.Context(), l.url)
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Endpoint string   `json:"device_authorization_endpoint"`
		Grants   []string `json:"grant_types_supported"`
	}
	if err := p.Claims(&disc); err != nil {
		t.Fatal(err)
	}
	if disc.Endpoint != l.url+"/oauth/device_authorization" || !strings.Contains(strings.Join(disc.Grants, " "), "urn:ietf:params:oauth:grant-type:device_code") {
		t.Fatalf("discovery: endpoint %q, grants %v", disc.Endpoint, disc.Grants)
	}
	if p.Endpoint().DeviceAuthURL != disc.Endpoint {
		t.Fatalf("go-oidc reads the device endpoint as %q", p.Endpoint().DeviceAuthURL)
	}

	c := l.deviceApp("codex-cli")
	c.header.Set("User-Agent", "codex-cli/0.1 (linux; amd64)")
	da := c.start("ada-laptop")
	if !userCodeRe.MatchString(da.UserCode) {
		t.Fatalf("user code %q is not 8 consonants shown as XXXX-XXXX", da.UserCode)
	}
	if da.VerificationURI != l.url+"/device" || da.VerificationURIComplete != l.url+"/device?user_code="+da.UserCode {
		t.Fatalf("verification URIs %q, %q", da.VerificationURI, da.VerificationURIComplete)
	}
	if da.Interval != 1 || time.Until(da.Expiry) < 9*time.Minute || time.Until(da.Expiry) > 10*time.Minute {
		t.Fatalf("interval %d, expires in %s", da.Interval, time.Until(da.Expiry))
	}
	if len(da.DeviceCode) < 43 {
		t.Fatalf("device code %q carries fewer than 256 bits", da.DeviceCode)
	}
	if n := l.count(`SELECT count(*) FROM device_authorizations WHERE device_code_hash = $1`, sha256Bytes(da.DeviceCode)); n != 1 {
		t.Fatal("the device code is not stored as its SHA-256")
	}
	if n := l.count(`SELECT count(*) FROM device_authorizations WHERE position($1::bytea in device_code_hash) > 0`, []byte(da.DeviceCode)); n != 0 {
		t.Fatal("the device code is stored in the clear")
	}
	got := c.poll(da)
	c.log.waitFor(t, "authorization_pending", 10*time.Second)

	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	// The code is typed in any case, with or without its dash.
	typed := strings.ToLower(strings.ReplaceAll(da.UserCode, "-", ""))
	resp := b.do("POST", "/device", url.Values{"csrf_token": {b.csrf()}, "user_code": {typed}})
	body := page(t, resp)
	for _, want := range []string{"Codex CLI", da.UserCode, "ada-laptop", "as reported by the device", "See your email address",
		"Stay signed in while you", "This computer", "127.0.0.1"} {
		if !strings.Contains(body, want) {
			t.Errorf("approval page lacks %q", want)
		}
	}
	if strings.Contains(body, "different place") {
		t.Error("approval page warns though the request came from this computer")
	}
	form := hiddenFields(body)
	form.Set("decision", "approve")
	resp = b.do("POST", "/device/decide", form)
	if body := page(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "Codex CLI is signed in") {
		t.Fatalf("approve: %d\n%.800s", resp.StatusCode, body)
	}
	res := waitPolled(t, got)
	if res.err != nil {
		t.Fatalf("device access token: %v (answers %v)", res.err, c.log.list())
	}
	tok := res.tok
	if tok.RefreshToken == "" || tok.AccessToken == "" {
		t.Fatalf("tokens %+v", tok)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: "codex-cli"}).Verify(t.Context(), tok.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	var claims struct {
		Sid   string   `json:"sid"`
		Email string   `json:"email"`
		AMR   []string `json:"amr"`
	}
	idt.Claims(&claims)
	if claims.Email != l.email || claims.Sid == "" || claims.Sid == l.sid(b.session()) {
		t.Fatalf("id token claims %+v: want the account and a session of the CLI's own", claims)
	}
	answers := c.log.list()
	if answers[len(answers)-1] != "tokens" {
		t.Fatalf("answers %v", answers)
	}

	// The sessions API lists it with its kind, its name and where it was
	// approved.
	list := apiSessions(t, b)
	var found bool
	for _, s := range list {
		switch s.ID {
		case claims.Sid:
			found = true
			if s.Kind != "cli" || s.Device != "Codex CLI on ada-laptop · Linux" || s.ApprovedOn != "Chrome on Linux" || len(s.Apps) != 1 || s.Apps[0].ClientID != "codex-cli" {
				t.Errorf("CLI session in the API: %+v", s)
			}
		default:
			if s.Kind != "browser" {
				t.Errorf("browser session of kind %q", s.Kind)
			}
		}
	}
	if !found {
		t.Fatalf("the CLI session is not listed: %+v", list)
	}
	// The page shows it with the device that approved it.
	body = page(t, b.do("GET", "/account/sessions", nil))
	if !strings.Contains(body, "Codex CLI on ada-laptop · Linux") || !strings.Contains(body, "approved on Chrome on Linux") {
		t.Errorf("sessions page lacks the CLI session:\n%.3000s", body)
	}
	// The session is its app: no "Sign out of Codex CLI" that would leave
	// an empty session behind, only End session.
	if strings.Contains(body, "/account/sessions/"+claims.Sid+"/apps/") || !strings.Contains(body, `action="/account/sessions/`+claims.Sid+`/end"`) {
		t.Errorf("the CLI session offers signing out of its app apart from the session:\n%.3000s", body)
	}
	// Activity and the owner's alert.
	if n := l.count(`SELECT count(*) FROM activity WHERE kind = 'device_approved' AND detail->>'session' = $1`, claims.Sid); n != 1 {
		t.Errorf("%d device_approved events", n)
	}
	if n := l.count(`SELECT count(*) FROM outbox WHERE subject = 'Codex CLI was signed in to your account'
		AND text_body LIKE '%approved on Chrome on Linux%'`); n != 1 {
		t.Errorf("%d approval alerts", n)
	}

	// Refresh works, and counts as the CLI session's activity.
	l.clock.Add(2 * time.Minute)
	ts := c.oauth.TokenSource(c.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)})
	fresh, err := ts.Token()
	if err != nil || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %v", err)
	}
	if n := l.count(`SELECT count(*) FROM device_sessions WHERE id = $1 AND last_active_at > created_at + interval '1 minute'`, claims.Sid); n != 1 {
		t.Error("a refresh did not count as the CLI session's activity")
	}
}

func sha256Bytes(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// apiSession is one session of the sessions API, as the tests read it.
type apiSession struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"`
	Device     string `json:"device"`
	ApprovedOn string `json:"approved_on"`
	Location   string `json:"location"`
	Apps       []struct {
		ID       string `json:"id"`
		ClientID string `json:"client_id"`
	} `json:"apps"`
}

func apiSessions(t *testing.T, b *browser) []apiSession {
	t.Helper()
	status, body, _ := b.send("GET", "/api/account/sessions", "", nil, nil)
	if status != 200 {
		t.Fatalf("sessions API: %d %s", status, body)
	}
	var out struct {
		Sessions []apiSession `json:"sessions"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out.Sessions
}

// TestDevicePolling: RFC 8628 §3.5 as a device hears it. Polling faster
// than the interval answers slow_down and the interval grows by 5 seconds
// (the client keeps up, and is answered authorization_pending again);
// refused, the answer is access_denied; past its 10 minutes, expired_token.
func TestDevicePolling(t *testing.T) {
	t.Parallel()
	l := deviceLatch(t, func(c *Config) { c.DevicePollInterval = 2 * time.Second })
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()

	t.Run("slow_down", func(t *testing.T) {
		c := l.deviceApp("codex-cli")
		da := c.start("")
		if da.Interval != 2 {
			t.Fatalf("interval %d", da.Interval)
		}
		// This client polls every second, twice as often as it was told.
		da.Interval = 1
		got := c.poll(da)
		c.log.waitFor(t, "authorization_pending", 15*time.Second)
		answers := c.log.list()
		if answers[0] != "slow_down" {
			t.Fatalf("answers %v: want slow_down first", answers)
		}
		var interval int
		// Read directly: the interval is the row's own, with no method
		// that shows it (the next answer's wait is what x/oauth2 sees).
		if err := l.db.Pool.QueryRow(t.Context(), `SELECT interval_seconds FROM device_authorizations
			WHERE device_code_hash = $1`, sha256Bytes(da.DeviceCode)).Scan(&interval); err != nil || interval != 7 {
			t.Fatalf("interval after one slow_down: %d (%v), want 7", interval, err)
		}
		c.log.mu.Lock()
		gap := c.log.at[1].Sub(c.log.at[0])
		c.log.mu.Unlock()
		if gap < 5*time.Second {
			t.Fatalf("x/oauth2 polled again after %s", gap)
		}
		b.deviceDecision(da.UserCode, "approve")
		if res := waitPolled(t, got); res.err != nil {
			t.Fatalf("after slow_down: %v (%v)", res.err, c.log.list())
		}
	})

	t.Run("access_denied", func(t *testing.T) {
		c := l.deviceApp("codex-cli")
		da := c.start("")
		got := c.poll(da)
		c.log.waitFor(t, "authorization_pending", 10*time.Second)
		resp, _ := b.deviceDecision(da.UserCode, "deny")
		if body := page(t, resp); !strings.Contains(body, "Sign-in refused") {
			t.Fatalf("deny: %d %.500s", resp.StatusCode, body)
		}
		res := waitPolled(t, got)
		if oauthErrorCode(res.err) != "access_denied" {
			t.Fatalf("after deny: %v", res.err)
		}
		if n := l.count(`SELECT count(*) FROM activity WHERE kind = 'device_denied'`); n != 1 {
			t.Fatalf("%d device_denied events", n)
		}
		// A refused code cannot be approved afterwards.
		resp = b.do("GET", "/device?user_code="+da.UserCode, nil)
		if body := page(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired or been used already") {
			t.Fatalf("a refused code shown again: %d", resp.StatusCode)
		}
	})

	t.Run("expired_token", func(t *testing.T) {
		c := l.deviceApp("codex-cli")
		da := c.start("")
		l.clock.Add(idp.DeviceCodeLifetime + time.Second)
		res := waitPolled(t, c.poll(da))
		if oauthErrorCode(res.err) != "expired_token" {
			t.Fatalf("after 10 minutes: %v", res.err)
		}
		resp := b.do("GET", "/device?user_code="+da.UserCode, nil)
		if resp.Body.Close(); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("an expired code shown: %d", resp.StatusCode)
		}
		// An hour later the sweep forgets it.
		l.clock.Add(time.Hour)
		if err := l.srv.Provider().Storage.Sweep(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := l.count(`SELECT count(*) FROM device_authorizations WHERE device_code_hash = $1`, sha256Bytes(da.DeviceCode)); n != 0 {
			t.Fatal("the sweep kept an expired device authorization")
		}
	})
}

// signIn runs a whole device sign-in approved in b, and returns the tokens
// and the CLI's device session id (the ID token's sid).
func (c *deviceApp) signIn(b *browser, hint string) (*oauth2.Token, string) {
	c.t.Helper()
	da := c.start(hint)
	resp, _ := b.deviceDecision(da.UserCode, "approve")
	if body := page(c.t, resp); resp.StatusCode != 200 || !strings.Contains(body, "is signed in") {
		c.t.Fatalf("approve: %d\n%.600s", resp.StatusCode, body)
	}
	res := waitPolled(c.t, c.poll(da))
	if res.err != nil {
		c.t.Fatalf("device access token: %v", res.err)
	}
	return res.tok, idTokenSid(c.t, res.tok)
}

// idTokenSid reads the sid of a token response's ID token (signature
// checks are TestDeviceFlow's).
func idTokenSid(t testing.TB, tok *oauth2.Token) string {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("no ID token in %+v", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Sid string `json:"sid"`
	}
	json.Unmarshal(b, &claims)
	return claims.Sid
}

// refreshAt uses a refresh token at base's token endpoint and returns the
// new tokens, or the OAuth error code.
func (c *deviceApp) refreshAt(base, refresh string) (*oauth2.Token, string) {
	cfg := c.oauth
	cfg.Endpoint.TokenURL = base + "/oauth/token"
	tok, err := cfg.TokenSource(c.ctx, &oauth2.Token{RefreshToken: refresh, Expiry: time.Now().Add(-time.Hour)}).Token()
	if err != nil {
		if code := oauthErrorCode(err); code != "" {
			return nil, code
		}
		return nil, err.Error()
	}
	return tok, ""
}

// TestDeviceCodesOnce: a user code decides one request once, even when two
// browsers approve it at the same moment; a device code gives tokens once,
// and presented again it is a copy in other hands: invalid_grant, and the
// session it signed in ends.
func TestDeviceCodesOnce(t *testing.T) {
	t.Parallel()
	l := deviceLatch(t)
	b1, b2 := l.browser(), l.browser()
	b1.signInPassword(l.email, testPassword).Body.Close()
	b2.signInPassword(l.email, testPassword).Body.Close()

	c := l.deviceApp("codex-cli")
	da := c.start("twice")
	pages := make([]url.Values, 2)
	for i, b := range []*browser{b1, b2} {
		resp := b.do("GET", "/device?user_code="+da.UserCode, nil)
		pages[i] = hiddenFields(page(t, resp))
		pages[i].Set("decision", "approve")
	}
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i, b := range []*browser{b1, b2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := b.do("POST", "/device/decide", pages[i])
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	if !(statuses[0] == 200) != (statuses[1] == 200) || statuses[0]+statuses[1] != 200+http.StatusConflict {
		t.Fatalf("two approvals of one code: %v, want one 200 and one 409", statuses)
	}
	if n := l.count(`SELECT count(*) FROM device_sessions WHERE kind = 'cli'`); n != 1 {
		t.Fatalf("%d CLI sessions from one code", n)
	}
	// Typed again later, the code is spent.
	resp := b1.do("POST", "/device", url.Values{"csrf_token": {b1.csrf()}, "user_code": {da.UserCode}})
	if resp.Body.Close(); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a used user code: %d", resp.StatusCode)
	}

	res := waitPolled(t, c.poll(da))
	if res.err != nil {
		t.Fatal(res.err)
	}
	sid := idTokenSid(t, res.tok)
	// The same device code again: refused, and the session is over.
	second := waitPolled(t, c.poll(da))
	if oauthErrorCode(second.err) != "invalid_grant" {
		t.Fatalf("device code used twice: %v", second.err)
	}
	if _, got := c.refreshAt(l.url, res.tok.RefreshToken); got != "invalid_grant" {
		t.Fatalf("refresh after the device code was replayed: %q", got)
	}
	if n := l.count(`SELECT count(*) FROM device_sessions WHERE id = $1 AND end_reason = 'token_reuse'`, sid); n != 1 {
		t.Fatal("the replayed code's session did not end")
	}
	// Another client cannot redeem someone else's device code.
	other := l.deviceApp("codex-cli")
	da2 := other.start("")
	b1.deviceDecision(da2.UserCode, "approve")
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da2.DeviceCode}, "client_id": {"desktop"}}
	status, body := postDevice(t, l.url+"/oauth/token", form)
	if status != http.StatusBadRequest || !strings.Contains(body, "unauthorized_client") {
		t.Fatalf("a client without the grant redeeming a device code: %d %s", status, body)
	}
	if res := waitPolled(t, other.poll(da2)); res.err != nil {
		t.Fatalf("the rightful client after a foreign attempt: %v", res.err)
	}
}

func postDevice(t testing.TB, target string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(target, form)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, page(t, resp)
}

// TestDeviceClientsWithoutGrant: only clients registered with
// grant_types: [device_code] may ask for a code or poll (unauthorized_client);
// a device-grant client cannot use the browser flow; scopes are checked.
func TestDeviceClientsWithoutGrant(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	for _, c := range []struct {
		name, client, secret string
	}{{"public web client", "cli", ""}, {"native app", "desktop", ""}, {"confidential app", "app-a", "alpha-secret-0123456789"}} {
		t.Run(c.name, func(t *testing.T) {
			if c.secret == "" {
				app := l.deviceApp(c.client)
				if _, err := app.oauth.DeviceAuth(app.ctx); oauthErrorCode(err) != "unauthorized_client" {
					t.Fatalf("device authorization: %v", err)
				}
			} else {
				// x/oauth2 sends no secret here; a confidential client
				// authenticates (RFC 8628 §3.1), and is still refused.
				form := url.Values{"client_id": {c.client}, "client_secret": {c.secret}}
				if status, body := postDevice(t, l.url+"/oauth/device_authorization", form); status != 400 || !strings.Contains(body, `"unauthorized_client"`) {
					t.Fatalf("device authorization: %d %s", status, body)
				}
			}
			form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {"x"},
				"client_id": {c.client}}
			if c.secret != "" {
				form.Set("client_secret", c.secret)
			}
			if status, body := postDevice(t, l.url+"/oauth/token", form); status != 400 || !strings.Contains(body, `"unauthorized_client"`) {
				t.Fatalf("token endpoint: %d %s", status, body)
			}
		})
	}
	for form, want := range map[string]string{
		"client_id=nobody":                                               "invalid_client",
		"client_id=codex-cli&client_secret=guess":                        "invalid_client",
		"client_id=codex-cli&scope=openid+admin":                         "invalid_scope",
		"client_id=codex-cli&scope=profile":                              "invalid_scope",
		"client_id=codex-cli&scope=openid+sessions":                      "invalid_scope",
		"client_id=codex-cli&scope=sessions+openid+offline_access":       "invalid_scope",
		"client_id=codex-cli":                                            "",
		"client_id=codex-cli&device_name=%00":                            "invalid_request", // the guard
		"client_id=codex-cli&device_name=" + strings.Repeat("x", 70<<10): "invalid_request",
	} {
		status, body := postDevice(t, l.url+"/oauth/device_authorization", mustParse(form))
		if want == "" {
			if status != 200 || !strings.Contains(body, `"device_code"`) {
				t.Errorf("%.60s: %d %s", form, status, body)
			}
			continue
		}
		if !strings.Contains(body, `"error":"`+want+`"`) {
			t.Errorf("%.60s: %d %s, want %s", form, status, body, want)
		}
	}
	// Not even latch's own command-line app gets the sessions API with a
	// code: a code someone was sent would hand their sessions over.
	status, body := postDevice(t, l.url+"/oauth/device_authorization", mustParse("client_id=codex-cli&scope=openid+sessions"))
	if status != 400 || !strings.Contains(body, "never granted with a device code") {
		t.Errorf("scope sessions with a device code: %d %s", status, body)
	}
	// The browser flow is closed to a device-grant client: it has no
	// redirect URI.
	q := url.Values{"client_id": {"codex-cli"}, "redirect_uri": {"http://127.0.0.1:9999/callback"}, "response_type": {"code"},
		"scope": {"openid"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}
	resp, err := noRedirects.Get(l.url + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Body.Close(); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("authorize for a device-grant client: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// GET and other methods are refused.
	resp, err = http.Get(l.url + "/oauth/device_authorization?client_id=codex-cli")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Body.Close(); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET device authorization: %d", resp.StatusCode)
	}
}

func mustParse(q string) url.Values {
	v, err := url.ParseQuery(q)
	if err != nil {
		panic(err)
	}
	return v
}

// TestDeviceSessionEnded: a CLI sign-in is a session of its own in the
// panel, ended like any other, from the page or the API; its refresh
// token is refused at once, on another replica too.
func TestDeviceSessionEnded(t *testing.T) {
	t.Parallel()
	a := deviceLatch(t)
	other := a.replica()
	b := a.browser()
	b.signInPassword(a.email, testPassword).Body.Close()
	c1, c2 := a.deviceApp("codex-cli"), a.deviceApp("codex-cli")
	c1.header.Set("User-Agent", "codex-cli/0.1 (darwin; arm64)")
	t1, sid1 := c1.signIn(b, "work-mac")
	t2, sid2 := c2.signIn(b, "Codex CLI on build-box")
	names := map[string]string{}
	for _, s := range apiSessions(t, b) {
		names[s.ID] = s.Kind + ": " + s.Device
	}
	if names[sid1] != "cli: Codex CLI on work-mac · macOS" || names[sid2] != "cli: Codex CLI on build-box" {
		t.Fatalf("CLI sessions listed as %v", names)
	}
	for _, c := range []struct {
		name string
		tok  *oauth2.Token
		app  *deviceApp
		end  func()
	}{
		{"from the page", t1, c1, func() {
			resp := b.post("/account/sessions", "/account/sessions/"+sid1+"/end", nil)
			if resp.Body.Close(); resp.Request.URL.Path != "/account/sessions" {
				t.Fatalf("end from the page: at %s", resp.Request.URL)
			}
		}},
		{"from the API", t2, c2, func() {
			if code, out := apiCall(t, a, "POST", "/api/account/sessions/"+sid2+"/end", "", withCookie(b, true)); code != 200 {
				t.Fatalf("end from the API: %d %v", code, out)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			held, got := c.app.refreshAt(other.base, c.tok.RefreshToken)
			if got != "" {
				t.Fatalf("refresh on the other replica before the end: %s", got)
			}
			c.end()
			if _, got := c.app.refreshAt(other.base, held.RefreshToken); got != "invalid_grant" {
				t.Fatalf("refresh on the other replica after the end: %q", got)
			}
			if status := c.app.userinfoAt(other.base, held.AccessToken); status != http.StatusUnauthorized {
				t.Fatalf("userinfo on the other replica after the end: %d", status)
			}
		})
	}
}

// userinfoAt calls base's userinfo endpoint with an access token.
func (c *deviceApp) userinfoAt(base, access string) int {
	req, _ := http.NewRequest("GET", base+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestDeviceWrongCodes: user codes are guessed like any other secret:
// after 5 wrong ones an account waits a growing delay (the right code
// included, as it is counted before it is looked at), each wrong code is
// in the account's history, and one address gets --rate-limit tries a
// minute, whichever accounts it uses. Text that cannot be a code is
// answered as such and is no guess: neither counted nor recorded.
func TestDeviceWrongCodes(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	c := l.deviceApp("codex-cli")
	da := c.start("")
	try := func(code string) (int, http.Header, string) {
		status, body, h := b.send("POST", "/device", "application/x-www-form-urlencoded",
			strings.NewReader(url.Values{"csrf_token": {b.csrf()}, "user_code": {code}}.Encode()), nil)
		return status, h, body
	}
	for _, code := range []string{"x", "WDJB-MJHTT", strings.Repeat("Z", 40), "", "WDJA-MJHT", "ＷDJB-MJHT", "WDJB-MJH0"} {
		if status, _, body := try(code); status != http.StatusBadRequest || !strings.Contains(body, "a code latch gives out") {
			t.Fatalf("malformed code %q: %d", code, status)
		}
	}
	if n := l.count(`SELECT count(*) FROM activity WHERE kind = 'signin_failed'`); n != 0 {
		t.Fatalf("%d malformed codes in the history", n)
	}
	wrong := []string{"BCDF-GHJK", "bcdfghjk", "zzzz zzzz", "QRST-VWXZ", "w-d-j-b-m-j-h-x"}
	for i, code := range wrong {
		if status, _, body := try(code); status != http.StatusBadRequest || !strings.Contains(body, "it may have expired") {
			t.Fatalf("wrong code %d: %d", i+1, status)
		}
	}
	status, h, body := try(da.UserCode)
	if status != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(body, "Too many wrong codes") {
		t.Fatalf("after 5 wrong codes: %d (Retry-After %q)", status, h.Get("Retry-After"))
	}
	l.clock.Add(2 * time.Second)
	if status, _, body := try(da.UserCode); status != 200 || !strings.Contains(body, `value="approve"`) {
		t.Fatalf("the right code after the wait: %d", status)
	}
	if n := l.count(`SELECT count(*) FROM activity WHERE kind = 'signin_failed' AND detail->>'method' = 'user_code'`); n != 5 {
		t.Fatalf("%d wrong codes in the history, want 5", n)
	}
	if body := page(t, b.do("GET", "/account/activity", nil)); !strings.Contains(body, "with a wrong device code") {
		t.Fatal("the activity page does not name wrong device codes")
	}

	// Per address: a small --rate-limit, spent on /device by one address.
	l2 := startLatch(t, func(c *Config) { c.RateLimit = 5 })
	b2 := l2.browser()
	b2.signInPassword(l2.email, testPassword).Body.Close() // one token
	statuses := []int{}
	for range 6 {
		status, _, _ := b2.send("GET", "/device?user_code=BCDF-GHJK", "", nil, nil)
		statuses = append(statuses, status)
	}
	if statuses[len(statuses)-1] != http.StatusTooManyRequests || statuses[0] != http.StatusBadRequest {
		t.Fatalf("one address guessing codes: %v", statuses)
	}
}

// TestDeviceLinkFromAnotherSite: a link to /device?user_code= from another
// site (Sec-Fetch-Site cross-site or same-site) only fills in the form: no
// look-up, so such links spend none of the person's budget of guesses and
// leave nothing in their history, however many a page sends them through;
// text that cannot be a code is refused as such. The person's Continue
// (a form post) looks the code up, and the link the terminal printed,
// opened directly, still shows the request at once.
func TestDeviceLinkFromAnotherSite(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	da := l.deviceApp("codex-cli").start("ada-laptop")
	crossSite := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Sec-Fetch-Mode": {"navigate"}, "Sec-Fetch-Dest": {"document"}}
	sameSite := http.Header{"Sec-Fetch-Site": {"same-site"}, "Sec-Fetch-Mode": {"navigate"}, "Sec-Fetch-Dest": {"document"}}
	throttle := func() int {
		return l.count(`SELECT (SELECT count(*) FROM signin_failures WHERE failures > 0) +
			(SELECT count(*) FROM throttle_budgets WHERE failures > 0) +
			(SELECT count(*) FROM activity WHERE kind = 'signin_failed')`)
	}

	// A page sends the person through links that cannot be codes.
	for i := range 7 {
		status, body, _ := b.send("GET", fmt.Sprintf("/device?user_code=x%d", i), "", nil, crossSite)
		if status != http.StatusBadRequest || !strings.Contains(body, "a code latch gives out") {
			t.Fatalf("cross-site link %d with a malformed code: %d\n%.1500s", i, status, body)
		}
	}
	// And through links with codes that could be real: each only fills in
	// the form, whichever code, the real one included.
	for i, c := range []struct {
		typed, shown string
		header       http.Header
	}{
		{"BCDF-GHJK", "BCDF-GHJK", crossSite}, {"bcdfghjk", "BCDF-GHJK", crossSite}, {"QRSTVWXZ", "QRST-VWXZ", sameSite},
		{"zzzz-zzzz", "ZZZZ-ZZZZ", crossSite}, {"TVWX-ZBCD", "TVWX-ZBCD", crossSite}, {"DFGH-JKLM", "DFGH-JKLM", sameSite},
		{strings.ToLower(da.UserCode), da.UserCode, crossSite}, {da.UserCode, da.UserCode, sameSite},
	} {
		status, body, _ := b.send("GET", "/device?user_code="+url.QueryEscape(c.typed), "", nil, c.header)
		if status != http.StatusOK || strings.Contains(body, `value="approve"`) || strings.Contains(body, "ada-laptop") ||
			!strings.Contains(body, `id="prefilled"`) || !strings.Contains(body, `value="`+c.shown+`"`) ||
			!strings.Contains(body, `action="/device"`) {
			t.Fatalf("link %d from another site (%s): %d\n%.2500s", i, c.header.Get("Sec-Fetch-Site"), status, body)
		}
	}
	if n := throttle(); n != 0 {
		t.Fatalf("links from another site moved the throttle or the history: %d", n)
	}
	if body := page(t, b.do("GET", "/account/activity", nil)); strings.Contains(body, "wrong device code") {
		t.Fatal("the activity page lists wrong device codes nobody typed")
	}

	// The person checks the prefilled code and continues: the form post
	// looks it up, and shows the request.
	status, body, _ := b.send("GET", "/device?user_code="+da.UserCode, "", nil, crossSite)
	form := hiddenFields(body)
	form.Set("user_code", da.UserCode)
	resp := b.do("POST", "/device", form)
	if body := page(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, `value="approve"`) || !strings.Contains(body, "ada-laptop") {
		t.Fatalf("Continue on the prefilled form (%d): %d\n%.1500s", status, resp.StatusCode, body)
	}
	// Opened from the terminal (Sec-Fetch-Site none, or no header at all),
	// the link shows the request at once.
	for _, h := range []http.Header{{"Sec-Fetch-Site": {"none"}, "Sec-Fetch-Mode": {"navigate"}}, nil} {
		status, body, _ := b.send("GET", "/device?user_code="+da.UserCode, "", nil, h)
		if status != http.StatusOK || !strings.Contains(body, `value="approve"`) || strings.Contains(body, `id="prefilled"`) {
			t.Fatalf("the terminal's link (%v): %d\n%.1500s", h, status, body)
		}
	}
	if n := throttle(); n != 0 {
		t.Fatalf("right codes moved the throttle or the history: %d", n)
	}
}

// TestDeviceDatabaseAway: while PostgreSQL is away a device hears 503
// temporarily_unavailable, never expired_token or access_denied, and the
// person the 503 page; pending and approved codes work once it is back.
func TestDeviceDatabaseAway(t *testing.T) {
	dir, err := os.MkdirTemp("", "latch-device-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o711)
	ccfg := pg.ClusterConfig{Dir: filepath.Join(dir, "pg")}
	cluster, err := pg.Start(t.Context(), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Stop(context.Background()) })
	l := startLatch(t, func(cfg *Config) { cfg.DatabaseURL = cluster.DSN() })
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	pending, approved := l.deviceApp("codex-cli").start(""), l.deviceApp("codex-cli").start("")
	b.deviceDecision(approved.UserCode, "approve")
	poll := func(da *oauth2.DeviceAuthResponse) (int, string) {
		return postDevice(t, l.url+"/oauth/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
			"device_code": {da.DeviceCode}, "client_id": {"codex-cli"}})
	}

	if err := cluster.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	for name, da := range map[string]*oauth2.DeviceAuthResponse{"pending": pending, "approved": approved} {
		if status, body := poll(da); status != http.StatusServiceUnavailable || !strings.Contains(body, `"temporarily_unavailable"`) {
			t.Errorf("polling a %s code without the database: %d %s", name, status, body)
		}
	}
	status, body := postDevice(t, l.url+"/oauth/device_authorization", url.Values{"client_id": {"codex-cli"}})
	if status != http.StatusServiceUnavailable || !strings.Contains(body, `"temporarily_unavailable"`) {
		t.Errorf("device authorization without the database: %d %s", status, body)
	}
	status, body, h := b.send("GET", "/device?user_code="+pending.UserCode, "", nil, nil)
	if status != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "can't reach its database") {
		t.Errorf("the device page without the database: %d %.300s", status, body)
	}

	if cluster, err = pg.Start(t.Context(), ccfg); err != nil {
		t.Fatal(err)
	}
	within(t, 20*time.Second, "the approved code did not give tokens once the database was back", func() bool {
		status, _ := poll(approved)
		return status == http.StatusOK
	})
	if status, body := poll(pending); status != http.StatusBadRequest ||
		!(strings.Contains(body, "authorization_pending") || strings.Contains(body, "slow_down")) {
		t.Errorf("the pending code after the outage: %d %s", status, body)
	}
}

// TestDeviceAbuse: what an attacker would send to the device endpoints:
// huge, multipart and malformed bodies, NUL bytes, floods of requests,
// forged form posts, a device name built to mislead, and another client's
// device code.
func TestDeviceAbuse(t *testing.T) {
	t.Parallel()
	clients := testClients + `  - id: other-cli
    app: Other CLI
    kind: cli
    grant_types: [device_code]
`
	l := startLatch(t, func(c *Config) {
		c.AuthorizeRateLimit = 5
		c.ClientsFile = writeFile(t, "clients.yaml", clients)
	})
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	endpoint := "/oauth/device_authorization"
	for _, c := range []struct {
		name, path, contentType, body string
		status                        int
		want                          string
	}{
		{"huge body", endpoint, "application/x-www-form-urlencoded", "client_id=codex-cli&x=" + strings.Repeat("a", 70<<10), 413, `"invalid_request"`},
		{"multipart", endpoint, "multipart/form-data; boundary=x", "--x\r\n\r\n--x--", 415, `"invalid_request"`},
		{"NUL", endpoint, "application/x-www-form-urlencoded", "client_id=codex-cli%00", 400, `"invalid_request"`},
		{"broken UTF-8", endpoint, "application/x-www-form-urlencoded", "client_id=codex-cli&device_name=%ff%fe", 400, `"invalid_request"`},
		{"malformed form", endpoint, "application/x-www-form-urlencoded", "client_id=%zz", 400, `"invalid_request"`},
		{"JSON", endpoint, "application/json", `{"client_id":"codex-cli"}`, 401, `"invalid_client"`},
		{"token: NUL device code", "/oauth/token", "application/x-www-form-urlencoded",
			"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=codex-cli&device_code=%00", 400, `"invalid_request"`},
		{"token: long device code", "/oauth/token", "application/x-www-form-urlencoded",
			"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=codex-cli&device_code=" + strings.Repeat("A", 40<<10), 400, `"invalid_grant"`},
		{"token: unknown device code", "/oauth/token", "application/x-www-form-urlencoded",
			"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=codex-cli&device_code=abc", 400, `"invalid_grant"`},
		{"token: no device code", "/oauth/token", "application/x-www-form-urlencoded",
			"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=codex-cli", 400, `"invalid_request"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, err := http.Post(l.url+c.path, c.contentType, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			body := page(t, resp)
			if resp.StatusCode != c.status || !strings.Contains(body, c.want) || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("%d %q (Cache-Control %q), want %d %s", resp.StatusCode, body, resp.Header.Get("Cache-Control"), c.status, c.want)
			}
		})
	}

	// The device page: NUL, a huge code, forged and cross-site posts.
	csrf := b.csrf()
	for _, c := range []struct {
		name   string
		method string
		path   string
		form   url.Values
		header http.Header
		status int
	}{
		{"NUL in the code", "POST", "/device", url.Values{"csrf_token": {csrf}, "user_code": {"BCDF\x00GHJK"}}, nil, 400},
		{"NUL in the query", "GET", "/device?user_code=BCDF%00GHJK", nil, nil, 400},
		{"a huge code", "POST", "/device", url.Values{"csrf_token": {csrf}, "user_code": {strings.Repeat("B", 15<<10)}}, nil, 400},
		{"no CSRF token", "POST", "/device/decide", url.Values{"user_code": {"BCDF-GHJK"}, "decision": {"approve"}}, nil, 403},
		{"cross-site", "POST", "/device/decide", url.Values{"csrf_token": {csrf}, "user_code": {"BCDF-GHJK"}, "decision": {"approve"}},
			http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}, 403},
		{"an unknown decision", "POST", "/device/decide", url.Values{"csrf_token": {csrf}, "user_code": {"BCDF-GHJK"}, "decision": {"maybe"}}, nil, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			ct := ""
			if c.form != nil {
				body, ct = strings.NewReader(c.form.Encode()), "application/x-www-form-urlencoded"
			}
			status, out, _ := b.send(c.method, c.path, ct, body, c.header)
			if status != c.status || strings.Contains(out, "BCDF\x00") {
				t.Fatalf("%d, want %d: %.300s", status, c.status, out)
			}
		})
	}
	if n := l.count(`SELECT count(*) FROM device_sessions WHERE kind <> 'browser'`); n != 0 {
		t.Fatalf("%d device sessions from forged posts", n)
	}

	// A device name made to mislead reaches the page cleaned and short.
	app := l.deviceApp("codex-cli")
	da := app.start("Codex CLI on \u202Eevil\u200B " + strings.Repeat("x", 200))
	resp, body := b.deviceDecision(da.UserCode, "deny")
	resp.Body.Close()
	if strings.Contains(body, "\u202E") || strings.Contains(body, "\u200B") || strings.Contains(body, strings.Repeat("x", 60)) ||
		!strings.Contains(body, "“Codex CLI on evil "+strings.Repeat("x", 46)+"”") {
		t.Fatalf("device name on the page: %.2000s", body)
	}

	// Another client cannot collect this client's tokens.
	mine := l.deviceApp("codex-cli")
	da = mine.start("")
	b.deviceDecision(da.UserCode, "approve")
	status, out := postDevice(t, l.url+"/oauth/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"device_code": {da.DeviceCode}, "client_id": {"other-cli"}})
	if status != 400 || !strings.Contains(out, `"invalid_grant"`) {
		t.Fatalf("another client's device code: %d %s", status, out)
	}
	if res := waitPolled(t, mine.poll(da)); res.err != nil {
		t.Fatalf("the rightful client after another client tried: %v", res.err)
	}

	// A flood from one address: --authorize-rate-limit requests a minute,
	// each a stored row, then 429.
	before := l.count(`SELECT count(*) FROM device_authorizations`)
	var statuses []int
	for range 8 {
		status, _ := postDevice(t, l.url+endpoint, url.Values{"client_id": {"codex-cli"}})
		statuses = append(statuses, status)
	}
	if statuses[len(statuses)-1] != http.StatusTooManyRequests {
		t.Fatalf("a flood of device authorizations: %v", statuses)
	}
	if n := l.count(`SELECT count(*) FROM device_authorizations`) - before; n > 5 {
		t.Fatalf("%d rows stored by the flood", n)
	}
}

// TestDeviceNativeApp: a desktop app (kind: native) that also takes the
// device grant signs in as a session of kind "native".
func TestDeviceNativeApp(t *testing.T) {
	t.Parallel()
	clients := testClients + `  - id: tv
    app: Alpha TV
    kind: native
    grant_types: [authorization_code, device_code]
    redirect_uris: [http://127.0.0.1/callback]
    first_party: true
    device_name: Alpha TV
`
	l := startLatch(t, func(c *Config) {
		c.DevicePollInterval = time.Second
		c.ClientsFile = writeFile(t, "clients.yaml", clients)
	})
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	_, sid := l.deviceApp("tv").signIn(b, "living room")
	for _, s := range apiSessions(t, b) {
		if s.ID == sid {
			if s.Kind != "native" || s.Device != "Alpha TV on living room" {
				t.Fatalf("native sign-in listed as %+v", s)
			}
			return
		}
	}
	t.Fatal("the native app's session is not listed")
}

// pollOnce polls the token endpoint once for c's device code, as a raw
// request, and returns the status and the OAuth error code ("" for
// tokens).
func (c *deviceApp) pollOnce(da *oauth2.DeviceAuthResponse) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.l.url+"/oauth/token", strings.NewReader(url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da.DeviceCode},
		"client_id": {c.oauth.ClientID}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Transport: headerTransport{c.header, http.DefaultTransport}}).Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	var e struct {
		Error       string `json:"error"`
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal([]byte(page(c.t, resp)), &e)
	if resp.StatusCode == http.StatusOK && e.AccessToken == "" {
		c.t.Fatalf("200 without an access token")
	}
	return resp.StatusCode, e.Error
}

// cliSession returns the id of the one live session of kind cli the
// sessions API lists for b, or "".
func cliSession(t *testing.T, b *browser) apiSession {
	t.Helper()
	var found apiSession
	for _, s := range apiSessions(t, b) {
		if s.Kind == "cli" {
			if found.ID != "" {
				t.Fatalf("more than one CLI session: %s and %s", found.ID, s.ID)
			}
			found = s
		}
	}
	return found
}

// TestDeviceApprovedThenExpired: an approved device code collected after
// its 10 minutes answers expired_token and gives no tokens, and the
// session the approval signed in ends as expired (RFC 8628 §3.5) rather
// than staying listed with nothing: at that poll, or at the sweep when
// the device never comes back.
func TestDeviceApprovedThenExpired(t *testing.T) {
	t.Parallel()
	l := deviceLatch(t)
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	ended := func(sid string) bool {
		return l.count(`SELECT count(*) FROM device_sessions WHERE id = $1 AND end_reason = 'expired'`, sid) == 1
	}

	t.Run("polled late", func(t *testing.T) {
		c := l.deviceApp("codex-cli")
		da := c.start("slow-laptop")
		resp, _ := b.deviceDecision(da.UserCode, "approve")
		if body := page(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "is signed in") {
			t.Fatalf("approve: %d\n%.600s", resp.StatusCode, body)
		}
		sid := cliSession(t, b).ID
		if sid == "" {
			t.Fatal("the approval made no CLI session")
		}
		l.clock.Add(idp.DeviceCodeLifetime + time.Second)
		res := waitPolled(t, c.poll(da))
		if oauthErrorCode(res.err) != "expired_token" || res.tok != nil {
			t.Fatalf("an approved code polled after 10 minutes: %v, tokens %t (answers %v)", res.err, res.tok != nil, c.log.list())
		}
		if n := l.count(`SELECT count(*) FROM access_tokens WHERE client_id = 'codex-cli'`); n != 0 {
			t.Fatalf("%d access tokens written for an expired code", n)
		}
		if !ended(sid) {
			t.Fatal("the session of an expired approval is not ended as expired")
		}
		if s := cliSession(t, b); s.ID != "" {
			t.Fatalf("the session of an expired approval is still listed: %+v", s)
		}
		// Asked again, the same answer: never tokens, never a replay.
		if status, code := c.pollOnce(da); status != http.StatusBadRequest || code != "expired_token" {
			t.Fatalf("polled again: %d %s", status, code)
		}
	})

	t.Run("never polled", func(t *testing.T) {
		c := l.deviceApp("codex-cli")
		da := c.start("gone-laptop")
		b.deviceDecision(da.UserCode, "approve")
		sid := cliSession(t, b).ID
		if sid == "" {
			t.Fatal("the approval made no CLI session")
		}
		sweep := func() {
			if err := l.srv.Provider().Storage.Sweep(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		sweep()
		if ended(sid) {
			t.Fatal("the sweep ended the session of an approval still in time")
		}
		l.clock.Add(idp.DeviceCodeLifetime + time.Second)
		sweep()
		if !ended(sid) {
			t.Fatal("the sweep left the session of an expired approval live")
		}
		if s := cliSession(t, b); s.ID != "" {
			t.Fatalf("the session of an expired approval is still listed: %+v", s)
		}
		sweep() // again: nothing more to end, and no error
		if n := l.count(`SELECT count(*) FROM activity WHERE kind = 'session_ended' AND device_session_id = $1`, sid); n != 1 {
			t.Fatalf("%d session_ended records for one expired approval", n)
		}
		if status, code := c.pollOnce(da); status != http.StatusBadRequest || code != "expired_token" {
			t.Fatalf("polled after the sweep: %d %s", status, code)
		}
	})
}

// TestDeviceSessionPlace: a CLI session is where the device is, not where
// the person approved it. Its place is the request's until the device
// polls, then the polling address's: here a code asked for in London,
// approved on this computer, collected from Stockholm.
func TestDeviceSessionPlace(t *testing.T) {
	t.Parallel()
	l := deviceLatch(t, func(c *Config) {
		c.GeoIPDB = cityDB(t)
		c.TrustedProxies = []string{"127.0.0.1/32"}
	})
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	c := l.deviceApp("codex-cli")
	c.header.Set("X-Forwarded-For", "81.2.69.142")
	da := c.start("travel-laptop")
	resp, body := b.deviceDecision(da.UserCode, "approve")
	resp.Body.Close()
	if !strings.Contains(body, "London, England, United Kingdom") || !strings.Contains(body, "This computer") {
		t.Fatalf("the approval page does not show both places:\n%.3000s", body)
	}
	if s := cliSession(t, b); s.Location != "London, England, United Kingdom" {
		t.Fatalf("before the device polls, the CLI session is at %q, want the request's place", s.Location)
	}

	c.header.Set("X-Forwarded-For", "89.160.20.112")
	res := waitPolled(t, c.poll(da))
	if res.err != nil {
		t.Fatalf("device access token: %v", res.err)
	}
	s := cliSession(t, b)
	if s.ID != idTokenSid(t, res.tok) || s.Location != "Stockholm, Stockholm County, Sweden" {
		t.Fatalf("after polling from Stockholm the CLI session is %+v", s)
	}
	body = page(t, b.do("GET", "/account/sessions", nil))
	row := body[strings.Index(body, "Codex CLI on travel-laptop"):]
	if i := strings.Index(row, "</li>"); i > 0 {
		row = row[:i]
	}
	if !strings.Contains(row, `<span class="place">Stockholm, Stockholm County, Sweden</span>`) || strings.Contains(row, "London") {
		t.Fatalf("the sessions page shows the CLI session as:\n%s", row)
	}
}

// TestDeviceThirdPartyApp: approving a device request of an app that is
// not latch's own allows it, as the consent page does: the permission
// history records the grant (and a widening), the app is listed under
// Connected apps with its CLI session, and removing its access there
// signs it out: its refresh token answers invalid_grant, its app session
// ends, and an approved code not yet collected gives nothing.
func TestDeviceThirdPartyApp(t *testing.T) {
	t.Parallel()
	clients := testClients + `  - id: other-tool
    app: Other Tool
    kind: cli
    grant_types: [device_code]
    device_name: Other Tool
`
	l := deviceLatch(t, func(c *Config) { c.ClientsFile = writeFile(t, "clients.yaml", clients) })
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	consents := func(kind string) int {
		return l.count(`SELECT count(*) FROM activity WHERE kind = $1 AND detail->>'client_id' = 'other-tool'`, kind)
	}

	first := l.deviceApp("other-tool", "openid", "email", "offline_access")
	tok, sid := first.signIn(b, "ada-laptop")
	if consents("consent_granted") != 1 || consents("consent_widened") != 0 {
		t.Fatalf("after the first approval: %d grants, %d widenings", consents("consent_granted"), consents("consent_widened"))
	}
	// A first-party CLI leaves no consent.
	l.deviceApp("codex-cli").signIn(b, "")
	if n := l.count(`SELECT count(*) FROM consents WHERE client_id = 'codex-cli'`); n != 0 {
		t.Fatal("approving a first-party CLI recorded a consent")
	}
	// Asking for more is a widening, with what it added.
	second := l.deviceApp("other-tool", "openid", "email", "profile")
	second.signIn(b, "build-box")
	if n := l.count(`SELECT count(*) FROM activity WHERE kind = 'consent_widened' AND detail->>'client_id' = 'other-tool'
		AND detail->'added' = '["profile"]'::jsonb`); n != 1 {
		t.Fatalf("%d widenings adding profile", n)
	}
	body := page(t, b.do("GET", "/account/activity", nil))
	if !strings.Contains(body, "Allowed Other Tool") || !strings.Contains(body, "Allowed Other Tool more") {
		t.Fatalf("the activity page lacks the grants:\n%.3000s", body)
	}

	status, apps := connectedApps(t, l, withCookie(b, false))
	if status != 200 || len(apps) != 1 || apps[0]["client_id"] != "other-tool" || apps[0]["name"] != "Other Tool" {
		t.Fatalf("connected apps: %d %v", status, apps)
	}
	devices, _ := apps[0]["devices"].([]any)
	var listed bool
	for _, d := range devices {
		// Named after the app itself (its device_name), as native and
		// CLI clients are.
		if d := d.(map[string]any); d["session_id"] == sid && d["device"] == "Other Tool" {
			listed = true
		}
	}
	if !listed || len(devices) != 2 {
		t.Fatalf("the app's devices: %v, want 2 with the CLI session %s", devices, sid)
	}
	if body := page(t, b.do("GET", "/account/apps", nil)); !strings.Contains(body, "Other Tool") || !strings.Contains(body, "Remove access") {
		t.Fatalf("the connected apps page lacks the CLI app:\n%.2000s", body)
	}

	// Approved, not yet collected, when the person removes its access.
	third := l.deviceApp("other-tool", "openid", "email")
	pending := third.start("third")
	b.deviceDecision(pending.UserCode, "approve")
	code, out := apiCall(t, l, "POST", "/api/account/apps/other-tool/remove", "", withCookie(b, true))
	if code != 200 || out["signed_out"] != float64(3) {
		t.Fatalf("remove: %d %v", code, out)
	}
	if _, got := first.refreshAt(l.url, tok.RefreshToken); got != "invalid_grant" {
		t.Fatalf("refresh after the app's access was removed: %q", got)
	}
	if n := l.count(`SELECT count(*) FROM app_sessions WHERE device_session_id = $1 AND end_reason = 'access_removed'`, sid); n != 1 {
		t.Fatal("the CLI session's app was not signed out")
	}
	// The command-line session held that app alone: it ends with it
	// rather than stay listed, empty.
	if !l.isEnded(sid) || l.endReason(sid) != "access_removed" {
		t.Fatalf("the CLI session with no app left: ended %v (%q)", l.isEnded(sid), l.endReason(sid))
	}
	if status, code := third.pollOnce(pending); status != http.StatusBadRequest || code != "access_denied" {
		t.Fatalf("an approved code collected after the removal: %d %q", status, code)
	}
	if status, apps := connectedApps(t, l, withCookie(b, false)); status != 200 || len(apps) != 0 {
		t.Fatalf("connected apps after the removal: %d %v", status, apps)
	}
}

// TestDeviceRepeatedParameters: a parameter given twice at the device
// authorization endpoint or in a poll is invalid_request (RFC 6749 §3.1,
// §3.2), never read as its first value: no code is issued, and a pending
// code's poll changes nothing.
func TestDeviceRepeatedParameters(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	before := l.count(`SELECT count(*) FROM device_authorizations`)
	for _, form := range []string{
		"client_id=codex-cli&client_id=codex-cli",
		"client_id=codex-cli&client_id=desktop",
		"client_id=codex-cli&scope=openid&scope=openid+profile",
		"client_id=codex-cli&device_name=ada-laptop&device_name=evil-box",
	} {
		status, body := postDevice(t, l.url+"/oauth/device_authorization", mustParse(form))
		if status != http.StatusBadRequest || !strings.Contains(body, `"error":"invalid_request"`) || !strings.Contains(body, "more than once") {
			t.Errorf("device authorization %s: %d %s", form, status, body)
		}
	}
	if n := l.count(`SELECT count(*) FROM device_authorizations`); n != before {
		t.Fatalf("%d device authorizations stored from repeated parameters", n-before)
	}

	da := l.deviceApp("codex-cli").start("")
	grant := "urn:ietf:params:oauth:grant-type:device_code"
	for name, form := range map[string]url.Values{
		"two grant types":      {"grant_type": {grant, "authorization_code"}, "device_code": {da.DeviceCode}, "client_id": {"codex-cli"}},
		"one grant type twice": {"grant_type": {grant, grant}, "device_code": {da.DeviceCode}, "client_id": {"codex-cli"}},
		"two device codes":     {"grant_type": {grant}, "device_code": {da.DeviceCode, "another"}, "client_id": {"codex-cli"}},
		"client_id twice":      {"grant_type": {grant}, "device_code": {da.DeviceCode}, "client_id": {"codex-cli", "codex-cli"}},
	} {
		status, body := postDevice(t, l.url+"/oauth/token", form)
		if status != http.StatusBadRequest || !strings.Contains(body, `"error":"invalid_request"`) || !strings.Contains(body, "more than once") {
			t.Errorf("a poll with %s: %d %s", name, status, body)
		}
	}
	// None of those was answered as a poll: the code was never polled.
	if n := l.count(`SELECT count(*) FROM device_authorizations WHERE device_code_hash = $1 AND last_polled_at = created_at`,
		sha256Bytes(da.DeviceCode)); n != 1 {
		t.Fatal("a poll with a repeated parameter was answered as a poll")
	}
	status, body := postDevice(t, l.url+"/oauth/token", url.Values{"grant_type": {grant}, "device_code": {da.DeviceCode}, "client_id": {"codex-cli"}})
	if status != http.StatusBadRequest || !(strings.Contains(body, `"authorization_pending"`) || strings.Contains(body, `"slow_down"`)) {
		t.Fatalf("the same poll, each parameter once: %d %s", status, body)
	}
}

// TestCLISessionEndsWithItsApp: a command-line session is its app. Signed
// out of that app, from the sessions API or by a reused refresh token, the
// session ends too rather than stay listed and live holding nothing.
func TestCLISessionEndsWithItsApp(t *testing.T) {
	t.Parallel()
	l := deviceLatch(t)
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	c := l.deviceApp("codex-cli")

	// Signed out of its app from the sessions API.
	_, sid := c.signIn(b, "ada-laptop")
	var appID string
	for _, s := range apiSessions(t, b) {
		if s.ID == sid && len(s.Apps) == 1 {
			appID = s.Apps[0].ID
		}
	}
	if code, out := apiCall(t, l, "POST", "/api/account/sessions/"+sid+"/apps/"+appID+"/end", "", withCookie(b, true)); code != 200 {
		t.Fatalf("signing the CLI out of its app: %d %v", code, out)
	}
	if !l.isEnded(sid) {
		t.Fatal("the CLI session outlived its one app")
	}

	// A reused refresh token ends its app session, and so the session.
	tok, sid2 := c.signIn(b, "ada-desktop")
	if _, e := c.refreshAt(l.url, tok.RefreshToken); e != "" {
		t.Fatalf("first refresh: %q", e)
	}
	if _, e := c.refreshAt(l.url, tok.RefreshToken); e != "invalid_grant" {
		t.Fatalf("a reused refresh token: %q, want invalid_grant", e)
	}
	if !l.isEnded(sid2) {
		t.Fatal("the CLI session outlived its app, ended for a reused refresh token")
	}
}
