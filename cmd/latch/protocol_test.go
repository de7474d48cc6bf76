package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// postForm sends a form to latch with optional Basic credentials and returns
// the status, headers and decoded JSON body.
func postForm(t *testing.T, target string, form url.Values, basicID, basicSecret string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("%s answered %d with a body that is not JSON (%s): %q", target, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
	return resp.StatusCode, resp.Header, body
}

// discoveryDoc returns latch's discovery document.
func discoveryDoc(t *testing.T, l *testLatch) map[string]any {
	t.Helper()
	resp, err := http.Get(l.url + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func listed(doc map[string]any, key string) []string {
	var out []string
	for _, v := range doc[key].([]any) {
		out = append(out, v.(string))
	}
	return out
}

// TestDiscoveredAuthMethodsWork tries every client authentication method
// discovery lists, on the endpoint it is listed for: a listed method that
// does not work (client_secret_post at introspection did not) fails, and
// so does a listed method this test does not know how to try.
func TestDiscoveredAuthMethodsWork(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	doc := discoveryDoc(t, l)
	b := l.browser()
	a := l.appA()
	cli := l.rp("cli", "", "http://127.0.0.1:47003/callback")

	// Token endpoint: a code exchange with each method.
	for _, m := range listed(doc, "token_endpoint_auth_methods_supported") {
		r := a
		switch m {
		case "client_secret_basic":
			r.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		case "client_secret_post":
			r.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		case "none":
			r = cli
			r.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		default:
			t.Fatalf("token endpoint lists %q, which this test cannot try", m)
		}
		if tok := b.signInFlow(r); tok.AccessToken == "" {
			t.Fatalf("token endpoint with %s: no access token", m)
		}
	}

	// Introspection: a live token is active with each method.
	bApp := l.appB()
	tokB := b.signInFlow(bApp)
	for _, m := range listed(doc, "introspection_endpoint_auth_methods_supported") {
		form := url.Values{"token": {tokB.AccessToken}}
		id, secret := "", ""
		switch m {
		case "client_secret_basic":
			id, secret = "app-b", "beta-secret-0123456789"
		case "client_secret_post":
			form.Set("client_id", "app-b")
			form.Set("client_secret", "beta-secret-0123456789")
		default:
			t.Fatalf("introspection lists %q, which this test cannot try", m)
		}
		status, _, body := postForm(t, l.url+"/oauth/introspect", form, id, secret)
		if status != 200 || body["active"] != true {
			t.Fatalf("introspection with %s: %d %v", m, status, body)
		}
	}

	// Revocation: each method revokes the client's own refresh token.
	for _, m := range listed(doc, "revocation_endpoint_auth_methods_supported") {
		r, id, secret := a, "", ""
		form := url.Values{}
		switch m {
		case "client_secret_basic":
			id, secret = "app-a", "alpha-secret-0123456789"
		case "client_secret_post":
			form.Set("client_id", "app-a")
			form.Set("client_secret", "alpha-secret-0123456789")
		case "none":
			r = cli
			form.Set("client_id", "cli")
		default:
			t.Fatalf("revocation lists %q, which this test cannot try", m)
		}
		r.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		tok := b.signInFlow(r)
		form.Set("token", tok.RefreshToken)
		if status, _, body := postForm(t, l.url+"/revoke", form, id, secret); status != 200 {
			t.Fatalf("revocation with %s: %d %v", m, status, body)
		}
		if _, err := r.refresh(tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
			t.Fatalf("revocation with %s left the refresh token working: %v", m, err)
		}
	}
}

// TestTokenEndpointErrors: client authentication failures and refused
// grants are RFC 6749 §5.2 JSON, 401 with a challenge for invalid_client,
// and nothing that carries tokens may be cached.
func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	code := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {"http://localhost:47001/callback"}}
	for _, c := range []struct {
		name           string
		endpoint       string
		form           url.Values
		basicID, basic string
		status         int
		errCode        string
	}{
		{"unknown client, basic", "/oauth/token", code, "nobody", "whatever-secret-123", 401, "invalid_client"},
		{"unknown client, post", "/oauth/token", with(code, "client_id", "nobody", "client_secret", "x"), "", "", 401, "invalid_client"},
		{"wrong secret", "/oauth/token", code, "app-a", "wrong-secret-0123456789", 401, "invalid_client"},
		{"no client at all", "/oauth/token", code, "", "", 401, "invalid_client"},
		{"confidential client without its secret", "/oauth/token", with(code, "client_id", "app-a"), "", "", 401, "invalid_client"},
		{"public client with a secret", "/oauth/token", with(code, "client_id", "cli", "client_secret", "guess"), "", "", 401, "invalid_client"},
		{"two authentication methods", "/oauth/token", with(code, "client_secret", "alpha-secret-0123456789"), "app-a", "alpha-secret-0123456789", 400, "invalid_request"},
		{"unsupported grant", "/oauth/token", url.Values{"grant_type": {"password"}}, "app-a", "alpha-secret-0123456789", 400, "unsupported_grant_type"},
		{"missing grant", "/oauth/token", url.Values{}, "app-a", "alpha-secret-0123456789", 400, "invalid_request"},
		{"unknown code", "/oauth/token", with(code, "code_verifier", strings.Repeat("a", 43)), "app-a", "alpha-secret-0123456789", 400, "invalid_grant"},
		{"unknown refresh token", "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, "app-a", "alpha-secret-0123456789", 400, "invalid_grant"},
		{"introspection, wrong secret", "/oauth/introspect", url.Values{"token": {"x"}}, "app-b", "wrong-secret-0123456789", 401, "invalid_client"},
		{"introspection, public client", "/oauth/introspect", url.Values{"token": {"x"}, "client_id": {"cli"}}, "", "", 401, "invalid_client"},
		{"introspection, no client", "/oauth/introspect", url.Values{"token": {"x"}}, "", "", 401, "invalid_client"},
		{"revocation, unknown client", "/revoke", url.Values{"token": {"x"}}, "nobody", "whatever-secret-123", 401, "invalid_client"},
		{"revocation, no token", "/revoke", url.Values{}, "app-a", "alpha-secret-0123456789", 400, "invalid_request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, h, body := postForm(t, l.url+c.endpoint, c.form, c.basicID, c.basic)
			if status != c.status || body["error"] != c.errCode {
				t.Fatalf("%d %v, want %d %s", status, body, c.status, c.errCode)
			}
			if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q", h.Get("Content-Type"))
			}
			if status == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("401 without a Basic challenge: %q", h.Get("WWW-Authenticate"))
			}
			if d, _ := body["error_description"].(string); d == "" || strings.Contains(d, "Parent=") {
				t.Errorf("error_description %q", d)
			}
			if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
				t.Errorf("Cache-Control %q, Pragma %q", h.Get("Cache-Control"), h.Get("Pragma"))
			}
		})
	}

	// Successful answers carry tokens or claims: never cached either.
	b := l.browser()
	a := l.appA()
	f := a.newFlow()
	resp := b.signIn(b.do("GET", f.url, nil), l.email, testPassword)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {a.callback(resp, f)}, "code_verifier": {f.verifier},
		"redirect_uri": {"http://localhost:47001/callback"}}
	status, h, body := postForm(t, l.url+"/oauth/token", form, "app-a", "alpha-secret-0123456789")
	if status != 200 || h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
		t.Fatalf("token response %d, Cache-Control %q, Pragma %q", status, h.Get("Cache-Control"), h.Get("Pragma"))
	}
	access := body["access_token"].(string)
	req, _ := http.NewRequest("GET", l.url+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	ui, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ui.Body.Close()
	if ui.StatusCode != 200 || ui.Header.Get("Cache-Control") != "no-store" || ui.Header.Get("Pragma") != "no-cache" {
		t.Fatalf("userinfo %d, Cache-Control %q, Pragma %q", ui.StatusCode, ui.Header.Get("Cache-Control"), ui.Header.Get("Pragma"))
	}
	_, h, _ = postForm(t, l.url+"/oauth/introspect", url.Values{"token": {access}}, "app-a", "alpha-secret-0123456789")
	if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
		t.Fatalf("introspection Cache-Control %q, Pragma %q", h.Get("Cache-Control"), h.Get("Pragma"))
	}
	// A bad bearer token is a Bearer challenge with invalid_token.
	req, _ = http.NewRequest("GET", l.url+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer not-a-token")
	ui, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ui.Body.Close()
	if ui.StatusCode != 401 || !strings.Contains(ui.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("userinfo with a bad token: %d %q", ui.StatusCode, ui.Header.Get("WWW-Authenticate"))
	}
	if !slices.Contains(listed(discoveryDoc(t, l), "grant_types_supported"), "refresh_token") {
		t.Fatal("discovery lost refresh_token")
	}
}

// with returns a copy of v with the given key/value pairs set.
func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}
