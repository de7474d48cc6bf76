package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latch-idp/latch/internal/pgtest"
	"github.com/latch-idp/latch/sessions"
)

// cookieFor returns b's latch session cookie value.
func (b *browser) session() string {
	u, _ := url.Parse(b.l.url)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "latch" {
			return c.Value
		}
	}
	return ""
}

// getWithCookie fetches base+path with only the session cookie and reports
// whether it was served signed in (no redirect to /login).
func signedInAt(t *testing.T, base, path, secret string) bool {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.AddCookie(&http.Cookie{Name: "latch", Value: secret})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// sid returns the device session id of a browser's cookie.
func (l *testLatch) sid(secret string) string {
	d, err := l.srv.Sessions().BySecret(l.t.Context(), secret)
	if err != nil {
		l.t.Fatalf("no live session for the cookie: %v", err)
	}
	return d.ID
}

// TestTwoReplicas: an end on replica A reaches replica B's cache at once;
// with its listening connection killed, B stops trusting its cache.
func TestTwoReplicas(t *testing.T) {
	t.Parallel()
	a := startLatch(t)
	b := a.replica()
	phone := a.browser()
	phone.signInPassword(a.email, testPassword).Body.Close()
	secret := phone.session()
	if !signedInAt(t, b.base, "/account", secret) {
		t.Fatal("replica B does not know A's session")
	}
	laptop := a.browser()
	laptop.signInPassword(a.email, testPassword).Body.Close()
	resp := laptop.post("/account/sessions", "/account/sessions/"+a.sid(secret)+"/end", nil)
	resp.Body.Close()
	// The notification reaches B within milliseconds (BENCHMARKS.md); allow
	// a second, the promise, before calling it a failure.
	refusedWithin(t, b.base, secret, time.Second, "replica B still accepts a cookie ended on A")

	// B caches: a session ended behind latch's back (no notification) is
	// still served by B while B trusts its cache...
	third := a.browser()
	third.signInPassword(a.email, testPassword).Body.Close()
	s3 := third.session()
	if !signedInAt(t, b.base, "/account", s3) {
		t.Fatal("B refuses a live session")
	}
	if err := a.srv.Sessions().EndUnannounced(t.Context(), a.sid(s3), "test"); err != nil {
		t.Fatal(err)
	}
	if !signedInAt(t, b.base, "/account", s3) {
		t.Fatal("B is not caching, so the next check proves nothing")
	}
	// ...until its listening connection breaks: then it stops trusting the
	// cache (and starts over empty when it is back).
	if killed := pgtest.Terminate(t, b.srv.Cache().Name); killed != 1 {
		t.Fatalf("killed %d listener connections", killed)
	}
	deadline := time.Now().Add(5 * time.Second)
	for signedInAt(t, b.base, "/account", s3) {
		if time.Now().After(deadline) {
			t.Fatal("B still trusts its cache after losing its listening connection")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for !b.srv.Cache().Listening() {
		if time.Now().After(deadline) {
			t.Fatal("B's listener never came back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Back and listening: ends reach it again.
	fourth := a.browser()
	fourth.signInPassword(a.email, testPassword).Body.Close()
	s4 := fourth.session()
	if !signedInAt(t, b.base, "/account", s4) {
		t.Fatal("B refuses a live session after reconnecting")
	}
	if err := a.srv.Sessions().End(t.Context(), a.sid(s4), "signed_out"); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, b.base, s4, time.Second, "after reconnecting B missed an end")
}

// refusedWithin waits until base refuses the session cookie secret.
func refusedWithin(t *testing.T, base, secret string, limit time.Duration, msg string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for signedInAt(t, base, "/account", secret) {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// receiver is an app's back-channel logout endpoint.
type receiver struct {
	mu     sync.Mutex
	tokens []string
	down   bool
	srv    *httptest.Server
	got    chan string
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{got: make(chan string, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		down := r.down
		r.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		tok := req.PostFormValue("logout_token")
		r.mu.Lock()
		r.tokens = append(r.tokens, tok)
		r.mu.Unlock()
		r.got <- tok
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setDown(d bool) { r.mu.Lock(); r.down = d; r.mu.Unlock() }

// startLatchWithReceiver registers app-a with a back-channel logout URI.
func startLatchWithReceiver(t testing.TB) (*testLatch, *receiver) {
	rcv := newReceiver(t)
	clients := strings.Replace(testClients, "    post_logout_redirect_uris: [http://localhost:47001/]\n",
		"    post_logout_redirect_uris: [http://localhost:47001/]\n    backchannel_logout_uri: "+rcv.srv.URL+"/bc\n", 1)
	l := startLatch(t, func(c *Config) { c.ClientsFile = writeFile(t, "clients.yaml", clients) })
	return l, rcv
}

// TestBackchannelLogout: ending a session sends the app a signed logout
// token that verifies against JWKS, with the claims of OIDC Back-Channel
// Logout 1.0.
func TestBackchannelLogout(t *testing.T) {
	t.Parallel()
	l, rcv := startLatchWithReceiver(t)
	a := l.appA()
	b := l.browser()
	tok := b.signInFlow(a)
	resp := b.post("/account", "/logout", nil)
	resp.Body.Close()
	var raw string
	select {
	case raw = <-rcv.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no logout token arrived")
	}
	verifier := oidc.NewVerifier(l.url, oidc.NewRemoteKeySet(t.Context(), l.url+"/keys"),
		&oidc.Config{ClientID: "app-a", SupportedSigningAlgs: []string{"ES256"}, Now: l.clock.Now})
	lt, err := verifier.Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("logout token does not verify against JWKS: %v", err)
	}
	var claims struct {
		Sid    string                     `json:"sid"`
		Sub    string                     `json:"sub"`
		Iat    int64                      `json:"iat"`
		Exp    int64                      `json:"exp"`
		Jti    string                     `json:"jti"`
		Nonce  *string                    `json:"nonce"`
		Events map[string]json.RawMessage `json:"events"`
	}
	lt.Claims(&claims)
	if claims.Sid != tok.claims.Sid || claims.Sub != tok.id.Subject || claims.Jti == "" || claims.Nonce != nil {
		t.Fatalf("logout token claims %+v", claims)
	}
	if claims.Exp-claims.Iat > 120 || claims.Exp <= claims.Iat {
		t.Fatalf("logout token lives %d s", claims.Exp-claims.Iat)
	}
	if _, ok := claims.Events["http://schemas.openid.net/event/backchannel-logout"]; !ok {
		t.Fatalf("events %v", claims.Events)
	}
	// Discovery says so.
	var doc map[string]any
	r, _ := http.Get(l.url + "/.well-known/openid-configuration")
	json.NewDecoder(r.Body).Decode(&doc)
	r.Body.Close()
	if doc["backchannel_logout_supported"] != true || doc["backchannel_logout_session_supported"] != true {
		t.Fatal("discovery does not advertise back-channel logout with sessions")
	}
	// The page shows it delivered.
	other := l.browser()
	other.signInPassword(l.email, testPassword).Body.Close()
	waitFor(t, func() bool { return l.onlyLogout().Status == "delivered" })
	body := page(t, other.do("GET", "/account/sessions", nil))
	if !strings.Contains(body, "Recently ended") && !strings.Contains(body, "recently ended") {
		t.Fatalf("no recently ended section:\n%.1000s", body)
	}
}

// onlyLogout is the back-channel logout written for l.email's sessions,
// the only one there is (zero until it is written).
func (l *testLatch) onlyLogout() sessions.Logout {
	l.t.Helper()
	if list := l.logouts(l.accountID(l.email)); len(list) > 0 {
		return list[0]
	}
	return sessions.Logout{}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLogoutJobSurvivesRestart: a logout the app could not take yet is
// delivered after latch restarts.
func TestLogoutJobSurvivesRestart(t *testing.T) {
	t.Parallel()
	l, rcv := startLatchWithReceiver(t)
	rcv.setDown(true)
	a := l.appA()
	b := l.browser()
	b.signInFlow(a)
	b.post("/account", "/logout", nil).Body.Close()
	waitFor(t, func() bool { return l.onlyLogout().Attempts >= 1 })
	l.stop()
	rcv.setDown(false)
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	cfg := *l.cfg
	cfg.Addr = ln.Addr().String()
	again := runLatch(t, &cfg, ln, l.clock)
	l.clock.Add(5 * time.Second) // past the retry backoff
	select {
	case <-rcv.got:
	case <-time.After(10 * time.Second):
		t.Fatal("the pending logout was not delivered after the restart")
	}
	waitFor(t, func() bool { return again.onlyLogout().Status == "delivered" })
}

// apiCall calls the sessions API with a cookie (and CSRF header) or a
// bearer token.
func apiCall(t *testing.T, l *testLatch, method, path, body string, auth func(*http.Request)) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, l.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	auth(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func withCookie(b *browser, csrf bool) func(*http.Request) {
	return func(r *http.Request) {
		u, _ := url.Parse(b.l.url)
		for _, c := range b.client.Jar.Cookies(u) {
			r.AddCookie(c)
			if c.Name == "latch_csrf" && csrf {
				r.Header.Set("X-CSRF-Token", c.Value)
			}
		}
		r.Header.Set("Origin", b.l.url)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	}
}

func withBearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

// TestSessionsAPI: list and end sessions by cookie+CSRF or bearer token;
// refusals for missing scope, third-party tokens, CSRF-less POSTs and other
// accounts' ids.
func TestSessionsAPI(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	if _, err := l.srv.Accounts().Create(t.Context(), "eve@example.com", "Eve", testPassword); err != nil {
		t.Fatal(err)
	}
	me, laptop, phone := l.browser(), l.browser(), l.browser()
	for _, b := range []*browser{me, laptop, phone} {
		b.signInPassword(l.email, testPassword).Body.Close()
	}
	eve := l.browser()
	eve.signInPassword("eve@example.com", testPassword).Body.Close()
	eveSid := l.sid(eve.session())

	code, out := apiCall(t, l, "GET", "/api/account/sessions", "", withCookie(me, false))
	list, _ := out["sessions"].([]any)
	if code != 200 || len(list) != 3 || list[0].(map[string]any)["current"] != true {
		t.Fatalf("list: %d %v", code, out)
	}
	first := list[0].(map[string]any)
	if first["ip"] != "127.0.0.1" || first["location"] != "This computer" || first["method"] != "Password" {
		t.Fatalf("session entry %v", first)
	}

	// Refusals.
	laptopSid, phoneSid := l.sid(laptop.session()), l.sid(phone.session())
	if code, _ := apiCall(t, l, "POST", "/api/account/sessions/"+laptopSid+"/end", "", withCookie(me, false)); code != http.StatusForbidden {
		t.Fatalf("CSRF-less POST: %d", code)
	}
	if code, _ := apiCall(t, l, "POST", "/api/account/sessions/"+eveSid+"/end", "", withCookie(me, true)); code != http.StatusNotFound {
		t.Fatalf("another account's id: %d", code)
	}
	if code, _ := apiCall(t, l, "POST", "/api/account/sessions/end", `{"ids":["`+laptopSid+`","`+eveSid+`"]}`, withCookie(me, true)); code != http.StatusNotFound {
		t.Fatalf("a list with another account's id: %d", code)
	}
	if !signedInAt(t, l.url, "/account", eve.session()) || !signedInAt(t, l.url, "/account", laptop.session()) {
		t.Fatal("a refused request ended a session")
	}
	noScope := l.browser().signInFlow(l.appA())
	if code, _ := apiCall(t, l, "GET", "/api/account/sessions", "", withBearer(noScope.AccessToken)); code != http.StatusForbidden {
		t.Fatalf("token without scope sessions: %d", code)
	}
	outsider := l.rp("outsider", "outsider-secret-0123456789", "http://localhost:47004/callback")
	outsider.oauth.Scopes = append(outsider.oauth.Scopes, "sessions")
	thirdParty := l.browser().signInFlow(outsider)
	if code, _ := apiCall(t, l, "GET", "/api/account/sessions", "", withBearer(thirdParty.AccessToken)); code != http.StatusForbidden {
		t.Fatalf("third-party token: %d", code)
	}

	// A first-party token with scope sessions works, and "current" is its sid.
	app := l.appA()
	app.oauth.Scopes = append(app.oauth.Scopes, "sessions")
	tok := me.signInFlow(app, oauth2.SetAuthURLParam("prompt", "none"))
	code, out = apiCall(t, l, "GET", "/api/account/sessions", "", withBearer(tok.AccessToken))
	list, _ = out["sessions"].([]any)
	if code != 200 || len(list) < 3 || list[0].(map[string]any)["id"] != tok.claims.Sid {
		t.Fatalf("bearer list: %d %v", code, out)
	}
	var appID string
	for _, a := range list[0].(map[string]any)["apps"].([]any) {
		if a.(map[string]any)["client_id"] == "app-a" {
			appID = a.(map[string]any)["id"].(string)
		}
	}
	// End one app on a device, then one session, then all others.
	if code, _ := apiCall(t, l, "POST", "/api/account/sessions/"+laptopSid+"/apps/"+appID+"/end", "", withBearer(tok.AccessToken)); code != http.StatusNotFound {
		t.Fatalf("app of another device: %d", code)
	}
	if code, _ := apiCall(t, l, "POST", "/api/account/sessions/"+laptopSid+"/end", "", withBearer(tok.AccessToken)); code != 200 {
		t.Fatalf("end laptop: %d", code)
	}
	if signedInAt(t, l.url, "/account", laptop.session()) {
		t.Fatal("ended laptop still signed in")
	}
	code, out = apiCall(t, l, "POST", "/api/account/sessions/end", `{"all_others": true}`, withCookie(me, true))
	if code != 200 || out["ended"] != float64(3) { // phone and the two token browsers
		t.Fatalf("all others: %d %v", code, out)
	}
	if signedInAt(t, l.url, "/account", phone.session()) || !signedInAt(t, l.url, "/account", me.session()) {
		t.Fatal("all_others ended the wrong sessions")
	}
	if !signedInAt(t, l.url, "/account", eve.session()) {
		t.Fatal("another account's session ended")
	}
	if code, _ := apiCall(t, l, "POST", "/api/account/sessions/"+phoneSid+"/end", "", withCookie(me, true)); code != http.StatusNotFound {
		t.Fatalf("ending an ended session: %d", code)
	}
}

// TestSessionCookieLivesAsLongAsTheSession: the session cookie is not a
// browser-session cookie (closing the browser would leave a session
// nobody can use listed as live); it lasts exactly as long as the device
// session can.
func TestSessionCookieLivesAsLongAsTheSession(t *testing.T) {
	t.Parallel()
	l := startLatch(t, func(c *Config) { c.SessionAbsolute = 2 * time.Hour })
	b := l.browser()
	form, err := signInForm(l, b)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", l.url+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", l.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var got *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "latch" {
			got = c
		}
	}
	if got == nil {
		t.Fatalf("no session cookie after signing in: %d %v", resp.StatusCode, resp.Header["Set-Cookie"])
	}
	d, err := l.srv.Sessions().BySecret(t.Context(), got.Value)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Until(d.AbsoluteExpiresAt)
	if age := time.Duration(got.MaxAge) * time.Second; age < want-time.Minute || age > want+time.Minute || age > 2*time.Hour {
		t.Errorf("session cookie Max-Age %v; the session can live %v more", age, want)
	}
}
