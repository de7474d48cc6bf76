package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latch-idp/latch/internal/pgtest"
)

// statusAt calls a bearer endpoint (userinfo) at base and returns the status.
func userinfoAt(t *testing.T, base, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// introspectAt asks base whether token is active, as app-b.
func introspectAt(t *testing.T, base, token string) bool {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app-b", "beta-secret-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspection at %s: %d", base, resp.StatusCode)
	}
	var out struct {
		Active bool `json:"active"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Active
}

// eventually fails unless cond holds within d.
func eventually(t *testing.T, d time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTokenCacheReplicas: replica B answers userinfo and introspection for
// live tokens from its cache, and drops them within the promised second
// when replica A revokes a token, ends an app session or ends the device
// session; with its listening connection broken it stops trusting the
// cache.
func TestTokenCacheReplicas(t *testing.T) {
	t.Parallel()
	a := startLatch(t)
	b := a.replica()
	br := a.browser()
	appA, appB := a.appA(), a.appB()
	jwtTok := br.signInFlow(appA)
	opaque := br.signInFlow(appB)
	if userinfoAt(t, b.base, jwtTok.AccessToken) != 200 || !introspectAt(t, b.base, opaque.AccessToken) {
		t.Fatal("replica B refuses live tokens")
	}
	if n, _ := b.srv.Provider().Storage.TokenCacheSize(); n != 2 {
		t.Fatalf("B caches %d tokens, want 2", n)
	}

	// B answers from its cache: a token revoked behind latch's back (no
	// notification) is still good on B while B trusts its cache...
	if _, err := a.srv.Provider().Storage.RevokeAccessTokensUnannounced(t.Context()); err != nil {
		t.Fatal(err)
	}
	if userinfoAt(t, b.base, jwtTok.AccessToken) != 200 {
		t.Fatal("B is not answering from its cache, so the checks below prove nothing")
	}
	// ...until its listening connection breaks: then it reads the database.
	_, listener := b.srv.Provider().Storage.TokenCacheSize()
	if killed := pgtest.Terminate(t, listener); killed != 1 {
		t.Fatalf("killed %d listener connections", killed)
	}
	eventually(t, 5*time.Second, func() bool { return userinfoAt(t, b.base, jwtTok.AccessToken) == http.StatusUnauthorized },
		"B still trusts its token cache after losing its listening connection")

	// Fresh tokens, cached on B again once its listener is back.
	br2 := a.browser()
	jwt2 := br2.signInFlow(appA)
	op2 := br2.signInFlow(appB)
	eventually(t, 5*time.Second, func() bool {
		userinfoAt(t, b.base, jwt2.AccessToken)
		n, _ := b.srv.Provider().Storage.TokenCacheSize()
		return n >= 1
	}, "B's token listener never came back")

	// RFC 7009 revocation on A reaches B.
	form := url.Values{"token": {jwt2.AccessToken}, "token_type_hint": {"access_token"}}
	req, _ := http.NewRequest("POST", a.url+"/revoke", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app-a", "alpha-secret-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoke: %v %v", resp, err)
	}
	resp.Body.Close()
	eventually(t, time.Second, func() bool { return userinfoAt(t, b.base, jwt2.AccessToken) == http.StatusUnauthorized },
		"a token revoked on A still works on B")

	// Ending the device session on A reaches B's introspection.
	if !introspectAt(t, b.base, op2.AccessToken) {
		t.Fatal("B reports a live opaque token inactive")
	}
	if err := a.srv.Sessions().End(t.Context(), op2.claims.Sid, "signed_out"); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, func() bool { return !introspectAt(t, b.base, op2.AccessToken) },
		"a token of a session ended on A is active on B")

	// Ending one app session on A reaches B.
	br3 := a.browser()
	jwt3 := br3.signInFlow(appA)
	if userinfoAt(t, b.base, jwt3.AccessToken) != 200 {
		t.Fatal("B refuses a live token")
	}
	var appSession string
	for _, app := range a.device(jwt3.claims.Sid).Apps {
		if app.ClientID == "app-a" {
			appSession = app.ID
		}
	}
	if appSession == "" {
		t.Fatal("no live app session of app-a")
	}
	if err := a.srv.Sessions().EndApp(t.Context(), appSession, "signed_out"); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, func() bool { return userinfoAt(t, b.base, jwt3.AccessToken) == http.StatusUnauthorized },
		"a token of an app session ended on A still works on B")
}
