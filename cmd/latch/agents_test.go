package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latch-idp/latch/cmd/latch/demoapp"
	"github.com/latch-idp/latch/internal/browsertest"
)

// agentClients are two agents beside the test apps: "runner", which app-a,
// the public cli and codex-cli (a command-line tool signing in with a
// code) may start, with a secret, a refresh allowance and a back-channel
// logout URI (RECEIVER is replaced), and "reader", an opaque one that only
// app-b may start.
const agentClients = `  - id: runner
    app: Task runner
    kind: agent
    secret: runner-secret-0123456789
    allowed_scopes: [openid, files:read, pull_requests:write]
    scope_descriptions: {"files:read": read your files, "pull_requests:write": open pull requests}
    started_by: [app-a, cli, codex-cli]
    refresh_for: 2h
    backchannel_logout_uri: RECEIVER/runner-logout
  - id: reader
    app: Reader
    kind: agent
    secret: reader-secret-0123456789
    allowed_scopes: [files:read]
    started_by: [app-b]
    access_token: opaque
`

const (
	tokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange"
	accessTokenType    = "urn:ietf:params:oauth:token-type:access_token"
)

var agentScopes = []string{"files:read", "pull_requests:write"}

// startLatchWithAgents starts latch with the test apps and agentClients,
// the runner's logouts going to rcv.
func startLatchWithAgents(t testing.TB, opts ...func(*Config)) (*testLatch, *receiver) {
	t.Helper()
	rcv := newReceiver(t)
	clients := testClients + strings.ReplaceAll(agentClients, "RECEIVER", rcv.srv.URL)
	opts = append([]func(*Config){func(c *Config) { c.ClientsFile = writeFile(t, "clients.yaml", clients) }}, opts...)
	return startLatch(t, opts...), rcv
}

// agentApp is app-a asking for the scopes its agents may be given.
func (l *testLatch) agentApp() *rp {
	a := l.appA()
	a.oauth.Scopes = append(a.oauth.Scopes, agentScopes...)
	return a
}

// tokenCall posts a form to the token endpoint with HTTP Basic client
// authentication (none when secret is "-") and returns the status and the
// JSON answer.
func tokenCall(t testing.TB, base, path, clientID, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "-" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); resp.StatusCode != http.StatusRequestEntityTooLarge && cc != "no-store" {
		t.Errorf("%s answered with Cache-Control %q", path, cc)
	}
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// exchangeForm is a token exchange of subject for the agent.
func exchangeForm(subject, agent string, more ...string) url.Values {
	f := url.Values{"grant_type": {tokenExchangeGrant}, "subject_token": {subject},
		"subject_token_type": {accessTokenType}, "audience": {agent}}
	for i := 0; i+1 < len(more); i += 2 {
		f.Add(more[i], more[i+1])
	}
	return f
}

// startAgent exchanges app-a's token for the runner and fails the test
// unless latch answers with a token.
func startAgent(t testing.TB, l *testLatch, subject string, more ...string) map[string]any {
	t.Helper()
	code, out := tokenCall(t, l.url, "/oauth/token", "app-a", "alpha-secret-0123456789", exchangeForm(subject, "runner", more...))
	if code != http.StatusOK {
		t.Fatalf("exchange: %d %v", code, out)
	}
	return out
}

// wantError checks an OAuth error answer.
func wantError(t testing.TB, what string, code int, out map[string]any, status int, errCode string) {
	t.Helper()
	if code != status || out["error"] != errCode {
		t.Fatalf("%s: got %d %v, want %d %s", what, code, out, status, errCode)
	}
}

// introspectAs asks base's introspection endpoint about token as clientID.
func introspectAs(t testing.TB, base, clientID, secret, token string) map[string]any {
	t.Helper()
	code, out := tokenCall(t, base, "/oauth/introspect", clientID, secret, url.Values{"token": {token}})
	if code != http.StatusOK {
		t.Fatalf("introspection: %d %v", code, out)
	}
	return out
}

// agentClaims verifies an agent's JWT against latch's keys, as a resource
// server would, and returns its claims.
func agentClaims(t testing.TB, l *testLatch, raw string) map[string]any {
	t.Helper()
	v := oidc.NewVerifier(l.url, oidc.NewRemoteKeySet(t.Context(), l.url+"/keys"),
		&oidc.Config{ClientID: "runner", SupportedSigningAlgs: []string{"ES256"}, Now: l.clock.Now})
	tok, err := v.Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("the agent's token does not verify: %v", err)
	}
	var c map[string]any
	tok.Claims(&c)
	return c
}

func actSub(m map[string]any) string {
	act, _ := m["act"].(map[string]any)
	s, _ := act["sub"].(string)
	return s
}

// TestAgentTokenExchange: a first-party app exchanges the person's access
// token for a delegated token of an agent (RFC 8693): sub is the person,
// act the agent, scopes never wider than both the token's and the agent's
// allowance, only apps the agent names may start it, the agent's refresh
// token rotates and ends the agent when replayed, and introspection tells
// the starting app who acts.
func TestAgentTokenExchange(t *testing.T) {
	t.Parallel()
	l, _ := startLatchWithAgents(t)
	b := l.browser()
	person := b.signInFlow(l.agentApp())
	sub := person.id.Subject

	out := startAgent(t, l, person.AccessToken, "note", "cloud task 7f3")
	if out["issued_token_type"] != accessTokenType || out["token_type"] != "Bearer" || out["scope"] != "openid files:read pull_requests:write" {
		t.Fatalf("exchange answer %v", out)
	}
	if _, ok := out["refresh_token"].(string); !ok {
		t.Fatal("the runner's entry allows a refresh token; none came")
	}
	agentToken := out["access_token"].(string)
	claims := agentClaims(t, l, agentToken)
	if claims["sub"] != sub || actSub(claims) != "runner" || claims["client_id"] != "runner" ||
		claims["sid"] != person.claims.Sid || claims["scope"] != "openid files:read pull_requests:write" {
		t.Fatalf("agent token claims %v", claims)
	}

	// Introspection: the starting app learns who acts; an app that may not
	// start the agent learns nothing; the agent asks about its own token.
	in := introspectAs(t, l.url, "app-a", "alpha-secret-0123456789", agentToken)
	if in["active"] != true || in["sub"] != sub || actSub(in) != "runner" || in["client_id"] != "runner" {
		t.Fatalf("introspection by the starting app: %v", in)
	}
	if in := introspectAs(t, l.url, "outsider", "outsider-secret-0123456789", agentToken); in["active"] != false {
		t.Fatalf("introspection by an app that may not start the agent: %v", in)
	}
	if in := introspectAs(t, l.url, "runner", "runner-secret-0123456789", agentToken); in["active"] != true || actSub(in) != "runner" {
		t.Fatalf("introspection by the agent: %v", in)
	}
	if in := introspectAs(t, l.url, "app-a", "alpha-secret-0123456789", person.AccessToken); in["act"] != nil {
		t.Fatalf("the person's own token says someone acts: %v", in)
	}
	if code := l.agentApp().userinfo(agentToken); code != http.StatusOK {
		t.Fatalf("userinfo with the agent's token: %d", code)
	}

	// Narrowing is fine; anything wider is refused, never trimmed.
	out = startAgent(t, l, person.AccessToken, "scope", "files:read")
	if out["scope"] != "files:read" || agentClaims(t, l, out["access_token"].(string))["scope"] != "files:read" {
		t.Fatalf("narrowed exchange: %v", out)
	}
	// Without openid the agent's token is no OpenID token: userinfo
	// refuses it (403 insufficient_scope), as OpenID Connect Core §5.3 asks.
	if code := l.agentApp().userinfo(out["access_token"].(string)); code != http.StatusForbidden {
		t.Fatalf("userinfo with an agent's token without openid: %d, want 403", code)
	}
	for _, scope := range []string{"files:write", "email", "files:read sessions", "offline_access"} {
		code, out := tokenCall(t, l.url, "/oauth/token", "app-a", "alpha-secret-0123456789", exchangeForm(person.AccessToken, "runner", "scope", scope))
		wantError(t, "scope "+scope, code, out, http.StatusBadRequest, "invalid_scope")
	}
	// A subject token without the agent's scopes gives it nothing.
	plain := l.browser().signInFlow(l.appA())
	code, out := tokenCall(t, l.url, "/oauth/token", "app-a", "alpha-secret-0123456789", exchangeForm(plain.AccessToken, "runner", "scope", "files:read"))
	wantError(t, "a scope the subject token lacks", code, out, http.StatusBadRequest, "invalid_scope")

	// Only the apps the agent names may start it, each with its own token.
	other := l.browser().signInFlow(l.appB())
	code, out = tokenCall(t, l.url, "/oauth/token", "app-b", "beta-secret-0123456789", exchangeForm(other.AccessToken, "runner"))
	wantError(t, "an app the agent does not name", code, out, http.StatusBadRequest, "unauthorized_client")
	code, out = tokenCall(t, l.url, "/oauth/token", "outsider", "outsider-secret-0123456789", exchangeForm(person.AccessToken, "runner"))
	wantError(t, "a third-party app", code, out, http.StatusBadRequest, "unauthorized_client")
	code, out = tokenCall(t, l.url, "/oauth/token", "app-a", "alpha-secret-0123456789", exchangeForm(other.AccessToken, "runner"))
	wantError(t, "another app's token", code, out, http.StatusBadRequest, "invalid_request")
	code, out = tokenCall(t, l.url, "/oauth/token", "app-b", "beta-secret-0123456789", exchangeForm(person.AccessToken, "reader"))
	wantError(t, "another app's token for an agent it may start", code, out, http.StatusBadRequest, "invalid_request")

	// No chaining: an agent's token starts no agent, whoever presents it.
	code, out = tokenCall(t, l.url, "/oauth/token", "app-a", "alpha-secret-0123456789", exchangeForm(agentToken, "runner"))
	wantError(t, "an agent's token as subject", code, out, http.StatusBadRequest, "invalid_request")
	code, out = tokenCall(t, l.url, "/oauth/token", "runner", "runner-secret-0123456789", exchangeForm(agentToken, "runner"))
	wantError(t, "the agent exchanging its own token", code, out, http.StatusBadRequest, "unauthorized_client")

	// The agent refreshes with its own credentials (x/oauth2), gets a token
	// that still says who acts, and a replayed refresh token ends it.
	runner := oauth2.Config{ClientID: "runner", ClientSecret: "runner-secret-0123456789",
		Endpoint: oauth2.Endpoint{TokenURL: l.url + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}}
	first := startAgent(t, l, person.AccessToken)["refresh_token"].(string)
	fresh, err := runner.TokenSource(t.Context(), &oauth2.Token{RefreshToken: first}).Token()
	if err != nil {
		t.Fatalf("the agent's refresh: %v", err)
	}
	if c := agentClaims(t, l, fresh.AccessToken); actSub(c) != "runner" || c["sub"] != sub {
		t.Fatalf("refreshed agent token claims %v", c)
	}
	if _, ok := fresh.Extra("id_token").(string); ok {
		t.Fatal("an agent's refresh returned an ID token: nobody signed in to the agent")
	}
	if _, err := l.appA().refresh(fresh.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("app-a used the agent's refresh token: %v", err)
	}
	_, err = runner.TokenSource(t.Context(), &oauth2.Token{RefreshToken: first}).Token()
	if oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("replayed refresh token: %v", err)
	}
	if in := introspectAs(t, l.url, "app-a", "alpha-secret-0123456789", fresh.AccessToken); in["active"] != false {
		t.Fatal("the agent lives on after its refresh token was replayed")
	}
	// The person's own session is untouched, and the app may start the
	// agent again.
	if code := l.appA().userinfo(person.AccessToken); code != http.StatusOK {
		t.Fatalf("the person's token after the agent ended: %d", code)
	}
	startAgent(t, l, person.AccessToken)

	// An opaque agent: act shows only through introspection.
	code, out = tokenCall(t, l.url, "/oauth/token", "app-b", "beta-secret-0123456789",
		exchangeForm(l.browser().signInFlow(withScopes(l.appB(), "files:read")).AccessToken, "reader"))
	if code != http.StatusOK || out["refresh_token"] != nil || strings.Count(out["access_token"].(string), ".") == 2 {
		t.Fatalf("opaque agent: %d %v", code, out)
	}
	if in := introspectAs(t, l.url, "app-b", "beta-secret-0123456789", out["access_token"].(string)); in["active"] != true || actSub(in) != "reader" {
		t.Fatalf("introspection of an opaque agent token: %v", in)
	}

	// Discovery lists the grant.
	var doc struct {
		Grants []string `json:"grant_types_supported"`
	}
	r, _ := http.Get(l.url + "/.well-known/openid-configuration")
	json.NewDecoder(r.Body).Decode(&doc)
	r.Body.Close()
	if !slices.Contains(doc.Grants, tokenExchangeGrant) {
		t.Fatalf("discovery grants %v", doc.Grants)
	}
}

func withScopes(r *rp, scopes ...string) *rp {
	r.oauth.Scopes = append(r.oauth.Scopes, scopes...)
	return r
}

// TestAgentLifetime: an agent's token lives no longer than the device
// session of the token it was exchanged for, nor its refresh token past
// the session's absolute end; once the session has ended, by expiry or
// sign-out, the exchange and the agent's refresh fail.
func TestAgentLifetime(t *testing.T) {
	t.Parallel()
	l, _ := startLatchWithAgents(t, func(c *Config) {
		c.SessionIdle = 3 * time.Minute
		c.SessionAbsolute = time.Hour
	})
	b := l.browser()
	person := b.signInFlow(l.agentApp())
	out := startAgent(t, l, person.AccessToken)
	if exp := out["expires_in"].(float64); exp > 180 || exp < 170 {
		t.Fatalf("the agent's token lives %v s; its session has 180 s left", exp)
	}
	in := introspectAs(t, l.url, "app-a", "alpha-secret-0123456789", out["access_token"].(string))
	if exp := int64(in["exp"].(float64)); exp > l.clock.Now().Add(3*time.Minute).Unix() {
		t.Fatalf("introspected exp %d is past the session's end", exp)
	}
	var refreshEnd time.Time
	l.db.Pool.QueryRow(t.Context(), `SELECT max(expires_at) FROM refresh_tokens WHERE client_id = 'runner'`).Scan(&refreshEnd)
	if refreshEnd.IsZero() || refreshEnd.After(l.clock.Now().Add(time.Hour)) {
		t.Fatalf("the agent's refresh token ends %v, past the session's absolute end", refreshEnd)
	}

	// Idle past the end: the session is gone, and with it the agent.
	l.clock.Add(4 * time.Minute)
	code, res := tokenCall(t, l.url, "/oauth/token", "runner", "runner-secret-0123456789",
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {out["refresh_token"].(string)}})
	wantError(t, "the agent's refresh after its session expired", code, res, http.StatusBadRequest, "invalid_grant")
	code, res = tokenCall(t, l.url, "/oauth/token", "app-a", "alpha-secret-0123456789", exchangeForm(person.AccessToken, "runner"))
	wantError(t, "an exchange after the session expired", code, res, http.StatusBadRequest, "invalid_request")

	// Signed out: a token of the ended session starts nothing.
	b2 := l.browser()
	p2 := b2.signInFlow(l.agentApp())
	b2.post("/account", "/logout", nil).Body.Close()
	code, res = tokenCall(t, l.url, "/oauth/token", "app-a", "alpha-secret-0123456789", exchangeForm(p2.AccessToken, "runner"))
	wantError(t, "an exchange after sign-out", code, res, http.StatusBadRequest, "invalid_request")
}

// TestAgentCascade: ending the device session an agent was started from
// ends the agent in the same transaction: another replica calls its token
// inactive, its refresh is invalid_grant, and its client gets a
// back-channel logout. Stopping one agent leaves the session and the other
// agents alone.
func TestAgentCascade(t *testing.T) {
	t.Parallel()
	l, rcv := startLatchWithAgents(t)
	replica := l.replica()
	b := l.browser()
	person := b.signInFlow(l.agentApp())
	out := startAgent(t, l, person.AccessToken)
	agentToken, agentRefresh := out["access_token"].(string), out["refresh_token"].(string)
	// The replica has checked the token, so it holds it in its cache.
	for range 2 {
		if in := introspectAs(t, replica.base, "app-a", "alpha-secret-0123456789", agentToken); in["active"] != true {
			t.Fatalf("replica: %v", in)
		}
	}

	other := l.browser()
	other.signInPassword(l.email, testPassword).Body.Close()
	code, res := apiCall(t, l, "POST", "/api/account/sessions/"+person.claims.Sid+"/end", "", withCookie(other, true))
	if code != http.StatusOK {
		t.Fatalf("end the session: %d %v", code, res)
	}
	// The end reaches the other replica, which had the token in its cache,
	// within the promised second.
	eventually(t, time.Second, func() bool {
		return introspectAs(t, replica.base, "app-a", "alpha-secret-0123456789", agentToken)["active"] == false
	}, "the other replica still calls the agent's token active a second after its session ended")
	code, res = tokenCall(t, replica.base, "/oauth/token", "runner", "runner-secret-0123456789",
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {agentRefresh}})
	wantError(t, "the agent's refresh after its session ended", code, res, http.StatusBadRequest, "invalid_grant")
	var raw string
	select {
	case raw = <-rcv.got:
	case <-time.After(10 * time.Second):
		t.Fatal("the agent got no back-channel logout")
	}
	lt, err := oidc.NewVerifier(l.url, oidc.NewRemoteKeySet(t.Context(), l.url+"/keys"),
		&oidc.Config{ClientID: "runner", SupportedSigningAlgs: []string{"ES256"}, Now: l.clock.Now}).Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("logout token: %v", err)
	}
	var lc struct {
		Sid string `json:"sid"`
	}
	lt.Claims(&lc)
	if lc.Sid != person.claims.Sid || lt.Subject != person.id.Subject {
		t.Fatalf("logout token for sid %s sub %s", lc.Sid, lt.Subject)
	}
	if code, res := apiCall(t, l, "GET", "/api/account/agents", "", withCookie(other, false)); code != 200 || len(res["agents"].([]any)) != 0 {
		t.Fatalf("agents after the cascade: %d %v", code, res)
	}

	// Stopping one agent ends only it.
	b2 := l.browser()
	p2 := b2.signInFlow(l.agentApp())
	a1 := startAgent(t, l, p2.AccessToken)["access_token"].(string)
	cliTok := b2.signInFlow(withScopes(l.rp("cli", "", "http://127.0.0.1:47003/callback"), agentScopes...), oauth2.SetAuthURLParam("prompt", "none"))
	code, res = tokenCall(t, l.url, "/oauth/token", "cli", "-", url.Values{"client_id": {"cli"}, "grant_type": {tokenExchangeGrant},
		"subject_token": {cliTok.AccessToken}, "subject_token_type": {accessTokenType}, "resource": {"runner"}})
	if code != http.StatusOK {
		t.Fatalf("the public cli starts the runner: %d %v", code, res)
	}
	code, res = apiCall(t, l, "GET", "/api/account/agents", "", withCookie(b2, false))
	agents, _ := res["agents"].([]any)
	if code != 200 || len(agents) != 1 {
		// One agent per device session: the cli's exchange renewed it.
		t.Fatalf("agents: %d %v", code, res)
	}
	g := agents[0].(map[string]any)
	if g["started_by"].(map[string]any)["client_id"] != "cli" || g["session_id"] != p2.claims.Sid {
		t.Fatalf("renewed agent %v", g)
	}
	if code, _ := apiCall(t, l, "POST", "/api/account/agents/"+g["id"].(string)+"/end", "", withCookie(b2, true)); code != 200 {
		t.Fatalf("stop the agent: %d", code)
	}
	if in := introspectAs(t, l.url, "app-a", "alpha-secret-0123456789", a1); in["active"] != false {
		t.Fatal("a stopped agent's token is still active")
	}
	select {
	case raw = <-rcv.got:
	case <-time.After(10 * time.Second):
		t.Fatal("the stopped agent got no back-channel logout")
	}
	if lt, err := oidc.NewVerifier(l.url, oidc.NewRemoteKeySet(t.Context(), l.url+"/keys"),
		&oidc.Config{ClientID: "runner", SupportedSigningAlgs: []string{"ES256"}, Now: l.clock.Now}).Verify(t.Context(), raw); err != nil {
		t.Fatalf("logout token of the stopped agent: %v", err)
	} else if lt.Claims(&lc); lc.Sid != p2.claims.Sid {
		t.Fatalf("the stopped agent's logout names sid %s", lc.Sid)
	}
	if code := l.appA().userinfo(p2.AccessToken); code != http.StatusOK || !signedInAt(t, l.url, "/account", b2.session()) {
		t.Fatal("stopping an agent ended the session it was started from")
	}
	var recorded int
	l.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM activity WHERE kind = 'agent_ended'`).Scan(&recorded)
	if recorded != 1 {
		t.Fatalf("%d agent_ended events", recorded)
	}
}

// TestAgentFromCLI: a command-line tool (kind: cli) signs in with a code
// for a scope of an agent it may start, exchanges its access token for the
// agent's, which says who acts and lives in the CLI's session: the agent is
// listed under that session, and ending the session (sessions API) ends the
// agent: introspection inactive, refresh invalid_grant.
func TestAgentFromCLI(t *testing.T) {
	t.Parallel()
	l, _ := startLatchWithAgents(t, func(c *Config) { c.DevicePollInterval = time.Second })
	followWallClock(t, l.clock)
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()

	// A scope of no agent the tool may start is refused at once.
	for _, scope := range []string{"openid files:write", "openid admin"} {
		form := url.Values{"client_id": {"codex-cli"}, "scope": {scope}}
		if status, body := postDevice(t, l.url+"/oauth/device_authorization", form); status != 400 || !strings.Contains(body, `"invalid_scope"`) {
			t.Fatalf("device authorization for %q: %d %s", scope, status, body)
		}
	}
	cli := l.deviceApp("codex-cli", "openid", "offline_access", "files:read")
	cli.header.Set("User-Agent", "codex-cli/0.1 (linux; amd64)")
	// The approval page says what the tool's agents may then do.
	da := cli.start("ada-laptop")
	resp, approval := b.deviceDecision(da.UserCode, "approve")
	if resp.Body.Close(); !strings.Contains(approval, "Start agents that act for you and may read your files") {
		t.Fatalf("the approval page does not say the tool may start agents:\n%s", approval)
	}
	res := waitPolled(t, cli.poll(da))
	if res.err != nil {
		t.Fatalf("device access token: %v", res.err)
	}
	tok, sid := res.tok, idTokenSid(t, res.tok)
	if scope, _ := tok.Extra("scope").(string); !slices.Contains(strings.Fields(scope), "files:read") {
		t.Fatalf("the CLI's token holds %q, without files:read", scope)
	}

	// An advanced account is alerted, with the CLI's session named as the
	// sessions page names it.
	acct, _ := l.srv.Accounts().ByEmail(t.Context(), l.email)
	if _, err := l.db.Pool.Exec(t.Context(), `UPDATE accounts SET security_mode = 'advanced' WHERE id = $1`, acct.ID); err != nil {
		t.Fatal(err)
	}
	code, out := tokenCall(t, l.url, "/oauth/token", "codex-cli", "-", url.Values{"client_id": {"codex-cli"},
		"grant_type": {tokenExchangeGrant}, "subject_token": {tok.AccessToken}, "subject_token_type": {accessTokenType},
		"audience": {"runner"}, "scope": {"files:read"}})
	if code != http.StatusOK || out["scope"] != "files:read" {
		t.Fatalf("the CLI starts the runner: %d %v", code, out)
	}
	agentToken, agentRefresh := out["access_token"].(string), out["refresh_token"].(string)
	if c := agentClaims(t, l, agentToken); actSub(c) != "runner" || c["sid"] != sid || c["scope"] != "files:read" {
		t.Fatalf("the agent's token claims %v", c)
	}
	var alert string
	l.db.Pool.QueryRow(t.Context(), `SELECT text_body FROM outbox WHERE subject = 'An agent is acting for you: Task runner'`).Scan(&alert)
	if !strings.Contains(alert, "until you sign out of Codex CLI on ada-laptop · Linux.") || strings.Contains(alert, "Codex CLI on Codex CLI") {
		t.Fatalf("the alert names the CLI's session wrongly:\n%s", alert)
	}
	if _, err := l.db.Pool.Exec(t.Context(), `UPDATE accounts SET security_mode = 'standard' WHERE id = $1`, acct.ID); err != nil {
		t.Fatal(err)
	}
	code, api := apiCall(t, l, "GET", "/api/account/agents", "", withCookie(b, false))
	agents, _ := api["agents"].([]any)
	if code != 200 || len(agents) != 1 {
		t.Fatalf("agents: %d %v", code, api)
	}
	g := agents[0].(map[string]any)
	if g["session_id"] != sid || g["started_by"].(map[string]any)["client_id"] != "codex-cli" {
		t.Fatalf("the agent is not listed under the CLI's session: %v", g)
	}
	// The CLI's session's name names the app already: it is not said twice.
	if sm := g["summary"].(string); !strings.HasSuffix(sm, ", started from Codex CLI on ada-laptop · Linux, may read your files") {
		t.Fatalf("summary %q", sm)
	}
	// A name the person gives the device is the one the line uses.
	if code, res := apiCall(t, l, "POST", "/api/account/sessions/"+sid+"/rename", `{"name": "build box"}`, withCookie(b, true)); code != 200 {
		t.Fatalf("rename the CLI's session: %d %v", code, res)
	}
	_, api = apiCall(t, l, "GET", "/api/account/agents", "", withCookie(b, false))
	if sm := api["agents"].([]any)[0].(map[string]any)["summary"].(string); !strings.HasSuffix(sm, ", started from Codex CLI on build box, may read your files") {
		t.Fatalf("summary once the device is named: %q", sm)
	}

	// Ending the CLI's session ends the agent.
	if code, res := apiCall(t, l, "POST", "/api/account/sessions/"+sid+"/end", "", withCookie(b, true)); code != http.StatusOK {
		t.Fatalf("end the CLI's session: %d %v", code, res)
	}
	if in := introspectAs(t, l.url, "runner", "runner-secret-0123456789", agentToken); in["active"] != false {
		t.Fatalf("the agent's token after its CLI session ended: %v", in)
	}
	code, out = tokenCall(t, l.url, "/oauth/token", "runner", "runner-secret-0123456789",
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {agentRefresh}})
	wantError(t, "the agent's refresh after its CLI session ended", code, out, http.StatusBadRequest, "invalid_grant")
	if code, res := apiCall(t, l, "GET", "/api/account/agents", "", withCookie(b, false)); code != 200 || len(res["agents"].([]any)) != 0 {
		t.Fatalf("agents after the CLI's session ended: %d %v", code, res)
	}
}

// TestAgentsAPI: the agents in the JSON API, with the sessions API's
// authentication; another account's agent, an unknown or malformed id and
// a stopped agent answer 404 and change nothing.
func TestAgentsAPI(t *testing.T) {
	t.Parallel()
	l, _ := startLatchWithAgents(t)
	if _, err := l.srv.Accounts().Create(t.Context(), "eve@example.com", "Eve", testPassword); err != nil {
		t.Fatal(err)
	}
	me := l.browser()
	mine := me.signInFlow(l.agentApp())
	myAgent := startAgent(t, l, mine.AccessToken, "note", "cloud task 7f3\u202e")["access_token"].(string)
	eve := l.browser()
	eveApp := l.agentApp()
	f := eveApp.newFlow()
	resp := eve.do("GET", f.url, nil)
	resp = eve.signIn(resp, "eve@example.com", testPassword)
	eveTok := eveApp.mustExchange(eveApp.callback(resp, f), f)
	eveAgent := startAgent(t, l, eveTok.AccessToken)["access_token"].(string)
	code, res := apiCall(t, l, "GET", "/api/account/agents", "", withCookie(eve, false))
	if code != 200 {
		t.Fatalf("eve's list: %d %v", code, res)
	}
	eveID := res["agents"].([]any)[0].(map[string]any)["id"].(string)

	code, res = apiCall(t, l, "GET", "/api/account/agents", "", withCookie(me, false))
	agents, _ := res["agents"].([]any)
	if code != 200 || len(agents) != 1 {
		t.Fatalf("list: %d %v", code, res)
	}
	g := agents[0].(map[string]any)
	if g["name"] != "Task runner" || g["note"] != "cloud task 7f3" || g["may"] != "read your files and open pull requests" ||
		!strings.HasPrefix(g["summary"].(string), "Task runner — acting for you since ") ||
		!strings.HasSuffix(g["summary"].(string), ", started from Alpha on Chrome on Linux, may read your files and open pull requests") {
		t.Fatalf("agent entry %v", g)
	}
	myID := g["id"].(string)
	// An agent is no app signed in on its device: the sessions API's "end
	// one app" does not know it, and it acts on.
	if code, res := apiCall(t, l, "POST", "/api/account/sessions/"+mine.claims.Sid+"/apps/"+myID+"/end", "", withCookie(me, true)); code != http.StatusNotFound {
		t.Fatalf("ending an agent as an app: %d %v", code, res)
	}
	if in := introspectAs(t, l.url, "app-a", "alpha-secret-0123456789", myAgent); in["active"] != true {
		t.Fatal("ending an agent as an app stopped it")
	}
	// A name the person gave the device is the one the line uses.
	if code, res := apiCall(t, l, "POST", "/api/account/sessions/"+mine.claims.Sid+"/rename", `{"name": "Work laptop"}`, withCookie(me, true)); code != 200 {
		t.Fatalf("rename: %d %v", code, res)
	}
	_, res = apiCall(t, l, "GET", "/api/account/agents", "", withCookie(me, false))
	if sm := res["agents"].([]any)[0].(map[string]any)["summary"].(string); !strings.HasSuffix(sm, ", started from Alpha on Work laptop, may read your files and open pull requests") {
		t.Fatalf("summary once the device is named: %q", sm)
	}

	for _, id := range []string{eveID, "00000000-0000-0000-0000-000000000000", "not-an-id", strings.ToUpper(eveID)} {
		if code, _ := apiCall(t, l, "POST", "/api/account/agents/"+id+"/end", "", withCookie(me, true)); code != http.StatusNotFound {
			t.Fatalf("end %q: %d", id, code)
		}
	}
	// The request guard refuses a NUL before any handler sees it.
	if code, _ := apiCall(t, l, "POST", "/api/account/agents/%00/end", "", withCookie(me, true)); code != http.StatusBadRequest {
		t.Fatalf("a NUL id: %d", code)
	}
	if code, _ := apiCall(t, l, "POST", "/api/account/agents/"+myID+"/end", "", withCookie(me, false)); code != http.StatusForbidden {
		t.Fatalf("CSRF-less POST: %d", code)
	}
	if code, _ := apiCall(t, l, "GET", "/api/account/agents", "", withBearer(mine.AccessToken)); code != http.StatusForbidden {
		t.Fatalf("a token without scope sessions: %d", code)
	}
	// An agent's token never manages the person's sessions or agents.
	for _, path := range []string{"/api/account/agents", "/api/account/sessions"} {
		if code, _ := apiCall(t, l, "GET", path, "", withBearer(eveAgent)); code != http.StatusForbidden {
			t.Fatalf("an agent's token at %s: %d", path, code)
		}
	}
	if in := introspectAs(t, l.url, "app-a", "alpha-secret-0123456789", eveAgent); in["active"] != true {
		t.Fatal("a refused request stopped another account's agent")
	}
	// A first-party token with scope sessions may stop them all.
	app := withScopes(l.appA(), "sessions")
	tok := me.signInFlow(app, oauth2.SetAuthURLParam("prompt", "none"))
	code, res = apiCall(t, l, "POST", "/api/account/agents/end", "", withBearer(tok.AccessToken))
	if code != 200 || res["ended"] != float64(1) {
		t.Fatalf("stop all: %d %v", code, res)
	}
	if code, _ := apiCall(t, l, "POST", "/api/account/agents/"+myID+"/end", "", withCookie(me, true)); code != http.StatusNotFound {
		t.Fatalf("stopping a stopped agent: %d", code)
	}
	if in := introspectAs(t, l.url, "app-a", "alpha-secret-0123456789", eveAgent); in["active"] != true {
		t.Fatal("stopping all my agents stopped another account's")
	}
	var started int
	l.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM activity WHERE kind = 'agent_started'`).Scan(&started)
	if started != 2 {
		t.Fatalf("%d agent_started events, want one per account", started)
	}
}

// TestAgentLastActed: an agent's last activity, in the agents API, is its
// start, then its last refresh or introspection, written at most once a
// minute.
func TestAgentLastActed(t *testing.T) {
	t.Parallel()
	l, _ := startLatchWithAgents(t)
	b := l.browser()
	person := b.signInFlow(l.agentApp())
	out := startAgent(t, l, person.AccessToken)
	lastActed := func() time.Time {
		t.Helper()
		code, res := apiCall(t, l, "GET", "/api/account/agents", "", withCookie(b, false))
		agents, _ := res["agents"].([]any)
		if code != 200 || len(agents) != 1 {
			t.Fatalf("agents: %d %v", code, res)
		}
		at, err := time.Parse(time.RFC3339Nano, agents[0].(map[string]any)["last_acted_at"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	near := func(a, b time.Time) bool { return a.Sub(b).Abs() < time.Millisecond }
	if got := lastActed(); !near(got, l.clock.Now()) {
		t.Fatalf("last acted %v right after the start at %v", got, l.clock.Now())
	}

	l.clock.Add(2 * time.Minute)
	code, res := tokenCall(t, l.url, "/oauth/token", "runner", "runner-secret-0123456789",
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {out["refresh_token"].(string)}})
	if code != http.StatusOK {
		t.Fatalf("the agent's refresh: %d %v", code, res)
	}
	if got := lastActed(); !near(got, l.clock.Now()) {
		t.Fatalf("last acted %v after a refresh at %v", got, l.clock.Now())
	}

	l.clock.Add(2 * time.Minute)
	if in := introspectAs(t, l.url, "app-a", "alpha-secret-0123456789", res["access_token"].(string)); in["active"] != true {
		t.Fatalf("introspection: %v", in)
	}
	introspected := l.clock.Now()
	if got := lastActed(); !near(got, introspected) {
		t.Fatalf("last acted %v after an introspection at %v", got, introspected)
	}
	// Within the minute, another introspection writes nothing.
	l.clock.Add(30 * time.Second)
	introspectAs(t, l.url, "runner", "runner-secret-0123456789", res["access_token"].(string))
	if got := lastActed(); !near(got, introspected) {
		t.Fatalf("last acted %v: an introspection within the minute wrote it", got)
	}
}

// TestAgentAdvanced: for an advanced account, starting an agent queues an
// alert in the exchange's transaction (a renewal does not alert again),
// and the agent lives no longer than the advanced session: its token not
// past the session's idle end, its refresh token not past its absolute
// end.
func TestAgentAdvanced(t *testing.T) {
	t.Parallel()
	l, _ := startLatchWithAgents(t, func(c *Config) {
		c.AdvancedSessionAbsolute = time.Hour // shorter than the runner's refresh_for
		c.AdvancedSessionIdle = 3 * time.Minute
	})
	acct, _ := l.srv.Accounts().ByEmail(t.Context(), l.email)
	if _, err := l.db.Pool.Exec(t.Context(), `UPDATE accounts SET security_mode = 'advanced' WHERE id = $1`, acct.ID); err != nil {
		t.Fatal(err)
	}
	// A passkey session of the advanced account (the sign-in ceremony is
	// tested elsewhere), and app-a signed in on it.
	_, secret, err := l.srv.Sessions().Create(t.Context(), sessionForTest(acct.ID))
	if err != nil {
		t.Fatal(err)
	}
	b := l.browser()
	u, _ := url.Parse(l.url)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "latch", Value: secret, Path: "/"}})
	person := b.signInFlow(l.agentApp(), oauth2.SetAuthURLParam("prompt", "none"))

	out := startAgent(t, l, person.AccessToken, "note", "cloud task 7f3")
	startAgent(t, l, person.AccessToken)
	var n int
	var text string
	l.db.Pool.QueryRow(t.Context(), `SELECT count(*), max(text_body) FROM outbox WHERE subject = 'An agent is acting for you: Task runner'`).Scan(&n, &text)
	if n != 1 || !strings.Contains(text, "Alpha started Task runner") || !strings.Contains(text, "read your files, open pull requests") ||
		!strings.Contains(text, "cloud task 7f3") {
		t.Fatalf("%d alerts:\n%s", n, text)
	}
	if exp := out["expires_in"].(float64); exp > 180 {
		t.Fatalf("the agent's token lives %v s; the advanced session has 180 s left", exp)
	}
	var refreshEnd time.Time
	l.db.Pool.QueryRow(t.Context(), `SELECT max(expires_at) FROM refresh_tokens WHERE client_id = 'runner'`).Scan(&refreshEnd)
	if refreshEnd.IsZero() || refreshEnd.After(l.clock.Now().Add(time.Hour)) {
		t.Fatalf("the agent's refresh token ends %v, past the advanced session's absolute end", refreshEnd)
	}
}

// TestAgentExchangeAbuse: what a hostile caller can send to the exchange:
// no or wrong client authentication, malformed, repeated, huge and NUL
// parameters, foreign, garbage and revoked tokens, and replays. Every
// answer is an RFC 6749 error, and nothing starts an agent.
func TestAgentExchangeAbuse(t *testing.T) {
	t.Parallel()
	l, _ := startLatchWithAgents(t)
	b := l.browser()
	person := b.signInFlow(l.agentApp())
	good := exchangeForm(person.AccessToken, "runner")
	call := func(f url.Values) (int, map[string]any) {
		return tokenCall(t, l.url, "/oauth/token", "app-a", "alpha-secret-0123456789", f)
	}
	with := func(k string, v ...string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = slices.Clone(vv)
		}
		if v == nil {
			delete(f, k)
		} else {
			f[k] = v
		}
		return f
	}
	for name, tc := range map[string]struct {
		form    url.Values
		status  int
		errCode string
	}{
		"no subject token":           {with("subject_token"), 400, "invalid_request"},
		"no subject token type":      {with("subject_token_type"), 400, "invalid_request"},
		"an ID token type":           {with("subject_token_type", "urn:ietf:params:oauth:token-type:id_token"), 400, "invalid_request"},
		"two subject tokens":         {with("subject_token", person.AccessToken, person.AccessToken), 400, "invalid_request"},
		"a garbage subject token":    {with("subject_token", "eyJhbGciOiJub25lIn0.e30."), 400, "invalid_request"},
		"a huge subject token":       {with("subject_token", strings.Repeat("A", 60<<10)), 400, "invalid_request"},
		"a refresh token as subject": {with("subject_token", person.RefreshToken), 400, "invalid_request"},
		"an actor token":             {with("actor_token", person.AccessToken), 400, "invalid_request"},
		"a refresh token requested":  {with("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"), 400, "invalid_request"},
		"no agent":                   {with("audience"), 400, "invalid_request"},
		"an unknown agent":           {with("audience", "nobody"), 400, "invalid_target"},
		"an app as audience":         {with("audience", "app-b"), 400, "invalid_target"},
		"two agents":                 {with("audience", "runner", "reader"), 400, "invalid_target"},
		"too many targets":           {with("audience", "runner", "runner", "runner", "runner", "runner"), 400, "invalid_target"},
		"a huge audience":            {with("audience", strings.Repeat("r", 10<<10)), 400, "invalid_target"},
		"a long note":                {with("note", strings.Repeat("n", 201)), 400, "invalid_request"},
		"a huge note":                {with("note", strings.Repeat("n", 50<<10)), 400, "invalid_request"},
		"a NUL in the note":          {with("note", "task\x00"), 400, "invalid_request"},
		"a NUL in the audience":      {with("audience", "runner\x00"), 400, "invalid_request"},
		"a malformed scope":          {with("scope", "files:read \"x\""), 400, "invalid_scope"},
		"too many scopes":            {with("scope", strings.Repeat("files:read ", 40)), 400, "invalid_scope"},
		"a body over 64 KiB":         {with("note", strings.Repeat("n", 70<<10)), 413, ""},
	} {
		code, out := call(tc.form)
		if code != tc.status || (tc.errCode != "" && out["error"] != tc.errCode) {
			t.Errorf("%s: %d %v, want %d %s", name, code, out, tc.status, tc.errCode)
		}
	}
	// Client authentication is as strict as for every grant.
	code, out := tokenCall(t, l.url, "/oauth/token", "app-a", "-", good)
	wantError(t, "no client authentication", code, out, 401, "invalid_client")
	code, out = tokenCall(t, l.url, "/oauth/token", "app-a", "wrong-secret-0123456789", good)
	wantError(t, "a wrong secret", code, out, 401, "invalid_client")
	code, out = tokenCall(t, l.url, "/oauth/token", "cli", "anything-0123456789", good)
	wantError(t, "a public client with a secret", code, out, 401, "invalid_client")
	var agents int
	l.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM agent_sessions`).Scan(&agents)
	if agents != 0 {
		t.Fatalf("refused exchanges started %d agents", agents)
	}

	// Replayed exchanges, also at once, renew the one agent session of the
	// device: they start no second agent and no second history entry.
	startAgent(t, l, person.AccessToken, "note", "one")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, out := call(exchangeForm(person.AccessToken, "runner")); code != http.StatusOK {
				t.Errorf("a concurrent exchange: %d %v", code, out)
			}
		}()
	}
	wg.Wait()
	var started int
	l.db.Pool.QueryRow(t.Context(), `SELECT count(*), (SELECT count(*) FROM activity WHERE kind = 'agent_started') FROM agent_sessions`).Scan(&agents, &started)
	if agents != 1 || started != 1 {
		t.Fatalf("a replayed exchange: %d agent sessions, %d starts", agents, started)
	}
	// A revoked subject token starts nothing.
	code, _ = tokenCall(t, l.url, "/revoke", "app-a", "alpha-secret-0123456789", url.Values{"token": {person.AccessToken}, "token_type_hint": {"access_token"}})
	if code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	code, out = call(good)
	wantError(t, "a revoked subject token", code, out, 400, "invalid_request")
}

// TestAgentsInBrowser: in Chromium, the sessions page shows an agent in
// plain words in "Agents acting for you" and under the device it was
// started from; Stop in the panel, and Stop under the device (which
// submits the panel's form), each end it everywhere.
func TestAgentsInBrowser(t *testing.T) {
	t.Parallel()
	app := newCallbackApp(t)
	clients := testClients + "  - id: browser-app\n    app: Gamma\n    secret: gamma-secret-0123456789\n" +
		"    redirect_uris: [" + app.url + "/callback]\n    first_party: true\n" +
		strings.ReplaceAll(strings.ReplaceAll(agentClients, "RECEIVER", "http://localhost:1"), "[app-a, cli, codex-cli]", "[browser-app]")
	l := startLatch(t, func(c *Config) { c.ClientsFile = writeFile(t, "clients.yaml", clients) })
	a := withScopes(l.rp("browser-app", "gamma-secret-0123456789", app.url+"/callback"), agentScopes...)
	ctx := browsertest.Chrome(t)
	browsertest.SetTimezone(t, ctx, "Asia/Tokyo")
	passwordSignIn(t, ctx, l)
	// The app signs in on the browser's session (single sign-on) and
	// starts an agent with its token.
	f := a.newFlow()
	browsertest.Navigate(t, ctx, f.url)
	tok := a.mustExchange(waitCallback(t, app, a, f), f)
	start := func() string {
		code, out := tokenCall(t, l.url, "/oauth/token", "browser-app", "gamma-secret-0123456789",
			exchangeForm(tok.AccessToken, "runner", "note", "cloud task 7f3"))
		if code != http.StatusOK {
			t.Fatalf("exchange: %d %v", code, out)
		}
		return out["access_token"].(string)
	}
	agentToken := start()

	browsertest.Navigate(t, ctx, l.url+"/account/sessions")
	waitText(t, ctx, "#agents", "Task runner — acting for you since ")
	panel := browsertest.Text(t, ctx, "#agents")
	for _, want := range []string{"started from Gamma on ", "Chrome on Linux (this device), may read your files and open pull requests",
		"Runs on “cloud task 7f3”, as the app reported it", "Last acted"} {
		if !strings.Contains(panel, want) {
			t.Fatalf("the agents panel lacks %q:\n%s", want, panel)
		}
	}
	if under := browsertest.Text(t, ctx, ".device-current .device-agents"); !strings.Contains(under, "Task runner is acting for you since ") ||
		!strings.Contains(under, ", started from Gamma") {
		t.Fatalf("the current device does not list its agent: %q", under)
	}
	// "since" is the browser's time of day (Tokyo's), with the day when
	// that was not today there.
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	for _, sel := range []string{"#agents", ".device-current .device-agents"} {
		got := browsertest.Eval[[]string](t, ctx, `(() => { const e = document.querySelector(`+jsString(sel+" time[data-when=since]")+`);
			return [e.getAttribute('datetime'), e.textContent]; })()`)
		at, err := time.Parse(time.RFC3339, got[0])
		if err != nil {
			t.Fatal(err)
		}
		want := at.In(tokyo).Format("15:04")
		if now := time.Now().In(tokyo); at.In(tokyo).Format(time.DateOnly) != now.Format(time.DateOnly) {
			want = "yesterday, " + want
		}
		if got[1] != want {
			t.Fatalf("%s: since %q, want %q in Tokyo", sel, got[1], want)
		}
	}
	browsertest.Screenshot(t, ctx, "sessions-agents.png")
	// No serious accessibility problem in the agents' parts, light or dark,
	// wide or narrow.
	for _, scheme := range []string{"light", "dark"} {
		browsertest.ColorScheme(t, ctx, scheme)
		for _, width := range []int64{1280, 390} {
			browsertest.Viewport(t, ctx, width, 900, width < 600)
			for _, v := range browsertest.Axe(t, ctx) {
				if v.Serious() {
					t.Errorf("sessions page with an agent, %s at %d px: %s", scheme, width, v)
				}
			}
		}
	}
	browsertest.ColorScheme(t, ctx, "light")
	browsertest.Viewport(t, ctx, 1280, 900, false)

	browsertest.Click(t, ctx, "#agents form[action$='/end'] button")
	waitText(t, ctx, "main", "Agent stopped.")
	waitText(t, ctx, "#agents", "No agent is acting for you.")
	if in := introspectAs(t, l.url, "browser-app", "gamma-secret-0123456789", agentToken); in["active"] != false {
		t.Fatal("the agent stopped in the browser is still active")
	}

	// Again, stopped from the line under the device.
	agentToken = start()
	browsertest.Navigate(t, ctx, l.url+"/account/sessions")
	browsertest.Click(t, ctx, ".device-current .device-agents button")
	waitText(t, ctx, "main", "Agent stopped.")
	if in := introspectAs(t, l.url, "browser-app", "gamma-secret-0123456789", agentToken); in["active"] != false {
		t.Fatal("the agent stopped under its device is still active")
	}
	if code := a.userinfo(tok.AccessToken); code != http.StatusOK {
		t.Fatal("stopping the agent signed the app out")
	}
}

// TestDemoAgent: ChatGPT's demo app, as `latch dev` runs it, starts its
// agent with "Start an agent": the page shows the agent's verified token
// with act, latch's sessions page lists the agent, and once the person
// stops it there, the app's check says the token no longer works.
func TestDemoAgent(t *testing.T) {
	t.Parallel()
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	clients := "clients:\n  - id: chatgpt-web\n    app: ChatGPT\n    secret: chatgpt-secret-0123456789\n" +
		"    redirect_uris: [" + base + "/callback]\n    first_party: true\n" +
		"  - id: codex-task-runner\n    app: Codex task runner\n    kind: agent\n    allowed_scopes: [files:read, pull_requests:write]\n" +
		"    scope_descriptions: {\"files:read\": read your files, \"pull_requests:write\": open pull requests}\n    started_by: [chatgpt-web]\n"
	l := startLatch(t, func(c *Config) { c.ClientsFile = writeFile(t, "demo.yaml", clients) })
	app, err := demoapp.New(demoapp.Config{Name: "ChatGPT", ClientID: "chatgpt-web", ClientSecret: "chatgpt-secret-0123456789",
		Issuer: l.url, BaseURL: base, Now: l.clock.Now, Agent: demoAgent})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: app}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	b := l.browser()
	b.client.CheckRedirect = nil
	resp := b.signIn(b.do("GET", base+"/login", nil), l.email, testPassword)
	if body := page(t, resp); !strings.Contains(body, "Start an agent") {
		t.Fatalf("no Start an agent button:\n%.800s", body)
	}
	body := page(t, b.do("POST", base+"/agent/start", url.Values{}))
	if !strings.Contains(body, `&#34;act&#34;: {`) || !strings.Contains(body, `&#34;sub&#34;: &#34;codex-task-runner&#34;`) {
		t.Fatalf("the demo app does not show the agent's act claim:\n%.3000s", body)
	}
	sessions := page(t, b.do("GET", l.url+"/account/sessions", nil))
	if !strings.Contains(sessions, "Codex task runner</strong> — acting for you since") ||
		!strings.Contains(sessions, "may read your files and open pull requests") ||
		!strings.Contains(sessions, "latch dev, on this computer") {
		t.Fatalf("the sessions page does not show the agent:\n%s", sessions)
	}
	if body := page(t, b.do("POST", base+"/agent/check", url.Values{})); !strings.Contains(body, "Active: latch says codex-task-runner acts for you") {
		t.Fatalf("check:\n%.3000s", body)
	}
	code, res := apiCall(t, l, "POST", "/api/account/agents/end", "", withCookie(b, true))
	if code != 200 || res["ended"] != float64(1) {
		t.Fatalf("stop: %d %v", code, res)
	}
	if body := page(t, b.do("POST", base+"/agent/check", url.Values{})); !strings.Contains(body, "Not active: the agent was stopped") {
		t.Fatalf("check after stopping:\n%.3000s", body)
	}
}
