package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/notify"
	"github.com/latch-idp/latch/sessions"
)

var b64 = base64.RawURLEncoding.EncodeToString

// heldPasskey is a passkey stored for an account whose private key the test
// holds, so it can answer latch's challenges as the genuine authenticator
// would, or as a copy of it, with any counter.
type heldPasskey struct {
	t         *testing.T
	l         *testLatch
	accountID string
	id        []byte
	handle    []byte
	key       *ecdsa.PrivateKey
	synced    bool
}

func holdPasskey(t *testing.T, l *testLatch, accountID, name string, synced bool, counter uint32) *heldPasskey {
	t.Helper()
	k := &heldPasskey{t: t, l: l, accountID: accountID, id: make([]byte, 16), synced: synced}
	rand.Read(k.id)
	var err error
	if k.handle, err = l.srv.Passkeys().UserHandle(t.Context(), accountID); err != nil {
		t.Fatal(err)
	}
	k.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
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
	l.addPasskey(&authn.Passkey{ID: k.id, AccountID: accountID, Name: name, BackupEligible: synced, CreatedAt: l.clock.Now().UTC(),
		Credential: webauthn.Credential{ID: k.id, PublicKey: cose, AttestationType: "none",
			Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: synced, BackupState: synced},
			Authenticator: webauthn.Authenticator{SignCount: counter}}})
	return k
}

// answer signs a challenge of latch's as an authenticator holding the key
// would, with user verification, reporting counter.
func (k *heldPasskey) answer(challenge string, counter uint32) json.RawMessage {
	k.t.Helper()
	client, _ := json.Marshal(map[string]string{"type": "webauthn.get", "challenge": challenge, "origin": k.l.url})
	rp := sha256.Sum256([]byte("localhost"))
	flags := byte(0x01 | 0x04) // UP, UV
	if k.synced {
		flags |= 0x08 | 0x10 // BE, BS
	}
	auth := append(rp[:], flags, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(auth[33:], counter)
	ch := sha256.Sum256(client)
	digest := sha256.Sum256(append(append([]byte{}, auth...), ch[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"id": b64(k.id), "rawId": b64(k.id), "type": "public-key",
		"response": map[string]string{"clientDataJSON": b64(client), "authenticatorData": b64(auth), "signature": b64(sig), "userHandle": b64(k.handle)}})
	return body
}

// call posts JSON to one of latch's script endpoints the way passkeys.js
// does, with the CSRF cookie's value in X-CSRF-Token, and returns the status
// and the answer.
func (b *browser) call(path string, body any) (int, map[string]any) {
	b.t.Helper()
	u, _ := url.Parse(b.l.url)
	csrf := ""
	for range 2 {
		for _, c := range b.client.Jar.Cookies(u) {
			if c.Name == "latch_csrf" {
				csrf = c.Value
			}
		}
		if csrf != "" {
			break
		}
		b.do("GET", "/login", nil).Body.Close() // a page sets the cookie
	}
	js, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", b.l.url+path, bytes.NewReader(js))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	req.Header.Set("Origin", b.l.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("User-Agent", b.ua)
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// challenge begins a passkey ceremony at path and returns its challenge.
func (b *browser) challenge(path string, body map[string]any) (string, map[string]any) {
	b.t.Helper()
	status, out := b.call(path, body)
	pk, _ := out["publicKey"].(map[string]any)
	c, _ := pk["challenge"].(string)
	if status != http.StatusOK || c == "" {
		b.t.Fatalf("%s: %d %v", path, status, out)
	}
	return c, pk
}

// passkeySignIn is "Sign in with a passkey" with k reporting counter: the
// status of the finish and its error sentence.
func (b *browser) passkeySignIn(k *heldPasskey, counter uint32) (int, string) {
	b.t.Helper()
	c, _ := b.challenge("/login/passkey/begin", map[string]any{})
	status, out := b.call("/login/passkey/finish", map[string]any{"credential": k.answer(c, counter)})
	msg, _ := out["error"].(string)
	return status, msg
}

// suspended reports whether k is stored and suspended.
func (l *testLatch) suspended(k *heldPasskey) bool {
	l.t.Helper()
	pk, err := l.srv.Passkeys().Get(l.t.Context(), k.accountID, k.id)
	if errors.Is(err, authn.ErrPasskeyNotFound) {
		return false
	}
	if err != nil {
		l.t.Fatal(err)
	}
	return pk.Suspended()
}

// suspensionAlerts counts the alerts to the account's email that a passkey
// named name was suspended.
func (l *testLatch) suspensionAlerts(accountID, email, name string) int {
	return l.countAlerts(accountID, func(m notify.Queued) bool {
		return m.Subject == "A passkey on your account was suspended" && m.To == email && strings.Contains(m.Text, name)
	})
}

// TestPasskeyCloneSuspended: a copy of a passkey whose counter is behind is
// refused and suspends it; the copy retrying with ever higher counters, all
// at once, and the genuine authenticator are refused too; the owner is
// alerted and sees the suspension on the security page; keeping the
// passkey takes a step-up after the suspension with the password and the
// authenticator app code; a copy left behind is caught again; removing it
// works.
func TestPasskeyCloneSuspended(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	ctx := t.Context()
	acct, _ := l.srv.Accounts().ByEmail(ctx, l.email)
	me := l.browser()
	me.signInPassword(l.email, testPassword).Body.Close()
	secret := enrollTOTP(t, l, me)
	phone := holdPasskey(t, l, acct.ID, "Phone", false, 10)

	clone := l.browser()
	if status, msg := clone.passkeySignIn(phone, 3); status != http.StatusUnauthorized || !strings.Contains(msg, "copy") {
		t.Fatalf("a copy behind the counter: %d %q", status, msg)
	}
	if !l.suspended(phone) {
		t.Fatal("the passkey is not suspended")
	}

	// The copy tries three more times at once, counting past the stored
	// counter; before the fix the third got in.
	var challenges []string
	for range 3 {
		c, _ := clone.challenge("/login/passkey/begin", map[string]any{})
		challenges = append(challenges, c)
	}
	statuses := make(chan int, 3)
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range challenges {
		body := map[string]any{"credential": phone.answer(c, uint32(11+i))}
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _ := clone.call("/login/passkey/finish", body)
			statuses <- status
		}()
	}
	wg.Wait()
	close(statuses)
	t.Logf("three retries answered within %v", time.Since(start))
	for s := range statuses {
		if s != http.StatusUnauthorized {
			t.Fatalf("a retry of the copy: %d", s)
		}
	}
	if signedInAt(t, l.url, "/account", clone.session()) {
		t.Fatal("the copy is signed in")
	}
	// The genuine authenticator, far ahead, waits for its owner too.
	if status, msg := l.browser().passkeySignIn(phone, 100); status != http.StatusUnauthorized || !strings.Contains(msg, "suspended") {
		t.Fatalf("the genuine passkey while suspended: %d %q", status, msg)
	}
	if n := l.countActivity(acct.ID, func(e sessions.HistoryEvent) bool { return e.Kind == "passkey_clone_refused" && e.IP != nil }); n != 5 {
		t.Fatalf("%d refusals recorded, want 5", n)
	}
	if n := l.countActivity(acct.ID, func(e sessions.HistoryEvent) bool {
		return e.Kind == "passkey_suspended" && e.Detail["name"] == "Phone"
	}); n != 1 {
		t.Fatalf("%d suspensions recorded, want 1", n)
	}
	if n := l.suspensionAlerts(acct.ID, l.email, "Phone"); n != 1 {
		t.Fatalf("%d suspension alerts, want 1", n)
	}

	// The page says what happened and offers both ways out; a suspended
	// passkey does not let the password go.
	body := page(t, me.do("GET", "/account/security", nil))
	for _, want := range []string{"This passkey was used with an out-of-date counter, which happens when a passkey is copied.",
		"with your password and authenticator app code", `<span class="tag tag-warn">Suspended</span>`,
		`action="/account/security/passkeys/` + b64(phone.id) + `/reinstate"`, "It's mine, keep it", "Remove it"} {
		if !strings.Contains(body, want) {
			t.Errorf("security page lacks %q", want)
		}
	}
	if strings.Contains(body, `action="/account/security/password/remove"`) {
		t.Error("the password is offered for removal beside a suspended passkey only")
	}
	resp := me.post("/account/security", "/account/security/password/remove", nil)
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.RawQuery, "error=last_credential") {
		t.Fatalf("removing the password beside a suspended passkey: %s", resp.Request.URL)
	}

	// "It's mine": this session's authentication is older than the
	// suspension, so latch asks again, and not with the suspended passkey.
	l.clock.Add(time.Minute)
	resp = me.post("/account/security", "/account/security/passkeys/"+b64(phone.id)+"/reinstate", nil)
	body = page(t, resp)
	if resp.Request.URL.Path != "/account/reauth" || !strings.Contains(body, "keep a suspended passkey") || !strings.Contains(body, `name="code"`) {
		t.Fatalf("keeping the passkey went to %s:\n%.800s", resp.Request.URL, body)
	}
	form := hiddenFields(body)
	if status, _ := me.call("/account/reauth/passkey/begin", map[string]any{"change": form.Get("change")}); status != http.StatusBadRequest {
		t.Fatalf("a passkey step-up offered the suspended passkey: %d", status)
	}
	if !l.suspended(phone) {
		t.Fatal("reinstated without a step-up")
	}
	form.Set("password", testPassword)
	form.Set("code", totpCode(t, secret, l.clock.Now()))
	resp = me.do("POST", "/account/reauth", form)
	body = page(t, resp)
	if !strings.Contains(resp.Request.URL.RawQuery, "done=passkey_reinstated") || !strings.Contains(body, "signs you in again") {
		t.Fatalf("after the step-up: %s", resp.Request.URL)
	}
	if l.suspended(phone) || l.countActivity(acct.ID, ofKind("passkey_reinstated")) != 1 {
		t.Fatal("the suspension was not lifted and recorded")
	}

	// The genuine passkey signs in again, from the highest counter seen; a
	// copy behind it is caught at its next use.
	if status, msg := l.browser().passkeySignIn(phone, 101); status != http.StatusOK {
		t.Fatalf("the reinstated passkey: %d %q", status, msg)
	}
	if status, _ := clone.passkeySignIn(phone, 14); status != http.StatusUnauthorized || !l.suspended(phone) {
		t.Fatalf("a copy behind the reinstated passkey: %d", status)
	}
	if n := l.suspensionAlerts(acct.ID, l.email, "Phone"); n != 2 {
		t.Fatalf("%d suspension alerts, want 2", n)
	}

	resp = me.post("/account/security", "/account/security/passkeys/"+b64(phone.id)+"/remove", nil)
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.RawQuery, "done=passkey_removed") || len(l.passkeys(acct.ID)) != 0 {
		t.Fatalf("removing the suspended passkey: %s", resp.Request.URL)
	}
}

// TestPasskeyCloneAdvanced: under advanced security a copy that got in first
// cannot keep the passkey its owner's device then suspends: the copy's
// session predates the suspension, and the step-up it is sent to offers
// only the other passkey and refuses the suspended one. The owner, signed in
// with the other passkey after the suspension, keeps it at once.
func TestPasskeyCloneAdvanced(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	ctx := t.Context()
	acct, _ := l.srv.Accounts().ByEmail(ctx, l.email)
	l.makeAdvanced(acct.ID)
	phone := holdPasskey(t, l, acct.ID, "Phone", false, 10)
	laptop := holdPasskey(t, l, acct.ID, "Laptop", true, 0)

	thief := l.browser()
	if status, msg := thief.passkeySignIn(phone, 11); status != http.StatusOK {
		t.Fatalf("the copy, ahead: %d %q", status, msg)
	}
	owner := l.browser()
	if status, _ := owner.passkeySignIn(phone, 11); status != http.StatusUnauthorized || !l.suspended(phone) {
		t.Fatalf("the owner's device, now behind: %d", status)
	}

	l.clock.Add(time.Minute)
	resp := thief.post("/account/security", "/account/security/passkeys/"+b64(phone.id)+"/reinstate", nil)
	body := page(t, resp)
	if resp.Request.URL.Path != "/account/reauth" || strings.Contains(body, `type="password"`) {
		t.Fatalf("the copy's session keeping the passkey went to %s", resp.Request.URL)
	}
	change := hiddenFields(body).Get("change")
	c, opts := thief.challenge("/account/reauth/passkey/begin", map[string]any{"change": change})
	allowed, _ := opts["allowCredentials"].([]any)
	if len(allowed) != 1 || allowed[0].(map[string]any)["id"] != b64(laptop.id) {
		t.Fatalf("the step-up offers %v, want the laptop only", allowed)
	}
	status, _ := thief.call("/account/reauth/passkey/finish", map[string]any{"change": change, "credential": phone.answer(c, 12)})
	if status != http.StatusUnauthorized || !l.suspended(phone) {
		t.Fatalf("a step-up with the suspended passkey: %d", status)
	}

	if status, msg := owner.passkeySignIn(laptop, 0); status != http.StatusOK {
		t.Fatalf("the other passkey: %d %q", status, msg)
	}
	resp = owner.post("/account/security", "/account/security/passkeys/"+b64(phone.id)+"/reinstate", nil)
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.RawQuery, "done=passkey_reinstated") || l.suspended(phone) {
		t.Fatalf("the owner keeping the passkey: %s", resp.Request.URL)
	}
}

// TestOnlyPasskeySuspended: when the suspended passkey was the account's
// only way in, recovery keys still get the owner back, the page says so,
// and "It's mine" says what to add first instead of asking for a step-up
// nothing can pass.
func TestOnlyPasskeySuspended(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	grace, err := l.srv.Accounts().Create(t.Context(), "grace@example.com", "Grace", "")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := l.srv.Recovery().Generate(t.Context(), grace.ID)
	if err != nil {
		t.Fatal(err)
	}
	phone := holdPasskey(t, l, grace.ID, "Phone", false, 5)
	b := l.browser()
	if status, _ := b.passkeySignIn(phone, 2); status != http.StatusUnauthorized || !l.suspended(phone) {
		t.Fatalf("a copy behind the counter: %d", status)
	}
	form := hiddenFields(page(t, b.do("GET", "/login/recover", nil)))
	form.Set("email", "grace@example.com")
	form.Set("recovery_key", keys[0])
	resp := b.do("POST", "/login/recover", form)
	body := page(t, resp)
	if resp.Request.URL.Path != "/account/security" || !strings.Contains(body, "It was your only way to sign in") ||
		!strings.Contains(body, "use one of your recovery keys") || !strings.Contains(body, "first add another passkey") {
		t.Fatalf("recovery sign-in beside a suspended passkey: %s\n%.1500s", resp.Request.URL, body)
	}
	resp = b.post("/account/security", "/account/security/passkeys/"+b64(phone.id)+"/reinstate", nil)
	page(t, resp)
	if !strings.Contains(resp.Request.URL.RawQuery, "error=reinstate_other") || !l.suspended(phone) {
		t.Fatalf("keeping the only passkey: %s", resp.Request.URL)
	}
}

// TestAdvancedEnrolmentIgnoresSuspendedPasskey: a suspended passkey is not
// one of the two passkeys advanced security needs.
func TestAdvancedEnrolmentIgnoresSuspendedPasskey(t *testing.T) {
	t.Parallel()
	l := startLatch(t)
	acct, _ := l.srv.Accounts().ByEmail(t.Context(), l.email)
	me := l.browser()
	me.signInPassword(l.email, testPassword).Body.Close()
	fakePasskey(t, l, acct.ID, false)
	fakePasskey(t, l, acct.ID, true)
	passkeyStepUp(t, l, me.session())
	if resp, _ := enroll(t, me); !strings.Contains(resp.Request.URL.RawQuery, "error=advanced_need_keys") {
		t.Fatalf("two passkeys, one synced: %s", resp.Request.URL)
	}
	for _, pk := range l.passkeys(acct.ID) {
		if pk.BackupEligible {
			if err := l.srv.Passkeys().Suspend(t.Context(), acct.ID, pk.ID, l.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	resp, body := enroll(t, me)
	if !strings.Contains(resp.Request.URL.RawQuery, "error=advanced_need_two") || !strings.Contains(body, "doesn't count until you confirm") {
		t.Fatalf("two passkeys, one suspended: %s", resp.Request.URL)
	}
}
