package browsertest

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
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// serve starts the self-test's server on 127.0.0.1 and returns its URL
// under localhost, the name WebAuthn accepts. It serves testdata (a page
// with an external script, as latch's Content-Security-Policy demands) and
// two cookie endpoints.
func serve(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServer(http.Dir("testdata")))
	mux.HandleFunc("GET /cookie/set", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "device", Value: r.URL.Query().Get("v"), Path: "/"})
		fmt.Fprint(w, "set")
	})
	mux.HandleFunc("GET /cookie", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("device")
		if err != nil {
			fmt.Fprint(w, "none")
			return
		}
		fmt.Fprint(w, c.Value)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("server at %s, want 127.0.0.1", srv.URL)
	}
	return Localhost(srv.URL)
}

// outcome is what testdata/app.js's outcome gives for a ceremony.
type outcome[T any] struct {
	OK    bool
	Value T
	Error string
}

// assertion holds the base64url fields of a navigator.credentials.get
// result.
type assertion struct {
	ID                string
	AuthenticatorData string
	ClientDataJSON    string
	Signature         string
	UserHandle        string
}

func TestPasskeyCeremony(t *testing.T) {
	t.Parallel()
	base := serve(t)
	ctx := Chrome(t)
	id := AddAuthenticator(t, ctx, AuthenticatorOptions{})
	Navigate(t, ctx, base+"/")
	SendKeys(t, ctx, "#username", "ada")
	if got := Eval[string](t, ctx, `document.querySelector("#username").value`); got != "ada" {
		t.Errorf("typed %q, want ada", got)
	}

	Click(t, ctx, "#run")
	WaitVisible(t, ctx, "#done")
	var res struct {
		Create outcome[struct{ ID, Attachment string }]
		Get    outcome[assertion]
	}
	if err := json.Unmarshal([]byte(Text(t, ctx, "#out")), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Create.OK || !res.Get.OK {
		t.Fatalf("create: %+v\nget: %+v", res.Create, res.Get)
	}
	if res.Create.Value.Attachment != "platform" {
		t.Errorf("attachment %q, want platform", res.Create.Value.Attachment)
	}
	if res.Get.Value.ID != res.Create.Value.ID {
		t.Errorf("get used credential %s, create made %s", res.Get.Value.ID, res.Create.Value.ID)
	}

	creds := Credentials(t, ctx, id)
	if len(creds) != 1 {
		t.Fatalf("%d credentials, want 1", len(creds))
	}
	if c := creds[0]; c.SignCount < 1 || !c.IsResidentCredential || c.RpID != "localhost" {
		t.Errorf("credential: signCount %v, resident %v, rpId %q; want ≥ 1, true, localhost", c.SignCount, c.IsResidentCredential, c.RpID)
	}
	RemoveCredentials(t, ctx, id)
	if n := len(Credentials(t, ctx, id)); n != 0 {
		t.Errorf("%d credentials after RemoveCredentials, want 0", n)
	}
}

func TestUserVerificationRequired(t *testing.T) {
	t.Parallel()
	base := serve(t)
	tests := []struct {
		name    string
		opts    AuthenticatorOptions
		verify  *bool // for SetUserVerified after adding, if set
		wantErr bool
	}{
		{name: "verifies", opts: AuthenticatorOptions{}},
		{name: "cannot verify", opts: AuthenticatorOptions{NoUserVerification: true}, wantErr: true},
		{name: "verification fails", opts: AuthenticatorOptions{UserVerificationFails: true}, wantErr: true},
		{name: "SetUserVerified false", verify: new(false), wantErr: true},
		{name: "SetUserVerified true", opts: AuthenticatorOptions{UserVerificationFails: true}, verify: new(true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := Chrome(t)
			id := AddAuthenticator(t, ctx, tt.opts)
			if tt.verify != nil {
				SetUserVerified(t, ctx, id, *tt.verify)
			}
			Navigate(t, ctx, base+"/")
			got := Eval[outcome[json.RawMessage]](t, ctx, `register("required")`)
			if tt.wantErr {
				if got.OK || !strings.HasPrefix(got.Error, "NotAllowedError") {
					t.Errorf("create with userVerification required: %+v, want NotAllowedError", got)
				}
				return
			}
			if !got.OK {
				t.Errorf("create with userVerification required: %s", got.Error)
			}
		})
	}
}

// TestAddCredential checks that a credential the test adds signs with the
// test's key, and that adding it again forges a counter and backup flags.
func TestAddCredential(t *testing.T) {
	t.Parallel()
	base := serve(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx := Chrome(t)
	id := AddAuthenticator(t, ctx, AuthenticatorOptions{})
	cred := Credential{
		CredentialID:      []byte("credential-1"),
		RPID:              "localhost",
		PrivateKey:        key,
		UserHandle:        []byte("user-1"),
		SignCount:         41,
		IsResident:        true,
		BackupEligibility: true,
		BackupState:       true,
	}
	AddCredential(t, ctx, id, cred)
	Navigate(t, ctx, base+"/")

	const up, uv, be, bs = 0x01, 0x04, 0x08, 0x10
	a := login(t, ctx)
	verifyAssertion(t, &key.PublicKey, a, base, up|uv|be|bs, 42)
	if got := decode(t, a.UserHandle); string(got) != "user-1" {
		t.Errorf("user handle %q, want user-1", got)
	}
	if got := decode(t, a.ID); string(got) != "credential-1" {
		t.Errorf("credential id %q, want credential-1", got)
	}

	// A clone of the authenticator: same key, lower counter, flags changed.
	RemoveCredentials(t, ctx, id)
	cred.SignCount, cred.BackupState = 2, false
	AddCredential(t, ctx, id, cred)
	verifyAssertion(t, &key.PublicKey, login(t, ctx), base, up|uv|be, 3)

	// Only one internal authenticator fits in a tab, so adding one again
	// shows that the first is gone.
	RemoveAuthenticator(t, ctx, id)
	AddAuthenticator(t, ctx, AuthenticatorOptions{})
}

func login(t *testing.T, ctx context.Context) assertion {
	t.Helper()
	got := Eval[outcome[assertion]](t, ctx, `login()`)
	if !got.OK {
		t.Fatalf("get: %s", got.Error)
	}
	return got.Value
}

// verifyAssertion checks a's signature with pub as a relying party would
// (WebAuthn Level 3 §7.2 steps 15–21), and its flags and counter.
func verifyAssertion(t *testing.T, pub *ecdsa.PublicKey, a assertion, origin string, flags byte, counter uint32) {
	t.Helper()
	authData := decode(t, a.AuthenticatorData)
	clientData := decode(t, a.ClientDataJSON)
	clientHash := sha256.Sum256(clientData)
	signed := sha256.Sum256(append(bytes.Clone(authData), clientHash[:]...))
	if !ecdsa.VerifyASN1(pub, signed[:], decode(t, a.Signature)) {
		t.Fatal("signature does not verify with the credential's key")
	}
	var cd struct{ Type, Origin string }
	if err := json.Unmarshal(clientData, &cd); err != nil {
		t.Fatal(err)
	}
	if cd.Type != "webauthn.get" || cd.Origin != origin {
		t.Errorf("client data type %q origin %q, want webauthn.get %q", cd.Type, cd.Origin, origin)
	}
	if len(authData) < 37 {
		t.Fatalf("authenticator data has %d bytes", len(authData))
	}
	if rpIDHash := sha256.Sum256([]byte("localhost")); !bytes.Equal(authData[:32], rpIDHash[:]) {
		t.Error("rpIdHash is not SHA-256 of localhost")
	}
	if got := authData[32]; got != flags {
		t.Errorf("flags %#02x, want %#02x", got, flags)
	}
	if got := binary.BigEndian.Uint32(authData[33:37]); got != counter {
		t.Errorf("counter %d, want %d", got, counter)
	}
}

func decode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConditionalMediation pins down how Chromium's virtual authenticator
// answers a conditional get, which page tests of latch's login depend on:
// at once, with no autocomplete input, focus or click.
func TestConditionalMediation(t *testing.T) {
	t.Parallel()
	base := serve(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const settled = `new Promise((resolve) => {
		startConditional();
		const poll = setInterval(() => { if (conditional) { clearInterval(poll); resolve(conditional); } }, 5);
	})`

	t.Run("resolves at once", func(t *testing.T) {
		t.Parallel()
		ctx := Chrome(t)
		id := AddAuthenticator(t, ctx, AuthenticatorOptions{})
		AddCredential(t, ctx, id, Credential{
			CredentialID: []byte("c"), RPID: "localhost", PrivateKey: key,
			UserHandle: []byte("u"), IsResident: true,
		})
		// bare.html has no input with autocomplete="username webauthn".
		Navigate(t, ctx, base+"/bare.html")
		got := Eval[outcome[assertion]](t, ctx, settled)
		if !got.OK {
			t.Fatalf("conditional get: %s", got.Error)
		}
		if string(decode(t, got.Value.UserHandle)) != "u" {
			t.Errorf("user handle %q, want u", decode(t, got.Value.UserHandle))
		}
	})
	t.Run("rejects at once without a passkey", func(t *testing.T) {
		t.Parallel()
		ctx := Chrome(t)
		AddAuthenticator(t, ctx, AuthenticatorOptions{})
		Navigate(t, ctx, base+"/")
		got := Eval[outcome[json.RawMessage]](t, ctx, settled)
		if got.OK || !strings.HasPrefix(got.Error, "NotAllowedError") {
			t.Errorf("conditional get: %+v, want NotAllowedError", got)
		}
	})
}

// TestIPAddressOrigin shows the trap the package documentation warns of.
func TestIPAddressOrigin(t *testing.T) {
	t.Parallel()
	base := serve(t)
	ctx := Chrome(t)
	AddAuthenticator(t, ctx, AuthenticatorOptions{})
	Navigate(t, ctx, strings.Replace(base, "localhost", "127.0.0.1", 1)+"/")
	got := Eval[outcome[json.RawMessage]](t, ctx, `register()`)
	if got.OK || !strings.HasPrefix(got.Error, "SecurityError") {
		t.Errorf("create on 127.0.0.1: %+v, want SecurityError", got)
	}
}

func TestNewContextSeparatesCookies(t *testing.T) {
	t.Parallel()
	base := serve(t)
	laptop := Chrome(t)
	phone := NewContext(t, laptop)
	tablet := NewContext(t, phone)

	Navigate(t, laptop, base+"/cookie/set?v=laptop")
	Navigate(t, phone, base+"/cookie/set?v=phone")
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"laptop", laptop, "laptop"},
		{"phone", phone, "phone"},
		{"tablet", tablet, "none"},
	} {
		Navigate(t, tc.ctx, base+"/cookie")
		if got := Text(t, tc.ctx, "body"); got != tc.want {
			t.Errorf("%s sees cookie %q, want %q", tc.name, got, tc.want)
		}
		if got := Location(t, tc.ctx); got != base+"/cookie" {
			t.Errorf("%s is at %s", tc.name, got)
		}
	}
}

func TestScreenshot(t *testing.T) {
	base := serve(t)
	ctx := Chrome(t)
	Navigate(t, ctx, base+"/")

	t.Run("temporary directory", func(t *testing.T) {
		t.Setenv(EnvScreenshots, "")
		checkPNG(t, Screenshot(t, ctx, "page.png"))
	})
	t.Run("LATCH_SCREENSHOTS", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv(EnvScreenshots, dir)
		path := Screenshot(t, ctx, "page.png")
		if want := filepath.Join(dir, t.Name(), "page.png"); path != want {
			t.Errorf("saved to %s, want %s", path, want)
		}
		checkPNG(t, path)
	})
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if cfg.Width != 1280 {
		t.Errorf("screenshot is %dx%d, want 1280 wide", cfg.Width, cfg.Height)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and ends
// the goroutine, as t.Fatalf would, without failing the real test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestFailureMessage(t *testing.T) {
	t.Parallel()
	base := serve(t)
	ctx := Chrome(t)
	Navigate(t, ctx, base+"/")

	// A short deadline stands in for the 15 s timeout of a real failure.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		WaitVisible(r, short, "#missing")
	}()
	<-done
	for _, want := range []string{`wait for "#missing" to be visible`, "deadline exceeded", "at:   " + base + "/", `page: "browsertest User Run"`} {
		if !strings.Contains(r.msg, want) {
			t.Errorf("failure message lacks %q:\n%s", want, r.msg)
		}
	}
}

func TestLocalhost(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"IPv4 with port", "http://127.0.0.1:8080/a?b=c", "http://localhost:8080/a?b=c"},
		{"IPv6 with port", "http://[::1]:8080", "http://localhost:8080"},
		{"no port", "http://127.0.0.1/x", "http://localhost/x"},
		{"other loopback", "http://127.0.0.2:1", "http://localhost:1"},
		{"domain kept", "http://example.test:1/", "http://example.test:1/"},
		{"other IP kept", "http://10.0.0.1:1/", "http://10.0.0.1:1/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Localhost(tt.in); got != tt.want {
				t.Errorf("Localhost(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
