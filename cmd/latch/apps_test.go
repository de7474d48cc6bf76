package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const outsiderSecret = "outsider-secret-0123456789"

// startLatchWithOutsider registers the third-party app "outsider" with a
// back-channel logout URI.
func startLatchWithOutsider(t *testing.T) (*testLatch, *receiver) {
	t.Helper()
	rcv := newReceiver(t)
	clients := strings.Replace(testClients, "    redirect_uris: [http://localhost:47004/callback]\n",
		"    redirect_uris: [http://localhost:47004/callback]\n    backchannel_logout_uri: "+rcv.srv.URL+"/bc\n", 1)
	l := startLatch(t, func(c *Config) { c.ClientsFile = writeFile(t, "clients.yaml", clients) })
	return l, rcv
}

func (l *testLatch) outsider(scopes ...string) *rp {
	r := l.rp("outsider", outsiderSecret, "http://localhost:47004/callback")
	r.oauth.Scopes = scopes
	return r
}

// activeAs reports whether introspection at base, by clientID, calls the
// token active.
func activeAs(t *testing.T, base, clientID, secret, token string) bool {
	t.Helper()
	return introspectAs(t, base, clientID, secret, token)["active"] == true
}

// refreshAt uses a refresh token at base's token endpoint (a public client
// when secret is "") and returns the
// error code ("" when it worked).
func refreshAt(t *testing.T, base, clientID, secret, token string) string {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
	basicID := clientID
	if secret == "" {
		// A public client names itself in the body.
		form.Set("client_id", clientID)
		basicID = ""
	}
	status, _, body := postForm(t, base+"/oauth/token", form, basicID, secret)
	if status == http.StatusOK {
		return ""
	}
	code, _ := body["error"].(string)
	return code
}

// connectedApps reads /api/account/apps.
func connectedApps(t *testing.T, l *testLatch, auth func(*http.Request)) (int, []map[string]any) {
	t.Helper()
	code, out := apiCall(t, l, "GET", "/api/account/apps", "", auth)
	var apps []map[string]any
	list, _ := out["apps"].([]any)
	for _, a := range list {
		apps = append(apps, a.(map[string]any))
	}
	return code, apps
}

// TestConnectedApps: a third-party app allowed on a laptop and used on a
// phone is listed with what it may do, when it was allowed and allowed
// more, when it was last used and both devices; a first-party app is not.
// Removing its access (confirmed, CSRF-protected) kills its tokens on both
// replicas at once (introspection inactive, refresh invalid_grant), sends
// its back-channel logouts, records the permission history and an alert,
// and the next authorization asks again.
func TestConnectedApps(t *testing.T) {
	t.Parallel()
	l, rcv := startLatchWithOutsider(t)
	replica := l.replica()
	laptop, phone := l.browser(), l.browser()
	phone.ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
	laptop.signInFlow(l.appA()) // first party: never listed

	granted := l.clock.Now()
	out := l.outsider("openid", "email", oidc.ScopeOfflineAccess)
	f := out.newFlow()
	resp := laptop.do("GET", f.url, nil)
	if resp.Request.URL.Path != "/consent" {
		t.Fatalf("first authorization of a third-party app: %s", resp.Request.URL)
	}
	out.mustExchange(out.callback(laptop.consent(resp, "allow"), f), f)

	l.clock.Add(2 * time.Hour)
	widened := l.clock.Now()
	out.oauth.Scopes = append(out.oauth.Scopes, "profile")
	laptopTok := laptop.signInFlow(out) // asks again, for profile
	phoneTok := phone.signInFlow(out)   // the same consent: no page
	var consentPages int
	l.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM activity WHERE kind IN ('consent_granted', 'consent_widened')`).Scan(&consentPages)
	if consentPages != 2 {
		t.Fatalf("%d permission history entries before removal, want 2 (granted, widened)", consentPages)
	}

	// The API lists it with its scopes, times and devices.
	code, apps := connectedApps(t, l, withCookie(laptop, false))
	if code != 200 || len(apps) != 1 || apps[0]["client_id"] != "outsider" || apps[0]["name"] != "Outsider" {
		t.Fatalf("connected apps: %d %v", code, apps)
	}
	app := apps[0]
	if got := sprint(app["scopes"]); !strings.Contains(got, "email") || !strings.Contains(got, "profile") {
		t.Fatalf("scopes %v", app["scopes"])
	}
	if got := sprint(app["permissions"]); !strings.Contains(got, "See your email address") || !strings.Contains(got, "See your name") {
		t.Fatalf("permissions %v", app["permissions"])
	}
	at := func(key string) time.Time {
		s, _ := app[key].(string)
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("%s = %v", key, app[key])
		}
		return v
	}
	if d := at("granted_at").Sub(granted); d < -time.Second || d > time.Second {
		t.Fatalf("granted_at %v, want about %v", app["granted_at"], granted)
	}
	if d := at("widened_at").Sub(widened); d < -time.Second || d > time.Second {
		t.Fatalf("widened_at %v, want about %v", app["widened_at"], widened)
	}
	if at("last_used_at").Before(widened.Add(-time.Second)) {
		t.Fatalf("last_used_at %v is older than its last sign-in", app["last_used_at"])
	}
	devices, _ := app["devices"].([]any)
	if len(devices) != 2 || !strings.Contains(sprint(devices), "Safari on iPhone") || !strings.Contains(sprint(devices), "Chrome on Linux") {
		t.Fatalf("devices %v", devices)
	}
	// kind and device_kind say what they say in the sessions API: the
	// kind of sign-in, and the icon.
	kinds := map[string]string{}
	for _, d := range devices {
		d := d.(map[string]any)
		kind, _ := d["kind"].(string)
		icon, _ := d["device_kind"].(string)
		kinds[d["device"].(string)] = kind + "/" + icon
	}
	if kinds["Safari on iPhone"] != "browser/phone" || kinds["Chrome on Linux"] != "browser/desktop" {
		t.Fatalf("device kinds %v", kinds)
	}

	// The page says the same in words, and is linked from the sessions
	// and security pages.
	body := page(t, laptop.do("GET", "/account/apps", nil))
	for _, want := range []string{"Outsider", "See your email address", "See your name", "Allowed more", "Last used", "Safari on iPhone", "Chrome on Linux", "This device", "Remove access"} {
		if !strings.Contains(body, want) {
			t.Fatalf("apps page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Alpha") {
		t.Fatal("a first-party app is listed as a connected app")
	}
	for _, p := range []string{"/account/sessions", "/account/security"} {
		if !strings.Contains(page(t, laptop.do("GET", p, nil)), `href="/account/apps"`) {
			t.Fatalf("%s does not link to the connected apps", p)
		}
	}

	// Both replicas hold the tokens live (and cached).
	for _, base := range []string{l.url, replica.base} {
		if !activeAs(t, base, "outsider", outsiderSecret, laptopTok.AccessToken) || !activeAs(t, base, "outsider", outsiderSecret, phoneTok.AccessToken) {
			t.Fatalf("%s: live tokens inactive", base)
		}
		if userinfoAt(t, base, phoneTok.AccessToken) != http.StatusOK {
			t.Fatalf("%s: userinfo refuses a live token", base)
		}
	}

	// Remove: a confirmation first, whose form carries the CSRF token.
	confirm := page(t, laptop.do("GET", "/account/apps/outsider/remove", nil))
	if !strings.Contains(confirm, "Remove Outsider's access?") || !strings.Contains(confirm, "signed out on 2 devices") {
		t.Fatalf("no confirmation:\n%s", confirm)
	}
	if resp := laptop.do("POST", "/account/apps/outsider/remove", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a removal without the CSRF token: %d", resp.StatusCode)
	}
	if !activeAs(t, l.url, "outsider", outsiderSecret, phoneTok.AccessToken) {
		t.Fatal("a refused removal removed something")
	}
	resp = laptop.post("/account/apps/outsider/remove", "/account/apps/outsider/remove", nil)
	body = page(t, resp)
	if resp.Request.URL.Path != "/account/apps" || !strings.Contains(body, "Outsider no longer has access to your account. It was signed out on 2 devices.") {
		t.Fatalf("after removal at %s:\n%s", resp.Request.URL, body)
	}
	if strings.Contains(body, `data-client="outsider"`) {
		t.Fatal("the removed app is still listed")
	}

	// Its tokens die everywhere at once: the other replica within the
	// promised second, from its cache too.
	for _, tok := range []*tokens{laptopTok, phoneTok} {
		eventually(t, time.Second, func() bool { return !activeAs(t, replica.base, "outsider", outsiderSecret, tok.AccessToken) },
			"an access token of a removed app is active on the other replica")
		eventually(t, time.Second, func() bool { return userinfoAt(t, replica.base, tok.AccessToken) == http.StatusUnauthorized },
			"userinfo answers a removed app's token on the other replica")
		if activeAs(t, l.url, "outsider", outsiderSecret, tok.AccessToken) {
			t.Fatal("an access token of a removed app is active")
		}
	}
	if code := refreshAt(t, replica.base, "outsider", outsiderSecret, phoneTok.RefreshToken); code != "invalid_grant" {
		t.Fatalf("refresh of a removed app on the other replica: %q", code)
	}
	if _, err := out.refresh(laptopTok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("refresh of a removed app: %v", err)
	}
	var live, revoked int
	l.db.Pool.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE ended_at IS NULL), count(*) FILTER (WHERE end_reason = 'access_removed')
		FROM app_sessions WHERE client_id = 'outsider'`).Scan(&live, &revoked)
	if live != 0 || revoked != 2 {
		t.Fatalf("app sessions: %d live, %d ended by the removal", live, revoked)
	}
	var unrevoked int
	l.db.Pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM refresh_tokens WHERE client_id = 'outsider' AND revoked_at IS NULL)
		+ (SELECT count(*) FROM access_tokens WHERE client_id = 'outsider' AND revoked_at IS NULL)`).Scan(&unrevoked)
	if unrevoked != 0 {
		t.Fatalf("%d tokens of the removed app are not revoked", unrevoked)
	}

	// Back-channel logout for each device it was signed in on.
	sids := map[string]bool{}
	for range 2 {
		select {
		case raw := <-rcv.got:
			verifier := oidc.NewVerifier(l.url, oidc.NewRemoteKeySet(t.Context(), l.url+"/keys"),
				&oidc.Config{ClientID: "outsider", SupportedSigningAlgs: []string{"ES256"}, Now: l.clock.Now})
			lt, err := verifier.Verify(t.Context(), raw)
			if err != nil {
				t.Fatalf("logout token: %v", err)
			}
			var c struct {
				Sid string `json:"sid"`
			}
			lt.Claims(&c)
			sids[c.Sid] = true
		case <-time.After(10 * time.Second):
			t.Fatal("no back-channel logout for a removed app")
		}
	}
	if !sids[laptopTok.claims.Sid] || !sids[phoneTok.claims.Sid] {
		t.Fatalf("logouts for %v, want the laptop's and the phone's sessions", sids)
	}
	// The devices themselves stay signed in, and so does the first-party app.
	if !signedInAt(t, l.url, "/account", laptop.session()) || !signedInAt(t, l.url, "/account", phone.session()) {
		t.Fatal("removing an app signed a device out")
	}

	// The permission history and the alert.
	activity := page(t, laptop.do("GET", "/account/activity", nil))
	for _, want := range []string{"Allowed Outsider</strong> <span>to know who you are on latch, see your email address",
		"Allowed Outsider more</strong> <span>to also see your name</span>",
		"Removed Outsider&#39;s access</strong> <span>and signed it out on 2 devices</span>"} {
		if !strings.Contains(activity, want) {
			t.Fatalf("activity lacks %q:\n%s", want, activity)
		}
	}
	var alerts int
	l.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox WHERE subject = 'An app''s access to your account was removed'
		AND text_body LIKE '%Outsider can no longer use your latch account%'`).Scan(&alerts)
	if alerts != 1 {
		t.Fatalf("%d removal alerts, want 1", alerts)
	}

	// A replay of the form changes nothing more.
	resp = laptop.post("/account/apps", "/account/apps/outsider/remove", nil)
	if body := page(t, resp); !strings.Contains(body, "That app no longer has access to your account.") {
		t.Fatalf("replayed removal:\n%s", body)
	}
	var removals int
	l.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM activity WHERE kind = 'consent_removed'`).Scan(&removals)
	if removals != 1 {
		t.Fatalf("%d removals recorded", removals)
	}

	// The next authorization asks again.
	f = out.newFlow()
	if resp := phone.do("GET", f.url, nil); resp.Request.URL.Path != "/consent" {
		t.Fatalf("after removal the app got in without asking: %s", resp.Request.URL)
	}
	again := laptop.signInFlow(out)
	if !activeAs(t, replica.base, "outsider", outsiderSecret, again.AccessToken) {
		t.Fatal("allowed again, the app's new token is inactive")
	}
}

// TestConnectedAppCodeAfterRemoval: a code issued to the app just before
// its access was removed gets no tokens.
func TestConnectedAppCodeAfterRemoval(t *testing.T) {
	t.Parallel()
	l, _ := startLatchWithOutsider(t)
	b := l.browser()
	out := l.outsider("openid", "email", oidc.ScopeOfflineAccess)
	b.signInFlow(out)
	f := out.newFlow()
	code := out.callback(b.do("GET", f.url, nil), f) // consented: straight to the app
	if status, body := apiCall(t, l, "POST", "/api/account/apps/outsider/remove", "", withCookie(b, true)); status != 200 || body["signed_out"] != float64(1) {
		t.Fatalf("remove: %d %v", status, body)
	}
	if _, err := out.exchange(code, f); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("a code from before the removal: %v", err)
	}
	var live int
	l.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM app_sessions WHERE client_id = 'outsider' AND ended_at IS NULL`).Scan(&live)
	if live != 0 {
		t.Fatal("a code from before the removal made an app session")
	}
}

// TestDropAppRemoved: withdrawing the consent, ending the app's sessions
// with their logout jobs, revoking its tokens, the "consent_removed" record
// and the alert are one transaction that a hang-up cannot split.
func TestDropAppRemoved(t *testing.T) {
	t.Parallel()
	l := startLatch(t, func(c *Config) {
		c.queryTracer = stepTracer{}
		rcv := newReceiver(t)
		c.ClientsFile = writeFile(t, "clients.yaml", strings.Replace(testClients, "    redirect_uris: [http://localhost:47004/callback]\n",
			"    redirect_uris: [http://localhost:47004/callback]\n    backchannel_logout_uri: "+rcv.srv.URL+"/bc\n", 1))
	})
	acct, _ := l.srv.Accounts().ByEmail(t.Context(), l.email)
	out := l.outsider("openid", "email", oidc.ScopeOfflineAccess)
	dropEveryStep(t, "DELETE FROM consents", func(ctx context.Context) outcome {
		b := l.browser()
		b.signInPassword(l.email, testPassword).Body.Close()
		tok := b.signInFlow(out) // asks again each time: the last attempt removed it
		records := `SELECT count(*) FROM activity WHERE account_id = $1 AND kind = 'consent_removed'`
		alerts := `SELECT count(*) FROM outbox WHERE account_id = $1 AND subject = 'An app''s access to your account was removed'`
		r0, a0 := l.count(records, acct.ID), l.count(alerts, acct.ID)
		b.serveForm(ctx, "/account/apps/outsider/remove", url.Values{"csrf_token": {b.cookie("latch_csrf")}})
		return outcome{
			"consent gone": l.count(`SELECT count(*) FROM consents WHERE account_id = $1 AND client_id = 'outsider'`, acct.ID) == 0,
			"app session ended": l.count(`SELECT count(*) FROM app_sessions WHERE device_session_id = $1 AND client_id = 'outsider'
				AND end_reason = 'access_removed'`, tok.claims.Sid) == 1,
			"logout job": l.count(`SELECT count(*) FROM logout_jobs WHERE device_session_id = $1 AND client_id = 'outsider'`, tok.claims.Sid) == 1,
			"tokens revoked": l.count(`SELECT count(*) FROM refresh_tokens t JOIN app_sessions a ON a.id = t.app_session_id
				WHERE a.device_session_id = $1 AND t.client_id = 'outsider' AND t.revoked_at IS NOT NULL`, tok.claims.Sid) == 1,
			"activity": l.count(records, acct.ID) == r0+1,
			"alert":    l.count(alerts, acct.ID) == a0+1,
		}
	})

	// When its last statement (the alert) fails, nothing of it is left.
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	tok := b.signInFlow(out)
	d := &drop{fail: "INSERT INTO outbox"}
	if rec := b.serveForm(withDrop(t, d), "/account/apps/outsider/remove", url.Values{"csrf_token": {b.cookie("latch_csrf")}}); rec.Code != http.StatusInternalServerError {
		t.Fatalf("a removal whose alert failed answered %d", rec.Code)
	}
	if l.count(`SELECT count(*) FROM consents WHERE account_id = $1 AND client_id = 'outsider'`, acct.ID) != 1 ||
		l.count(`SELECT count(*) FROM app_sessions WHERE device_session_id = $1 AND ended_at IS NULL`, tok.claims.Sid) != 1 ||
		l.count(`SELECT count(*) FROM refresh_tokens WHERE client_id = 'outsider' AND revoked_at IS NULL`) != 1 ||
		!activeAs(t, l.url, "outsider", outsiderSecret, tok.AccessToken) {
		t.Fatal("a removal that failed at its alert left part of itself behind")
	}
}

// TestConnectedAppsAPI: list and remove by cookie+CSRF or a first-party
// bearer token with scope sessions; every other caller is refused, another
// account's app, a first-party app, unknown and malformed ids answer 404 (or
// the guard's 400 and 413) and change nothing; of concurrent removals one
// succeeds.
func TestConnectedAppsAPI(t *testing.T) {
	t.Parallel()
	l, _ := startLatchWithOutsider(t)
	if _, err := l.srv.Accounts().Create(t.Context(), "eve@example.com", "Eve", testPassword); err != nil {
		t.Fatal(err)
	}
	me := l.browser()
	me.signInPassword(l.email, testPassword).Body.Close()
	mine := me.signInFlow(l.outsider("openid", "email", "sessions"))
	eveLatch := *l
	eveLatch.email = "eve@example.com"
	eve := eveLatch.browser()
	eves := eve.signInFlow(l.outsider("openid", "email"))

	// Listing: cookie alone (a GET), or a first-party token with scope
	// sessions; not a token without it, nor the third-party app's own.
	if code, apps := connectedApps(t, l, withCookie(me, false)); code != 200 || len(apps) != 1 {
		t.Fatalf("cookie list: %d %v", code, apps)
	}
	if code, _ := connectedApps(t, l, func(*http.Request) {}); code != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d", code)
	}
	noScope := me.signInFlow(l.appA(), oauth2.SetAuthURLParam("prompt", "none"))
	if code, _ := connectedApps(t, l, withBearer(noScope.AccessToken)); code != http.StatusForbidden {
		t.Fatalf("a token without scope sessions: %d", code)
	}
	if code, _ := connectedApps(t, l, withBearer(mine.AccessToken)); code != http.StatusForbidden {
		t.Fatalf("the third-party app's own token, with scope sessions: %d", code)
	}
	panel := l.appA()
	panel.oauth.Scopes = append(panel.oauth.Scopes, "sessions")
	tok := me.signInFlow(panel, oauth2.SetAuthURLParam("prompt", "none"))
	code, apps := connectedApps(t, l, withBearer(tok.AccessToken))
	if code != 200 || len(apps) != 1 || apps[0]["client_id"] != "outsider" {
		t.Fatalf("bearer list: %d %v", code, apps)
	}
	if devs := apps[0]["devices"].([]any); len(devs) != 1 || devs[0].(map[string]any)["current"] != true {
		t.Fatalf("the bearer's own device is not current: %v", devs)
	}

	// Refusals, none of which changes anything.
	remove := "/api/account/apps/outsider/remove"
	for _, c := range []struct {
		name   string
		method string
		path   string
		body   string
		auth   func(*http.Request)
		status int
	}{
		{"no CSRF header", "POST", remove, "", withCookie(me, false), http.StatusForbidden},
		{"no credentials", "POST", remove, "", func(*http.Request) {}, http.StatusForbidden}, // the CSRF header comes first, as in the sessions API
		{"token without scope sessions", "POST", remove, "", withBearer(noScope.AccessToken), http.StatusForbidden},
		{"the app's own token", "POST", remove, "", withBearer(mine.AccessToken), http.StatusForbidden},
		{"a first-party app", "POST", "/api/account/apps/app-a/remove", "", withCookie(me, true), http.StatusNotFound},
		{"an unknown app", "POST", "/api/account/apps/nope/remove", "", withCookie(me, true), http.StatusNotFound},
		{"a long id", "POST", "/api/account/apps/" + strings.Repeat("a", 5000) + "/remove", "", withCookie(me, true), http.StatusNotFound},
		{"NUL in the id", "POST", "/api/account/apps/outsider%00/remove", "", withCookie(me, true), http.StatusBadRequest},
		{"an escaped slash", "POST", "/api/account/apps/..%2Foutsider/remove", "", withCookie(me, true), http.StatusNotFound},
		{"a huge body", "POST", remove, strings.Repeat("x", 1<<20), withCookie(me, true), http.StatusRequestEntityTooLarge},
		{"GET", "GET", remove, "", withCookie(me, true), http.StatusMethodNotAllowed},
	} {
		if status, out := apiCall(t, l, c.method, c.path, c.body, c.auth); status != c.status {
			t.Errorf("%s: %d %v, want %d", c.name, status, out, c.status)
		}
	}
	if !activeAs(t, l.url, "outsider", outsiderSecret, mine.AccessToken) {
		t.Fatal("a refused removal killed the app's token")
	}
	// Eve removes her own: mine is untouched, and my app is not hers to remove.
	if status, _ := apiCall(t, l, "POST", remove, "", withCookie(eve, true)); status != 200 {
		t.Fatalf("eve's removal: %d", status)
	}
	if status, _ := apiCall(t, l, "POST", remove, "", withCookie(eve, true)); status != http.StatusNotFound {
		t.Fatalf("eve again, with my consent still there: %d", status)
	}
	if !activeAs(t, l.url, "outsider", outsiderSecret, mine.AccessToken) || activeAs(t, l.url, "outsider", outsiderSecret, eves.AccessToken) {
		t.Fatal("a removal reached another account, or missed its own")
	}

	// Ten removals at once: one removes, nine find nothing.
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _ := apiCall(t, l, "POST", remove, "", withBearer(tok.AccessToken))
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[200] != 1 || statuses[404] != 9 {
		t.Fatalf("concurrent removals answered %v", statuses)
	}
	if activeAs(t, l.url, "outsider", outsiderSecret, mine.AccessToken) {
		t.Fatal("the removed app's token is active")
	}
	if code, apps := connectedApps(t, l, withBearer(tok.AccessToken)); code != 200 || len(apps) != 0 {
		t.Fatalf("after removal: %d %v", code, apps)
	}
	var removals int
	l.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM activity WHERE kind = 'consent_removed'`).Scan(&removals)
	if removals != 2 {
		t.Fatalf("%d removals recorded, want 2 (eve's and mine)", removals)
	}
	// The page refuses what the API refuses.
	for _, p := range []string{"/account/apps/app-a/remove", "/account/apps/nope/remove"} {
		resp := me.post("/account/apps", p, nil)
		if body := page(t, resp); resp.Request.URL.Path != "/account/apps" || !strings.Contains(body, "That app no longer has access") {
			t.Fatalf("%s: %s", p, resp.Request.URL)
		}
	}
	var b []byte
	b, _ = json.Marshal(statuses)
	t.Logf("concurrent removals: %s", b)
}
