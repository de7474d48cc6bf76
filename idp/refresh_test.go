package idp

import (
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/latch-idp/latch/sessions"
)

// TestRefreshRotates: every refresh hands out a new refresh token and a
// new access token, both good, for the same device session and grant.
func TestRefreshRotates(t *testing.T) {
	f := newFixture(t)
	for _, client := range []string{"app-a", "app-b", "cli"} {
		t.Run(client, func(t *testing.T) {
			tok := f.signInApp(client)
			app := f.appSession(tok.access)
			for i := 0; i < 3; i++ {
				f.clock.Add(2 * time.Minute)
				next := f.mustRefresh(tok)
				if next.access == tok.access {
					t.Fatal("a refresh handed back the same access token")
				}
				if got := f.appSession(next.access); got != app {
					t.Fatalf("refresh %d moved the tokens to app session %s, want %s", i+1, got, app)
				}
				tok = next
			}
			if ui := f.userinfo(tok.access); ui.status != http.StatusOK || ui.str("sub") != f.account || ui.str("email") != "ada@example.com" {
				t.Fatalf("userinfo with a refreshed access token: %d %v", ui.status, ui.body)
			}
		})
	}
}

// TestRefreshReplayEndsAppSession: a rotated-out refresh token presented
// again means a copy is in someone's hands. It is refused, and its app
// session ends with every token of it, the newest included; the device
// session and the other apps in it are left alone.
func TestRefreshReplayEndsAppSession(t *testing.T) {
	f := newFixture(t)
	first := f.signInApp("app-a")
	other := f.signInApp("app-b")
	second := f.mustRefresh(first)
	third := f.mustRefresh(second)

	wantError(t, "rotated-out token presented again", f.refresh("app-a", first.refresh, ""), http.StatusBadRequest, "invalid_grant")
	wantError(t, "newest token after the replay", f.refresh("app-a", third.refresh, ""), http.StatusBadRequest, "invalid_grant")
	if f.active(third) {
		t.Fatal("the newest access token is still active after a replay")
	}
	if ui := f.userinfo(third.access); ui.status != http.StatusUnauthorized || ui.str("error") != "invalid_token" {
		t.Fatalf("userinfo after a replay: %d %v", ui.status, ui.body)
	}
	alive, err := f.sessions.AppAlive(t.Context(), f.db, f.appSession(other.access))
	if err != nil || !alive {
		t.Fatalf("another app's session in the same device: alive %v, %v", alive, err)
	}
	f.mustRefresh(other)
	if _, err := f.sessions.Get(t.Context(), f.browser.ID); err != nil {
		t.Fatalf("the device session ended with one app's replay: %v", err)
	}
	// The app signs in again, in a new app session of the same device.
	again := f.signInApp("app-a")
	f.mustRefresh(again)
}

// TestRefreshOnce: of two uses of one refresh token at the same moment,
// exactly one gets tokens.
func TestRefreshOnce(t *testing.T) {
	f := newFixture(t)
	tok := f.signInApp("app-a")
	const n = 4
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { answers[i] = f.refresh("app-a", tok.refresh, "") })
	}
	wg.Wait()
	ok := 0
	for _, a := range answers {
		switch {
		case a.status == http.StatusOK:
			ok++
		case a.status != http.StatusBadRequest || a.str("error") != "invalid_grant":
			t.Errorf("concurrent refresh: %d %v", a.status, a.body)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent uses of one refresh token got tokens, want 1", ok, n)
	}
}

// TestRefreshRefusedOnceTheSessionEnds: a refresh never outlives its device
// or app session: signed out, ended from elsewhere, expired, or its token
// revoked, the token answers invalid_grant and its access token is
// inactive.
func TestRefreshRefusedOnceTheSessionEnds(t *testing.T) {
	policy := sessions.DefaultPolicy()["standard"]
	for _, c := range []struct {
		name string
		end  func(f *fixture, tok tokens)
	}{
		{"device session signed out", func(f *fixture, tok tokens) {
			if err := f.sessions.End(f.t.Context(), f.browser.ID, sessions.ReasonSignedOut); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"app session ended", func(f *fixture, tok tokens) {
			if err := f.sessions.EndApp(f.t.Context(), f.appSession(tok.access), sessions.ReasonEndedElsewhere); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"device session idle too long", func(f *fixture, tok tokens) {
			f.clock.Add(policy.Idle + time.Minute)
		}},
		{"device session past its absolute lifetime", func(f *fixture, tok tokens) {
			// Active all along, so only the absolute lifetime ends it.
			for elapsed := time.Duration(0); elapsed <= policy.Absolute; elapsed += policy.Idle / 2 {
				f.clock.Add(policy.Idle / 2)
				if err := f.sessions.Touch(f.t.Context(), f.browser.ID); err != nil {
					f.t.Fatal(err)
				}
			}
		}},
		{"refresh token revoked", func(f *fixture, tok tokens) {
			a := f.postAs("app-a", "/revoke", url.Values{"token": {tok.refresh}, "token_type_hint": {"refresh_token"}})
			if a.status != http.StatusOK {
				f.t.Fatalf("revoke: %d %v", a.status, a.body)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			tok := f.mustRefresh(f.signInApp("app-a"))
			if !f.active(tok) {
				t.Fatal("a fresh access token is inactive")
			}
			c.end(f, tok)
			wantError(t, "refresh", f.refresh("app-a", tok.refresh, ""), http.StatusBadRequest, "invalid_grant")
			if f.active(tok) {
				t.Fatal("its access token is still active")
			}
		})
	}
}

// TestRefreshOtherClient: a refresh token works only for the client it was
// issued to; another client's attempt changes nothing, so the rightful app
// keeps its session.
func TestRefreshOtherClient(t *testing.T) {
	f := newFixture(t)
	tok := f.signInApp("app-a")
	for _, thief := range []string{"app-b", "cli"} {
		wantError(t, thief+" presenting app-a's refresh token", f.refresh(thief, tok.refresh, ""), http.StatusBadRequest, "invalid_grant")
	}
	next := f.mustRefresh(tok)
	if !f.active(next) {
		t.Fatal("app-a's session did not survive another client's attempt")
	}
}

// TestRefreshScopes: a refresh may ask for fewer scopes than were granted,
// never more; asking for fewer narrows that access token only.
func TestRefreshScopes(t *testing.T) {
	f := newFixture(t)
	tok := f.signInApp("app-a")
	wantError(t, "asking for more", f.refresh("app-a", tok.refresh, "openid profile"), http.StatusBadRequest, "invalid_scope")

	a := f.refresh("app-a", tok.refresh, "openid")
	if a.status != http.StatusOK {
		t.Fatalf("asking for fewer: %d %v", a.status, a.body)
	}
	narrow := tokens{client: "app-a", access: a.str("access_token"), refresh: a.str("refresh_token")}
	if ui := f.userinfo(narrow.access); ui.status != http.StatusOK || ui.str("email") != "" {
		t.Fatalf("userinfo of a token without scope email: %d %v", ui.status, ui.body)
	}
	// The rotated refresh token keeps the whole grant (RFC 6749 §6).
	a = f.refresh("app-a", narrow.refresh, "openid email")
	if a.status != http.StatusOK {
		t.Fatalf("the grant's scopes after a narrower refresh: %d %v", a.status, a.body)
	}
	if ui := f.userinfo(a.str("access_token")); ui.status != http.StatusOK || ui.str("email") != "ada@example.com" {
		t.Fatalf("userinfo with scope email again: %d %v", ui.status, ui.body)
	}
}

// TestRefreshRefusal: Storage.Refresh refuses, changing nothing, what it
// may not rotate, and RefreshRefusal says why in OAuth terms; only a
// rotated-out token ends its app session.
func TestRefreshRefusal(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	tok := f.signInApp("app-a")
	app := f.appSession(tok.access)

	refusal := func(token, client string, scopes []string) *oidc.Error {
		t.Helper()
		if _, err := f.p.Storage.Refresh(ctx, token, client, scopes); !errors.Is(err, ErrRefreshRefused) {
			t.Fatalf("Refresh(%s): %v, want ErrRefreshRefused", client, err)
		}
		var oe *oidc.Error
		if err := f.p.Storage.RefreshRefusal(ctx, token, client, scopes); !errors.As(err, &oe) {
			t.Fatalf("RefreshRefusal: %v, want an OAuth error", err)
		}
		return oe
	}
	for _, c := range []struct {
		name, token, client string
		scopes              []string
		want                string
	}{
		{"unknown token", randomToken(), "app-a", nil, "invalid_grant"},
		{"another client", tok.refresh, "app-b", nil, "invalid_grant"},
		{"more scopes", tok.refresh, "app-a", []string{"openid", "profile"}, "invalid_scope"},
	} {
		if oe := refusal(c.token, c.client, c.scopes); string(oe.ErrorType) != c.want {
			t.Errorf("%s: %s (%s), want %s", c.name, oe.ErrorType, oe.Description, c.want)
		}
		if alive, err := f.sessions.AppAlive(ctx, f.db, app); err != nil || !alive {
			t.Fatalf("%s ended the app session (%v)", c.name, err)
		}
	}

	r, err := f.p.Storage.Refresh(ctx, tok.refresh, "app-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.appSessionID != app || r.sid != f.browser.ID || r.accountID != f.account {
		t.Fatalf("refresh moved the grant: app session %s, sid %s, account %s", r.appSessionID, r.sid, r.accountID)
	}
	if oe := refusal(tok.refresh, "app-a", nil); oe.ErrorType != oidc.InvalidGrant {
		t.Fatalf("rotated-out token: %s", oe.ErrorType)
	}
	if alive, err := f.sessions.AppAlive(ctx, f.db, app); err != nil || alive {
		t.Fatalf("the app session lives on after a rotated-out token came back (%v)", err)
	}
	if _, err := f.p.Storage.Refresh(ctx, r.newRefresh, "app-a", nil); !errors.Is(err, ErrRefreshRefused) {
		t.Fatalf("the newest token after reuse: %v", err)
	}
}
