package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/jackc/pgx/v5"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/notify"
	"github.com/latch-idp/latch/sessions"
)

// One change, one transaction: every change, its activity record and its
// alert (and the sessions it ends) commit together or not at all, and a
// client that hangs up once the change is decided cannot cancel half of it.
//
// The tests reach latch's statements through a pgx tracer. A request whose
// context carries a *drop is dropped (its context cancelled, as net/http
// does when the client closes the connection) right after its n-th
// statement, or has a chosen statement fail.

type dropKey struct{}
type sqlKey struct{}

// drop says what to do to one request's statements.
type drop struct {
	after  int64  // cancel the request after this many statements; 0: never
	fail   string // a statement whose SQL contains this fails
	mark   string // remember when the first statement containing this ran
	cancel context.CancelFunc

	n      atomic.Int64 // statements run so far
	marked atomic.Int64 // the number of the mark statement, 0 before it ran
}

// stepTracer acts on the statements of requests that carry a *drop and
// leaves every other statement alone.
type stepTracer struct{}

func (stepTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	d, _ := ctx.Value(dropKey{}).(*drop)
	if d == nil {
		return ctx
	}
	ctx = context.WithValue(ctx, sqlKey{}, data.SQL)
	if d.fail != "" && strings.Contains(data.SQL, d.fail) {
		// An already cancelled context fails the statement before it is
		// sent, as a lost connection or a server error would.
		failed, cancel := context.WithCancel(ctx)
		cancel()
		return failed
	}
	return ctx
}

func (stepTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	d, _ := ctx.Value(dropKey{}).(*drop)
	if d == nil {
		return
	}
	n := d.n.Add(1)
	if sql, _ := ctx.Value(sqlKey{}).(string); d.mark != "" && strings.Contains(sql, d.mark) {
		d.marked.CompareAndSwap(0, n)
	}
	if n == d.after {
		d.cancel()
	}
}

// startTracedLatch is startLatch with the step tracer installed.
func startTracedLatch(t *testing.T) *testLatch {
	return startLatch(t, func(c *Config) { c.queryTracer = stepTracer{} })
}

// withDrop returns a request context carrying d.
func withDrop(t *testing.T, d *drop) context.Context {
	ctx, cancel := context.WithCancel(context.WithValue(t.Context(), dropKey{}, d))
	d.cancel = cancel
	t.Cleanup(cancel)
	return ctx
}

// serve sends one request straight to latch's handler with ctx as its
// context, with b's cookies and headers, and keeps the cookies it sets.
func (b *browser) serve(ctx context.Context, method, path, body string, header http.Header) *httptest.ResponseRecorder {
	b.t.Helper()
	req := httptest.NewRequestWithContext(ctx, method, b.l.url+path, strings.NewReader(body))
	req.Header.Set("User-Agent", b.ua)
	req.Header.Set("Origin", b.l.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range header {
		req.Header[k] = v
	}
	u, _ := url.Parse(b.l.url)
	for _, c := range b.client.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.l.srv.Handler().ServeHTTP(rec, req)
	b.client.Jar.SetCookies(u, rec.Result().Cookies())
	return rec
}

// serveForm posts a form through serve.
func (b *browser) serveForm(ctx context.Context, path string, form url.Values) *httptest.ResponseRecorder {
	return b.serve(ctx, "POST", path, form.Encode(), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
}

// serveJSON posts a script's JSON call through serve, with the CSRF header.
func (b *browser) serveJSON(ctx context.Context, path string, v any) *httptest.ResponseRecorder {
	body, _ := json.Marshal(v)
	return b.serve(ctx, "POST", path, string(body), http.Header{"Content-Type": {"application/json"}, "X-Csrf-Token": {b.cookie("latch_csrf")}})
}

// cookie returns the value of one of b's cookies for latch.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.l.url)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// outcome is what an attempt at a change left behind: each part true when
// it is there.
type outcome map[string]bool

func (o outcome) split() (there, missing []string) {
	for part, ok := range o {
		if ok {
			there = append(there, part)
		} else {
			missing = append(missing, part)
		}
	}
	slices.Sort(there)
	slices.Sort(missing)
	return there, missing
}

// dropEveryStep makes a change once without interruption, counting its
// statements, then once more for every statement, dropping the connection
// right after it. Each time the parts of the change must be all there or
// all missing, and all there once the statement containing decided (the
// change's first write) has run: from then on, hanging up changes nothing.
// attempt makes a fresh change with ctx as its request's context.
func dropEveryStep(t *testing.T, decided string, attempt func(ctx context.Context) outcome) {
	t.Helper()
	d := &drop{mark: decided}
	got := attempt(withDrop(t, d))
	if _, missing := got.split(); len(missing) > 0 {
		t.Fatalf("without a drop, the change left no %v", missing)
	}
	steps := d.n.Load()
	if d.marked.Load() == 0 {
		t.Fatalf("no statement contains %q", decided)
	}
	kept := 0
	for i := int64(1); i <= steps; i++ {
		d := &drop{after: i, mark: decided}
		got := attempt(withDrop(t, d))
		there, missing := got.split()
		switch m := d.marked.Load(); {
		case m > 0 && m <= i && len(missing) > 0:
			t.Errorf("dropped after statement %d of %d, once the change was decided (statement %d): %v missing", i, steps, m, missing)
		case len(there) > 0 && len(missing) > 0:
			t.Errorf("dropped after statement %d of %d: %v there but %v missing", i, steps, there, missing)
		}
		if len(missing) == 0 {
			kept++
		}
	}
	t.Logf("%d statements; the change survived a drop after %d of them", steps, kept)
}

// clearThrottle forgets every account's failed attempts, so that attempts
// cut short (which the throttle counts as failures until they succeed) do
// not slow the next.
func (l *testLatch) clearThrottle(t *testing.T) {
	t.Helper()
	list, err := l.srv.Accounts().List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if err := l.srv.Throttle().Unlock(t.Context(), a.Email, a.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// softKey is a software passkey that answers registration ceremonies.
type softKey struct {
	key *ecdsa.PrivateKey
	id  []byte
}

func newSoftKey() *softKey {
	k := &softKey{id: make([]byte, 16)}
	k.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rand.Read(k.id)
	return k
}

// register answers the creation options of /account/security/passkeys/begin
// with a "none" attestation, as a platform authenticator with user
// verification would.
func (k *softKey) register(t *testing.T, origin string, options []byte) map[string]any {
	t.Helper()
	var opts struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			RP        struct {
				ID string `json:"id"`
			} `json:"rp"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &opts); err != nil || opts.PublicKey.Challenge == "" {
		t.Fatalf("creation options %s: %v", options, err)
	}
	point, err := k.key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	x, y := point[1:33], point[33:]
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, XCoord: x, YCoord: y,
	})
	if err != nil {
		t.Fatal(err)
	}
	rp := sha256.Sum256([]byte(opts.PublicKey.RP.ID))
	auth := append(rp[:], 0x01|0x04|0x40, 0, 0, 0, 0) // UP, UV, attested credential data; counter 0
	auth = append(auth, make([]byte, 16)...)          // AAGUID
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(k.id)))
	auth = append(append(auth, k.id...), cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		t.Fatal(err)
	}
	client, _ := json.Marshal(map[string]string{"type": "webauthn.create", "challenge": opts.PublicKey.Challenge, "origin": origin})
	b64 := base64.RawURLEncoding.EncodeToString
	return map[string]any{"id": b64(k.id), "rawId": b64(k.id), "type": "public-key",
		"response": map[string]string{"clientDataJSON": b64(client), "attestationObject": b64(att)}}
}

// TestDropPasskeyAdded: the passkey, its "passkey_added" record and its
// alert are one transaction that a hang-up cannot split.
func TestDropPasskeyAdded(t *testing.T) {
	t.Parallel()
	l := startTracedLatch(t)
	acct := l.accountID(l.email)
	attempt := 0
	dropEveryStep(t, "INSERT INTO passkeys", func(ctx context.Context) outcome {
		attempt++
		name := fmt.Sprintf("Key #%d#", attempt)
		b := l.browser()
		b.signInPassword(l.email, testPassword).Body.Close()
		begin := b.serveJSON(t.Context(), "/account/security/passkeys/begin", map[string]any{})
		if begin.Code != http.StatusOK {
			t.Fatalf("begin: %d %s", begin.Code, begin.Body)
		}
		cred := newSoftKey().register(t, l.url, begin.Body.Bytes())
		// A drop before the change is decided may end the request anyhow.
		b.serveJSON(ctx, "/account/security/passkeys/finish", map[string]any{"name": name, "credential": cred})
		return outcome{
			"passkey": len(slices.DeleteFunc(l.passkeys(acct), func(pk authn.Passkey) bool { return pk.Name != name })) == 1,
			"activity": l.countActivity(acct, func(e sessions.HistoryEvent) bool {
				return e.Kind == "passkey_added" && e.Detail["name"] == name
			}) == 1,
			"alert": l.countAlerts(acct, func(m notify.Queued) bool {
				return m.Subject == "A passkey was added to your account" && strings.Contains(m.Text, name)
			}) == 1,
		}
	})
}

// TestDropSignIn: a sign-in's session, its activity record and its "new
// device" alert are one transaction that a hang-up cannot split.
func TestDropSignIn(t *testing.T) {
	t.Parallel()
	l := startTracedLatch(t)
	acct, _ := l.srv.Accounts().ByEmail(t.Context(), l.email)
	dropEveryStep(t, "INSERT INTO device_sessions", func(ctx context.Context) outcome {
		l.clearThrottle(t)
		b := l.browser()
		form := hiddenFields(page(t, b.do("GET", "/login", nil)))
		form.Set("email", l.email)
		form.Set("password", testPassword)
		records := func() int { return l.countActivity(acct.ID, ofKind("new_device")) }
		alerts := func() int { return l.countAlerts(acct.ID, withSubject("Sign-in from a new device")) }
		s0, r0, a0 := l.sessionCount(acct.ID), records(), alerts()
		b.serveForm(ctx, "/login", form)
		return outcome{
			"session":  l.sessionCount(acct.ID) == s0+1,
			"activity": records() == r0+1,
			"alert":    alerts() == a0+1,
		}
	})
}

// newPasskeyOnly makes an account without a password, for recovery
// sign-ins.
func newPasskeyOnly(t *testing.T, l *testLatch) *authn.Account {
	t.Helper()
	acct, err := l.srv.Accounts().Create(t.Context(), "grace@example.com", "Grace", "")
	if err != nil {
		t.Fatal(err)
	}
	fakePasskey(t, l, acct.ID, true)
	return acct
}

// recoverForm is the recovery sign-in form of a fresh browser.
func recoverForm(t *testing.T, l *testLatch, b *browser, email, key string) url.Values {
	t.Helper()
	form := hiddenFields(page(t, b.do("GET", "/login/recover", nil)))
	form.Set("email", email)
	form.Set("recovery_key", key)
	return form
}

// TestDropRecoveryKeyUse: spending a recovery key, the recovery session it
// opens, its records and its alert are one transaction that a hang-up
// cannot split.
func TestDropRecoveryKeyUse(t *testing.T) {
	t.Parallel()
	l := startTracedLatch(t)
	acct := newPasskeyOnly(t, l)
	dropEveryStep(t, "UPDATE recovery_keys", func(ctx context.Context) outcome {
		l.clearThrottle(t)
		keys, err := l.srv.Recovery().Generate(t.Context(), acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		b := l.browser()
		form := recoverForm(t, l, b, "grace@example.com", keys[0])
		// Recovery sessions: none ends meanwhile (the clock stands still,
		// and each comes from a fresh browser), so the live ones are all.
		recoverySessions := func() int {
			return len(slices.DeleteFunc(l.devices(acct.ID), func(d sessions.DeviceRecord) bool { return !d.Restricted }))
		}
		used := func() int { return l.countActivity(acct.ID, ofKind("recovery_key_used")) }
		signins := func() int { return l.countActivity(acct.ID, ofKind("signin")) }
		alerts := func() int { return l.countAlerts(acct.ID, withSubject("A recovery key was used")) }
		s0, u0, i0, a0 := recoverySessions(), used(), signins(), alerts()
		b.serveForm(ctx, "/login/recover", form)
		return outcome{
			"key spent": l.usedRecoveryKeys(acct.ID) == 1,
			"session":   recoverySessions() == s0+1,
			"record":    used() == u0+1,
			"sign-in":   signins() == i0+1,
			"alert":     alerts() == a0+1,
		}
	})
}

// TestDropPasswordChange: a new password, its record and the end of every
// other session are one transaction that a hang-up cannot split.
func TestDropPasswordChange(t *testing.T) {
	t.Parallel()
	l := startTracedLatch(t)
	acct, _ := l.srv.Accounts().ByEmail(t.Context(), l.email)
	password := testPassword
	attempt := 0
	dropEveryStep(t, "INSERT INTO passwords", func(ctx context.Context) outcome {
		attempt++
		l.clearThrottle(t)
		other := l.browser()
		other.signInPassword(l.email, password).Body.Close()
		otherSid := l.sid(other.session())
		me := l.browser()
		me.signInPassword(l.email, password).Body.Close()
		next := fmt.Sprintf("new password number %d", attempt)
		form := hiddenFields(page(t, me.do("GET", "/account/security", nil)))
		form.Set("new_password", next)
		form.Set("confirm_password", next)
		form.Set("sign_out_others", "1")
		records := func() int { return l.countActivity(acct.ID, ofKind("password_set")) }
		r0 := records()
		me.serveForm(ctx, "/account/security/password", form)
		hash, err := l.srv.Accounts().PasswordHash(t.Context(), acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		changed, _ := l.srv.Accounts().Hasher.Verify(t.Context(), hash, next)
		if changed {
			password = next
		}
		return outcome{
			"password":            changed,
			"activity":            records() == r0+1,
			"other session ended": l.isEnded(otherSid),
		}
	})
}

// TestRecoverFailsWhole: when creating the recovery session fails, the
// recovery key stays unspent and nothing else is left behind.
func TestRecoverFailsWhole(t *testing.T) {
	t.Parallel()
	l := startTracedLatch(t)
	acct := newPasskeyOnly(t, l)
	keys, err := l.srv.Recovery().Generate(t.Context(), acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	b := l.browser()
	rec := b.serveForm(withDrop(t, &drop{fail: "INSERT INTO device_sessions"}), "/login/recover", recoverForm(t, l, b, "grace@example.com", keys[0]))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("recovery with a failing session insert: %d", rec.Code)
	}
	if _, err := l.srv.Recovery().Check(t.Context(), acct.ID, keys[0]); err != nil {
		t.Fatalf("the key was spent without a session: %v", err)
	}
	for what, n := range map[string]int{
		"session":  l.sessionCount(acct.ID),
		"activity": len(l.activity(acct.ID)),
		"alert":    len(l.alerts(acct.ID)),
	} {
		if n != 0 {
			t.Errorf("a failed recovery left %d %s rows", n, what)
		}
	}
	if b.session() != "" {
		t.Error("a failed recovery set a session cookie")
	}
	// The same key works once the database does.
	l.clearThrottle(t)
	c := l.browser()
	resp := c.do("POST", "/login/recover", recoverForm(t, l, c, "grace@example.com", keys[0]))
	resp.Body.Close()
	if resp.Request.URL.Path != "/account/security" {
		t.Fatalf("recovery with the unspent key: %d %s", resp.StatusCode, resp.Request.URL)
	}
}

// TestPasswordSignsOutOthers: changing or removing the password with "sign
// out my other sessions" ticked ends every other device session (their
// apps' refresh tokens stop working) and keeps this one; unticked, the
// others stay. The choice survives a step-up.
func TestPasswordSignsOutOthers(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	acct, _ := l.srv.Accounts().ByEmail(t.Context(), l.email)
	password := testPassword
	others := func() (*browser, *tokens, *browser) {
		t.Helper()
		withApp := l.browser()
		a := l.appA()
		f := a.newFlow()
		tok := a.mustExchange(a.callback(withApp.signIn(withApp.do("GET", f.url, nil), l.email, password), f), f)
		plain := l.browser()
		plain.signInPassword(l.email, password).Body.Close()
		return withApp, tok, plain
	}
	me := l.browser()
	me.signInPassword(l.email, password).Body.Close()
	myRefresh := me.signInFlow(l.appB()).RefreshToken
	// refreshMine uses this session's app's refresh token (they rotate).
	refreshMine := func(what string) {
		t.Helper()
		tok, err := l.appB().refresh(myRefresh)
		if err != nil {
			t.Fatalf("%s: this session's app lost its refresh token: %v", what, err)
		}
		myRefresh = tok.RefreshToken
	}
	// The security page ticks the box by default.
	body := page(t, me.do("GET", "/account/security", nil))
	if !strings.Contains(body, `name="sign_out_others" type="checkbox" value="1" checked`) {
		t.Fatal("the change-password form does not offer to sign out other sessions, ticked")
	}

	setPassword := func(next string, signOut bool) {
		t.Helper()
		f := url.Values{"new_password": {next}, "confirm_password": {next}}
		if signOut {
			f.Set("sign_out_others", "1")
		}
		resp := me.post("/account/security", "/account/security/password", f)
		resp.Body.Close()
		if !strings.Contains(resp.Request.URL.RawQuery, "done=password_set") {
			t.Fatalf("password change: %s", resp.Request.URL)
		}
		password = next
	}
	mustBeEnded := func(what string, b *browser, tok *tokens) {
		t.Helper()
		if signedInAt(t, l.url, "/account", b.session()) {
			t.Fatalf("%s: another session is still signed in", what)
		}
		if tok != nil {
			if _, err := l.appA().refresh(tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
				t.Fatalf("%s: the other session's refresh token: %v", what, err)
			}
		}
	}
	mustBeAlive := func(what string, b *browser) {
		t.Helper()
		if !signedInAt(t, l.url, "/account", b.session()) {
			t.Fatalf("%s: a session ended", what)
		}
	}

	// Change, ticked.
	a, aTok, p := others()
	setPassword("second password here", true)
	mustBeEnded("change, ticked", a, aTok)
	mustBeEnded("change, ticked", p, nil)
	mustBeAlive("change, ticked (this session)", me)
	refreshMine("change, ticked")
	if reason := l.endReason(aTok.claims.Sid); reason != "password_changed" {
		t.Fatalf("end reason %q", reason)
	}
	var ended int
	events := l.activity(acct.ID) // newest first
	if i := slices.IndexFunc(events, ofKind("password_set")); i >= 0 {
		n, _ := events[i].Detail["sessions_ended"].(float64) // a JSON number
		ended = int(n)
	}
	if ended != 2 {
		t.Fatalf("the record says %d sessions ended, want 2", ended)
	}

	// Change, unticked.
	a, aTok, p = others()
	setPassword("third password here", false)
	mustBeAlive("change, unticked", a)
	mustBeAlive("change, unticked", p)
	if _, err := l.appA().refresh(aTok.RefreshToken); err != nil {
		t.Fatalf("change, unticked: the other session's refresh token: %v", err)
	}

	// Change after a step-up, ticked: the choice waits with the change.
	a, aTok, p = others()
	l.clock.Add(11 * time.Minute)
	resp := me.post("/account/security", "/account/security/password",
		url.Values{"new_password": {"fourth password here"}, "confirm_password": {"fourth password here"}, "sign_out_others": {"1"}})
	body = page(t, resp)
	if resp.Request.URL.Path != "/account/reauth" {
		t.Fatalf("a stale change went to %s", resp.Request.URL)
	}
	mustBeAlive("waiting for the step-up", a)
	form := hiddenFields(body)
	form.Set("password", password)
	resp = me.do("POST", "/account/reauth", form)
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.RawQuery, "done=password_set") {
		t.Fatalf("the change after its step-up: %s", resp.Request.URL)
	}
	password = "fourth password here"
	mustBeEnded("change after a step-up", a, aTok)
	mustBeEnded("change after a step-up", p, nil)
	mustBeAlive("change after a step-up (this session)", me)

	// Remove, unticked, then ticked.
	fakePasskey(t, l, acct.ID, true)
	body = page(t, me.do("GET", "/account/security", nil))
	removeForm := body[strings.Index(body, `action="/account/security/password/remove"`):]
	if !strings.Contains(removeForm[:strings.Index(removeForm, "</form>")], `name="sign_out_others" type="checkbox" value="1" checked`) {
		t.Fatal("the remove-password form does not offer to sign out other sessions, ticked")
	}
	a, aTok, p = others()
	resp = me.post("/account/security", "/account/security/password/remove", nil)
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.RawQuery, "done=password_gone") {
		t.Fatalf("remove: %s", resp.Request.URL)
	}
	mustBeAlive("remove, unticked", a)
	mustBeAlive("remove, unticked", p)
	setPassword("fifth password here", false)
	resp = me.post("/account/security", "/account/security/password/remove", url.Values{"sign_out_others": {"1"}})
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.RawQuery, "done=password_gone") {
		t.Fatalf("remove, ticked: %s", resp.Request.URL)
	}
	mustBeEnded("remove, ticked", a, aTok)
	mustBeEnded("remove, ticked", p, nil)
	mustBeAlive("remove, ticked (this session)", me)
	refreshMine("remove, ticked")
}

// TestDropOtherChanges: removing a passkey, generating recovery keys,
// reporting a session as "not me" and renaming a device hold together the
// same way.
func TestDropOtherChanges(t *testing.T) {
	t.Parallel()
	l := startTracedLatch(t)
	acct, _ := l.srv.Accounts().ByEmail(t.Context(), l.email)
	signedIn := func() (*browser, url.Values) {
		l.clearThrottle(t)
		b := l.browser()
		b.signInPassword(l.email, testPassword).Body.Close()
		return b, url.Values{"csrf_token": {b.cookie("latch_csrf")}}
	}

	t.Run("passkey removed", func(t *testing.T) {
		attempt := 0
		dropEveryStep(t, "DELETE FROM passkeys", func(ctx context.Context) outcome {
			attempt++
			name := fmt.Sprintf("Key #%d#", attempt)
			id := make([]byte, 16)
			rand.Read(id)
			l.addPasskey(&authn.Passkey{ID: id, AccountID: acct.ID, Name: name, BackupEligible: true,
				Credential: webauthn.Credential{ID: id, Flags: webauthn.CredentialFlags{BackupEligible: true, BackupState: true}}})
			b, form := signedIn()
			b.serveForm(ctx, "/account/security/passkeys/"+base64.RawURLEncoding.EncodeToString(id)+"/remove", form)
			return outcome{
				"passkey gone": !slices.ContainsFunc(l.passkeys(acct.ID), func(pk authn.Passkey) bool { return bytes.Equal(pk.ID, id) }),
				"activity": l.countActivity(acct.ID, func(e sessions.HistoryEvent) bool {
					return e.Kind == "passkey_remove" && e.Detail["name"] == name
				}) == 1,
				"alert": l.countAlerts(acct.ID, func(m notify.Queued) bool {
					return m.Subject == "A passkey was removed from your account" && strings.Contains(m.Text, name)
				}) == 1,
			}
		})
	})

	t.Run("recovery keys generated", func(t *testing.T) {
		dropEveryStep(t, "DELETE FROM recovery_keys", func(ctx context.Context) outcome {
			b, form := signedIn()
			before, err := l.srv.Recovery().CurrentSet(t.Context(), acct.ID)
			if err != nil {
				t.Fatal(err)
			}
			records := func() int { return l.countActivity(acct.ID, ofKind("recovery_generate")) }
			r0 := records()
			b.serveForm(ctx, "/account/security/recovery/generate", form)
			after, err := l.srv.Recovery().CurrentSet(t.Context(), acct.ID)
			if err != nil {
				t.Fatal(err)
			}
			return outcome{
				"new set":  after != before,
				"activity": records() == r0+1,
			}
		})
	})

	t.Run("not me", func(t *testing.T) {
		dropEveryStep(t, "UPDATE device_sessions SET ended_at", func(ctx context.Context) outcome {
			other, _ := signedIn()
			sid := l.sid(other.session())
			me, form := signedIn()
			me.serveForm(ctx, "/account/sessions/"+sid+"/not-me", form)
			return outcome{
				"session ended": l.endReason(sid) == "not_me",
				"activity": l.countActivity(acct.ID, func(e sessions.HistoryEvent) bool {
					return e.Kind == "reported_not_me" && e.Detail["session"] == sid
				}) == 1,
			}
		})
	})

	t.Run("device renamed", func(t *testing.T) {
		attempt := 0
		dropEveryStep(t, "UPDATE device_sessions SET custom_name", func(ctx context.Context) outcome {
			attempt++
			name := fmt.Sprintf("Laptop %d", attempt)
			me, form := signedIn()
			sid := l.sid(me.session())
			form.Set("name", name)
			me.serveForm(ctx, "/account/sessions/"+sid+"/rename", form)
			return outcome{
				"renamed":  l.count(`SELECT count(*) FROM device_sessions WHERE id = $1 AND custom_name = $2`, sid, name) == 1,
				"activity": l.count(`SELECT count(*) FROM activity WHERE kind = 'device_renamed' AND detail->>'name' = $1`, name) == 1,
			}
		})
	})
}
