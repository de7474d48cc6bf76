package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
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

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/pgtest"
	"github.com/latch-idp/latch/internal/seal"
	"github.com/latch-idp/latch/internal/server"
	"github.com/latch-idp/latch/internal/testclock"
	"github.com/latch-idp/latch/sessions"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testPassword = "correct horse battery staple"

// testLatch is a whole latch server on a fresh database, on port 0.
type testLatch struct {
	t     testing.TB
	srv   *server.Server
	db    *database
	url   string
	clock *testclock.Clock
	cfg   *Config
	logs  *syncBuffer
	email string
	// base is where this server listens when it differs from the issuer
	// (a second replica).
	base    string
	stopped bool
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testClients registers two confidential web apps and one public CLI app.
// Their redirect URIs point at a port nothing listens on: the test browser
// stops at the redirect and hands the code to the test's relying party.
const testClients = `clients:
  - id: app-a
    app: Alpha
    secret: alpha-secret-0123456789
    redirect_uris: [http://localhost:47001/callback]
    post_logout_redirect_uris: [http://localhost:47001/]
    first_party: true
  - id: app-b
    app: Beta
    secret: beta-secret-0123456789
    redirect_uris: [http://localhost:47002/callback]
    post_logout_redirect_uris: [http://localhost:47002/]
    first_party: true
    access_token: opaque
  - id: cli
    app: Alpha CLI
    redirect_uris: [http://127.0.0.1:47003/callback]
    first_party: true
    device_name: Alpha CLI
  - id: outsider
    app: Outsider
    secret: outsider-secret-0123456789
    redirect_uris: [http://localhost:47004/callback]
  - id: desktop
    app: Alpha Desktop
    kind: native
    redirect_uris: [http://127.0.0.1/callback, com.example.alpha:/callback]
    post_logout_redirect_uris: [http://127.0.0.1/signed-out]
    first_party: true
    device_name: Alpha Desktop
  - id: codex-cli
    app: Codex CLI
    kind: cli
    grant_types: [device_code]
    first_party: true
    device_name: Codex CLI
`

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startLatch starts latch with --database-url on a fresh database.
func startLatch(t testing.TB, opts ...func(*Config)) *testLatch {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{
		Addr: ln.Addr().String(), DatabaseURL: pgtest.NewDSN(t), DataDir: t.TempDir(),
		MasterKeyFile: writeFile(t, "master.key", seal.NewMasterKeyText()),
		ClientsFile:   writeFile(t, "clients.yaml", testClients),
		LogFormat:     "text", LogLevel: "debug",
		Config: testServerConfig("http://localhost:" + port(ln)),
	}
	cfg.MetricsAddr = "127.0.0.1:0"
	for _, o := range opts {
		o(cfg)
	}
	if err := cfg.validate(true); err != nil {
		t.Fatal(err)
	}
	l := runLatch(t, cfg, ln, testclock.New(time.Now()))
	if _, err := l.srv.Accounts().Create(t.Context(), l.email, "Ada Lovelace", testPassword); err != nil {
		t.Fatal(err)
	}
	return l
}

// testServerConfig is the server's settings of every test: the defaults of
// the flags, with rate limits no test reaches by accident and no metrics
// listener.
func testServerConfig(issuer string) server.Config {
	return server.Config{
		Issuer: issuer, RateLimit: 6000, AuthorizeRateLimit: 6000, MailFrom: "latch <no-reply@localhost>",
		Argon2Memory: defaultArgon2Memory, Argon2: &testArgon2,
		SessionAbsolute: 30 * 24 * time.Hour, SessionIdle: 14 * 24 * time.Hour,
		AdvancedSessionAbsolute: 12 * time.Hour, AdvancedSessionIdle: 15 * time.Minute,
		StepUp: 10 * time.Minute, AdvancedStepUp: 5 * time.Minute, TrustedDevice: 30 * 24 * time.Hour,
	}
}

// testArgon2 is a cheap password hash for the end-to-end tests, whose
// throttle and lock tests sign in a hundred times; the tests of the hashing
// pool's limits and memory use realArgon2.
var testArgon2 = authn.Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1}

// realArgon2 gives a test latch's password hash its real cost (P11).
func realArgon2(c *Config) { c.Argon2 = nil }

// runLatch starts a server with cfg on ln.
func runLatch(t testing.TB, cfg *Config, ln net.Listener, clock *testclock.Clock) *testLatch {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The OIDC library logs through the default logger, as under latch serve.
	prev := slog.Default()
	setDefaultLogger(logger)
	t.Cleanup(func() { slog.SetDefault(prev) })
	ctx := t.Context()
	db, err := openDatabase(ctx, cfg, logger, true)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := cfg.serverConfig(db)
	if err != nil {
		db.Close(ctx)
		t.Fatal(err)
	}
	srv, err := server.New(ctx, sc, db.Pool, logger, clock.Now)
	if err != nil {
		db.Close(ctx)
		t.Fatal(err)
	}
	if err := srv.Start(ctx, ln); err != nil {
		db.Close(ctx)
		t.Fatal(err)
	}
	l := &testLatch{t: t, srv: srv, db: db, url: cfg.Issuer, clock: clock, cfg: cfg, logs: logs, email: "ada@example.com"}
	t.Cleanup(func() { l.stop() })
	return l
}

// stop shuts the server down (again is harmless).
func (l *testLatch) stop() {
	if l.stopped {
		return
	}
	l.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l.srv.Shutdown(ctx)
	l.db.Close(ctx)
	if l.t.Failed() {
		l.t.Logf("latch logs (%s):\n%s", l.base, l.logs.String())
	}
}

// replica starts another latch on the same database, master key, clients
// and issuer, listening on its own port: a second replica behind a load
// balancer. Its base URL is in .base; the shared issuer in .url.
func (l *testLatch) replica() *testLatch {
	l.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.t.Fatal(err)
	}
	cfg := *l.cfg
	cfg.Addr = ln.Addr().String()
	r := runLatch(l.t, &cfg, ln, l.clock)
	r.base = "http://localhost:" + port(ln)
	r.email = l.email
	return r
}

// browser is a cookie-keeping HTTP client that follows redirects within
// latch and stops at the first redirect elsewhere (an app's redirect URI).
type browser struct {
	t      testing.TB
	l      *testLatch
	client *http.Client
	ua     string
}

func (l *testLatch) browser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: l.t, l: l, ua: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"}
	latchHost := strings.TrimPrefix(l.url, "http://")
	b.client = &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != latchHost {
				return http.ErrUseLastResponse
			}
			req.Header.Set("User-Agent", b.ua)
			return nil
		}}
	return b
}

// do sends a request the way a browser navigating latch's own pages would.
func (b *browser) do(method, target string, form url.Values) *http.Response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	if strings.HasPrefix(target, "/") {
		target = b.l.url + target
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("User-Agent", b.ua)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.l.url)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp
}

// page reads a response body and closes it.
func page(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var inputRe = regexp.MustCompile(`<input[^>]*>`)
var nameRe = regexp.MustCompile(`name="([^"]*)"`)
var valueRe = regexp.MustCompile(`value="([^"]*)"`)

// hiddenFields returns the name=value pairs of a page's hidden inputs, the
// last value of a repeated name (allFields keeps them all).
func hiddenFields(body string) url.Values {
	v := allFields(body)
	for name, vals := range v {
		v[name] = vals[len(vals)-1:]
	}
	return v
}

// signIn submits the sign-in form on a login page response.
func (b *browser) signIn(loginPage *http.Response, email, password string) *http.Response {
	b.t.Helper()
	body := page(b.t, loginPage)
	if loginPage.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
		b.t.Fatalf("expected the sign-in page, got %d:\n%.600s", loginPage.StatusCode, body)
	}
	form := hiddenFields(body)
	form.Set("email", email)
	form.Set("password", password)
	return b.do("POST", "/login", form)
}

// rp is a relying party driven by go-oidc and x/oauth2, as a real app is.
type rp struct {
	t        testing.TB
	l        *testLatch
	oauth    oauth2.Config
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	ctx      context.Context
}

func (l *testLatch) rp(clientID, secret, redirect string) *rp {
	l.t.Helper()
	ctx := l.t.Context()
	p, err := oidc.NewProvider(ctx, l.url)
	if err != nil {
		l.t.Fatal(err)
	}
	return &rp{t: l.t, l: l, provider: p, ctx: ctx, verifier: p.Verifier(&oidc.Config{ClientID: clientID}),
		oauth: oauth2.Config{ClientID: clientID, ClientSecret: secret, RedirectURL: redirect, Endpoint: p.Endpoint(),
			Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}}}
}

func (l *testLatch) appA() *rp {
	return l.rp("app-a", "alpha-secret-0123456789", "http://localhost:47001/callback")
}
func (l *testLatch) appB() *rp {
	return l.rp("app-b", "beta-secret-0123456789", "http://localhost:47002/callback")
}

// flow is one authorization request in progress.
type flow struct {
	state, nonce, verifier string
	url                    string
}

func randomString() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (r *rp) newFlow(extra ...oauth2.AuthCodeOption) *flow {
	f := &flow{state: randomString(), nonce: randomString(), verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier)}, extra...)
	f.url = r.oauth.AuthCodeURL(f.state, opts...)
	return f
}

// callback checks an authorization response and returns its code.
func (r *rp) callback(resp *http.Response, f *flow) string {
	r.t.Helper()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		r.t.Fatalf("want a redirect to the app, got %d:\n%.600s", resp.StatusCode, page(r.t, resp))
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		r.t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != r.oauth.RedirectURL {
		r.t.Fatalf("redirected to %s, want %s", got, r.oauth.RedirectURL)
	}
	q := loc.Query()
	if q.Get("error") != "" {
		r.t.Fatalf("authorization error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != f.state {
		r.t.Fatalf("state = %q, want %q", q.Get("state"), f.state)
	}
	if q.Get("iss") != r.l.url {
		r.t.Fatalf("iss = %q, want %q (RFC 9207)", q.Get("iss"), r.l.url)
	}
	return q.Get("code")
}

// tokens is what an app holds after a code exchange.
type tokens struct {
	*oauth2.Token
	id     *oidc.IDToken
	claims struct {
		Sid      string   `json:"sid"`
		AuthTime int64    `json:"auth_time"`
		AMR      []string `json:"amr"`
		Email    string   `json:"email"`
	}
}

func (r *rp) exchange(code string, f *flow) (*tokens, error) {
	tok, err := r.oauth.Exchange(r.ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		return nil, err
	}
	return r.verify(tok, f.nonce)
}

func (r *rp) verify(tok *oauth2.Token, nonce string) (*tokens, error) {
	raw, _ := tok.Extra("id_token").(string)
	id, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("verify id token: %w", err)
	}
	if nonce != "" && id.Nonce != nonce {
		return nil, fmt.Errorf("nonce = %q, want %q", id.Nonce, nonce)
	}
	out := &tokens{Token: tok, id: id}
	if err := id.Claims(&out.claims); err != nil {
		return nil, err
	}
	return out, nil
}

func (r *rp) mustExchange(code string, f *flow) *tokens {
	r.t.Helper()
	tok, err := r.exchange(code, f)
	if err != nil {
		r.t.Fatalf("code exchange: %v", err)
	}
	return tok
}

// refresh uses a refresh token once.
func (r *rp) refresh(refreshToken string) (*oauth2.Token, error) {
	return r.oauth.TokenSource(r.ctx, &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
}

// userinfo calls the userinfo endpoint and returns the status code.
func (r *rp) userinfo(accessToken string) int {
	r.t.Helper()
	req, _ := http.NewRequest("GET", r.l.url+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// signInFlow runs a whole sign-in for r in b: authorize, sign in when asked,
// and exchange the code.
func (b *browser) signInFlow(r *rp, extra ...oauth2.AuthCodeOption) *tokens {
	b.t.Helper()
	f := r.newFlow(extra...)
	resp := b.do("GET", f.url, nil)
	if resp.StatusCode == http.StatusOK && resp.Request.URL.Path == "/login" {
		resp = b.signIn(resp, b.l.email, testPassword)
	}
	if resp.StatusCode == http.StatusOK && resp.Request.URL.Path == "/consent" {
		resp = b.consent(resp, "allow")
	}
	return r.mustExchange(r.callback(resp, f), f)
}

// consent answers the consent page.
func (b *browser) consent(resp *http.Response, decision string) *http.Response {
	b.t.Helper()
	form := hiddenFields(page(b.t, resp))
	form.Set("decision", decision)
	return b.do("POST", "/consent", form)
}

func oauthErrorCode(err error) string {
	if re, ok := err.(*oauth2.RetrieveError); ok {
		return re.ErrorCode
	}
	return ""
}

func sprint(v any) string { return fmt.Sprintf("%#v", v) }

var csrfValue = regexp.MustCompile(`(value|content)="[A-Za-z0-9_-]{40,}"`)

func port(ln net.Listener) string { return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port) }

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// sessionForTest describes a passkey sign-in for a device session made
// directly in the store.
func sessionForTest(accountID string) sessions.NewDevice {
	return sessions.NewDevice{AccountID: accountID, Mode: "advanced", AMR: []string{"hwk", "user", "mfa"}, ACR: "phr",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"}
}
