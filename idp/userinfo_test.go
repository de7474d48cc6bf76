package idp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latch-idp/latch/sessions"
)

// TestIntrospectionClientAuthentication: introspection answers only
// confidential clients that authenticate with their secret (RFC 7662 §2.1),
// and tells a client only about its own tokens.
func TestIntrospectionClientAuthentication(t *testing.T) {
	f := newFixture(t)
	tok := f.signInApp("app-a")
	form := url.Values{"token": {tok.access}}
	for _, tc := range []struct {
		name           string
		form           url.Values
		basicID, basic string
		status         int
		code           string
	}{
		{"no client", form, "", "", 401, "invalid_client"},
		{"client_id alone", with(form, "client_id", "app-a"), "", "", 401, "invalid_client"},
		{"wrong secret", form, "app-a", "wrong-secret-0123456789", 401, "invalid_client"},
		{"unknown client", form, "nobody", "whatever-secret-123", 401, "invalid_client"},
		{"public client", with(form, "client_id", "cli"), "", "", 401, "invalid_client"},
		{"two methods", with(form, "client_id", "app-a", "client_secret", secrets["app-a"]), "app-a", secrets["app-a"], 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, tc.name, f.post("/oauth/introspect", tc.form, tc.basicID, tc.basic), tc.status, tc.code)
		})
	}

	if a := f.introspect("app-b", tok.access); a.status != http.StatusOK || a.body["active"] != false || len(a.body) != 1 {
		t.Fatalf("another client asking about app-a's token: %d %v, want only active: false", a.status, a.body)
	}
	a := f.introspect("app-a", tok.access)
	if a.status != http.StatusOK || a.body["active"] != true || a.str("client_id") != "app-a" || a.str("sub") != f.account ||
		a.str("sid") != f.browser.ID || a.str("iss") != testIssuer {
		t.Fatalf("introspection of a live token: %d %v", a.status, a.body)
	}
	if a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("introspection may be cached: %q", a.header.Get("Cache-Control"))
	}
	a = f.post("/oauth/introspect", with(form, "client_id", "app-a", "client_secret", secrets["app-a"]), "", "")
	if a.status != http.StatusOK || a.body["active"] != true {
		t.Fatalf("introspection with client_secret_post: %d %v", a.status, a.body)
	}
	if a := f.introspect("app-a", "not-a-token"); a.status != http.StatusOK || a.body["active"] != false {
		t.Fatalf("introspection of garbage: %d %v", a.status, a.body)
	}
}

// TestAccessTokenOfEndedSession: an access token, JWT or opaque, stops
// working the moment its device or app session ends, it is revoked or it
// expires, whether or not this replica had it in its token cache:
// introspection calls it inactive and userinfo answers 401 invalid_token.
func TestAccessTokenOfEndedSession(t *testing.T) {
	for _, cached := range []bool{false, true} {
		for _, client := range []string{"app-a", "app-b"} {
			for _, c := range []struct {
				name string
				end  func(f *fixture, tok tokens)
			}{
				{"device session ended", func(f *fixture, tok tokens) {
					if err := f.sessions.End(f.t.Context(), f.browser.ID, sessions.ReasonEndedElsewhere); err != nil {
						f.t.Fatal(err)
					}
				}},
				{"app session ended", func(f *fixture, tok tokens) {
					if err := f.sessions.EndApp(f.t.Context(), f.appSession(tok.access), sessions.ReasonEndedElsewhere); err != nil {
						f.t.Fatal(err)
					}
				}},
				{"access token revoked", func(f *fixture, tok tokens) {
					a := f.postAs(tok.client, "/revoke", url.Values{"token": {tok.access}, "token_type_hint": {"access_token"}})
					if a.status != http.StatusOK {
						f.t.Fatalf("revoke: %d %v", a.status, a.body)
					}
				}},
				{"access token expired", func(f *fixture, tok tokens) {
					f.clock.Add(AccessTokenLifetime)
				}},
			} {
				name := client + ", " + c.name
				if cached {
					name += ", cached"
				}
				t.Run(name, func(t *testing.T) {
					f := newFixture(t)
					if cached {
						f.p.Storage.EnableTokenCache(t.Context(), f.p.cfg.Logger)
					}
					tok := f.signInApp(client)
					for range 2 { // the second answer comes from the cache, if any
						if !f.active(tok) {
							t.Fatal("a fresh access token is inactive")
						}
						if ui := f.userinfo(tok.access); ui.status != http.StatusOK {
							t.Fatalf("userinfo of a fresh token: %d %v", ui.status, ui.body)
						}
					}
					if n, _ := f.p.Storage.TokenCacheSize(); cached && n != 1 {
						t.Fatalf("%d tokens cached, want 1", n)
					}
					c.end(f, tok)
					if f.active(tok) {
						t.Fatal("introspection still calls it active")
					}
					ui := f.userinfo(tok.access)
					if ui.status != http.StatusUnauthorized || ui.str("error") != "invalid_token" ||
						!strings.Contains(ui.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
						t.Fatalf("userinfo: %d %v %q", ui.status, ui.body, ui.header.Get("WWW-Authenticate"))
					}
				})
			}
		}
	}
}

// TestUserinfoNeedsABearerToken: no token is 401 with a Bearer challenge.
func TestUserinfoNeedsABearerToken(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest(http.MethodGet, testIssuer+"/userinfo", nil)
	a := f.decode(f.serve(req))
	if a.status != http.StatusUnauthorized || !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("userinfo without a token: %d %v %q", a.status, a.body, a.header.Get("WWW-Authenticate"))
	}
	req.Header.Set("Authorization", "Basic "+"YXBwLWE6eA==")
	if a := f.decode(f.serve(req)); a.status != http.StatusUnauthorized {
		t.Fatalf("userinfo with Basic credentials: %d %v", a.status, a.body)
	}
}
