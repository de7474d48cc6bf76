package idp

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/pgtest"
	"github.com/latch-idp/latch/internal/seal"
	"github.com/latch-idp/latch/internal/testclock"
	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/sessions"
)

// The tests of this package that need a database get a real one of their
// own (internal/pgtest); the others never touch it.
func TestMain(m *testing.M) { pgtest.Main(m) }

const testIssuer = "http://localhost:8080"

// The clients of these tests: two confidential first-party web apps (JWT
// and opaque access tokens) and a public one.
const testClientsYAML = `clients:
  - id: app-a
    app: Alpha
    secret: alpha-secret-0123456789
    redirect_uris: [http://localhost:47001/callback]
    first_party: true
    access_token: jwt
  - id: app-b
    app: Beta
    secret: beta-secret-0123456789
    redirect_uris: [http://localhost:47002/callback]
    first_party: true
    access_token: opaque
  - id: cli
    app: Command line
    redirect_uris: [http://127.0.0.1:47003/callback]
    first_party: true
`

var (
	secrets   = map[string]string{"app-a": "alpha-secret-0123456789", "app-b": "beta-secret-0123456789"}
	redirects = map[string]string{"app-a": "http://localhost:47001/callback", "app-b": "http://localhost:47002/callback",
		"cli": "http://127.0.0.1:47003/callback"}
)

// fixture is a Provider on a fresh database, served without a network:
// requests go straight to the mux its Routes fill. One account, Ada, is
// signed in on one device (browser); the authorization callback sees that
// browser.
type fixture struct {
	t        *testing.T
	db       *pgxpool.Pool
	clock    *testclock.Clock
	p        *Provider
	sessions *sessions.Store
	mux      *http.ServeMux
	account  string
	browser  *sessions.Device
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := pgtest.New(t)
	clock := testclock.New(time.Now())
	clients, err := ParseClients("test clients", []byte(testClientsYAML))
	if err != nil {
		t.Fatal(err)
	}
	master, err := seal.ParseMasterKey(seal.NewMasterKeyText())
	if err != nil {
		t.Fatal(err)
	}
	store := sessions.New(db, sessions.DefaultPolicy())
	store.Now = clock.Now
	f := &fixture{t: t, db: db, clock: clock, sessions: store, mux: http.NewServeMux()}
	f.p, err = New(Config{
		Issuer: testIssuer, DB: db, Clients: clients, MasterKey: master, Sessions: store,
		Cookies: web.NewCookies(testIssuer), Metrics: web.NewMetrics(), Logger: slog.New(slog.DiscardHandler),
		Now: clock.Now,
		CurrentDevice: func(*http.Request) (*sessions.Device, error) {
			return f.browser, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.p.Keys.EnsureKey(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.p.Routes(f.mux)
	a, err := (&authn.Accounts{DB: db}).Create(t.Context(), "ada@example.com", "Ada Lovelace", "")
	if err != nil {
		t.Fatal(err)
	}
	f.account = a.ID
	f.browser = f.signIn()
	return f
}

// signIn starts a device session of Ada's, as a password sign-in would.
func (f *fixture) signIn() *sessions.Device {
	f.t.Helper()
	d, _, err := f.sessions.Create(f.t.Context(), sessions.NewDevice{AccountID: f.account, Mode: "standard",
		AMR: []string{"pwd"}, UserAgent: "idp test"})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// serve sends one request to latch and returns its answer.
func (f *fixture) serve(req *http.Request) *http.Response {
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	return rec.Result()
}

// answer is a JSON answer of an OAuth endpoint.
type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (a answer) str(key string) string { s, _ := a.body[key].(string); return s }

// post sends a form to path, with HTTP Basic client credentials when id is
// not empty.
func (f *fixture) post(path string, form url.Values, id, secret string) answer {
	f.t.Helper()
	req := httptest.NewRequest(http.MethodPost, testIssuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return f.decode(f.serve(req))
}

func (f *fixture) decode(resp *http.Response) answer {
	f.t.Helper()
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(b) == 0 && resp.StatusCode == http.StatusOK {
		return a // revocation's answer (RFC 7009 §2.2)
	}
	if err := json.Unmarshal(b, &a.body); err != nil {
		f.t.Fatalf("%d answer that is not JSON (%s): %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return a
}

// postAs sends a form to path authenticated as client: HTTP Basic with its
// secret, or client_id alone for a public client.
func (f *fixture) postAs(client, path string, form url.Values) answer {
	f.t.Helper()
	if secret, ok := secrets[client]; ok {
		return f.post(path, form, client, secret)
	}
	form = with(form, "client_id", client)
	return f.post(path, form, "", "")
}

// authCode is an authorization code ready for the token endpoint.
type authCode struct {
	client, code, verifier string
}

// authorize runs an authorization request of client with scopes to its
// end in the browser's device session, the way the sign-in flow completes
// one, and returns the code latch sent to the app.
func (f *fixture) authorize(client string, scopes ...string) authCode {
	f.t.Helper()
	ctx := f.t.Context()
	verifier := randomToken()
	a, err := f.p.Storage.CreateAuthRequest(ctx, &oidc.AuthRequest{
		Scopes: scopes, ResponseType: oidc.ResponseTypeCode, ClientID: client, RedirectURI: redirects[client],
		State: "state-1", Nonce: "nonce-1", CodeChallenge: oidc.NewSHACodeChallenge(verifier),
		CodeChallengeMethod: oidc.CodeChallengeMethodS256,
	}, "")
	if err != nil {
		f.t.Fatal(err)
	}
	callback, err := f.p.Complete(ctx, a.GetID(), f.browser)
	if err != nil {
		f.t.Fatal(err)
	}
	resp := f.serve(httptest.NewRequest(http.MethodGet, callback, nil))
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), redirects[client]+"?") {
		f.t.Fatalf("callback answered %d to %q, want a redirect to %s", resp.StatusCode, resp.Header.Get("Location"), redirects[client])
	}
	if loc.Query().Get("state") != "state-1" || loc.Query().Get("iss") != testIssuer || loc.Query().Get("code") == "" {
		f.t.Fatalf("callback redirect %s lacks code, state or iss", loc)
	}
	return authCode{client: client, code: loc.Query().Get("code"), verifier: verifier}
}

// exchange redeems c at the token endpoint as its client.
func (f *fixture) exchange(c authCode) answer {
	f.t.Helper()
	return f.postAs(c.client, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {c.code},
		"code_verifier": {c.verifier}, "redirect_uri": {redirects[c.client]}})
}

// tokens is what a code exchange or a refresh hands an app.
type tokens struct {
	client, access, refresh string
}

// signInApp authorizes client in the browser's session with openid, email
// and offline_access and exchanges the code.
func (f *fixture) signInApp(client string) tokens {
	f.t.Helper()
	a := f.exchange(f.authorize(client, "openid", "email", "offline_access"))
	if a.status != http.StatusOK || a.str("access_token") == "" || a.str("refresh_token") == "" {
		f.t.Fatalf("code exchange for %s: %d %v", client, a.status, a.body)
	}
	return tokens{client: client, access: a.str("access_token"), refresh: a.str("refresh_token")}
}

// refresh presents a refresh token as client, asking for scope when it is
// not empty.
func (f *fixture) refresh(client, token, scope string) answer {
	f.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
	if scope != "" {
		form.Set("scope", scope)
	}
	return f.postAs(client, "/oauth/token", form)
}

// mustRefresh rotates t and returns its successors.
func (f *fixture) mustRefresh(t tokens) tokens {
	f.t.Helper()
	a := f.refresh(t.client, t.refresh, "")
	if a.status != http.StatusOK || a.str("access_token") == "" || a.str("refresh_token") == "" {
		f.t.Fatalf("refresh for %s: %d %v", t.client, a.status, a.body)
	}
	if a.str("refresh_token") == t.refresh {
		f.t.Fatal("a refresh handed back the same refresh token")
	}
	return tokens{client: t.client, access: a.str("access_token"), refresh: a.str("refresh_token")}
}

// introspect asks, as client, about an access token.
func (f *fixture) introspect(client, access string) answer {
	f.t.Helper()
	return f.postAs(client, "/oauth/introspect", url.Values{"token": {access}})
}

// active reports whether introspection by the token's own client calls it
// active, failing on any answer but 200.
func (f *fixture) active(t tokens) bool {
	f.t.Helper()
	client := t.client
	if _, confidential := secrets[client]; !confidential {
		client = "app-a" // introspection is for confidential clients; it will say inactive
	}
	a := f.introspect(client, t.access)
	if a.status != http.StatusOK {
		f.t.Fatalf("introspection: %d %v", a.status, a.body)
	}
	return a.body["active"] == true
}

// userinfo presents an access token at the UserInfo endpoint.
func (f *fixture) userinfo(access string) answer {
	f.t.Helper()
	req := httptest.NewRequest(http.MethodGet, testIssuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	return f.decode(f.serve(req))
}

// appSession is the app session an access token hangs on.
func (f *fixture) appSession(access string) string {
	f.t.Helper()
	t, err := f.p.CheckAccessToken(f.t.Context(), access)
	if err != nil {
		f.t.Fatalf("check access token: %v", err)
	}
	return t.appSessionID
}

// wantError fails unless a is an RFC 6749 §5.2 error answer with this
// status and code: JSON, a description that reveals nothing internal, a
// Basic challenge on 401, and never cached.
func wantError(t *testing.T, what string, a answer, status int, code string) {
	t.Helper()
	if a.status != status || a.str("error") != code {
		if a.status == http.StatusOK {
			t.Fatalf("%s: 200 with %d fields, want %d %s", what, len(a.body), status, code)
		}
		t.Fatalf("%s: %d %s (%s), want %d %s", what, a.status, a.str("error"), a.str("error_description"), status, code)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	if d := a.str("error_description"); d == "" || strings.Contains(d, "Parent=") || strings.Contains(d, "SQLSTATE") {
		t.Errorf("%s: error_description %q", what, d)
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("%s: 401 without a Basic challenge: %q", what, a.header.Get("WWW-Authenticate"))
	}
	if a.header.Get("Cache-Control") != "no-store" || a.header.Get("Pragma") != "no-cache" {
		t.Errorf("%s: Cache-Control %q, Pragma %q", what, a.header.Get("Cache-Control"), a.header.Get("Pragma"))
	}
}

// with returns a copy of v with the given key/value pairs set.
func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}
