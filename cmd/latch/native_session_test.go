package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latch-idp/latch/sessions"
)

const macChrome = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// nativeSignIn signs the desktop app (kind: native) in through b's browser
// session with a loopback redirect on a port the system picks, and
// returns its tokens.
func nativeSignIn(t *testing.T, l *testLatch, b *browser) *tokens {
	t.Helper()
	redirect, got := loopbackListener(t, "127.0.0.1:0")
	app := l.rp("desktop", "", redirect)
	app.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	app.oauth.Scopes = []string{"openid", "offline_access"}
	f := app.newFlow()
	resp := b.do("GET", f.url, nil)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, redirect+"?") {
		t.Fatalf("authorize answered %d to %q", resp.StatusCode, loc)
	}
	hand, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	hand.Body.Close()
	tok := app.mustExchange((<-got).Get("code"), f)
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	return tok
}

// TestNativeAppIsItsOwnSession: a desktop app signed in through the
// browser with a loopback redirect (RFC 8252) is a device session of its
// own, kind native, named after the app and the machine's system, placed
// where the browser is, approved on that browser, with the app's sid in its
// ID token; the browser's session ending leaves the app signed in, and
// ending the app's session from the sessions API refuses its refresh token
// at once on another replica. The activity history says it.
func TestNativeAppIsItsOwnSession(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	b := l.signedInAs(macChrome)
	browserSID := ""
	for _, s := range apiSessions(t, b) {
		browserSID = s.ID
	}
	tok := nativeSignIn(t, l, b)

	list := apiSessions(t, b)
	if len(list) != 2 {
		t.Fatalf("%d sessions after a desktop app signed in, want the browser's and the app's: %+v", len(list), list)
	}
	var native apiSession
	for _, s := range list {
		switch s.ID {
		case browserSID:
			if s.Kind != "browser" || len(s.Apps) != 0 {
				t.Fatalf("the browser's session took the desktop app: %+v", s)
			}
		default:
			native = s
		}
	}
	if native.Kind != "native" || native.Device != "Alpha Desktop · macOS" || native.ApprovedOn != "Chrome on macOS" ||
		len(native.Apps) != 1 || native.Apps[0].ClientID != "desktop" {
		t.Fatalf("the desktop app's session: %+v", native)
	}
	if sid := tok.claims.Sid; sid != native.ID {
		t.Fatalf("the ID token's sid is %q, want the app's session %q", sid, native.ID)
	}
	acct := l.accountID(l.email)
	if n := l.countActivity(acct, func(e sessions.HistoryEvent) bool {
		return e.Kind == sessions.EventDeviceApproved && e.Detail["session"] == native.ID && e.Detail["kind"] == "native"
	}); n != 1 {
		t.Fatalf("%d activity lines for the desktop app's sign-in, want 1", n)
	}
	if _, page, _ := b.send("GET", "/account/activity", "", nil, nil); !strings.Contains(page, "Signed in a desktop app") {
		t.Fatal("the activity page does not say a desktop app signed in")
	}
	if _, page, _ := b.send("GET", "/account/sessions", "", nil, nil); !strings.Contains(page, "Alpha Desktop · macOS") || !strings.Contains(page, "approved on Chrome on macOS") {
		t.Fatal("the sessions page does not show the desktop app's session")
	}

	// Signing out of the browser leaves the app signed in.
	other := l.signedInAs(macChrome)
	if code, out := apiCall(t, l, "POST", "/api/account/sessions/"+browserSID+"/end", "", withCookie(other, true)); code != 200 {
		t.Fatalf("ending the browser's session: %d %v", code, out)
	}
	if e := refreshAt(t, l.url, "desktop", "", tok.RefreshToken); e != "" {
		t.Fatalf("the desktop app's refresh after the browser signed out: %q", e)
	}

	// Ending the app's own session: its refresh is refused on another
	// replica at once.
	replica := l.replica()
	if code, out := apiCall(t, l, "POST", "/api/account/sessions/"+native.ID+"/end", "", withCookie(other, true)); code != 200 {
		t.Fatalf("ending the desktop app's session: %d %v", code, out)
	}
	status, _, body := postForm(t, replica.base+"/oauth/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {tok.RefreshToken}, "client_id": {"desktop"}}, "", "")
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("refresh after the end, on another replica: %d %v", status, body)
	}
}

// TestNativeSessionLifetime: the desktop app's session lives under the
// lifetimes of the browser session it signed in through, and its refreshes
// are its activity: an app in use lives on, and after 15 idle minutes an
// advanced account's dies as its browser's does, a standard account's not.
func TestNativeSessionLifetime(t *testing.T) {
	t.Parallel()
	for _, advanced := range []bool{true, false} {
		t.Run(fmt.Sprint("advanced=", advanced), func(t *testing.T) {
			l := startLatch(t)
			acct := l.accountID(l.email)
			b := l.browser()
			if advanced {
				l.makeAdvanced(acct)
				_, secret, err := l.srv.Sessions().Create(t.Context(), sessionForTest(acct))
				if err != nil {
					t.Fatal(err)
				}
				u, _ := url.Parse(l.url)
				b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "latch", Value: secret, Path: "/"}})
			} else {
				b.signInPassword(l.email, testPassword).Body.Close()
			}
			browserSID := l.sid(b.session())
			tok := nativeSignIn(t, l, b)
			native := ""
			for _, s := range apiSessions(t, b) {
				if s.ID != browserSID {
					native = s.ID
				}
			}
			d, err := l.srv.Sessions().Get(t.Context(), native)
			if err != nil {
				t.Fatal(err)
			}
			if want := l.srv.Sessions().Policy[map[bool]sessions.SecurityMode{true: sessions.ModeAdvanced, false: sessions.ModeStandard}[advanced]]; d.IdleTimeout != want.Idle ||
				!d.AbsoluteExpiresAt.Equal(d.CreatedAt.Add(want.Absolute)) {
				t.Fatalf("the app's session lives %v idle, until %v; want %+v", d.IdleTimeout, d.AbsoluteExpiresAt, want)
			}
			// In use, refreshing every 4 minutes for 20, it lives on: its
			// refreshes are its activity, as it has no cookie.
			refresh := tok.RefreshToken
			for range 5 {
				l.clock.Add(4 * time.Minute)
				status, _, body := postForm(t, l.url+"/oauth/token", url.Values{"grant_type": {"refresh_token"},
					"refresh_token": {refresh}, "client_id": {"desktop"}}, "", "")
				if status != http.StatusOK {
					t.Fatalf("refresh of the desktop app in use: %d %v", status, body)
				}
				refresh = body["refresh_token"].(string)
			}
			l.clock.Add(16 * time.Minute)
			e := refreshAt(t, l.url, "desktop", "", refresh)
			if advanced && e != "invalid_grant" {
				t.Fatalf("refresh of an advanced account's desktop app after 16 idle minutes: %q, want invalid_grant", e)
			}
			if !advanced && e != "" {
				t.Fatalf("refresh of a standard account's desktop app after 16 idle minutes: %q", e)
			}
		})
	}
}
