package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latch-idp/latch/internal/pgtest"
	"github.com/latch-idp/latch/internal/seal"
)

// loopbackListener opens a desktop app's own loopback listener on addr (a
// port the system picks), as the app does before it signs in, and returns
// its redirect URI and the query of the first answer it receives.
func loopbackListener(t *testing.T, addr string) (string, <-chan url.Values) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan url.Values, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.URL.Query():
		default:
		}
		fmt.Fprintln(w, "Signed in. You can close this window.")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/callback", got
}

// TestNativeLoopbackRandomPort: a desktop app (kind: native) listens on a
// loopback port the system picks and signs in through it (RFC 8252 §7.3),
// on 127.0.0.1 and on [::1]; the same redirect on a random port is refused
// for web clients, and so is another loopback host or localhost for the
// native app.
func TestNativeLoopbackRandomPort(t *testing.T) {
	t.Parallel()
	clients := testClients + `  - id: desktop6
    app: Alpha Desktop
    kind: native
    redirect_uris: ["http://[::1]/callback"]
    first_party: true
`
	l := startLatch(t, func(c *Config) { c.ClientsFile = writeFile(t, "clients.yaml", clients) })
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()

	for _, c := range []struct{ client, listen string }{{"desktop", "127.0.0.1:0"}, {"desktop6", "[::1]:0"}} {
		t.Run(c.client, func(t *testing.T) {
			redirect, got := loopbackListener(t, c.listen)
			app := l.rp(c.client, "", redirect)
			app.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
			f := app.newFlow()
			resp := b.do("GET", f.url, nil)
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			if !strings.HasPrefix(loc, redirect+"?") {
				t.Fatalf("authorize answered %d to %q, want the app's loopback %s", resp.StatusCode, loc, redirect)
			}
			// The system browser hands the answer to the app.
			hand, err := http.Get(loc)
			if err != nil {
				t.Fatal(err)
			}
			hand.Body.Close()
			q := <-got
			if q.Get("state") != f.state || q.Get("iss") != l.url {
				t.Fatalf("the app got %v", q)
			}
			if tok := app.mustExchange(q.Get("code"), f); tok.AccessToken == "" || tok.RefreshToken == "" {
				t.Fatal("no tokens for a native app on a random loopback port")
			}
		})
	}

	// Refused without a redirect: nothing goes to an address the client
	// has not registered.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := port(ln)
	for _, c := range []struct{ name, client, redirect string }{
		{"public web client, random port", "cli", "http://127.0.0.1:" + port + "/callback"},
		{"confidential web client, random port", "app-a", "http://localhost:" + port + "/callback"},
		{"native client, localhost", "desktop", "http://localhost:" + port + "/callback"},
		{"native client, another loopback address", "desktop", "http://127.0.0.2:" + port + "/callback"},
		{"native client, IPv6 for an IPv4 registration", "desktop", "http://[::1]:" + port + "/callback"},
		{"native client, IPv4 for an IPv6 registration", "desktop6", "http://127.0.0.1:" + port + "/callback"},
		{"native client, another host", "desktop", "http://evil.example:" + port + "/callback"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := url.Values{"client_id": {c.client}, "redirect_uri": {c.redirect}, "response_type": {"code"}, "scope": {"openid"},
				"state": {"s"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}
			req, _ := http.NewRequest("GET", l.url+"/authorize?"+q.Encode(), nil)
			for _, ck := range b.client.Jar.Cookies(req.URL) {
				req.AddCookie(ck)
			}
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("%d to %q, want a 400 page", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

// TestNativePrivateUseScheme: a mobile or desktop app (kind: native)
// registered with a private-use URI scheme redirect (RFC 8252 §7.1) gets
// its code there, with iss and state, and exchanges it with PKCE and no
// secret; without its verifier, or at another scheme, it gets nothing. A
// web client cannot register such a redirect: latch does not start.
func TestNativePrivateUseScheme(t *testing.T) {
	t.Parallel()
	const redirect = "com.example.app:/cb"
	clients := testClients + `  - id: mobile
    app: Alpha Mobile
    kind: native
    redirect_uris: ["` + redirect + `"]
    first_party: true
`
	l := startLatch(t, func(c *Config) { c.ClientsFile = writeFile(t, "clients.yaml", clients) })
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	app := l.rp("mobile", "", redirect)
	app.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams

	authorize := func() (*flow, url.Values) {
		t.Helper()
		f := app.newFlow()
		resp := b.do("GET", f.url, nil)
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, redirect+"?code=") {
			t.Fatalf("authorize answered %d to %q, want %s?code=…", resp.StatusCode, loc, redirect)
		}
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if q.Get("iss") != l.url || q.Get("state") != f.state || q.Get("code") == "" {
			t.Fatalf("the app got %v", q)
		}
		return f, q
	}
	f, q := authorize()
	tok := app.mustExchange(q.Get("code"), f)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.claims.Email != l.email {
		t.Fatalf("tokens %+v, claims %+v", tok.Token, tok.claims)
	}
	if app.userinfo(tok.AccessToken) != http.StatusOK {
		t.Fatal("the native app's access token is refused")
	}
	// The same code again, or a code without its verifier: nothing.
	if _, err := app.exchange(q.Get("code"), f); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("a code used twice: %v", err)
	}
	_, q = authorize()
	if _, err := app.oauth.Exchange(t.Context(), q.Get("code")); oauthErrorCode(err) != "invalid_request" {
		t.Fatalf("a code exchanged without a PKCE verifier: %v", err)
	}
	_, q = authorize()
	if _, err := app.oauth.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("a code exchanged with another PKCE verifier: %v", err)
	}

	// Another scheme, or the registered one with another path, is not a
	// redirect of this app: a page, and no code leaves latch.
	for _, other := range []string{"com.evil.app:/cb", "com.example.app:/other", "com.example.app://cb"} {
		q := url.Values{"client_id": {"mobile"}, "redirect_uri": {other}, "response_type": {"code"}, "scope": {"openid"},
			"state": {"s"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}
		resp := b.do("GET", "/authorize?"+q.Encode(), nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("%s: %d to %q, want a 400 page", other, resp.StatusCode, resp.Header.Get("Location"))
		}
	}

	// A web client, confidential or public by its kind, with such a
	// redirect: latch stops at start with one line naming it.
	key := writeFile(t, "master.key", seal.NewMasterKeyText())
	for name, entry := range map[string]string{
		"confidential": "  - id: web-app\n    app: Web\n    secret: web-secret-0123456789\n    redirect_uris: [\"" + redirect + "\"]\n",
		"kind web":     "  - id: web-app\n    app: Web\n    kind: web\n    redirect_uris: [\"" + redirect + "\"]\n",
	} {
		t.Run(name, func(t *testing.T) {
			file := writeFile(t, "clients.yaml", "clients:\n"+entry)
			// Were it accepted, latch would serve: the deadline stops it.
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := run(ctx, []string{"serve", "--clients", file, "--data-dir", t.TempDir(), "--database-url", pgtest.NewDSN(t), "--master-key-file", key,
				"--addr", "127.0.0.1:0", "--metrics-addr", ""}, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
			if code == 0 || !strings.Contains(stderr.String(), `client web-app: redirect_uris: "`+redirect+`" must be http(s)`) {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
		})
	}
}
