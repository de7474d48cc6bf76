package templates

// Throwaway: exercises passkeys.js in Chromium against a mock server. Not to
// be committed.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"latch/internal/browsertest"
)

type mockCall struct {
	Path  string
	Token string
	Body  map[string]any
}

type mock struct {
	mu      sync.Mutex
	calls   []mockCall
	exclude []map[string]any
	addBeginStatus int
	addBeginBody   string
	finishError    string
}

func (m *mock) record(r *http.Request) map[string]any {
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	m.mu.Lock()
	m.calls = append(m.calls, mockCall{r.URL.Path, r.Header.Get("X-CSRF-Token"), body})
	m.mu.Unlock()
	return body
}

func (m *mock) find(path string) []mockCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []mockCall
	for _, c := range m.calls {
		if c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

func TestTmpPasskeysJS(t *testing.T) {
	s := parse(t)
	m := &mock{}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", Static())
	base := Base{Title: "x", CSRFToken: csrf, SignedIn: true, Email: "ada@example.com"}
	pagesByPath := map[string]func() (string, any){
		"/p/security": func() (string, any) {
			return "security", SecurityPage{Base: base, HasPassword: true, NewRecoveryKeys: []string{"AAAA", "BBBB"}, RecoveryDownload: "data:text/plain;base64,QQ=="}
		},
		"/p/login":       func() (string, any) { return "login", LoginPage{Base: Base{CSRFToken: csrf}, AuthRequestID: "req-1"} },
		"/p/loginonly":   func() (string, any) { return "login", LoginPage{Base: Base{CSRFToken: csrf}, AuthRequestID: "req-9", PasskeyOnly: true} },
		"/p/reauth": func() (string, any) {
			return "reauth", ReauthPage{Base: base, Change: "chg-1", Next: "/account/security", HasPasskey: true, HasPassword: true}
		},
	}
	for p, f := range pagesByPath {
		mux.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
			name, data := f()
			s.Render(w, 200, name, data)
		})
	}
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`<p id="done">done</p>`)) })
	mux.HandleFunc("GET /reauth-here", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`<p id="reauth">reauth</p>`)) })
	jsonOut := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	challenge := "Y2hhbGxlbmdlLWNoYWxsZW5nZS1jaGFsbGVuZ2UtMTIz"
	getOpts := map[string]any{"publicKey": map[string]any{"challenge": challenge, "rpId": "localhost", "userVerification": "required", "timeout": 60000}}
	mux.HandleFunc("POST /account/security/passkeys/begin", func(w http.ResponseWriter, r *http.Request) {
		m.record(r)
		if m.addBeginStatus != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(m.addBeginStatus)
			w.Write([]byte(m.addBeginBody))
			return
		}
		jsonOut(w, 200, map[string]any{"publicKey": map[string]any{
			"challenge":          challenge,
			"rp":                 map[string]any{"name": "latch", "id": "localhost"},
			"user":               map[string]any{"id": "dXNlci0x", "name": "ada@example.com", "displayName": "Ada"},
			"pubKeyCredParams":   []any{map[string]any{"type": "public-key", "alg": -7}},
			"authenticatorSelection": map[string]any{"residentKey": "required", "userVerification": "required"},
			"excludeCredentials": m.exclude,
		}})
	})
	finish := func(w http.ResponseWriter, r *http.Request) {
		body := m.record(r)
		if m.finishError != "" {
			jsonOut(w, 400, map[string]any{"error": m.finishError})
			return
		}
		if c, ok := body["credential"].(map[string]any); ok && r.URL.Path == "/account/security/passkeys/finish" {
			m.mu.Lock()
			m.exclude = append(m.exclude, map[string]any{"type": "public-key", "id": c["id"]})
			m.mu.Unlock()
		}
		jsonOut(w, 200, map[string]any{"redirect": "/done"})
	}
	mux.HandleFunc("POST /account/security/passkeys/finish", finish)
	mux.HandleFunc("POST /login/passkey/begin", func(w http.ResponseWriter, r *http.Request) { m.record(r); jsonOut(w, 200, getOpts) })
	mux.HandleFunc("POST /login/passkey/finish", finish)
	mux.HandleFunc("POST /account/reauth/passkey/begin", func(w http.ResponseWriter, r *http.Request) { m.record(r); jsonOut(w, 200, getOpts) })
	mux.HandleFunc("POST /account/reauth/passkey/finish", finish)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	url := browsertest.Localhost(srv.URL)

	ctx := browsertest.Chrome(t)
	browsertest.AddAuthenticator(t, ctx, browsertest.AuthenticatorOptions{BackupEligibility: true, BackupState: true})

	// Add a passkey.
	browsertest.Navigate(t, ctx, url+"/p/security")
	browsertest.WaitVisible(t, ctx, "[data-passkey-add]")
	browsertest.WaitVisible(t, ctx, "[data-copy]")
	if v := browsertest.Eval[bool](t, ctx, `document.querySelector('[data-passkey-unsupported]').hidden`); !v {
		t.Error("unsupported sentence still shown")
	}
	browsertest.SendKeys(t, ctx, "#passkey-name", "Test laptop")
	browsertest.Click(t, ctx, "[data-passkey-add]")
	browsertest.WaitVisible(t, ctx, "#done")
	if c := m.find("/account/security/passkeys/begin"); len(c) != 1 || c[0].Token != csrf || c[0].Body["name"] != "Test laptop" {
		t.Errorf("add begin calls: %+v", c)
	}
	fc := m.find("/account/security/passkeys/finish")
	if len(fc) != 1 || fc[0].Body["name"] != "Test laptop" {
		t.Fatalf("add finish calls: %+v", fc)
	}
	cred := fc[0].Body["credential"].(map[string]any)
	if cred["type"] != "public-key" || cred["response"].(map[string]any)["attestationObject"] == nil {
		t.Errorf("credential: %v", cred)
	}

	// Adding again on the same device: InvalidStateError, in words. Enter in
	// the name field starts it.
	browsertest.Navigate(t, ctx, url+"/p/security")
	browsertest.SendKeys(t, ctx, "#passkey-name", "Again\n")
	browsertest.WaitVisible(t, ctx, "[data-passkey-error]")
	if got := browsertest.Text(t, ctx, "[data-passkey-error]"); !strings.Contains(got, "This device already has a passkey for your account.") {
		t.Errorf("error text = %q", got)
	}
	if v := browsertest.Eval[bool](t, ctx, `document.querySelector('[data-passkey-add]').disabled || document.querySelector('[data-passkey-add]').hasAttribute('aria-busy')`); v {
		t.Error("button still busy after failure")
	}

	// Step-up demanded by begin.
	m.addBeginStatus, m.addBeginBody = 403, `{"reauth": "/reauth-here"}`
	browsertest.Navigate(t, ctx, url+"/p/security")
	browsertest.Click(t, ctx, "[data-passkey-add]")
	browsertest.WaitVisible(t, ctx, "#reauth")
	// A refusal with a sentence.
	m.addBeginStatus, m.addBeginBody = 400, `{"error": "Give the passkey a name."}`
	browsertest.Navigate(t, ctx, url+"/p/security")
	browsertest.Click(t, ctx, "[data-passkey-add]")
	browsertest.WaitVisible(t, ctx, "[data-passkey-error]")
	if got := browsertest.Text(t, ctx, "[data-passkey-error]"); got != "Give the passkey a name." {
		t.Errorf("error text = %q", got)
	}
	// Not JSON at all.
	m.addBeginStatus, m.addBeginBody = 500, `oops`
	browsertest.Click(t, ctx, "[data-passkey-add]")
	time.Sleep(300 * time.Millisecond)
	if got := browsertest.Text(t, ctx, "[data-passkey-error]"); got != "Something went wrong with your passkey. Please try again." {
		t.Errorf("error text = %q", got)
	}
	m.addBeginStatus = 0

	// Copy.
	browsertest.Click(t, ctx, "[data-copy]")
	time.Sleep(200 * time.Millisecond)
	t.Logf("copy button now: %q; status: %q", browsertest.Text(t, ctx, "[data-copy]"),
		browsertest.Eval[string](t, ctx, `document.querySelector('[role=status].visually-hidden').textContent`))

	// Reauth with the passkey.
	browsertest.Navigate(t, ctx, url+"/p/reauth")
	browsertest.Click(t, ctx, "[data-passkey-reauth]")
	browsertest.WaitVisible(t, ctx, "#done")
	if c := m.find("/account/reauth/passkey/finish"); len(c) != 1 || c[0].Body["change"] != "chg-1" || c[0].Body["next"] != "/account/security" || c[0].Body["credential"] == nil {
		t.Errorf("reauth finish: %+v", c)
	}
	if c := m.find("/account/reauth/passkey/begin"); len(c) != 1 || c[0].Body["change"] != "chg-1" {
		t.Errorf("reauth begin: %+v", c)
	}

	// Login: the virtual authenticator answers the conditional request at
	// once, so the page signs in through autofill.
	browsertest.Navigate(t, ctx, url+"/p/login")
	browsertest.WaitVisible(t, ctx, "#done")
	lb := m.find("/login/passkey/begin")
	if len(lb) != 1 || lb[0].Body["conditional"] != true || lb[0].Body["auth_request"] != "req-1" {
		t.Errorf("login begin: %+v", lb)
	}
	lf := m.find("/login/passkey/finish")
	if len(lf) != 1 || lf[0].Body["auth_request"] != "req-1" {
		t.Errorf("login finish: %+v", lf)
	}

	// Passkey-only page has no autofill field: the button.
	browsertest.Navigate(t, ctx, url+"/p/loginonly")
	browsertest.Click(t, ctx, "[data-passkey-login]")
	browsertest.WaitVisible(t, ctx, "#done")
	lb = m.find("/login/passkey/begin")
	if len(lb) != 2 || lb[1].Body["conditional"] != nil || lb[1].Body["auth_request"] != "req-9" {
		t.Errorf("login begin (button): %+v", lb)
	}

	// Finish refused: the sentence shows, the button works again.
	m.finishError = "That passkey isn't registered with latch."
	browsertest.Navigate(t, ctx, url+"/p/loginonly")
	browsertest.Click(t, ctx, "[data-passkey-login]")
	browsertest.WaitVisible(t, ctx, "[data-passkey-error]")
	if got := browsertest.Text(t, ctx, "[data-passkey-error]"); got != m.finishError {
		t.Errorf("login error = %q", got)
	}
	browsertest.Screenshot(t, ctx, "/tmp/tplsec-shots/browser-login-error.png")
}

func TestTmpLoginCancel(t *testing.T) {
	s := parse(t)
	mux := http.NewServeMux()
	mux.Handle("GET /static/", Static())
	mux.HandleFunc("GET /p/login", func(w http.ResponseWriter, r *http.Request) {
		s.Render(w, 200, "login", LoginPage{Base: Base{CSRFToken: csrf}, AuthRequestID: "req-1"})
	})
	var begins int
	var mu sync.Mutex
	mux.HandleFunc("POST /login/passkey/begin", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		begins++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"publicKey": {"challenge": "Y2hhbGxlbmdlLWNoYWxsZW5nZS1jaGFsbGVuZ2UtMTIz", "rpId": "localhost", "userVerification": "required", "timeout": 2000}}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ctx := browsertest.Chrome(t)
	// An empty authenticator: conditional rejects quietly; the modal one
	// finds nothing and ends in NotAllowedError.
	browsertest.AddAuthenticator(t, ctx, browsertest.AuthenticatorOptions{})
	browsertest.Navigate(t, ctx, browsertest.Localhost(srv.URL)+"/p/login")
	time.Sleep(500 * time.Millisecond)
	if v := browsertest.Eval[bool](t, ctx, `document.querySelector('[data-passkey-error]').hidden`); !v {
		t.Errorf("autofill failure showed an error: %q", browsertest.Text(t, ctx, "[data-passkey-error]"))
	}
	browsertest.Click(t, ctx, "[data-passkey-login]")
	browsertest.WaitVisible(t, ctx, "[data-passkey-error]")
	t.Logf("after modal: %q", browsertest.Text(t, ctx, "[data-passkey-error]"))
	mu.Lock()
	t.Logf("begins: %d", begins)
	mu.Unlock()
	browsertest.Screenshot(t, ctx, "/tmp/tplsec-shots/browser-login-cancel.png")
}
