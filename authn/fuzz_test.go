package authn

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/gorilla/securecookie"
	"github.com/pquerna/otp/totp"

	"github.com/latch-idp/latch/internal/pgtest"
	"github.com/latch-idp/latch/internal/web"
)

// FuzzNormalizeTOTPCode: a typed code is accepted only as six ASCII digits.
func FuzzNormalizeTOTPCode(f *testing.F) {
	for _, seed := range []string{"123456", " 123 456 ", "12345", "1234567", "１２３４５６", "12345\x00", "abcdef", "+12345"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, code string) {
		n, ok := normalizeTOTPCode(code)
		if !ok {
			return
		}
		if len(n) != 6 {
			t.Fatalf("accepted %q as %q", code, n)
		}
		for i := 0; i < len(n); i++ {
			if n[i] < '0' || n[i] > '9' {
				t.Fatalf("accepted %q as %q", code, n)
			}
		}
	})
}

// FuzzMatchStep: a code that is not the right one for the secret never
// matches, whatever it is.
func FuzzMatchStep(f *testing.F) {
	f.Add("000000", int64(0))
	f.Add("999999", int64(1<<40))
	f.Add("12 34", int64(-1))
	const secret = "JBSWY3DPEHPK3PXP"
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, code string, lastUsed int64) {
		step, err := matchStep(secret, code, now, lastUsed)
		if err != nil || step == 0 { // 0: no step matched
			return
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err != nil || want != code {
			t.Fatalf("code %q matched step %d, whose code is %q", code, step, want)
		}
		if step <= lastUsed {
			t.Fatalf("code %q matched step %d, not after the last used %d", code, step, lastUsed)
		}
		if d := step - now.Unix()/30; d < -1 || d > 1 {
			t.Fatalf("code %q matched step %d, %d steps from now", code, step, d)
		}
	})
}

// FuzzFlowCookie: the second-factor flow cookie decodes only when latch
// sealed it; no value a browser makes up passes for one. (The only state
// ever sealed with this key is account "a"'s; a decoded cookie with
// anything else was forged.)
func FuzzFlowCookie(f *testing.F) {
	h := &Handler{Flow: securecookie.New([]byte("0123456789abcdef0123456789abcdef"), []byte("0123456789abcdef0123456789abcdef")),
		Cookies: &web.Cookies{}, Now: time.Now}
	genuine, err := h.Flow.Encode(h.Cookies.Name("flow"), flowState{AccountID: "a", At: time.Now()})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{genuine, genuine[:len(genuine)-1] + "A", "", "x", "MTIzNHx8", strings.Repeat("A", 5000)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/login/verify", nil)
		r.AddCookie(&http.Cookie{Name: h.Cookies.Name("flow"), Value: v})
		st, ok := h.flow(r)
		if ok && (st.AccountID != "a" || st.AuthRequest != "") {
			t.Fatalf("a made-up flow cookie %q decoded to %+v", v, st)
		}
	})
}

// FuzzPasskeyAssertion sends any assertion a browser could make up for a
// live challenge: any client data, authenticator data, signature, user
// handle and credential id. Without the passkey's private key nothing
// signs in, and every refusal is one of latch's own (never a database
// error, which would answer 500 or 503 to a made-up request).
func FuzzPasskeyAssertion(f *testing.F) {
	db := pgtest.New(f)
	wa, err := NewWebAuthn("http://localhost:8080")
	if err != nil {
		f.Fatal(err)
	}
	p := &Passkeys{DB: db, WebAuthn: wa, Now: time.Now}
	accounts := &Accounts{DB: db, Hasher: NewHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, 1, time.Minute)}
	a, err := accounts.Create(f.Context(), "ada@example.com", "Ada", "")
	if err != nil {
		f.Fatal(err)
	}
	u, err := p.user(f.Context(), a.ID)
	if err != nil {
		f.Fatal(err)
	}
	credID := []byte("0123456789abcdef")
	if _, err := db.Exec(f.Context(), `INSERT INTO passkeys (id, account_id, name, credential, backup_eligible, backup_state, sign_count, created_at)
		VALUES ($1, $2, 'Real', $3, false, false, 5, now())`, credID, a.ID,
		`{"id":"MDEyMzQ1Njc4OWFiY2RlZg==","publicKey":"pQECAyYgASFYIGvWDGHnLz6n3x0Oq4DN6v5G4tGb2N9YFq7sO3Zc1TQmIlggxm2y0W1Vx1Xn3Y2r0gqN9C3k7m9XwWj8y9f0m8O2b0s=","attestationType":"none","authenticator":{"signCount":5}}`); err != nil {
		f.Fatal(err)
	}
	rpHash := sha256.Sum256([]byte("localhost"))
	authData := append(rpHash[:], 0x05, 0, 0, 0, 9)
	for _, seed := range []struct {
		clientData string
		handle     bool
	}{
		{`{"type":"webauthn.get","challenge":"{{c}}","origin":"http://localhost:8080"}`, true},
		{`{"type":"webauthn.get","challenge":"{{c}}","origin":"http://evil.example"}`, true},
		{`{"type":"webauthn.create","challenge":"{{c}}","origin":"http://localhost:8080"}`, false},
		{`{"type":"webauthn.get","challenge":"{{c}}\u0000","origin":"http://localhost:8080"}`, true},
		{`{"type":"webauthn.get","challenge":"AAAA","origin":"http://localhost:8080"}`, true},
		{`{"challenge":` + strings.Repeat("[", 1000), false},
	} {
		f.Add(seed.clientData, authData, []byte("not a signature"), seed.handle, true)
		f.Add(seed.clientData, []byte{0xff}, []byte{}, !seed.handle, false)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	f.Fuzz(func(t *testing.T, clientData string, authData, sig []byte, realHandle, realCred bool) {
		binding := "fuzz-browser"
		stepUp := len(sig)%2 == 1
		var assertion *protocol.CredentialAssertion
		if stepUp {
			assertion, err = p.BeginStepUp(t.Context(), binding, a.ID)
		} else {
			assertion, err = p.BeginLogin(t.Context(), binding, false)
		}
		if err != nil {
			t.Fatal(err)
		}
		clientData = strings.ReplaceAll(clientData, "{{c}}", assertion.Response.Challenge.String())
		handle, cred := []byte("someone-else"), []byte("unknown-credential")
		if realHandle {
			handle = u.id
		}
		if realCred {
			cred = credID
		}
		body, _ := json.Marshal(map[string]any{"id": b64(cred), "rawId": b64(cred), "type": "public-key",
			"response": map[string]string{"clientDataJSON": b64([]byte(clientData)), "authenticatorData": b64(authData),
				"signature": b64(sig), "userHandle": b64(handle)}})
		var got *Assertion
		if stepUp {
			got, err = p.FinishStepUp(t.Context(), binding, a.ID, body, nil)
		} else {
			got, err = p.FinishLogin(t.Context(), binding, body, nil)
		}
		if err == nil {
			t.Fatalf("a made-up assertion signed in as %+v: %s", got, body)
		}
		for _, known := range []error{ErrPasskeyRefused, ErrNoChallenge, ErrUnknownPasskey, ErrPasskeySuspended, ErrPasskeyClone} {
			if errors.Is(err, known) {
				return
			}
		}
		t.Fatalf("a made-up assertion met an internal error: %v\n%s", err, body)
	})
}
