package demoapp

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	testClientID = "chatgpt-web"
	testSecret   = "s3cret"
)

// fakeIssuer is a tiny OpenID Provider: discovery, JWKS, a token endpoint
// that checks PKCE and client authentication, and helpers to sign tokens.
type fakeIssuer struct {
	t   *testing.T
	srv *httptest.Server
	key *ecdsa.PrivateKey
	kid string

	down          atomic.Bool // discovery answers 503 while set
	discoveryHits atomic.Int32
	promiseIss    bool           // advertise authorization_response_iss_parameter_supported
	wrongNonce    bool           // the token endpoint puts a different nonce in the ID token
	idClaims      map[string]any // extra or overriding ID token claims
	refuseRefresh atomic.Bool
	mu            sync.Mutex
	codes         map[string]grant // by authorization code
	refreshTokens map[string]grant // by refresh token
}

// grant is what an authorization code or refresh token stands for.
type grant struct {
	challenge string
	nonce     string
	sub, sid  string
}

func newFakeIssuer(t *testing.T) *fakeIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is := &fakeIssuer{t: t, key: key, kid: "key-1", codes: map[string]grant{}, refreshTokens: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.discovery)
	mux.HandleFunc("GET /jwks", is.jwks)
	mux.HandleFunc("POST /token", is.token)
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *fakeIssuer) URL() string { return is.srv.URL }

func (is *fakeIssuer) discovery(w http.ResponseWriter, r *http.Request) {
	is.discoveryHits.Add(1)
	if is.down.Load() {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	u := is.URL()
	json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                u,
		"authorization_endpoint":                u + "/authorize",
		"token_endpoint":                        u + "/token",
		"jwks_uri":                              u + "/jwks",
		"end_session_endpoint":                  u + "/end_session",
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"authorization_response_iss_parameter_supported": is.promiseIss,
	})
}

func (is *fakeIssuer) jwks(w http.ResponseWriter, r *http.Request) {
	json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &is.key.PublicKey, KeyID: is.kid, Algorithm: "ES256", Use: "sig"},
	}})
}

func (is *fakeIssuer) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	is.mu.Lock()
	defer is.mu.Unlock()
	oauthError := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": code})
	}
	if id, secret, ok := r.BasicAuth(); !ok || id != testClientID || secret != testSecret {
		oauthError("invalid_client")
		return
	}
	var g grant
	var nonce string
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		var ok bool
		g, ok = is.codes[r.PostForm.Get("code")]
		delete(is.codes, r.PostForm.Get("code"))
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			oauthError("invalid_grant")
			return
		}
		nonce = g.nonce
		if is.wrongNonce {
			nonce = "not-the-nonce"
		}
	case "refresh_token":
		var ok bool
		g, ok = is.refreshTokens[r.PostForm.Get("refresh_token")]
		delete(is.refreshTokens, r.PostForm.Get("refresh_token"))
		if !ok || is.refuseRefresh.Load() {
			oauthError("invalid_grant")
			return
		}
	default:
		oauthError("unsupported_grant_type")
		return
	}
	access := "access-" + rand.Text()
	refresh := "refresh-" + rand.Text()
	is.refreshTokens[refresh] = g
	sum := sha256.Sum256([]byte(access))
	claims := is.claims(map[string]any{
		"sub": g.sub, "sid": g.sid, "name": "Ada Lovelace", "email": "ada@example.com",
		"amr": []string{"pwd"}, "auth_time": time.Now().Add(-time.Minute).Unix(),
		"at_hash": base64.RawURLEncoding.EncodeToString(sum[:16]),
	})
	if nonce != "" {
		claims["nonce"] = nonce
	}
	for k, v := range is.idClaims {
		claims[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": access, "token_type": "Bearer", "expires_in": 300,
		"refresh_token": refresh, "id_token": is.sign(is.key, "JWT", claims),
	})
}

// claims returns the registered claims every token carries, merged with
// extra.
func (is *fakeIssuer) claims(extra map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": is.URL(),
		"aud": testClientID,
		"iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// logoutClaims returns a valid logout token's claims; nil values in extra
// remove a claim.
func (is *fakeIssuer) logoutClaims(extra map[string]any) map[string]any {
	c := is.claims(map[string]any{
		"jti":    rand.Text(),
		"events": map[string]any{backchannelEvent: map[string]any{}},
	})
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// sign signs claims with ES256 under the issuer's key ID, whichever key is
// passed, so a foreign key yields a bad signature rather than an unknown key.
func (is *fakeIssuer) sign(key *ecdsa.PrivateKey, typ string, claims map[string]any) string {
	is.t.Helper()
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: is.kid}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)),
	)
	if err != nil {
		is.t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		is.t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		is.t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		is.t.Fatal(err)
	}
	return raw
}

func (is *fakeIssuer) logoutToken(extra map[string]any) string {
	return is.sign(is.key, "logout+jwt", is.logoutClaims(extra))
}

// newApp builds an app for the issuer and serves it over real HTTP.
func newApp(t *testing.T, is *fakeIssuer) (*App, *httptest.Server) {
	t.Helper()
	var logs bytes.Buffer
	var logMu sync.Mutex
	t.Cleanup(func() {
		logMu.Lock()
		defer logMu.Unlock()
		if t.Failed() {
			t.Logf("app log:\n%s", logs.String())
		}
	})
	var app *App
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { app.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	app, err := New(Config{
		Name:         "ChatGPT",
		ClientID:     testClientID,
		ClientSecret: testSecret,
		Issuer:       is.URL(),
		BaseURL:      srv.URL,
		Logger:       slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return app, srv
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// plant puts sessions straight into the app's store, keyed by cookie value.
func plant(app *App, sessions map[string]session) {
	app.mu.Lock()
	defer app.mu.Unlock()
	for id, s := range sessions {
		s := s
		app.sessions[id] = &s
	}
}

func sessionIDs(app *App) []string {
	app.mu.Lock()
	defer app.mu.Unlock()
	var ids []string
	for id := range app.sessions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func postLogout(t *testing.T, srv *httptest.Server, form url.Values) *http.Response {
	t.Helper()
	resp, err := http.PostForm(srv.URL+"/backchannel-logout", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestBackchannelLogout(t *testing.T) {
	is := newFakeIssuer(t)
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"alice-1", "alice-2", "bob-1"}
	tests := []struct {
		name    string
		form    url.Values
		status  int
		remains []string
		sids    []string
	}{
		{
			name:    "sid ends that session only",
			form:    url.Values{"logout_token": {is.logoutToken(map[string]any{"sid": "sid-a1", "sub": "alice"})}},
			status:  http.StatusOK,
			remains: []string{"alice-2", "bob-1"},
			sids:    []string{"sid-a1"},
		},
		{
			name:    "sid without sub",
			form:    url.Values{"logout_token": {is.logoutToken(map[string]any{"sid": "sid-b1"})}},
			status:  http.StatusOK,
			remains: []string{"alice-1", "alice-2"},
			sids:    []string{"sid-b1"},
		},
		{
			name:    "sub without sid ends every session of that subject",
			form:    url.Values{"logout_token": {is.logoutToken(map[string]any{"sub": "alice"})}},
			status:  http.StatusOK,
			remains: []string{"bob-1"},
		},
		{
			name:    "sid of another subject ends nothing",
			form:    url.Values{"logout_token": {is.logoutToken(map[string]any{"sid": "sid-a1", "sub": "bob"})}},
			status:  http.StatusOK,
			remains: all,
			sids:    []string{"sid-a1"},
		},
		{
			name:   "bad signature",
			form:   url.Values{"logout_token": {is.sign(otherKey, "logout+jwt", is.logoutClaims(map[string]any{"sid": "sid-a1"}))}},
			status: http.StatusBadRequest,
		},
		{
			name:   "wrong audience",
			form:   url.Values{"logout_token": {is.logoutToken(map[string]any{"sid": "sid-a1", "aud": "codex-web"})}},
			status: http.StatusBadRequest,
		},
		{
			name:   "wrong issuer",
			form:   url.Values{"logout_token": {is.logoutToken(map[string]any{"sid": "sid-a1", "iss": "http://evil.example"})}},
			status: http.StatusBadRequest,
		},
		{
			name:   "expired",
			form:   url.Values{"logout_token": {is.logoutToken(map[string]any{"sid": "sid-a1", "exp": time.Now().Add(-time.Minute).Unix()})}},
			status: http.StatusBadRequest,
		},
		{
			name:   "missing event",
			form:   url.Values{"logout_token": {is.logoutToken(map[string]any{"sid": "sid-a1", "events": map[string]any{"http://example.com/other": map[string]any{}}})}},
			status: http.StatusBadRequest,
		},
		{
			name:   "no events claim",
			form:   url.Values{"logout_token": {is.logoutToken(map[string]any{"sid": "sid-a1", "events": nil})}},
			status: http.StatusBadRequest,
		},
		{
			name:   "event value is not an object",
			form:   url.Values{"logout_token": {is.logoutToken(map[string]any{"sid": "sid-a1", "events": map[string]any{backchannelEvent: "yes"}})}},
			status: http.StatusBadRequest,
		},
		{
			// A logout token must never be an ID token in disguise (§2.4).
			name:   "nonce present",
			form:   url.Values{"logout_token": {is.logoutToken(map[string]any{"sid": "sid-a1", "nonce": "n-0S6_WzA2Mj"})}},
			status: http.StatusBadRequest,
		},
		{
			name:   "neither sid nor sub",
			form:   url.Values{"logout_token": {is.logoutToken(nil)}},
			status: http.StatusBadRequest,
		},
		{
			name:   "no jti",
			form:   url.Values{"logout_token": {is.logoutToken(map[string]any{"sid": "sid-a1", "jti": nil})}},
			status: http.StatusBadRequest,
		},
		{
			name:   "unsigned",
			form:   url.Values{"logout_token": {unsigned(is.logoutClaims(map[string]any{"sid": "sid-a1"}))}},
			status: http.StatusBadRequest,
		},
		{
			name:   "not a JWT",
			form:   url.Values{"logout_token": {"hello"}},
			status: http.StatusBadRequest,
		},
		{
			name:   "no logout_token",
			form:   url.Values{"token": {is.logoutToken(map[string]any{"sid": "sid-a1"})}},
			status: http.StatusBadRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, srv := newApp(t, is)
			plant(app, map[string]session{
				"alice-1": {subject: "alice", sid: "sid-a1"},
				"alice-2": {subject: "alice", sid: "sid-a2"},
				"bob-1":   {subject: "bob", sid: "sid-b1"},
			})
			resp := postLogout(t, srv, tt.form)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			want := tt.remains
			if tt.status != http.StatusOK {
				want = all
			}
			if got := sessionIDs(app); !slices.Equal(got, want) {
				t.Errorf("sessions left = %v, want %v", got, want)
			}
			if got := app.LoggedOutSIDs(); !slices.Equal(got, tt.sids) {
				t.Errorf("LoggedOutSIDs = %v, want %v", got, tt.sids)
			}
		})
	}
}

// unsigned builds an alg=none token, which must never be accepted.
func unsigned(claims map[string]any) string {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"logout+jwt"}`))
	payload, _ := json.Marshal(claims)
	return header + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
}

// TestBackchannelReplay checks that a replayed token is acknowledged but
// ends nothing: replaying a sub-only token must not sign out a session the
// person started after the logout.
func TestBackchannelReplay(t *testing.T) {
	is := newFakeIssuer(t)
	app, srv := newApp(t, is)
	plant(app, map[string]session{"old": {subject: "alice", sid: "sid-1"}})
	form := url.Values{"logout_token": {is.logoutToken(map[string]any{"sub": "alice"})}}
	if resp := postLogout(t, srv, form); resp.StatusCode != http.StatusOK {
		t.Fatalf("first delivery: status %d", resp.StatusCode)
	}
	plant(app, map[string]session{"new": {subject: "alice", sid: "sid-2"}})
	if resp := postLogout(t, srv, form); resp.StatusCode != http.StatusOK {
		t.Errorf("replay: status %d, want 200", resp.StatusCode)
	}
	if got := sessionIDs(app); !slices.Equal(got, []string{"new"}) {
		t.Errorf("sessions left = %v, want [new]", got)
	}
}

// TestDiscoveryIsLazyAndRetried starts the app while the provider is down,
// as `latch dev` may.
func TestDiscoveryIsLazyAndRetried(t *testing.T) {
	is := newFakeIssuer(t)
	is.down.Store(true)
	app, srv := newApp(t, is)
	if n := is.discoveryHits.Load(); n != 0 {
		t.Fatalf("New contacted the issuer %d times", n)
	}
	plant(app, map[string]session{"a": {subject: "alice", sid: "sid-1"}})
	form := func() url.Values {
		return url.Values{"logout_token": {is.logoutToken(map[string]any{"sid": "sid-1"})}}
	}
	if resp := postLogout(t, srv, form()); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("provider down: status %d, want 503", resp.StatusCode)
	}
	is.down.Store(false)
	if resp := postLogout(t, srv, form()); resp.StatusCode != http.StatusOK {
		t.Errorf("provider up: status %d, want 200", resp.StatusCode)
	}
	if got := sessionIDs(app); len(got) != 0 {
		t.Errorf("sessions left = %v", got)
	}
	hits := is.discoveryHits.Load()
	postLogout(t, srv, form())
	if is.discoveryHits.Load() != hits {
		t.Error("discovery ran again after it had succeeded")
	}
}

// browser is a cookie-keeping client that does not follow redirects, so a
// test can look at each hop.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) do(method, u string, hdr http.Header) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// startLogin follows GET /login and returns the authorization request.
func startLogin(t *testing.T, b *browser, srv *httptest.Server, query string) url.Values {
	t.Helper()
	resp, body := b.do("GET", srv.URL+"/login"+query, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET /login: status %d: %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

// issueCode has the fake provider mint a code for an authorization request.
func (is *fakeIssuer) issueCode(auth url.Values, sub, sid string) string {
	is.mu.Lock()
	defer is.mu.Unlock()
	code := "code-" + rand.Text()
	is.codes[code] = grant{challenge: auth.Get("code_challenge"), nonce: auth.Get("nonce"), sub: sub, sid: sid}
	return code
}

func callbackURL(srv *httptest.Server, v url.Values) string {
	return srv.URL + "/callback?" + v.Encode()
}

func TestSignInRefreshAndSignOut(t *testing.T) {
	is := newFakeIssuer(t)
	app, srv := newApp(t, is)
	b := newBrowser(t)

	auth := startLogin(t, b, srv, "?prompt=login&max_age=0")
	for k, want := range map[string]string{
		"response_type":         "code",
		"client_id":             testClientID,
		"redirect_uri":          srv.URL + "/callback",
		"scope":                 "openid profile email offline_access",
		"code_challenge_method": "S256",
		"prompt":                "login",
		"max_age":               "0",
	} {
		if got := auth.Get(k); got != want {
			t.Errorf("authorization request %s = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if auth.Get(k) == "" {
			t.Errorf("authorization request has no %s", k)
		}
	}

	code := is.issueCode(auth, "alice", "sid-1")
	resp, body := b.do("GET", callbackURL(srv, url.Values{"code": {code}, "state": {auth.Get("state")}, "iss": {is.URL()}}), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("callback: status %d, Location %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if got := app.ActiveSIDs(); !slices.Equal(got, []string{"sid-1"}) {
		t.Errorf("ActiveSIDs = %v", got)
	}

	_, home := b.do("GET", srv.URL+"/", nil)
	for _, want := range []string{"Signed in as Ada Lovelace", "ada@example.com", `id="sub">alice<`, `id="sid">sid-1<`, "<li>pwd</li>", "not yet"} {
		if !strings.Contains(home, want) {
			t.Errorf("home page lacks %q", want)
		}
	}

	resp, _ = b.do("POST", srv.URL+"/refresh", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("refresh: status %d", resp.StatusCode)
	}
	if _, home := b.do("GET", srv.URL+"/", nil); strings.Contains(home, "not yet") {
		t.Error("home page still says the tokens were never refreshed")
	}
	// A second refresh must present the rotated token, not the first one.
	if resp, _ := b.do("POST", srv.URL+"/refresh", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("second refresh: status %d", resp.StatusCode)
	}
	if got := app.ActiveSIDs(); len(got) != 1 {
		t.Errorf("a rotated refresh was refused: sessions %v", got)
	}

	var idToken string
	app.mu.Lock()
	for _, s := range app.sessions {
		idToken = s.idToken
	}
	app.mu.Unlock()

	resp, _ = b.do("POST", srv.URL+"/logout", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: status %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != is.URL()+"/end_session" {
		t.Errorf("logout went to %q", got)
	}
	q := loc.Query()
	if q.Get("id_token_hint") != idToken || idToken == "" {
		t.Error("logout did not send the latest ID token as id_token_hint")
	}
	if q.Get("post_logout_redirect_uri") != srv.URL+"/" || q.Get("client_id") != testClientID || q.Get("state") == "" {
		t.Errorf("logout query = %v", q)
	}
	if got := app.ActiveSIDs(); len(got) != 0 {
		t.Errorf("session kept after logout: %v", got)
	}
	_, home = b.do("GET", srv.URL+"/?state="+url.QueryEscape(q.Get("state")), nil)
	if !strings.Contains(home, "You signed out of latch and ChatGPT.") || !strings.Contains(home, "Sign in with latch") {
		t.Errorf("page after logout:\n%s", home)
	}
}

func TestCallbackRejects(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(is *fakeIssuer)
		params func(is *fakeIssuer, auth url.Values, code string) url.Values
		fresh  bool // use a browser without the login cookie
		status int
	}{
		{
			name: "unknown state",
			params: func(is *fakeIssuer, auth url.Values, code string) url.Values {
				return url.Values{"code": {code}, "state": {"forged"}}
			},
			status: http.StatusBadRequest,
		},
		{
			name:  "another browser",
			fresh: true,
			params: func(is *fakeIssuer, auth url.Values, code string) url.Values {
				return url.Values{"code": {code}, "state": {auth.Get("state")}}
			},
			status: http.StatusBadRequest,
		},
		{
			name: "another issuer",
			params: func(is *fakeIssuer, auth url.Values, code string) url.Values {
				return url.Values{"code": {code}, "state": {auth.Get("state")}, "iss": {"http://evil.example"}}
			},
			status: http.StatusBadRequest,
		},
		{
			name:  "iss missing though promised",
			setup: func(is *fakeIssuer) { is.promiseIss = true },
			params: func(is *fakeIssuer, auth url.Values, code string) url.Values {
				return url.Values{"code": {code}, "state": {auth.Get("state")}}
			},
			status: http.StatusBadRequest,
		},
		{
			name:  "nonce mismatch",
			setup: func(is *fakeIssuer) { is.wrongNonce = true },
			params: func(is *fakeIssuer, auth url.Values, code string) url.Values {
				return url.Values{"code": {code}, "state": {auth.Get("state")}}
			},
			status: http.StatusBadGateway,
		},
		{
			name: "issued to another client",
			setup: func(is *fakeIssuer) {
				is.idClaims = map[string]any{"aud": []string{"codex-web", testClientID}, "azp": "codex-web"}
			},
			params: func(is *fakeIssuer, auth url.Values, code string) url.Values {
				return url.Values{"code": {code}, "state": {auth.Get("state")}}
			},
			status: http.StatusBadGateway,
		},
		{
			name: "provider refused",
			params: func(is *fakeIssuer, auth url.Values, code string) url.Values {
				return url.Values{"error": {"access_denied"}, "state": {auth.Get("state")}, "iss": {is.URL()}}
			},
			status: http.StatusUnauthorized,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := newFakeIssuer(t)
			if tt.setup != nil {
				tt.setup(is)
			}
			app, srv := newApp(t, is)
			b := newBrowser(t)
			auth := startLogin(t, b, srv, "")
			code := is.issueCode(auth, "alice", "sid-1")
			if tt.fresh {
				b = newBrowser(t)
			}
			resp, body := b.do("GET", callbackURL(srv, tt.params(is, auth, code)), nil)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if got := app.ActiveSIDs(); len(got) != 0 {
				t.Errorf("a session started: %v", got)
			}
		})
	}
}

// TestCallbackIsSingleUse replays a successful callback URL.
func TestCallbackIsSingleUse(t *testing.T) {
	is := newFakeIssuer(t)
	_, srv := newApp(t, is)
	b := newBrowser(t)
	auth := startLogin(t, b, srv, "")
	u := callbackURL(srv, url.Values{"code": {is.issueCode(auth, "alice", "sid-1")}, "state": {auth.Get("state")}})
	if resp, body := b.do("GET", u, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first callback: status %d: %s", resp.StatusCode, body)
	}
	if resp, _ := b.do("GET", u, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed callback: status %d, want 400", resp.StatusCode)
	}
}

// TestRefusedRefreshEndsSession: once latch has ended the session it refuses
// the refresh token, and the app must stop treating the person as signed in.
func TestRefusedRefreshEndsSession(t *testing.T) {
	is := newFakeIssuer(t)
	app, srv := newApp(t, is)
	b := newBrowser(t)
	auth := startLogin(t, b, srv, "")
	b.do("GET", callbackURL(srv, url.Values{"code": {is.issueCode(auth, "alice", "sid-1")}, "state": {auth.Get("state")}}), nil)
	is.refuseRefresh.Store(true)
	if resp, _ := b.do("POST", srv.URL+"/refresh", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("refresh: status %d", resp.StatusCode)
	}
	if got := app.ActiveSIDs(); len(got) != 0 {
		t.Errorf("session kept after a refused refresh: %v", got)
	}
	_, home := b.do("GET", srv.URL+"/", nil)
	if !strings.Contains(home, "latch refused to refresh your session") {
		t.Errorf("home page does not say why:\n%s", home)
	}
}

// TestCrossSitePostRefused: a form on another site must not sign the person
// out or spend their refresh token.
func TestCrossSitePostRefused(t *testing.T) {
	is := newFakeIssuer(t)
	app, srv := newApp(t, is)
	b := newBrowser(t)
	auth := startLogin(t, b, srv, "")
	b.do("GET", callbackURL(srv, url.Values{"code": {is.issueCode(auth, "alice", "sid-1")}, "state": {auth.Get("state")}}), nil)
	for _, path := range []string{"/logout", "/refresh"} {
		resp, _ := b.do("POST", srv.URL+path, http.Header{"Sec-Fetch-Site": {"cross-site"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: status %d, want 403", path, resp.StatusCode)
		}
	}
	if got := app.ActiveSIDs(); len(got) != 1 {
		t.Errorf("sessions = %v, want the one session", got)
	}
}

func TestPagesAndHeaders(t *testing.T) {
	is := newFakeIssuer(t)
	_, srv := newApp(t, is)
	b := newBrowser(t)
	resp, home := b.do("GET", srv.URL+"/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: status %d", resp.StatusCode)
	}
	for _, want := range []string{`<html lang="en">`, `class="theme-green"`, `href="/login"`, "Sign in with latch", `<link rel="stylesheet" href="/static/demo.css">`} {
		if !strings.Contains(home, want) {
			t.Errorf("home lacks %q", want)
		}
	}
	for _, bad := range []string{"style=", "<style", "<script"} {
		if strings.Contains(home, bad) {
			t.Errorf("home contains %q", bad)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+is.URL()) {
		t.Errorf("CSP = %q; the sign-out redirect to the issuer needs form-action", csp)
	}
	resp, _ = b.do("GET", srv.URL+"/static/demo.css", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("demo.css: status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := b.do("GET", srv.URL+"/nope", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope: status %d", resp.StatusCode)
	}
}

func TestNewValidates(t *testing.T) {
	good := Config{Name: "ChatGPT", ClientID: "chatgpt-web", Issuer: "http://localhost:8080", BaseURL: "http://localhost:9001"}
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"no name", func(c *Config) { c.Name = "" }},
		{"no client", func(c *Config) { c.ClientID = "" }},
		{"relative issuer", func(c *Config) { c.Issuer = "localhost:8080" }},
		{"base with path", func(c *Config) { c.BaseURL = "http://localhost:9001/app" }},
	}
	if _, err := New(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tt := range tests {
		c := good
		tt.mutate(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted it", tt.name)
		}
	}
}

func TestThemeFor(t *testing.T) {
	for name, want := range map[string]string{"ChatGPT": "green", "Codex": "indigo", "Platform": "orange"} {
		if got := themeFor(name); got != want {
			t.Errorf("themeFor(%q) = %q, want %q", name, got, want)
		}
	}
	if first, again := themeFor("Sora"), themeFor("Sora"); first != again {
		t.Error("themeFor is not stable")
	}
}

// TestManageDevicesAndRestart: a signed-in page links to latch's sessions
// page; the app has a favicon; a browser whose session the app forgot in a
// restart is told so, not shown a bare sign-in page.
func TestManageDevicesAndRestart(t *testing.T) {
	is := newFakeIssuer(t)
	_, srv := newApp(t, is)
	b := newBrowser(t)
	auth := startLogin(t, b, srv, "")
	code := is.issueCode(auth, "alice", "sid-1")
	b.do("GET", callbackURL(srv, url.Values{"code": {code}, "state": {auth.Get("state")}, "iss": {is.URL()}}), nil)
	_, home := b.do("GET", srv.URL+"/", nil)
	if !strings.Contains(home, `href="`+is.URL()+`/account/sessions">Manage devices</a>`) {
		t.Errorf("signed-in page has no Manage devices link to latch:\n%s", home)
	}
	if !strings.Contains(home, `rel="icon" href="/favicon.svg"`) {
		t.Error("the page names no favicon")
	}
	resp, icon := b.do("GET", srv.URL+"/favicon.svg", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(icon, "<svg") {
		t.Errorf("favicon: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), icon)
	}

	// The same browser meets a new process of the app: its cookie names a
	// session that app never had (cookies ignore the port).
	_, restarted := newApp(t, is)
	_, home = b.do("GET", restarted.URL+"/", nil)
	if !strings.Contains(home, "restarted and forgot its sessions") || !strings.Contains(home, "Sign in with latch") {
		t.Errorf("after a restart:\n%s", home)
	}
	if _, again := b.do("GET", restarted.URL+"/", nil); strings.Contains(again, "restarted") {
		t.Error("the restart notice stays after the cookie was cleared")
	}
}
