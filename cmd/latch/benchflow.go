package main

// The HTTP flows of `latch bench`: what a browser and an app do against a
// running latch, over plain net/http, so that the bench measures latch and
// not a client library.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// benchTarget is the latch under test and who the bench signs in as.
type benchTarget struct {
	base   *url.URL // --url: every request goes here
	issuer string   // what discovery says, for the iss check (RFC 9207)

	authorize, token, userinfo, introspect, jwks string

	emails                              []string // workers take turns
	password                            string
	clientID, clientSecret, redirectURI string
	redirect                            *url.URL // redirectURI, parsed
	ua                                  string
	transport                           http.RoundTripper
	device                              []*http.Cookie // latch's device cookie, set by introduce
	// setupLock holds each account's workers to one sign-in at a time
	// while they prepare (see runEndpoint).
	setupLock map[string]*sync.Mutex
}

// discover reads the discovery document and points its endpoints at --url,
// so a bench of one replica behind a load balancer stays on that replica.
func (t *benchTarget) discover(ctx context.Context) error {
	c := &http.Client{Transport: t.transport, Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(ctx, "GET", t.path("/.well-known/openid-configuration"), nil)
	if err != nil {
		return fmt.Errorf("--url: %v", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("--url: latch does not answer: %v", err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer        string `json:"issuer"`
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
		Userinfo      string `json:"userinfo_endpoint"`
		Introspection string `json:"introspection_endpoint"`
		JWKS          string `json:"jwks_uri"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&doc) != nil || doc.Token == "" {
		return fmt.Errorf("--url: %s has no OpenID discovery document (status %d)", t.base, resp.StatusCode)
	}
	t.issuer = doc.Issuer
	for _, e := range []struct {
		dst *string
		src string
	}{{&t.authorize, doc.Authorization}, {&t.token, doc.Token}, {&t.userinfo, doc.Userinfo},
		{&t.introspect, doc.Introspection}, {&t.jwks, doc.JWKS}} {
		u, err := url.Parse(e.src)
		if err != nil || e.src == "" {
			return fmt.Errorf("--url: discovery lists a bad endpoint %q", e.src)
		}
		u.Scheme, u.Host = t.base.Scheme, t.base.Host
		*e.dst = u.String()
	}
	return nil
}

// path is an absolute URL on latch for one of its own pages.
func (t *benchTarget) path(p string) string {
	return strings.TrimSuffix(t.base.String(), "/") + p
}

// benchError is an answer the bench did not expect. status is 0 when there
// was no answer at all.
type benchError struct {
	what   string
	status int
	detail string
}

func (e *benchError) Error() string {
	if e.status == 0 {
		return e.what + ": " + e.detail
	}
	return fmt.Sprintf("%s: %d %s", e.what, e.status, e.detail)
}

// rateLimited reports whether latch refused err's request with 429.
func rateLimited(err error) bool {
	var be *benchError
	return errors.As(err, &be) && be.status == http.StatusTooManyRequests
}

// unexpected describes a response the flow did not want, with the start of
// its body: latch's error pages and OAuth errors say what went wrong there.
func unexpected(what string, resp *http.Response, body []byte) error {
	detail := strings.Join(strings.Fields(string(body)), " ")
	var oauthErr struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &oauthErr) == nil && oauthErr.Error != "" {
		detail = strings.TrimSpace(oauthErr.Error + " " + oauthErr.Description)
	} else if m := alertRe.FindSubmatch(body); m != nil {
		detail = html.UnescapeString(string(m[1]))
	} else if m := errorPageRe.FindSubmatch(body); m != nil {
		detail = html.UnescapeString(string(m[1]) + ": " + string(m[2]))
	} else if strings.Contains(resp.Header.Get("Content-Type"), "html") {
		detail = ""
	}
	if len(detail) > 160 {
		detail = detail[:160] + "…"
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		detail = strings.TrimSpace(detail + " → " + loc)
	}
	return &benchError{what: what, status: resp.StatusCode, detail: detail}
}

// alertRe finds the message of latch's error box on a page.
var alertRe = regexp.MustCompile(`role="alert"[^>]*>(?:.|\n)*?<p>([^<]*)</p>`)

// errorPageRe finds the heading and message of latch's error page.
var errorPageRe = regexp.MustCompile(`<h1 id="heading">([^<]*)</h1>\s*<p class="lede">([^<]*)</p>`)

// agent is one worker's user agent: its own cookies, never following a
// redirect by itself (the flows read Location, and a redirect to the app's
// redirect URI must not be followed: nothing needs to listen there).
type agent struct {
	t     *benchTarget
	c     *http.Client
	email string
	csrf  string // the csrf_token of latch's forms, also the cookie's value
}

// newAgent is a browser of worker i, which signs in as one of the accounts.
func (t *benchTarget) newAgent(i int) *agent {
	return t.agentFor(t.emails[i%len(t.emails)])
}

func (t *benchTarget) agentFor(email string) *agent {
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(t.base, t.device)
	return &agent{t: t, email: email, c: &http.Client{Transport: t.transport, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// fresh is another browser without a session, for the same account.
func (b *agent) fresh() *agent { return b.t.agentFor(b.email) }

// introduce signs every account in and out once, before any worker
// starts: it checks the accounts, and keeps latch's device cookie for every
// agent, so the bench is one device latch knows. Each new device would
// otherwise send the account a "new device" alert by email.
func (t *benchTarget) introduce(ctx context.Context) error {
	t.setupLock = map[string]*sync.Mutex{}
	for _, email := range t.emails {
		t.setupLock[email] = &sync.Mutex{}
		a := t.agentFor(email)
		if _, err := a.signIn(ctx, t.path("/login")); err != nil {
			return fmt.Errorf("%s: %w", email, err)
		}
		if t.device == nil {
			for _, c := range a.c.Jar.Cookies(t.base) {
				if strings.HasSuffix(c.Name, "latch_did") {
					t.device = append(t.device, &http.Cookie{Name: c.Name, Value: c.Value, Path: "/"})
				}
			}
		}
		if err := a.signOut(ctx); err != nil {
			return fmt.Errorf("%s: %w", email, err)
		}
	}
	return nil
}

// send makes one request and reads the whole body, so the connection goes
// back to the pool for the next one.
func (b *agent) send(ctx context.Context, method, target string, body io.Reader, header http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, nil, err
	}
	req.Header = header
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("User-Agent", b.t.ua)
	resp, err := b.c.Do(req)
	if err != nil {
		return nil, nil, &benchError{what: method + " " + req.URL.Path, detail: err.Error()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, &benchError{what: method + " " + req.URL.Path, detail: err.Error()}
	}
	return resp, data, nil
}

// postForm posts a form the way a browser on latch's own page does: same
// origin, with the CSRF token bound to the csrf cookie.
func (b *agent) postForm(ctx context.Context, target string, form url.Values) (*http.Response, []byte, error) {
	form.Set("csrf_token", b.csrf)
	return b.send(ctx, "POST", target, strings.NewReader(form.Encode()), b.sameOrigin(http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"}}))
}

func (b *agent) sameOrigin(h http.Header) http.Header {
	h.Set("Origin", b.t.base.Scheme+"://"+b.t.base.Host)
	h.Set("Sec-Fetch-Site", "same-origin")
	return h
}

var (
	csrfFieldRe   = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)
	authRequestRe = regexp.MustCompile(`name="auth_request" value="([^"]*)"`)
)

// signIn is a password sign-in: the sign-in page (which sets the csrf
// cookie and carries its token), then the form. loginPage is "/login", or
// the page an authorization request redirected to. It returns where latch
// sends the browser next.
func (b *agent) signIn(ctx context.Context, loginPage string) (string, error) {
	resp, body, err := b.send(ctx, "GET", loginPage, nil, nil)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", unexpected("GET /login", resp, body)
	}
	return b.submitLogin(ctx, body)
}

// submitLogin fills in the sign-in form of page and posts it.
func (b *agent) submitLogin(ctx context.Context, page []byte) (string, error) {
	m := csrfFieldRe.FindSubmatch(page)
	if m == nil {
		return "", &benchError{what: "GET /login", status: http.StatusOK, detail: "no sign-in form on the page"}
	}
	b.csrf = html.UnescapeString(string(m[1]))
	form := url.Values{"email": {b.email}, "password": {b.t.password}}
	if m := authRequestRe.FindSubmatch(page); m != nil {
		form.Set("auth_request", html.UnescapeString(string(m[1])))
	}
	resp, body, err := b.postForm(ctx, b.t.path("/login"), form)
	if err != nil {
		return "", err
	}
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || strings.HasPrefix(loc, "/login") {
		// A redirect to /login/verify asks for a second factor, which the
		// bench cannot give.
		return "", unexpected("POST /login", resp, body)
	}
	return loc, nil
}

// signOut ends the browser's session with the sign-out form.
func (b *agent) signOut(ctx context.Context) error {
	resp, body, err := b.postForm(ctx, b.t.path("/logout"), url.Values{})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusSeeOther {
		return unexpected("POST /logout", resp, body)
	}
	return nil
}

// grant is an authorization code and what its exchange must send.
type grant struct {
	code, verifier, nonce string
}

// benchScope asks for a refresh token, as the apps latch serves do.
const benchScope = "openid profile email offline_access"

// authorize runs an authorization request with PKCE S256, state and nonce
// until latch redirects to the app. A browser without a session signs in
// on the way when password is true.
func (b *agent) authorize(ctx context.Context, password bool) (*grant, error) {
	g := &grant{verifier: oauth2.GenerateVerifier(), nonce: randomValue()}
	state := randomValue()
	q := url.Values{"response_type": {"code"}, "client_id": {b.t.clientID}, "redirect_uri": {b.t.redirectURI},
		"scope": {benchScope}, "state": {state}, "nonce": {g.nonce},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(g.verifier)}, "code_challenge_method": {"S256"}}
	next := b.t.authorize + "?" + q.Encode()
	for range 10 {
		resp, body, err := b.send(ctx, "GET", next, nil, nil)
		if err != nil {
			return nil, err
		}
		what := "GET " + resp.Request.URL.Path
		switch {
		case resp.StatusCode == http.StatusOK && resp.Request.URL.Path == "/login" && password:
			if next, err = b.submitLogin(ctx, body); err != nil {
				return nil, err
			}
		case resp.StatusCode == http.StatusOK && resp.Request.URL.Path == "/login":
			return nil, &benchError{what: what, status: resp.StatusCode, detail: "latch asked for a password again in a signed-in browser"}
		case resp.StatusCode == http.StatusOK && resp.Request.URL.Path == "/consent":
			return nil, &benchError{what: what, status: resp.StatusCode,
				detail: fmt.Sprintf("--client-id: %s asks for consent; allow it once in a browser as %s, or use a first-party client", b.t.clientID, b.email)}
		case resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther:
			loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
			if err != nil {
				return nil, unexpected(what, resp, body)
			}
			if r := b.t.redirect; loc.Scheme == r.Scheme && loc.Host == r.Host && loc.Path == r.Path {
				return g, b.callback(loc.Query(), state, g)
			}
			if loc.Host != b.t.base.Host {
				return nil, unexpected(what, resp, body)
			}
			next = loc.String()
			continue
		default:
			return nil, unexpected(what, resp, body)
		}
	}
	return nil, &benchError{what: "GET /authorize", detail: "more than 10 redirects"}
}

// callback checks the authorization response an app would receive.
func (b *agent) callback(q url.Values, state string, g *grant) error {
	switch {
	case q.Get("error") != "":
		return &benchError{what: "authorization response", detail: q.Get("error") + " " + q.Get("error_description")}
	case q.Get("state") != state:
		return &benchError{what: "authorization response", detail: "state does not match"}
	case q.Get("iss") != b.t.issuer:
		return &benchError{what: "authorization response", detail: fmt.Sprintf("iss %q is not the issuer %q", q.Get("iss"), b.t.issuer)}
	case q.Get("code") == "":
		return &benchError{what: "authorization response", detail: "no code"}
	}
	g.code = q.Get("code")
	return nil
}

func randomValue() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenSet is a token endpoint answer.
type tokenSet struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ExpiresIn    int    `json:"expires_in"`
	// expires is when the access token stops working, by the bench's clock.
	expires time.Time
}

// clientPost is a confidential client's POST to the token or
// introspection endpoint, with HTTP Basic authentication (RFC 6749
// §2.3.1: both parts form-encoded first).
func (b *agent) clientPost(ctx context.Context, target string, form url.Values) (*http.Response, []byte, error) {
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(b.t.clientID) + ":" + url.QueryEscape(b.t.clientSecret)))
	return b.send(ctx, "POST", target, strings.NewReader(form.Encode()), http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": {"application/json"}, "Authorization": {"Basic " + basic}})
}

// tokens posts a grant to the token endpoint and checks the answer has
// what the grant must give.
func (b *agent) tokens(ctx context.Context, form url.Values) (*tokenSet, error) {
	start := time.Now()
	resp, body, err := b.clientPost(ctx, b.t.token, form)
	if err != nil {
		return nil, err
	}
	what := "POST /oauth/token " + form.Get("grant_type")
	var ts tokenSet
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &ts) != nil {
		return nil, unexpected(what, resp, body)
	}
	if ts.AccessToken == "" || ts.RefreshToken == "" || ts.IDToken == "" {
		return nil, &benchError{what: what, status: resp.StatusCode, detail: "answer lacks an access, refresh or ID token"}
	}
	ts.expires = start.Add(time.Duration(ts.ExpiresIn) * time.Second)
	return &ts, nil
}

// exchange redeems a code, checking the ID token's nonce.
func (b *agent) exchange(ctx context.Context, g *grant) (*tokenSet, error) {
	ts, err := b.tokens(ctx, url.Values{"grant_type": {"authorization_code"}, "code": {g.code},
		"redirect_uri": {b.t.redirectURI}, "code_verifier": {g.verifier}})
	if err != nil {
		return nil, err
	}
	if claims, err := idTokenClaims(ts.IDToken); err != nil || claims.Nonce != g.nonce {
		return nil, &benchError{what: "POST /oauth/token authorization_code", status: http.StatusOK, detail: "ID token lacks the request's nonce"}
	}
	return ts, nil
}

// refresh rotates a refresh token.
func (b *agent) refresh(ctx context.Context, token string) (*tokenSet, error) {
	return b.tokens(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}})
}

// idClaims are the ID token claims the bench reads. The bench trusts the
// latch it measures, so it decodes without verifying the signature.
type idClaims struct {
	Nonce string `json:"nonce"`
	Sid   string `json:"sid"`
}

func idTokenClaims(token string) (*idClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var c idClaims
	return &c, json.Unmarshal(payload, &c)
}

// signedInApp signs in through the app (authorization request, sign-in
// page, code exchange) and returns the app's tokens.
func (b *agent) signedInApp(ctx context.Context) (*tokenSet, error) {
	g, err := b.authorize(ctx, true)
	if err != nil {
		return nil, err
	}
	return b.exchange(ctx, g)
}

// getUserinfo calls userinfo with a bearer token.
func (b *agent) getUserinfo(ctx context.Context, accessToken string) error {
	resp, body, err := b.send(ctx, "GET", b.t.userinfo, nil, http.Header{"Authorization": {"Bearer " + accessToken}})
	if err != nil {
		return err
	}
	var info struct {
		Sub string `json:"sub"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &info) != nil || info.Sub == "" {
		return unexpected("GET /userinfo", resp, body)
	}
	return nil
}

// introspectToken asks whether an access token is active; it must be.
func (b *agent) introspectToken(ctx context.Context, accessToken string) error {
	resp, body, err := b.clientPost(ctx, b.t.introspect, url.Values{"token": {accessToken}})
	if err != nil {
		return err
	}
	var out struct {
		Active bool `json:"active"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil {
		return unexpected("POST /oauth/introspect", resp, body)
	}
	if !out.Active {
		return &benchError{what: "POST /oauth/introspect", status: resp.StatusCode, detail: "a live access token is not active"}
	}
	return nil
}

// endSession ends device session id of the same account through the
// sessions JSON API: the session cookie plus the X-CSRF-Token header.
func (b *agent) endSession(ctx context.Context, id string) error {
	resp, body, err := b.send(ctx, "POST", b.t.path("/api/account/sessions/"+url.PathEscape(id)+"/end"), nil,
		b.sameOrigin(http.Header{"X-CSRF-Token": {b.csrf}}))
	if err != nil {
		return err
	}
	var out struct {
		Ended int `json:"ended"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil || out.Ended != 1 {
		return unexpected("POST /api/account/sessions/{id}/end", resp, body)
	}
	return nil
}

// getJWKS fetches the public signing keys.
func (b *agent) getJWKS(ctx context.Context) error {
	resp, body, err := b.send(ctx, "GET", b.t.jwks, nil, nil)
	if err != nil {
		return err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &set) != nil || len(set.Keys) == 0 {
		return unexpected("GET /keys", resp, body)
	}
	return nil
}

// benchFlow is one worker's loop for one endpoint. setup prepares what the
// measured request needs (not timed); step makes one measured request,
// doing any per-iteration preparation before its clock starts, and returns
// the measured request's latency; teardown ends the sessions the worker
// made, so a bench leaves the account as it found it.
type benchFlow interface {
	setup(ctx context.Context) error
	step(ctx context.Context) (time.Duration, error)
	teardown(ctx context.Context)
}

// benchEndpoints are the endpoints in the order they run.
var benchEndpoints = []string{"signin", "code", "refresh", "userinfo", "introspect", "end", "jwks"}

// setupEach lists the endpoints whose every measured request follows an
// untimed preparation, which bounds their req/s.
var setupEach = map[string]string{"code": "an SSO authorization request", "end": "a sign-in through the app"}

func newFlow(endpoint string, t *benchTarget, worker int) benchFlow {
	a := t.newAgent(worker)
	switch endpoint {
	case "signin":
		return &signinFlow{a: a}
	case "code":
		return &codeFlow{a: a}
	case "refresh":
		return &refreshFlow{a: a}
	case "userinfo":
		return &tokenFlow{a: a, call: a.getUserinfo}
	case "introspect":
		return &tokenFlow{a: a, call: a.introspectToken}
	case "end":
		return &endFlow{a: a}
	default:
		return &jwksFlow{a: a}
	}
}

// signedOut ends a's session if it has one.
func signedOut(ctx context.Context, a *agent) {
	if a.csrf != "" {
		// Tidying up after a measured run: a session left behind expires,
		// and the run's numbers are already taken.
		_ = a.signOut(ctx)
	}
}

// signinFlow measures a whole password sign-in: the sign-in page, then the
// form. Each one starts from a browser without a session (on the device
// latch knows) and signs out afterwards, untimed, so sessions do not pile
// up on the account.
type signinFlow struct{ a *agent }

func (f *signinFlow) setup(context.Context) error { return nil }

func (f *signinFlow) step(ctx context.Context) (time.Duration, error) {
	f.a = f.a.fresh()
	start := time.Now()
	if _, err := f.a.signIn(ctx, f.a.t.path("/login")); err != nil {
		return 0, err
	}
	took := time.Since(start)
	return took, f.a.signOut(ctx)
}

func (f *signinFlow) teardown(context.Context) {}

// codeFlow measures the code exchange. Each code comes from an
// authorization request in a browser that is already signed in (SSO).
type codeFlow struct{ a *agent }

// setup signs in through the app once, which also checks the client
// settings before the run.
func (f *codeFlow) setup(ctx context.Context) error {
	_, err := f.a.signedInApp(ctx)
	return err
}

func (f *codeFlow) step(ctx context.Context) (time.Duration, error) {
	g, err := f.a.authorize(ctx, false)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	_, err = f.a.exchange(ctx, g)
	return time.Since(start), err
}

func (f *codeFlow) teardown(ctx context.Context) { signedOut(ctx, f.a) }

// refreshFlow rotates one refresh token after another, always the newest:
// presenting a rotated-out one would end the app session.
type refreshFlow struct {
	a     *agent
	token string
}

func (f *refreshFlow) setup(ctx context.Context) error {
	ts, err := f.a.signedInApp(ctx)
	if err != nil {
		return err
	}
	f.token = ts.RefreshToken
	return nil
}

func (f *refreshFlow) step(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	ts, err := f.a.refresh(ctx, f.token)
	if err != nil {
		return 0, err
	}
	f.token = ts.RefreshToken
	return time.Since(start), nil
}

func (f *refreshFlow) teardown(ctx context.Context) { signedOut(ctx, f.a) }

// tokenFlow calls an endpoint with one access token (userinfo,
// introspection), fetching a new one untimed before it expires.
type tokenFlow struct {
	a      *agent
	call   func(context.Context, string) error
	tokens *tokenSet
}

func (f *tokenFlow) setup(ctx context.Context) error {
	ts, err := f.a.signedInApp(ctx)
	f.tokens = ts
	return err
}

func (f *tokenFlow) step(ctx context.Context) (time.Duration, error) {
	if time.Until(f.tokens.expires) < 30*time.Second {
		if err := f.setup(ctx); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	err := f.call(ctx, f.tokens.AccessToken)
	return time.Since(start), err
}

func (f *tokenFlow) teardown(ctx context.Context) { signedOut(ctx, f.a) }

// endFlow measures ending a device session from another one, as the
// sessions page and its API do: each iteration signs in a fresh browser
// through the app (untimed; its ID token's sid names the session), then
// this worker's own session ends it.
type endFlow struct{ a *agent }

func (f *endFlow) setup(ctx context.Context) error {
	_, err := f.a.signIn(ctx, f.a.t.path("/login"))
	return err
}

func (f *endFlow) step(ctx context.Context) (time.Duration, error) {
	other := f.a.fresh()
	ts, err := other.signedInApp(ctx)
	if err != nil {
		return 0, err
	}
	claims, err := idTokenClaims(ts.IDToken)
	if err != nil || claims.Sid == "" {
		return 0, &benchError{what: "POST /oauth/token authorization_code", status: http.StatusOK, detail: "ID token has no sid"}
	}
	start := time.Now()
	err = f.a.endSession(ctx, claims.Sid)
	return time.Since(start), err
}

func (f *endFlow) teardown(ctx context.Context) { signedOut(ctx, f.a) }

// jwksFlow fetches the signing keys, as every app verifying tokens does.
type jwksFlow struct{ a *agent }

func (f *jwksFlow) setup(context.Context) error { return nil }

func (f *jwksFlow) step(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	err := f.a.getJWKS(ctx)
	return time.Since(start), err
}

func (f *jwksFlow) teardown(context.Context) {}
