package idp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latch-idp/latch/sessions"
)

// TestTokenClientAuthentication: the token endpoint authenticates the
// client before it looks at the grant, strictly (RFC 6749 §2.3.1, §3.2.1):
// one method, the registered secret, client_id alone only for a public
// client. A refused client leaves the code unspent, and every refusal is
// RFC 6749 §5.2 JSON.
func TestTokenClientAuthentication(t *testing.T) {
	f := newFixture(t)
	c := f.authorize("app-a", "openid", "offline_access")
	grant := url.Values{"grant_type": {"authorization_code"}, "code": {c.code}, "code_verifier": {c.verifier},
		"redirect_uri": {redirects["app-a"]}}
	for _, tc := range []struct {
		name           string
		form           url.Values
		basicID, basic string
		status         int
		code           string
	}{
		{"no client at all", grant, "", "", 401, "invalid_client"},
		{"confidential client without its secret", with(grant, "client_id", "app-a"), "", "", 401, "invalid_client"},
		{"confidential client with an empty secret", grant, "app-a", "", 401, "invalid_client"},
		{"wrong secret, basic", grant, "app-a", "wrong-secret-0123456789", 401, "invalid_client"},
		{"wrong secret, form", with(grant, "client_id", "app-a", "client_secret", "wrong-secret-0123456789"), "", "", 401, "invalid_client"},
		{"another client's secret", grant, "app-a", secrets["app-b"], 401, "invalid_client"},
		{"unknown client", grant, "nobody", "whatever-secret-123", 401, "invalid_client"},
		{"public client with a secret", with(grant, "client_id", "cli", "client_secret", "a-guessed-secret"), "", "", 401, "invalid_client"},
		{"public client over basic", grant, "cli", "", 401, "invalid_client"},
		{"two methods at once", with(grant, "client_secret", secrets["app-a"]), "app-a", secrets["app-a"], 400, "invalid_request"},
		{"basic and another client_id", with(grant, "client_id", "app-b"), "app-a", secrets["app-a"], 400, "invalid_request"},
		// RFC 6749 §3.2: no parameter more than once, not even the same
		// value twice.
		{"grant_type twice", twice(grant, "grant_type", "authorization_code"), "app-a", secrets["app-a"], 400, "invalid_request"},
		{"client_id twice", twice(with(grant, "client_id", "app-a", "client_secret", secrets["app-a"]), "client_id", "app-a"), "", "", 400, "invalid_request"},
		{"client_secret twice", twice(with(grant, "client_id", "app-a", "client_secret", secrets["app-a"]), "client_secret", "x"), "", "", 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, tc.name, f.post("/oauth/token", tc.form, tc.basicID, tc.basic), tc.status, tc.code)
		})
	}
	// None of that spent the code.
	if a := f.exchange(c); a.status != http.StatusOK || a.str("access_token") == "" {
		t.Fatalf("the code after refused clients: %d %v", a.status, a.body)
	}

	// The form body works as well as HTTP Basic, and a public client names
	// itself with client_id alone.
	c = f.authorize("app-b", "openid")
	a := f.post("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {c.code}, "code_verifier": {c.verifier},
		"redirect_uri": {redirects["app-b"]}, "client_id": {"app-b"}, "client_secret": {secrets["app-b"]}}, "", "")
	if a.status != http.StatusOK || a.str("access_token") == "" {
		t.Fatalf("client_secret_post: %d %v", a.status, a.body)
	}
	if a.header.Get("Cache-Control") != "no-store" || a.header.Get("Pragma") != "no-cache" {
		t.Fatalf("tokens that may be cached: Cache-Control %q, Pragma %q", a.header.Get("Cache-Control"), a.header.Get("Pragma"))
	}
	if tok := f.signInApp("cli"); tok.access == "" {
		t.Fatal("no tokens for the public client")
	}
}

// twice returns v with one more value of k.
func twice(v url.Values, k, value string) url.Values {
	out := with(v)
	out[k] = append(out[k], value)
	return out
}

// TestTokenRequestErrors: what is not a grant latch supports is refused in
// RFC 6749 §5.2 terms.
func TestTokenRequestErrors(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"no grant_type", url.Values{}, 400, "invalid_request"},
		{"password grant", url.Values{"grant_type": {"password"}, "username": {"ada@example.com"}, "password": {"x"}}, 400, "unsupported_grant_type"},
		{"client credentials", url.Values{"grant_type": {"client_credentials"}}, 400, "unsupported_grant_type"},
		{"no code", url.Values{"grant_type": {"authorization_code"}}, 400, "invalid_request"},
		{"unknown code", url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "code_verifier": {strings.Repeat("a", 43)},
			"redirect_uri": {redirects["app-a"]}}, 400, "invalid_grant"},
		{"no refresh token", url.Values{"grant_type": {"refresh_token"}}, 400, "invalid_request"},
		{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, 400, "invalid_grant"},
		{"huge refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {strings.Repeat("x", 2000)}}, 400, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, tc.name, f.postAs("app-a", "/oauth/token", tc.form), tc.status, tc.code)
		})
	}
	req, _ := http.NewRequest(http.MethodGet, testIssuer+"/oauth/token", nil)
	a := f.decode(f.serve(req))
	if a.status != http.StatusMethodNotAllowed || a.str("error") != "invalid_request" {
		t.Fatalf("GET /oauth/token: %d %v", a.status, a.body)
	}
}

// TestCodeGrant: a code is redeemed by the client it was issued to, with
// the redirect_uri of its request and the PKCE verifier of its challenge,
// once; a replayed code revokes what its first use minted.
func TestCodeGrant(t *testing.T) {
	f := newFixture(t)
	c := f.authorize("app-a", "openid", "offline_access")
	base := url.Values{"grant_type": {"authorization_code"}, "code": {c.code}, "code_verifier": {c.verifier},
		"redirect_uri": {redirects["app-a"]}}
	for _, tc := range []struct {
		name   string
		client string
		form   url.Values
		code   string
	}{
		{"another client", "app-b", base, "invalid_grant"},
		{"another public client", "cli", base, "invalid_grant"},
		{"other redirect_uri", "app-a", with(base, "redirect_uri", "http://localhost:47001/other"), "invalid_grant"},
		{"no redirect_uri", "app-a", with(base, "redirect_uri", ""), "invalid_grant"},
		{"no verifier", "app-a", with(base, "code_verifier", ""), "invalid_request"},
		{"wrong verifier", "app-a", with(base, "code_verifier", randomToken()), "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, tc.name, f.postAs(tc.client, "/oauth/token", tc.form), http.StatusBadRequest, tc.code)
		})
	}
	first := f.exchange(c)
	if first.status != http.StatusOK {
		t.Fatalf("the code's one good exchange: %d %v", first.status, first.body)
	}
	tok := tokens{client: "app-a", access: first.str("access_token"), refresh: first.str("refresh_token")}
	if !f.active(tok) {
		t.Fatal("fresh access token inactive")
	}
	wantError(t, "replayed code", f.exchange(c), http.StatusBadRequest, "invalid_grant")
	if f.active(tok) {
		t.Fatal("the access token of a replayed code's first use is still active")
	}
	wantError(t, "refresh token of a replayed code", f.refresh("app-a", tok.refresh, ""), http.StatusBadRequest, "invalid_grant")

	// A code dies after its 60 seconds.
	c = f.authorize("app-a", "openid")
	f.clock.Add(CodeLifetime + time.Second)
	wantError(t, "expired code", f.exchange(c), http.StatusBadRequest, "invalid_grant")

	// A code whose device session ended meanwhile mints nothing.
	c = f.authorize("app-a", "openid")
	if err := f.sessions.End(t.Context(), f.browser.ID, sessions.ReasonSignedOut); err != nil {
		t.Fatal(err)
	}
	wantError(t, "code of an ended session", f.exchange(c), http.StatusBadRequest, "invalid_grant")
}

// TestDatabaseDownIs503: when latch cannot ask its database, the token,
// userinfo, introspection and revocation endpoints answer 503
// temporarily_unavailable with Retry-After, never invalid_grant,
// invalid_token or "inactive", which would make an app sign its user out;
// the same credentials work again once the database is back.
func TestDatabaseDownIs503(t *testing.T) {
	f := newFixture(t)
	jwt := f.signInApp("app-a")
	opaque := f.signInApp("app-b")
	c := f.authorize("app-a", "openid")
	up := f.p.Storage.DB
	f.p.Storage.DB = unreachable(t)

	want503 := func(what string, a answer) {
		t.Helper()
		if a.status != http.StatusServiceUnavailable || a.str("error") != "temporarily_unavailable" {
			t.Errorf("%s with the database down: %d %v", what, a.status, a.body)
			return
		}
		if a.header.Get("Retry-After") == "" || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: Retry-After %q, Content-Type %q", what, a.header.Get("Retry-After"), a.header.Get("Content-Type"))
		}
		if d := a.str("error_description"); strings.Contains(d, "dial") || strings.Contains(d, "connect") {
			t.Errorf("%s: the description tells internals: %q", what, d)
		}
	}
	want503("refresh", f.refresh("app-a", jwt.refresh, ""))
	want503("code exchange", f.exchange(c))
	want503("userinfo, JWT", f.userinfo(jwt.access))
	want503("userinfo, opaque", f.userinfo(opaque.access))
	want503("introspection, JWT", f.introspect("app-a", jwt.access))
	want503("introspection, opaque", f.introspect("app-b", opaque.access))
	want503("revocation", f.postAs("app-a", "/revoke", url.Values{"token": {jwt.refresh}}))

	f.p.Storage.DB = up
	if !f.active(jwt) || !f.active(opaque) {
		t.Fatal("access tokens did not survive the outage")
	}
	f.mustRefresh(jwt)
	if a := f.exchange(c); a.status != http.StatusOK {
		t.Fatalf("the code after the outage: %d %v", a.status, a.body)
	}
}
