package templates

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

const csrf = "csrf-token-value"

func parse(t *testing.T) *Set {
	t.Helper()
	s, err := Parse()
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var logs bytes.Buffer
	s.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	t.Cleanup(func() {
		if t.Failed() && logs.Len() > 0 {
			t.Logf("render log:\n%s", logs.String())
		}
	})
	return s
}

func render(t *testing.T, s *Set, status int, name string, data any) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Render(rec, status, name, data)
	return rec
}

func TestPages(t *testing.T) {
	s := parse(t)
	signedIn := Base{Title: "Account", CSRFToken: csrf, SignedIn: true, Email: "ada@example.com"}
	tests := []struct {
		name    string
		page    string
		data    any
		want    []string
		notWant []string
	}{
		{
			name: "login for an app",
			page: "login",
			data: LoginPage{Base: Base{Title: "Sign in", CSRFToken: csrf}, AppName: "ChatGPT", AuthRequestID: "req-1"},
			want: []string{
				`<title>Sign in · latch</title>`,
				`<form class="form" method="post" action="/login">`,
				`<label for="email">Email</label>`,
				`<label for="password">Password</label>`,
				`id="email" name="email" type="email"`,
				`autocomplete="username webauthn"`,
				`id="password" name="password" type="password" autocomplete="current-password" required`,
				`<input type="hidden" name="auth_request" value="req-1">`,
				`<button type="submit" class="button button-primary button-block">Sign in</button>`,
				`to continue to <strong>ChatGPT</strong>`,
			},
			notWant: []string{`role="alert"`, `Confirm it's you`, `Sign out`},
		},
		{
			name:    "login to latch itself",
			page:    "login",
			data:    LoginPage{Base: Base{CSRFToken: csrf}},
			want:    []string{`<title>latch</title>`, `to your latch account`, `name="auth_request" value=""`},
			notWant: []string{`to continue to`},
		},
		{
			name: "login after a wrong password",
			page: "login",
			data: LoginPage{Base: Base{CSRFToken: csrf}, Email: "ada@example.com", Error: "Wrong email or password."},
			want: []string{
				`<div class="alert" role="alert" id="form-error">`,
				`<p>Wrong email or password.</p>`,
				`value="ada@example.com"`,
				`aria-describedby="form-error"`,
			},
		},
		{
			name:    "login escapes what the person typed",
			page:    "login",
			data:    LoginPage{Base: Base{CSRFToken: csrf}, Email: `"><img src=x onerror=alert(1)>`},
			want:    []string{`value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"`},
			notWant: []string{`<img`},
		},
		{
			name: "login asking for a fresh sign-in",
			page: "login",
			data: LoginPage{Base: Base{CSRFToken: csrf}, AppName: "Platform", Reauth: true},
			want: []string{`Confirm it's you`, `<strong>Platform</strong> asks you to sign in again`},
		},
		{
			// The header must show the signed-in account, not the address typed
			// into the form, even though LoginPage.Email shadows Base.Email.
			name:    "login header shows the signed-in account",
			page:    "login",
			data:    LoginPage{Base: Base{CSRFToken: csrf, SignedIn: true, Email: "me@example.com"}, Email: "typed@example.com", Reauth: true},
			want:    []string{`<span class="topbar-email" title="Signed in as me@example.com">me@example.com</span>`, `value="typed@example.com"`},
			notWant: []string{`Signed in as typed@example.com`},
		},
		{
			name: "logout confirmation",
			page: "logout_confirm",
			data: LogoutConfirmPage{Base: signedIn, AppName: "Codex", Request: "opaque-123"},
			want: []string{
				`<form class="actions" method="post" action="/logout">`,
				`<input type="hidden" name="request" value="opaque-123">`,
				`<button type="submit" class="button button-primary">Sign out</button>`,
				`<a class="button button-secondary" href="/account">Cancel</a>`,
				`<strong>Codex</strong> asked to sign you out.`,
			},
		},
		{
			name:    "logged out",
			page:    "logged_out",
			data:    LoggedOutPage{Base{Title: "Signed out"}},
			want:    []string{`You're signed out`, `href="/login"`},
			notWant: []string{`action="/logout"`},
		},
		{
			name: "error",
			page: "error",
			data: ErrorPage{Base: Base{Title: "Error"}, Status: 400, Heading: "This sign-in link is not valid", Message: "Go back to the app and start again."},
			want: []string{`This sign-in link is not valid`, `Go back to the app and start again.`, `Error 400`, `href="/login"`},
		},
		{
			name: "error with defaults",
			page: "error",
			data: ErrorPage{Base: signedIn},
			want: []string{`Something went wrong`, `Please go back and try again.`, `href="/account"`},
		},
		{
			name: "account",
			page: "account",
			data: AccountPage{
				Base:       signedIn,
				Name:       "Ada Lovelace",
				SignedInAt: time.Date(2026, 11, 27, 9, 33, 0, 0, time.UTC),
				Methods:    []string{"Password", "Authenticator app"},
				Device:     "Chrome on Linux",
			},
			want: []string{
				`<h1>Ada Lovelace</h1>`,
				`<dd>ada@example.com</dd>`,
				`<time datetime="2026-11-27T09:33:00Z">27 November 2026, 09:33 UTC</time>`,
				`<li>Password</li><li>Authenticator app</li>`,
				`<dd>Chrome on Linux</dd>`,
				`<a href="/account" aria-current="page">Account</a>`,
				`<span class="avatar" aria-hidden="true">AL</span>`,
				`<a class="topbar-link" href="/account">Account</a>`,
			},
		},
		{
			name:    "account without optional facts",
			page:    "account",
			data:    AccountPage{Base: signedIn},
			want:    []string{`<h1>Your account</h1>`, `Not set`, `<span class="avatar" aria-hidden="true">A</span>`},
			notWant: []string{`Signed in with`, `<dt>Device</dt>`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := render(t, s, http.StatusOK, tt.page, tt.data)
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, body:\n%s", rec.Code, rec.Body)
			}
			body := rec.Body.String()
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("missing %q in:\n%s", w, body)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("unexpected %q in:\n%s", w, body)
				}
			}
			checkCommon(t, body)
		})
	}
}

var (
	postForm    = regexp.MustCompile(`(?s)<form[^>]*method="post".*?</form>`)
	externalRef = regexp.MustCompile(`(?i)(src|href|action)="(https?:)?//`)
	inlineEvent = regexp.MustCompile(`(?i)<[^>]+\son[a-z]+="`)
)

// checkCommon asserts what every page owes the Content-Security-Policy,
// assistive technology and the CSRF check.
func checkCommon(t *testing.T, body string) {
	t.Helper()
	for _, w := range []string{
		`<html lang="en">`,
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		`<link rel="stylesheet" href="/static/latch.css?v=`,
		`<main id="main"`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("missing %q", w)
		}
	}
	for _, bad := range []string{`style=`, `<style`, `<script`, `javascript:`} {
		if strings.Contains(strings.ToLower(body), bad) {
			t.Errorf("page contains %q, which the CSP forbids", bad)
		}
	}
	if m := inlineEvent.FindString(body); m != "" {
		t.Errorf("inline event handler: %s", m)
	}
	if m := externalRef.FindString(body); m != "" {
		t.Errorf("external reference: %s", m)
	}
	for _, form := range postForm.FindAllString(body, -1) {
		if !strings.Contains(form, `<input type="hidden" name="csrf_token" value="`+csrf+`">`) {
			t.Errorf("POST form without csrf_token:\n%s", form)
		}
	}
}

func TestRenderHeaders(t *testing.T) {
	s := parse(t)
	rec := render(t, s, http.StatusUnauthorized, "login", LoginPage{Error: "Wrong email or password."})
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", rec.Code)
	}
	for k, want := range map[string]string{
		"Content-Type":  "text/html; charset=utf-8",
		"Cache-Control": "no-store",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	// A pointer to the page's data is as good as the value.
	if rec := render(t, s, http.StatusOK, "logged_out", &LoggedOutPage{}); rec.Code != http.StatusOK {
		t.Errorf("pointer data: status %d", rec.Code)
	}

	// A handler's own caching decision is kept.
	rec = httptest.NewRecorder()
	rec.Header().Set("Cache-Control", "private, max-age=60")
	s.Render(rec, http.StatusOK, "logged_out", LoggedOutPage{})
	if got := rec.Header().Get("Cache-Control"); got != "private, max-age=60" {
		t.Errorf("Cache-Control = %q, want the handler's value", got)
	}
}

func TestRenderFailureSendsNoHalfPage(t *testing.T) {
	s := parse(t)
	tests := []struct {
		name string
		page string
		data any
	}{
		{"unknown page", "nope", LoginPage{}},
		{"data of the wrong type", "account", struct{ Base }{}},
		{"no data", "login", nil},
		{"nil pointer", "login", (*LoginPage)(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := render(t, s, http.StatusOK, tt.page, tt.data)
			if rec.Code != http.StatusInternalServerError {
				t.Errorf("status = %d, want 500", rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q, want text/plain", ct)
			}
			if strings.Contains(rec.Body.String(), "<") {
				t.Errorf("body carries markup: %q", rec.Body)
			}
		})
	}
}

func TestStatic(t *testing.T) {
	h := Static()
	get := func(method, path string, hdr http.Header) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	rec := get("GET", "/static/latch.css", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET latch.css: status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/css; charset=utf-8" {
		t.Errorf("Content-Type = %q, want text/css", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("Cache-Control = %q, want a long max-age", cc)
	}
	css := rec.Body.String()
	for _, w := range []string{"prefers-color-scheme: dark", ":focus-visible", "system-ui"} {
		if !strings.Contains(css, w) {
			t.Errorf("latch.css lacks %q", w)
		}
	}
	for _, bad := range []string{"@import", "url(http", "url(//"} {
		if strings.Contains(css, bad) {
			t.Errorf("latch.css loads an external resource: %q", bad)
		}
	}

	etag := rec.Header().Get("ETag")
	if rec := get("GET", "/static/latch.css", http.Header{"If-None-Match": {etag}}); rec.Code != http.StatusNotModified {
		t.Errorf("conditional GET: status %d, want 304", rec.Code)
	}
	if rec := get("GET", "/static/favicon.svg", nil); rec.Header().Get("Content-Type") != "image/svg+xml" {
		t.Errorf("favicon Content-Type = %q", rec.Header().Get("Content-Type"))
	}
	for _, path := range []string{"/static/", "/static/nope.css", "/static/static/latch.css", "/static/../templates.go"} {
		if rec := get("GET", path, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, rec.Code)
		}
	}
	if rec := get("POST", "/static/latch.css", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", rec.Code)
	}
}

// TestPageAssetsResolve follows every /static/ link a page makes through
// Static, so a renamed asset cannot leave a page unstyled.
func TestPageAssetsResolve(t *testing.T) {
	s := parse(t)
	body := render(t, s, http.StatusOK, "logged_out", LoggedOutPage{}).Body.String()
	links := regexp.MustCompile(`href="(/static/[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(links) < 2 {
		t.Fatalf("found %d asset links, want the stylesheet and the icon", len(links))
	}
	h := Static()
	for _, l := range links {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", l[1], nil))
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: status %d", l[1], rec.Code)
		}
	}
}

func TestInitials(t *testing.T) {
	tests := []struct{ name, email, want string }{
		{"Ada Lovelace", "", "AL"},
		{"ada", "", "A"},
		{"Jean-Luc Picard", "", "JP"},
		{"  ", "zoë@example.com", "Z"},
		{"Émile Zola", "", "ÉZ"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := initials(tt.name, tt.email); got != tt.want {
			t.Errorf("initials(%q, %q) = %q, want %q", tt.name, tt.email, got, tt.want)
		}
	}
}
