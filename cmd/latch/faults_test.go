package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/latch-idp/latch/internal/notify"
	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/internal/testclock"
	"github.com/latch-idp/latch/sessions"
)

// These tests break PostgreSQL under a running latch and check that latch
// fails closed and comes back: while the database is away every answer is
// the right one or a 503 "try again" (never "invalid", "inactive" or
// "signed out", never a 500 or an internal message), and afterwards every
// credential that was good before still is, and what was queued (logouts,
// alerts) is delivered. They run on clusters of their own, never on the
// shared test cluster.

// leaks are fragments of internal errors that must never reach a body.
// The database driver's names are matched as they appear in its errors and
// types (leakRe), not as three letters a random token may hold.
var leaks = []string{"dial ", "SQLSTATE", "failed to connect", "conn closed", "unexpected EOF",
	"json: unsupported", "context deadline", "connection refused", "broken pipe", "no such file", "ErrorType=", "Parent="}

// leakRe finds the driver's packages named in an error ("pgconn:",
// "pgx.ErrNoRows", "*pgconn.PgError", "pgxpool"): a name, then what follows
// a name in an error, which no base64url token holds.
var leakRe = regexp.MustCompile(`\bpg(x|conn)[.:]|\bpgxpool\b`)

// faultProbe collects what the load saw: counts of answers, and every
// answer that broke the rules.
type faultProbe struct {
	mu     sync.Mutex
	counts map[string]map[int]int
	bad    []string
}

func (p *faultProbe) saw(kind string, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counts[kind] == nil {
		p.counts[kind] = map[int]int{}
	}
	p.counts[kind][status]++
}

func (p *faultProbe) wrong(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.bad) < 50 {
		p.bad = append(p.bad, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
	}
}

// check applies the rules every answer must follow and reports whether
// the answer was a proper 503 (the caller checks the other answers).
func (p *faultProbe) check(kind string, resp *http.Response, body string, page bool) (unavailable bool) {
	p.saw(kind, resp.StatusCode)
	for _, l := range leaks {
		if strings.Contains(body, l) {
			p.wrong("%s: %d with an internal message (%q): %.300s", kind, resp.StatusCode, l, body)
		}
	}
	if m := leakRe.FindString(body); m != "" {
		p.wrong("%s: %d with an internal message (%q): %.300s", kind, resp.StatusCode, m, body)
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		return false
	}
	if resp.Header.Get("Retry-After") == "" {
		p.wrong("%s: 503 without Retry-After", kind)
	}
	if page && !strings.Contains(body, "latch can't reach its database right now") {
		p.wrong("%s: 503 without the unavailable page: %.300s", kind, body)
	}
	if !page && !strings.Contains(body, "temporarily_unavailable") {
		p.wrong("%s: 503 without temporarily_unavailable: %.300s", kind, body)
	}
	return true
}

func readBody(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(b)
}

// faultClient does not follow redirects: every answer is looked at.
func faultClient(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, Timeout: 40 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// bcReceiver is an app's back-channel logout endpoint that can hold a
// delivery open, so that a fault hits the sender between sending and
// recording.
type bcReceiver struct {
	mu      sync.Mutex
	got     map[string]int
	holdSid string
	hold    chan struct{}
	srv     *httptest.Server
}

func newBCReceiver(t *testing.T) *bcReceiver {
	r := &bcReceiver{got: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		sid := unverifiedClaim(req.PostFormValue("logout_token"), "sid")
		r.mu.Lock()
		r.got[sid]++
		hold := r.hold
		if sid != r.holdSid {
			hold = nil
		}
		r.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-time.After(4 * time.Second): // inside the sender's 5-second timeout
			}
		}
	}))
	t.Cleanup(r.srv.Close)
	t.Cleanup(r.release)
	return r
}

func (r *bcReceiver) holdFor(sid string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.holdSid, r.hold = sid, make(chan struct{})
}

func (r *bcReceiver) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hold != nil {
		close(r.hold)
		r.hold, r.holdSid = nil, ""
	}
}

func (r *bcReceiver) count(sid string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[sid]
}

func unverifiedClaim(jwt, name string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims map[string]any
	_ = json.Unmarshal(b, &claims)
	s, _ := claims[name].(string)
	return s
}

// within fails unless cond holds within d.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// faultLoad is the light load: userinfo (JWT and opaque tokens),
// introspection, refresh, page loads with a cookie, and fresh sign-ins,
// each of which queues a new-device alert.
type faultLoad struct {
	l      *testLatch
	p      *faultProbe
	sub    string
	jwt    string // app-a's access token
	opaque string // app-b's access token
	cookie string

	mu      sync.Mutex
	refresh string // app-a's current refresh token
	signIns int

	stop chan struct{}
	wg   sync.WaitGroup
}

func (f *faultLoad) run(name string, every time.Duration, probe func(c *http.Client)) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		c := faultClient(nil)
		for {
			probe(c)
			select {
			case <-f.stop:
				return
			case <-time.After(every):
			}
		}
	}()
}

func (f *faultLoad) userinfo(c *http.Client, kind, token string) {
	req, _ := http.NewRequest("GET", f.l.url+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		f.p.wrong("%s: %v", kind, err)
		return
	}
	body := readBody(resp)
	if f.p.check(kind, resp, body, false) {
		return
	}
	var info struct {
		Sub string `json:"sub"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &info) != nil || info.Sub != f.sub {
		f.p.wrong("%s: a live token answered %d: %.300s", kind, resp.StatusCode, body)
	}
}

func (f *faultLoad) introspect(c *http.Client) {
	req, _ := http.NewRequest("POST", f.l.url+"/oauth/introspect", strings.NewReader(url.Values{"token": {f.opaque}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app-b", "beta-secret-0123456789")
	resp, err := c.Do(req)
	if err != nil {
		f.p.wrong("introspect: %v", err)
		return
	}
	body := readBody(resp)
	if f.p.check("introspect", resp, body, false) {
		return
	}
	var out struct {
		Active bool `json:"active"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil || !out.Active {
		f.p.wrong("introspect: a live token answered %d: %.300s", resp.StatusCode, body)
	}
}

// refreshOnce rotates app-a's refresh token, reporting whether it did.
func (f *faultLoad) refreshOnce(c *http.Client) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {f.refresh}}
	req, _ := http.NewRequest("POST", f.l.url+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app-a", "alpha-secret-0123456789")
	resp, err := c.Do(req)
	if err != nil {
		f.p.wrong("refresh: %v", err)
		return false
	}
	body := readBody(resp)
	if f.p.check("refresh", resp, body, false) {
		return false
	}
	var out struct {
		RefreshToken string `json:"refresh_token"`
		AccessToken  string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil || out.RefreshToken == "" || out.AccessToken == "" {
		f.p.wrong("refresh: a live refresh token answered %d: %.300s", resp.StatusCode, body)
		return false
	}
	f.refresh = out.RefreshToken
	return true
}

// pages loads pages with the signed-in cookie: each is the signed-in page
// or the unavailable page, never the way to the sign-in form.
func (f *faultLoad) pages(c *http.Client) {
	for _, path := range []string{"/account", "/account/sessions", "/login"} {
		req, _ := http.NewRequest("GET", f.l.url+path, nil)
		req.AddCookie(&http.Cookie{Name: "latch", Value: f.cookie})
		resp, err := c.Do(req)
		if err != nil {
			f.p.wrong("GET %s: %v", path, err)
			continue
		}
		body := readBody(resp)
		if f.p.check("page "+path, resp, body, true) {
			continue
		}
		switch {
		case path == "/login" && resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/account":
		case path != "/login" && resp.StatusCode == http.StatusOK && !strings.Contains(body, `name="password"`) &&
			strings.Contains(body, "Sign out"):
		default:
			f.p.wrong("GET %s with a live cookie: %d to %q: %.300s", path, resp.StatusCode, resp.Header.Get("Location"), body)
		}
	}
}

// signIn signs in from a new browser, which queues a new-device alert.
func (f *faultLoad) signIn(_ *http.Client) {
	jar, _ := cookiejar.New(nil)
	c := faultClient(jar)
	resp, err := c.Get(f.l.url + "/login")
	if err != nil {
		f.p.wrong("GET /login: %v", err)
		return
	}
	body := readBody(resp)
	if f.p.check("sign-in page", resp, body, true) {
		return
	}
	if resp.StatusCode != http.StatusOK {
		f.p.wrong("GET /login without a cookie: %d", resp.StatusCode)
		return
	}
	form := hiddenFields(body)
	form.Set("email", f.l.email)
	form.Set("password", testPassword)
	req, _ := http.NewRequest("POST", f.l.url+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", f.l.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
	resp, err = c.Do(req)
	if err != nil {
		f.p.wrong("POST /login: %v", err)
		return
	}
	body = readBody(resp)
	if f.p.check("sign-in", resp, body, true) {
		return
	}
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		f.p.wrong("POST /login with the right password: %d to %q: %.300s", resp.StatusCode, resp.Header.Get("Location"), body)
		return
	}
	f.mu.Lock()
	f.signIns++
	f.mu.Unlock()
}

func (f *faultLoad) start() {
	f.stop = make(chan struct{})
	f.run("userinfo jwt", 50*time.Millisecond, func(c *http.Client) { f.userinfo(c, "userinfo jwt", f.jwt) })
	f.run("userinfo opaque", 50*time.Millisecond, func(c *http.Client) { f.userinfo(c, "userinfo opaque", f.opaque) })
	f.run("introspect", 50*time.Millisecond, f.introspect)
	f.run("refresh", 300*time.Millisecond, func(c *http.Client) { f.refreshOnce(c) })
	f.run("pages", 100*time.Millisecond, f.pages)
	f.run("sign-in", 500*time.Millisecond, f.signIn)
}

func (f *faultLoad) halt() {
	close(f.stop)
	f.wg.Wait()
}

// healthy reports whether latch answers every credential as good again.
func (f *faultLoad) healthy(t *testing.T) bool {
	c := faultClient(nil)
	if userinfoAt(t, f.l.url, f.jwt) != http.StatusOK || userinfoAt(t, f.l.url, f.opaque) != http.StatusOK {
		return false
	}
	if !signedInAt(t, f.l.url, "/account", f.cookie) {
		return false
	}
	return f.refreshOnce(c)
}

// TestPostgresFaults: latch on its own PostgreSQL under a light load while
// PostgreSQL is (a) SIGSTOPped for 10 seconds, (b) SIGKILLed, which latch
// must notice and restart it, and (c) stopped cleanly, which latch must
// also restart.
func TestPostgresFaults(t *testing.T) {
	began := time.Now()
	dir, err := os.MkdirTemp("", "latch-faults-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o711) // the postgres system user must pass through
	rcv := newBCReceiver(t)
	clients := testClients + `  - id: app-bc
    app: Gamma
    secret: gamma-secret-0123456789
    redirect_uris: [http://localhost:47005/callback]
    backchannel_logout_uri: ` + rcv.srv.URL + `/bc
    first_party: true
`
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{
		Addr: ln.Addr().String(), DataDir: filepath.Join(dir, "data"),
		ClientsFile: writeFile(t, "clients.yaml", clients),
		LogFormat:   "text", LogLevel: "debug",
		Config: testServerConfig("http://localhost:" + port(ln)),
	}
	if err := cfg.validate(true); err != nil {
		t.Fatal(err)
	}
	l := runLatch(t, cfg, ln, testclock.New(time.Now()))
	if l.db.postgres == nil {
		t.Fatal("latch does not supervise its own PostgreSQL")
	}
	acct, err := l.srv.Accounts().Create(t.Context(), l.email, "Ada Lovelace", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	br := l.browser()
	jwt := br.signInFlow(l.appA())
	opaque := br.signInFlow(l.appB())
	f := &faultLoad{l: l, p: &faultProbe{counts: map[string]map[int]int{}}, sub: acct.ID,
		jwt: jwt.AccessToken, opaque: opaque.AccessToken, cookie: br.session(), refresh: jwt.RefreshToken}
	bc := l.rp("app-bc", "gamma-secret-0123456789", "http://localhost:47005/callback")
	t.Logf("set up in %s", time.Since(began))

	f.start()
	stopped := false
	defer func() {
		if !stopped {
			f.halt()
		}
	}()
	var ended []string // device sessions ended with a back-channel logout held across a fault

	phase := func(name string, fault func(pid int)) {
		t.Helper()
		start := time.Now()
		// A device session signed in to an app with a back-channel logout
		// URI ends just before the fault; its logout is in flight (sent,
		// not yet recorded) when the fault hits.
		b := l.browser()
		sid := b.signInFlow(bc).claims.Sid
		rcv.holdFor(sid)
		b.post("/logout", "/logout", nil).Body.Close()
		within(t, 10*time.Second, "the back-channel logout was not sent", func() bool { return rcv.count(sid) > 0 })
		ended = append(ended, sid)

		pid := l.db.postgres.PID()
		fault(pid)
		rcv.release()
		within(t, 45*time.Second, name+": latch did not come back", func() bool {
			resp, err := http.Get(l.url + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK && l.srv.Cache().Listening() && f.healthy(t)
		})
		within(t, 20*time.Second, name+": the held back-channel logout was not delivered", func() bool {
			list, _ := l.srv.Sessions().Logouts(t.Context(), acct.ID) // an error is a no, and asked again
			for _, j := range list {
				if j.DeviceSessionID == sid {
					return j.Status == "delivered"
				}
			}
			return false
		})
		t.Logf("%s: back to normal %s after the fault began", name, time.Since(start))
	}

	phase("SIGSTOP for 10 s", func(pid int) {
		// The whole process group: the postmaster and every backend.
		if err := syscall.Kill(-pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		defer syscall.Kill(-pid, syscall.SIGCONT)
		time.Sleep(300 * time.Millisecond)
		rcv.release()
		time.Sleep(10 * time.Second)
	})
	phase("SIGKILL", func(pid int) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		within(t, 30*time.Second, "latch did not restart its PostgreSQL after SIGKILL", func() bool {
			p := l.db.postgres.PID()
			return p != 0 && p != pid
		})
	})
	phase("clean restart", func(pid int) {
		// A fast shutdown, as pg_ctl stop -m fast does it.
		if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		within(t, 30*time.Second, "latch did not restart its PostgreSQL after a clean stop", func() bool {
			p := l.db.postgres.PID()
			return p != 0 && p != pid
		})
	})

	f.halt()
	stopped = true
	// Everything queued meanwhile is delivered: every logout, every alert.
	// Ada's are all there are: every sign-in of the load is hers.
	within(t, 20*time.Second, "logouts or alerts still pending", func() bool {
		jobs, err := l.srv.Sessions().Logouts(t.Context(), acct.ID)
		if err != nil {
			return false // asked again
		}
		messages, err := l.srv.Notifier().Messages(t.Context(), acct.ID)
		if err != nil {
			return false
		}
		logouts := len(slices.DeleteFunc(jobs, func(j sessions.Logout) bool { return j.Status == "delivered" }))
		alerts := len(slices.DeleteFunc(messages, func(m notify.Queued) bool { return m.Status == "sent" }))
		return logouts == 0 && alerts == 0
	})
	sent := l.countAlerts(acct.ID, func(m notify.Queued) bool { return m.Status == "sent" })
	if sent < f.signIns {
		t.Errorf("%d sign-ins from new devices, %d alerts sent", f.signIns, sent)
	}
	for _, sid := range ended {
		if rcv.count(sid) == 0 {
			t.Errorf("the app never heard of the end of %s", sid)
		}
	}
	select {
	case err := <-l.db.Failed():
		t.Errorf("supervision gave up: %v", err)
	default:
	}
	if !strings.Contains(l.logs.String(), "PostgreSQL stopped unexpectedly; restarting it") {
		t.Error("the crash is not in the log")
	}
	var unavailable int
	kinds := make([]string, 0, len(f.p.counts))
	for k := range f.p.counts {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		t.Logf("%-18s %v", k, f.p.counts[k])
		unavailable += f.p.counts[k][http.StatusServiceUnavailable]
	}
	if unavailable == 0 {
		t.Error("no request met the outage, so this test proved nothing")
	}
	for _, b := range f.p.bad {
		t.Error(b)
	}
	t.Logf("%d sign-ins, %d alerts sent, in %s", f.signIns, sent, time.Since(began))
}

// TestExternalPostgresOutage: with --database-url latch does not manage the
// server; while it is down latch keeps running and answers 503, and when it
// is back everything works again with the same credentials.
func TestExternalPostgresOutage(t *testing.T) {
	dir, err := os.MkdirTemp("", "latch-external-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o711)
	ccfg := pg.ClusterConfig{Dir: filepath.Join(dir, "pg")}
	c, err := pg.Start(t.Context(), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(t.Context()) })
	l := startLatch(t, func(cfg *Config) { cfg.DatabaseURL = c.DSN() })
	if l.db.postgres != nil {
		t.Fatal("latch supervises a server it was given")
	}
	b := l.browser()
	tok := b.signInFlow(l.appB())
	secret := b.session()
	logoutForm := hiddenFields(page(t, b.do("GET", "/logout", nil)))
	p := &faultProbe{counts: map[string]map[int]int{}}
	authorize := strings.TrimPrefix(l.appA().newFlow().url, l.url)

	if err := c.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "the session listener did not notice the server going", func() bool { return !l.srv.Cache().Listening() })
	client := faultClient(nil)
	do := func(kind string, req *http.Request, page bool) *http.Response {
		t.Helper()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(resp)
		if !p.check(kind, resp, body, page) {
			t.Errorf("%s: %d, want 503: %.300s", kind, resp.StatusCode, body)
		}
		return resp
	}
	withCookie := func(req *http.Request) *http.Request {
		req.AddCookie(&http.Cookie{Name: "latch", Value: secret})
		return req
	}
	get := func(path string) *http.Request { r, _ := http.NewRequest("GET", l.url+path, nil); return r }
	bearer := func(req *http.Request) *http.Request {
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		return req
	}
	do("userinfo", bearer(get("/userinfo")), false)
	do("account", withCookie(get("/account")), true)
	do("sessions", withCookie(get("/account/sessions")), true)
	do("activity", withCookie(get("/account/activity")), true)
	do("security", withCookie(get("/account/security")), true)
	do("login", withCookie(get("/login")), true)
	do("sessions api", withCookie(get("/api/account/sessions")), false)
	do("sessions api bearer", bearer(get("/api/account/sessions")), false)
	// A new authorization request cannot be stored: the page, not a
	// redirect that tells the app the sign-in failed.
	do("authorize", get(authorize), true)
	do("authorize signed in", withCookie(get(authorize)), true)
	logout, _ := http.NewRequest("POST", l.url+"/logout", strings.NewReader(logoutForm.Encode()))
	logout.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	logout.Header.Set("Origin", l.url)
	logout.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, ck := range b.client.Jar.Cookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(l.url, "http://")}) {
		logout.AddCookie(ck)
	}
	for _, ck := range do("logout", logout, true).Cookies() {
		if ck.Name == "latch" {
			t.Error("a sign-out that did not happen cleared the cookie")
		}
	}
	if resp, err := http.Get(l.url + "/readyz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz while the database is down: %v %v", resp, err)
	}
	for _, msg := range p.bad {
		t.Error(msg)
	}

	c, err = pg.Start(t.Context(), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	within(t, 20*time.Second, "latch did not come back with the server", func() bool {
		return userinfoAt(t, l.url, tok.AccessToken) == http.StatusOK && signedInAt(t, l.url, "/account", secret)
	})
	if !introspectAt(t, l.url, tok.AccessToken) {
		t.Error("the token is inactive after the outage")
	}
	if _, err := l.appB().refresh(tok.RefreshToken); err != nil {
		t.Errorf("the refresh token does not work after the outage: %v", err)
	}
}

// TestServeExitsWhenPostgresKeepsDying: once latch's own PostgreSQL has
// died more often than the restart policy allows, serve stops and exits
// non-zero with one line saying why.
func TestServeExitsWhenPostgresKeepsDying(t *testing.T) {
	old := restartPolicy
	restartPolicy = pg.RestartPolicy{MaxStarts: 1, Window: time.Minute, FirstBackoff: 50 * time.Millisecond, MaxBackoff: time.Second}
	t.Cleanup(func() { restartPolicy = old })
	dir, err := os.MkdirTemp("", "latch-dying-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o711)
	dataDir := filepath.Join(dir, "data")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan int, 1)
	var serveErr syncBuffer
	go func() {
		served <- run(ctx, []string{"serve", "--data-dir", dataDir, "--addr", addr, "--issuer", "http://localhost:" + port(ln),
			"--clients", writeFile(t, "clients.yaml", testClients)}, func(string) string { return "" }, strings.NewReader(""), io.Discard, &serveErr)
	}()
	ready := func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	postmaster := func() int {
		b, err := os.ReadFile(filepath.Join(dataDir, "postgres", "data", "postmaster.pid"))
		if err != nil {
			return 0
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
		return pid
	}
	within(t, 60*time.Second, "serve never became ready", ready)
	first := postmaster()
	if first == 0 {
		t.Fatal("no postmaster.pid")
	}
	syscall.Kill(first, syscall.SIGKILL)
	within(t, 30*time.Second, "serve did not restart its PostgreSQL", func() bool { p := postmaster(); return p != first && p != 0 && ready() })
	syscall.Kill(postmaster(), syscall.SIGKILL)
	select {
	case code := <-served:
		out := strings.TrimSpace(serveErr.String())
		last := out[strings.LastIndexByte(out, '\n')+1:]
		if code != 1 || !strings.HasPrefix(last, "latch serve: PostgreSQL could not be kept running") {
			t.Fatalf("serve exited %d with %q", code, last)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve kept running without its PostgreSQL")
	}
}
