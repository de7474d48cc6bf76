package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"golang.org/x/oauth2"
)

// Issue 9: anonymous callers cannot make latch do unbounded work. These
// tests send what an attacker would: huge and multipart bodies, NUL bytes
// and broken UTF-8, hundreds of concurrent sign-ins, and authorization
// requests built to fill the log.

// send makes one request with b's cookies (and, for POSTs, the same-origin
// headers a browser adds) and returns the final status and body.
func (b *browser) send(method, path, contentType string, body io.Reader, header http.Header) (int, string, http.Header) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.l.url+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("User-Agent", b.ua)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if method == http.MethodPost {
		req.Header.Set("Origin", b.l.url)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp.StatusCode, page(b.t, resp), resp.Header
}

// csrf returns the browser's CSRF token, fetching a page to get one.
func (b *browser) csrf() string {
	b.t.Helper()
	return hiddenFields(page(b.t, b.do("GET", "/login", nil))).Get("csrf_token")
}

// incompressible returns n bytes of random base64url: a value PostgreSQL
// cannot shrink below its index limits by compressing it.
func incompressible(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// TestMultipartRefused: no route parses multipart/form-data; a file part
// to /login is refused with 415 before any of it is stored, whatever the
// CSRF cookie says.
func TestMultipartRefused(t *testing.T) {
	l := startLatch(t)
	b := l.browser()
	token := b.csrf()
	for _, path := range []string{"/login", "/login/verify", "/account/security/password", "/oauth/token", "/authorize", "/consent"} {
		t.Run(path, func(t *testing.T) {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			mw.WriteField("csrf_token", token)
			mw.WriteField("email", l.email)
			fw, _ := mw.CreateFormFile("file", "big.bin")
			fw.Write(bytes.Repeat([]byte("x"), 1<<20))
			mw.Close()
			code, text, h := b.send("POST", path, mw.FormDataContentType(), &body, nil)
			if code != http.StatusUnsupportedMediaType {
				t.Fatalf("%s: %d, want 415:\n%.400s", path, code, text)
			}
			if strings.HasPrefix(path, "/oauth/") {
				if !strings.Contains(h.Get("Content-Type"), "application/json") || !strings.Contains(text, `"invalid_request"`) {
					t.Fatalf("%s: an OAuth endpoint answers in JSON, got %s", path, text)
				}
			} else if !strings.Contains(text, "multipart") {
				t.Fatalf("%s: the page does not say why:\n%.600s", path, text)
			}
		})
	}
}

// TestBodyLimits: a body over its route's limit is refused with 413 and a
// sentence, as a page, as JSON for scripts, and in OAuth's shape for the
// OAuth endpoints; bodies within the limits still work.
func TestBodyLimits(t *testing.T) {
	l := startLatch(t)
	b := l.browser()
	token := b.csrf()
	csrfHeader := http.Header{"X-Csrf-Token": {token}}
	big := func(n int) string { return strings.Repeat("a", n) }
	for _, tc := range []struct {
		name, path, contentType, body string
		header                        http.Header
		want                          int
		says                          string
	}{
		{"form over 16 KiB", "/login", "application/x-www-form-urlencoded",
			"csrf_token=" + token + "&email=" + big(20<<10), nil, http.StatusRequestEntityTooLarge, "too large"},
		{"form within 16 KiB", "/login", "application/x-www-form-urlencoded",
			"csrf_token=" + token + "&email=x%40example.com&password=" + big(8<<10), nil, http.StatusUnauthorized, "Wrong email or password"},
		{"text body over 16 KiB", "/logout", "text/plain", big(20 << 10), nil, http.StatusRequestEntityTooLarge, "too large"},
		{"JSON over 64 KiB", "/login/passkey/begin", "application/json",
			`{"auth_request":"` + big(70<<10) + `"}`, csrfHeader, http.StatusRequestEntityTooLarge, `"error"`},
		{"JSON within 64 KiB", "/login/passkey/begin", "application/json",
			`{"conditional":true,"auth_request":"","pad":"` + big(30<<10) + `"}`, csrfHeader, http.StatusOK, "challenge"},
		{"sessions API over 64 KiB", "/api/account/sessions/end", "application/json",
			`{"ids":["` + big(70<<10) + `"]}`, csrfHeader, http.StatusRequestEntityTooLarge, `"invalid_request"`},
		{"token endpoint over 64 KiB", "/oauth/token", "application/x-www-form-urlencoded",
			"grant_type=authorization_code&code=" + big(70<<10), nil, http.StatusRequestEntityTooLarge, `"invalid_request"`},
		{"token endpoint within 64 KiB", "/oauth/token", "application/x-www-form-urlencoded",
			"grant_type=authorization_code&client_id=app-a&client_secret=alpha-secret-0123456789&code=" + big(30<<10),
			nil, http.StatusBadRequest, `"invalid_grant"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, text, _ := b.send("POST", tc.path, tc.contentType, strings.NewReader(tc.body), tc.header)
			if code != tc.want || !strings.Contains(text, tc.says) {
				t.Fatalf("%d, want %d saying %q:\n%.600s", code, tc.want, tc.says, text)
			}
		})
	}
	// Without a Content-Length (chunked), the limit holds while reading.
	t.Run("chunked form over 16 KiB", func(t *testing.T) {
		body := io.MultiReader(strings.NewReader("csrf_token="+token+"&email="), strings.NewReader(big(40<<10)))
		code, text, _ := b.send("POST", "/login", "application/x-www-form-urlencoded", io.NopCloser(body), nil)
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(text, "too large") {
			t.Fatalf("%d:\n%.600s", code, text)
		}
	})
}

// bad are the values every parameter gets in TestBadInputIsNever500.
var bad = []struct{ name, value string }{
	{"NUL", "ada\x00@example.com"},
	{"invalid UTF-8", "ada\xff\xfe@example.com"},
	{"control characters", "ada\x01\x1b[31m@example.com"},
	{"over-long", incompressible(10 << 10)},
}

// TestBadInputIsNever500: NUL bytes, broken UTF-8, control characters and
// over-long values in every form field, query parameter and JSON string of
// every route answer below 500, and latch logs no ERROR for them, nor
// any error of PostgreSQL's.
func TestBadInputIsNever500(t *testing.T) {
	l := startLatch(t)
	ctx := t.Context()
	acct, err := l.srv.Accounts().ByEmail(ctx, l.email)
	if err != nil {
		t.Fatal(err)
	}
	fakePasskey(t, l, acct.ID, true)
	passkey := base64.RawURLEncoding.EncodeToString(l.passkeys(acct.ID)[0].ID)

	// An account with an authenticator app, stopped at its second step.
	if _, err := l.srv.Accounts().Create(ctx, "totp@example.com", "Tess", testPassword); err != nil {
		t.Fatal(err)
	}
	tess := l.browser()
	tess.signInPassword("totp@example.com", testPassword).Body.Close()
	enrollTOTP(t, l, tess)
	tess.do("POST", "/logout", url.Values{"csrf_token": {tess.csrf()}}).Body.Close()
	if resp := tess.signInPassword("totp@example.com", testPassword); resp.Request.URL.Path != "/login/verify" {
		t.Fatalf("second step not reached: %s", resp.Request.URL)
	}

	me := l.browser()
	me.signInPassword(l.email, testPassword).Body.Close()
	mySid := l.sid(me.session())
	a := l.appA()
	authorize := func(param, value string) string {
		f := a.newFlow()
		u, _ := url.Parse(f.url)
		q := u.Query()
		q.Set(param, value)
		return "/authorize?" + q.Encode()
	}

	type form struct {
		name, path string
		fields     []string
		b          *browser
	}
	forms := []form{
		{"login", "/login", []string{"auth_request", "email", "password"}, l.browser()},
		{"second factor", "/login/verify", []string{"code", "recovery_key", "trust_device"}, tess},
		{"recover", "/login/recover", []string{"auth_request", "email", "recovery_key"}, l.browser()},
		{"reauth", "/account/reauth", []string{"change", "next", "password", "code"}, me},
		{"consent", "/consent", []string{"auth_request", "decision"}, me},
		{"passkey rename", "/account/security/passkeys/" + passkey + "/rename", []string{"name"}, me},
		{"passkey rename path", "/account/security/passkeys/%00%FF/rename", []string{"name"}, me},
		{"totp confirm", "/account/security/totp/confirm", []string{"code"}, me},
		{"password", "/account/security/password", []string{"new_password", "confirm_password"}, me},
		{"advanced confirm key", "/account/security/advanced/confirm-key", []string{"recovery_key"}, me},
		{"sessions end", "/account/sessions/end", []string{"ids"}, me},
		{"sessions end path", "/account/sessions/%00/end", []string{"x"}, me},
		{"sessions rename", "/account/sessions/" + mySid + "/rename", []string{"name", "back"}, me},
		{"sessions rename path", "/account/sessions/%00/rename", []string{"name"}, me},
		{"sessions end others", "/account/sessions/end-others", []string{"confirm", "back"}, me},
		{"csrf token", "/login", []string{"csrf_token"}, l.browser()},
		{"logout", "/logout", []string{"request"}, me},
	}
	queries := []struct{ name, path string }{
		{"login", "/login?authRequestID="},
		{"second factor", "/login/verify?recovery="},
		{"recover", "/login/recover?auth_request="},
		{"reauth change", "/account/reauth?next=/account&change="},
		{"reauth next", "/account/reauth?next="},
		{"consent", "/consent?auth_request="},
		{"security done", "/account/security?done="},
		{"security error", "/account/security?error="},
		{"sessions page", "/account/sessions?page="},
		{"sessions done", "/account/sessions?done=ended&n="},
		{"activity", "/account/activity?page="},
		{"logout", "/logout?request="},
		{"callback", "/authorize/callback?id="},
		{"end_session hint", "/end_session?id_token_hint="},
		{"end_session state", "/end_session?client_id=app-a&state="},
		{"end_session redirect", "/end_session?client_id=app-a&post_logout_redirect_uri="},
	}
	jsonCalls := []struct{ name, path, body string }{
		{"passkey sign-in begin", "/login/passkey/begin", `{"auth_request": %s}`},
		{"passkey sign-in finish", "/login/passkey/finish", `{"auth_request": %s, "credential": {"id": %[1]s}}`},
		{"passkey add begin", "/account/security/passkeys/begin", `{"name": %s}`},
		{"passkey add finish", "/account/security/passkeys/finish", `{"name": %s, "credential": {"id": %[1]s}}`},
		{"reauth passkey finish", "/account/reauth/passkey/finish", `{"change": %s, "next": %[1]s}`},
		{"sessions API end", "/api/account/sessions/end", `{"ids": [%s]}`},
		{"sessions API rename", "/api/account/sessions/" + mySid + "/rename", `{"name": %s}`},
	}

	// A WebAuthn answer carries its own JSON, base64url-encoded, where the
	// guard cannot see it: its challenge must be checked before SQL too.
	assertion := func(challenge string) string {
		b64 := base64.RawURLEncoding.EncodeToString
		client := `{"type":"webauthn.get","challenge":"` + challenge + `","origin":"` + l.url + `"}`
		authData := append(make([]byte, 32), 0x05, 0, 0, 0, 1)
		return `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"` + b64([]byte(client)) +
			`","authenticatorData":"` + b64(authData) + `","signature":"AAAA","userHandle":"AAAA"}}`
	}

	logs := 0
	check := func(t *testing.T, code int, text string) {
		t.Helper()
		if code >= 500 {
			t.Errorf("answered %d:\n%.400s", code, text)
		}
		all := l.logs.String()
		// An ERROR, or a refusal from PostgreSQL at any level: no value
		// may reach SQL unchecked, even where the failure is handled.
		if fresh := all[logs:]; strings.Contains(fresh, "level=ERROR") || strings.Contains(fresh, "SQLSTATE") {
			t.Errorf("logged an ERROR or a PostgreSQL error:\n%.2000s", fresh)
		}
		logs = len(all)
		// Names are text: none stored may hold a control character.
		for _, pk := range l.passkeys(acct.ID) {
			if strings.ContainsFunc(pk.Name, unicode.IsControl) {
				t.Errorf("the passkey is now named %q", pk.Name)
			}
		}
		var device string
		l.db.Pool.QueryRow(ctx, `SELECT custom_name FROM device_sessions WHERE id = $1`, mySid).Scan(&device)
		if strings.ContainsFunc(device, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) {
			t.Errorf("the device is now named %q", device)
		}
	}
	for _, v := range bad {
		// JSON can carry NUL as an escape, and broken UTF-8 as raw bytes.
		jsonValue := `"` + v.value + `"`
		if v.name == "NUL" {
			jsonValue = `"ada\u0000@example.com"`
		}
		for _, f := range forms {
			for _, field := range f.fields {
				t.Run(v.name+"/form "+f.name+" "+field, func(t *testing.T) {
					fields := url.Values{"email": {l.email}, "password": {"wrong password!"}, "new_password": {"new password 1"},
						"confirm_password": {"new password 2"}, "name": {"Key"}, "code": {"000000"}, "decision": {"allow"}}
					fields.Set("csrf_token", f.b.csrf())
					fields.Set(field, v.value)
					code, text, _ := f.b.send("POST", f.path, "application/x-www-form-urlencoded", strings.NewReader(fields.Encode()), nil)
					check(t, code, text)
				})
			}
		}
		for _, q := range queries {
			t.Run(v.name+"/query "+q.name, func(t *testing.T) {
				code, text, _ := me.send("GET", q.path+url.QueryEscape(v.value), "", nil, nil)
				check(t, code, text)
			})
		}
		for _, param := range []string{"state", "nonce", "login_hint", "client_id", "redirect_uri", "scope", "prompt", "max_age", "acr_values", "code_challenge"} {
			t.Run(v.name+"/authorize "+param, func(t *testing.T) {
				code, text, _ := l.browser().send("GET", authorize(param, v.value), "", nil, nil)
				check(t, code, text)
			})
		}
		t.Run(v.name+"/json passkey challenge", func(t *testing.T) {
			challenge := strings.Trim(jsonValue, `"`)
			for _, path := range []string{"/login/passkey/finish", "/account/reauth/passkey/finish", "/account/security/passkeys/finish"} {
				code, text, _ := me.send("POST", path, "application/json", strings.NewReader(`{"credential": `+assertion(challenge)+`}`),
					http.Header{"X-Csrf-Token": {me.csrf()}})
				check(t, code, text)
			}
		})
		// Latch stores the User-Agent with every session and event. (HTTP
		// itself forbids control characters in a header.)
		t.Run(v.name+"/header User-Agent", func(t *testing.T) {
			b := l.browser()
			b.ua = "Mozilla/5.0 " + strings.Map(func(r rune) rune {
				if r < 0x20 {
					return -1
				}
				return r
			}, v.value)
			code, text, _ := b.send("POST", "/login", "application/x-www-form-urlencoded",
				strings.NewReader(url.Values{"csrf_token": {b.csrf()}, "email": {l.email}, "password": {testPassword}}.Encode()), nil)
			check(t, code, text)
		})
		for _, c := range jsonCalls {
			t.Run(v.name+"/json "+c.name, func(t *testing.T) {
				code, text, _ := me.send("POST", c.path, "application/json", strings.NewReader(fmt.Sprintf(c.body, jsonValue)),
					http.Header{"X-Csrf-Token": {me.csrf()}})
				check(t, code, text)
			})
		}
	}
}

// TestAuthorizeErrorsLogNoParameters: 200 failing authorization requests
// write less than 50 KB of log in all, and never a parameter's value. A
// state of latch's largest (1 KiB) reaches the OIDC library, which logs
// its errors with the request; a 4 KiB one is refused before it.
func TestAuthorizeErrorsLogNoParameters(t *testing.T) {
	l := startLatch(t)
	a := l.appA()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		name  string
		state string
		fails string
	}{
		{"1 KiB state", incompressible(1 << 10), "invalid_scope"},
		{"4 KiB state", incompressible(4 << 10), "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(l.logs.String())
			loginHint := "hint-" + incompressible(64) + "@example.com"
			for i := 0; i < 200; i++ {
				u := a.oauth.AuthCodeURL(tc.state, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
					oauth2.SetAuthURLParam("scope", "bogus"), oauth2.SetAuthURLParam("login_hint", loginHint))
				resp, err := client.Get(u)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if loc := resp.Header.Get("Location"); i == 0 && !strings.Contains(loc, "error="+tc.fails) {
					t.Fatalf("the request did not fail as planned: %d %s", resp.StatusCode, loc)
				}
			}
			logged := l.logs.String()[before:]
			if len(logged) >= 50<<10 {
				t.Errorf("200 failing requests wrote %d bytes of log, want < 50 KB:\n%.1000s", len(logged), logged)
			}
			for _, v := range []string{tc.state, tc.state[:64], loginHint, "bogus", "localhost:47001"} {
				if strings.Contains(logged, v) {
					t.Errorf("the log holds a request parameter value %.40q:\n%.1000s", v, logged)
				}
			}
			// What went wrong is still there, where the library logged it.
			if n := strings.Count(logged, "invalid_scope"); tc.fails == "invalid_scope" && n != 200 {
				t.Errorf("the log names the error %d times, want 200:\n%.1000s", n, logged)
			}
		})
	}
}

// rssKiB reads a field of /proc/self/status in KiB.
func rssKiB(t testing.TB, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// signInLoad is what firing n concurrent password sign-ins did.
type signInLoad struct {
	codes     map[int]int
	latencies []time.Duration
	baseKiB   int64 // RSS before
	peakKiB   int64 // highest RSS while they ran
	retry     bool  // every 503 carried Retry-After
}

// concurrentSignIns fires n password sign-ins at once, each for its own
// email (unknown emails cost an argon2id too, and are what an attacker
// needs no account for), and samples this process's RSS meanwhile.
func concurrentSignIns(t testing.TB, l *testLatch, n int) signInLoad {
	t.Helper()
	b := l.browser()
	token := b.csrf()
	u, _ := url.Parse(l.url)
	var cookies []string
	for _, c := range b.client.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: n},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()

	runtime.GC()
	debug.FreeOSMemory()
	load := signInLoad{codes: map[int]int{}, baseKiB: rssKiB(t, "VmRSS"), retry: true}
	load.peakKiB = load.baseKiB
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			load.peakKiB = max(load.peakKiB, rssKiB(t, "VmRSS"))
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			form := url.Values{"csrf_token": {token}, "email": {fmt.Sprintf("load%d@example.com", i)}, "password": {"wrong password!"}}
			req, _ := http.NewRequest("POST", l.url+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", l.url)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.Header.Set("Cookie", strings.Join(cookies, "; "))
			<-start
			began := time.Now()
			resp, err := client.Do(req)
			took := time.Since(began)
			code := -1
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			defer mu.Unlock()
			load.codes[code]++
			load.latencies = append(load.latencies, took)
			if code == http.StatusServiceUnavailable && (resp.Header.Get("Retry-After") == "") {
				load.retry = false
			}
		}()
	}
	close(start)
	wg.Wait()
	close(stop)
	<-sampled
	return load
}

// TestConcurrentSignInsBounded: 400 concurrent password sign-ins leave
// latch's memory bounded by the hashing workers (the default budget of 128
// MiB makes six), answering the ones that wait too long 503 with
// Retry-After instead of queueing them all into memory. Before the pool,
// RSS grew by 1.3 to 2.2 GiB here; the bound keeps latch (about 45 MiB
// idle) under 300 MiB, though this process also holds the 400 clients.
func TestConcurrentSignInsBounded(t *testing.T) {
	l := startLatch(t, realArgon2)
	load := concurrentSignIns(t, l, 400)
	grew := (load.peakKiB - load.baseKiB) >> 10
	t.Logf("400 concurrent sign-ins: %v; RSS %d MiB → peak %d MiB (+%d MiB); p50 %.0f ms",
		load.codes, load.baseKiB>>10, load.peakKiB>>10, grew, percentile(load.latencies, 0.5))
	bound := int64(250)
	if raceEnabled {
		bound *= 3 // the race detector's shadow memory (a race build grew by about 450 MiB)
	}
	if grew > bound {
		t.Errorf("RSS grew by %d MiB under 400 concurrent sign-ins, want at most %d MiB", grew, bound)
	}
	for code, n := range load.codes {
		if code != http.StatusUnauthorized && code != http.StatusServiceUnavailable {
			t.Errorf("%d sign-ins answered %d; want 401 (checked) or 503 (busy)", n, code)
		}
	}
	if load.codes[http.StatusUnauthorized] == 0 {
		t.Error("no sign-in was checked at all")
	}
	if !load.retry {
		t.Error("a 503 without Retry-After")
	}
}

// TestHashingBusy: when every hashing worker stays taken past the queue's
// deadline, a sign-in answers 503 with Retry-After and a page saying latch
// is busy; guesses the throttle is slowing down are told so at once,
// without queueing for a worker.
func TestHashingBusy(t *testing.T) {
	l := startLatch(t, realArgon2, func(c *Config) { c.Argon2Memory = 19 << 20 })
	stranger := l.browser()
	for i := range 5 {
		if code, _ := failSignIn(t, stranger, "ghost@example.com"); code != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i+1, code)
		}
	}
	hold, err := l.srv.Accounts().Hasher.Reserve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if code, _ := failSignIn(t, stranger, "ghost@example.com"); code != http.StatusTooManyRequests {
		t.Fatalf("a sixth guess with the worker taken: %d, want 429", code)
	}
	if waited := time.Since(began); waited > time.Second {
		t.Errorf("a throttled guess waited %v for a worker it does not need", waited)
	}

	b := l.browser()
	form := hiddenFields(page(t, b.do("GET", "/login", nil)))
	form.Set("email", l.email)
	form.Set("password", testPassword)
	began = time.Now()
	resp := b.do("POST", "/login", form)
	body := page(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "busy") {
		t.Fatalf("with every worker taken: %d, Retry-After %q:\n%.600s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if waited := time.Since(began); waited < time.Second {
		t.Errorf("answered busy after %v: the queue should wait for a worker first", waited)
	}
	hold.Release()
	if resp := b.do("POST", "/login", form); resp.Request.URL.Path != "/account" {
		t.Fatalf("with the worker free again: %d %s", resp.StatusCode, resp.Request.URL)
	}
}
