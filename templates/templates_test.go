package templates

import (
	"bytes"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
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
	securityBase := Base{Title: "Security", CSRFToken: csrf, SignedIn: true, Email: "ada@example.com"}
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, time.UTC) }
	ptr := func(t time.Time) *time.Time { return &t }
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
				`<meta name="csrf-token" content="` + csrf + `">`,
				`<script src="/static/passkeys.js?v=`,
				`data-passkey-login hidden>`,
				`Sign in with a passkey</button>`,
				`<div class="alert" role="alert" data-passkey-error hidden>`,
				`<a href="/login/recover?auth_request=req-1">Lost your passkey? Use a recovery key</a>`,
			},
			notWant: []string{`role="alert" id="form-error"`, `role="status"`, `Confirm it's you`, `Sign out`, `data-passkey-unsupported`},
		},
		{
			name: "login with a notice",
			page: "login",
			data: LoginPage{Base: Base{CSRFToken: csrf}, Notice: "Your passkey was removed on another device."},
			want: []string{`<div class="notice" role="status">`, `<p>Your passkey was removed on another device.</p>`},
		},
		{
			name: "login with passkeys only",
			page: "login",
			data: LoginPage{Base: Base{CSRFToken: csrf}, AppName: "Platform", AuthRequestID: "req-2", PasskeyOnly: true},
			want: []string{
				`phishing-resistant`,
				`<input type="hidden" name="auth_request" value="req-2">`,
				`<button type="button" class="button button-primary button-block" data-passkey-login hidden>`,
				`data-passkey-unsupported`,
				`href="/login/recover?auth_request=req-2"`,
			},
			notWant: []string{`type="password"`, `name="password"`, `action="/login"`, `current-password`},
		},
		{
			name:    "login to latch itself",
			page:    "login",
			data:    LoginPage{Base: Base{CSRFToken: csrf}},
			want:    []string{`<title>latch</title>`, `to your latch account`, `name="auth_request" value=""`, `<a href="/login/recover">`},
			notWant: []string{`to continue to`, `?auth_request=`},
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
			name: "second factor: code",
			page: "second_factor",
			data: SecondFactorPage{Base: Base{Title: "Two-step verification", CSRFToken: csrf}, AppName: "Codex", Email: "ada@example.com"},
			want: []string{
				`<form class="form" method="post" action="/login/verify">`,
				`<label for="code">6-digit code</label>`,
				`name="code" type="text"`,
				`inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" maxlength="7" required`,
				`<span>ada@example.com</span>`,
				`<strong>Codex</strong>`,
				`<a href="/login/verify?recovery=1">Use a recovery key instead</a>`,
			},
			notWant: []string{`name="recovery_key"`, `role="alert"`, `passkeys.js`},
		},
		{
			name: "second factor: recovery key after an error",
			page: "second_factor",
			data: SecondFactorPage{Base: Base{CSRFToken: csrf}, Email: "ada@example.com", UseRecovery: true, Error: "That recovery key doesn't work."},
			want: []string{
				`<label for="recovery_key">Recovery key</label>`,
				`name="recovery_key" type="text" class="input-code" autocomplete="off" spellcheck="false"`,
				`<div class="alert" role="alert" id="form-error">`,
				`aria-describedby="form-error"`,
				`<a href="/login/verify">Use your authenticator app</a>`,
			},
			notWant: []string{`name="code"`, `one-time-code`},
		},
		{
			name: "recover",
			page: "recover",
			data: RecoverPage{Base: Base{Title: "Use a recovery key", CSRFToken: csrf}, AuthRequestID: "req-3", Email: "ada@example.com", Error: "That email and recovery key don't match."},
			want: []string{
				`<form class="form" method="post" action="/login/recover">`,
				`<input type="hidden" name="auth_request" value="req-3">`,
				`<label for="email">Email</label>`,
				`value="ada@example.com" autocomplete="username" required`,
				`<label for="recovery_key">Recovery key</label>`,
				`autocomplete="off" spellcheck="false"`,
				`passkeys only`,
				`15 minutes`,
				`works once`,
				`role="alert"`,
				`<a href="/login?authRequestID=req-3">Back to sign in</a>`,
			},
			notWant: []string{`webauthn`, `type="password"`},
		},
		{
			name: "reauth with every method",
			page: "reauth",
			data: ReauthPage{
				Base:        signedIn,
				Description: "Confirm it's you to remove the passkey “MacBook”.",
				Change:      "passkey-remove:abc",
				Next:        "/account/security",
				HasPassword: true, HasTOTP: true, HasPasskey: true,
			},
			want: []string{
				`<script src="/static/passkeys.js?v=`,
				`remove the passkey “MacBook”.`,
				`<button type="button" class="button button-primary button-block" data-passkey-reauth hidden>`,
				`Use your passkey</button>`,
				`<div class="alert" role="alert" data-passkey-error hidden>`,
				`<form class="form" method="post" action="/account/reauth">`,
				`<input type="hidden" name="change" value="passkey-remove:abc">`,
				`<input type="hidden" name="next" value="/account/security">`,
				`<label for="password">Password</label>`,
				`name="password" type="password" autocomplete="current-password" required`,
				`<label for="code">6-digit code</label>`,
				`autocomplete="one-time-code"`,
				`autocomplete="username"`,
				`<a href="/account/security">Cancel</a>`,
			},
			notWant: []string{`data-passkey-unsupported`},
		},
		{
			name:    "reauth with a password alone",
			page:    "reauth",
			data:    ReauthPage{Base: signedIn, HasPassword: true, Error: "Wrong password."},
			want:    []string{`autocomplete="current-password"`, `role="alert" id="form-error"`, `button-primary button-block">Confirm</button>`},
			notWant: []string{`data-passkey-reauth`, `name="code"`, `data-passkey-reveal`},
		},
		{
			name:    "reauth with passkeys only",
			page:    "reauth",
			data:    ReauthPage{Base: signedIn, HasPassword: true, HasTOTP: true, HasPasskey: true, PasskeyOnly: true, Change: "c", Next: "/account/security"},
			want:    []string{`data-passkey-reauth hidden`, `data-passkey-unsupported`, `<input type="hidden" name="change" value="c">`},
			notWant: []string{`type="password"`, `action="/account/reauth"`, `one-time-code`},
		},
		{
			name: "security with everything on",
			page: "security",
			data: SecurityPage{
				Base:  securityBase,
				Name:  "Ada Lovelace",
				Flash: "Passkey added.",
				Passkeys: []PasskeyView{
					{ID: "cred-1", Name: "MacBook", CreatedAt: day(2026, 3, 14), LastUsedAt: ptr(day(2026, 11, 26)), Synced: true, Authenticator: "iCloud Keychain"},
					{ID: "cred-2", Name: "YubiKey", CreatedAt: day(2025, 9, 2)},
				},
				TOTPEnabled:       true,
				Recovery:          RecoveryView{HasSet: true, Total: 10, Remaining: 8, CreatedAt: day(2026, 6, 3)},
				HasPassword:       true,
				CanRemovePassword: true,
			},
			want: []string{
				`<title>Security · latch</title>`,
				`<script src="/static/passkeys.js?v=`,
				`<a href="/account/security" aria-current="page">Security</a>`,
				`<div class="notice notice-ok" role="status">`,
				`<p>Passkey added.</p>`,
				// Passkeys, with their facts and forms.
				`<span>MacBook</span><span class="tag tag-synced">Synced</span>`,
				`<span>YubiKey</span><span class="tag">This device only</span>`,
				`<p class="item-meta">iCloud Keychain</p>`,
				`Added <time datetime="2026-03-14T10:00:00Z">14 Mar 2026</time>`,
				`Last used <time datetime="2026-11-26T10:00:00Z">26 Nov 2026</time>`,
				`<span>Never used</span>`,
				`method="post" action="/account/security/passkeys/cred-1/rename"`,
				`<label for="rename-cred-1">New name</label>`,
				`<input id="rename-cred-1" name="name" type="text" value="MacBook"`,
				`method="post" action="/account/security/passkeys/cred-2/remove"`,
				`<label for="passkey-name">Name</label>`,
				`<input id="passkey-name" name="passkey-name" type="text" placeholder="MacBook, iPhone…"`,
				`<button type="button" class="button button-primary" data-passkey-add hidden>`,
				`<div class="alert" role="alert" data-passkey-error hidden>`,
				`data-passkey-unsupported`,
				// Authenticator app on.
				`<span class="state state-on">On</span>`,
				`action="/account/security/totp/remove"`,
				// Recovery keys.
				`<strong>8 of 10 unused</strong>, created <time datetime="2026-06-03T10:00:00Z">3 Jun 2026</time>`,
				`Generate new keys</button>`,
				`stop working`,
				// Password: change and remove.
				`action="/account/security/password"`,
				`<label for="new_password">New password</label>`,
				`name="new_password" type="password" autocomplete="new-password" minlength="8" required`,
				`<label for="confirm_password">Confirm new password</label>`,
				`name="confirm_password" type="password" autocomplete="new-password" minlength="8" required`,
				`Change password</button>`,
				`Sign in with passkeys only`,
				`action="/account/security/password/remove"`,
			},
			notWant: []string{
				`role="alert" id`, `recovery key</h2>`, `action="/account/security/totp/begin"`,
				`Save your recovery keys`, `<img`, `Running low`, `Set password</button>`,
			},
		},
		{
			name: "security for a new account",
			page: "security",
			data: SecurityPage{Base: securityBase, HasPassword: true, Error: "That passkey could not be removed."},
			want: []string{
				`<h1>Your account</h1>`,
				`<div class="alert" role="alert">`,
				`No passkeys yet.`,
				`<span class="state">None yet</span>`,
				`action="/account/security/totp/begin"`,
				`Set up</button>`,
				`<span class="state">Not set up</span>`,
				`Generate recovery keys</button>`,
				`Add a passkey to be able to remove your password`,
			},
			notWant: []string{`class="items"`, `/password/remove`, `/totp/remove`, `role="status"`},
		},
		{
			name: "security without a password",
			page: "security",
			data: SecurityPage{Base: securityBase, Passkeys: []PasskeyView{{ID: "c", CreatedAt: day(2026, 1, 1)}}},
			want: []string{
				`<span>Unnamed passkey</span>`,
				`You sign in with passkeys only.`,
				`<span class="state">Not set</span>`,
				`Set password</button>`,
				`autocomplete="new-password"`,
			},
			notWant: []string{`Change password`, `/password/remove`},
		},
		{
			name: "security setting up the authenticator app",
			page: "security",
			data: SecurityPage{
				Base:        securityBase,
				HasPassword: true,
				TOTPSetup: &TOTPSetupView{
					QRDataURL: "data:image/png;base64,iVBORw0KGgo=",
					Secret:    "JBSWY3DPEHPK3PXP",
					Error:     "That code didn't match.",
				},
			},
			want: []string{
				`<img src="data:image/png;base64,iVBORw0KGgo=" alt="QR code for your authenticator app"`,
				`<p class="secret" id="totp-secret"><span>JBSW</span><span>Y3DP</span><span>EHPK</span><span>3PXP</span></p>`,
				`data-copy="totp-secret" hidden`,
				`method="post" action="/account/security/totp/confirm"`,
				`<label for="totp-code">6-digit code</label>`,
				`name="code" type="text" class="input-code" inputmode="numeric" autocomplete="one-time-code"`,
				`<div class="alert" role="alert" id="totp-error">`,
				`<p>That code didn&#39;t match.</p>`,
				`<a class="button button-secondary" href="/account/security">Cancel</a>`,
			},
			notWant: []string{`/totp/begin`, `/totp/remove`},
		},
		{
			name: "security right after generating recovery keys",
			page: "security",
			data: SecurityPage{
				Base:             securityBase,
				NewRecoveryKeys:  []string{"AAAA-BBBB-CCCC", "DDDD-EEEE-FFFF"},
				RecoveryDownload: "data:text/plain;base64,QUFBQS1CQkJCLUNDQ0MKREREREQtRUVFRS1GRkZGCg==",
				Recovery:         RecoveryView{HasSet: true, Total: 10, Remaining: 2, CreatedAt: day(2026, 11, 27)},
			},
			want: []string{
				`Save your recovery keys — shown once`,
				`<ol class="keys" id="recovery-keys">`,
				`<li><code>AAAA-BBBB-CCCC</code></li>`,
				`<li><code>DDDD-EEEE-FFFF</code></li>`,
				`<button type="button" class="button button-secondary" data-copy="recovery-keys" hidden>Copy</button>`,
				`<a class="button button-secondary" href="data:text/plain;base64,QUFBQS1CQkJCLUNDQ0MKREREREQtRUVFRS1GRkZGCg==" download="latch-recovery-keys.txt">Download as text</a>`,
				`Running low`,
			},
		},
		{
			name: "security in a recovery session",
			page: "security",
			data: SecurityPage{Base: securityBase, Restricted: true, Recovery: RecoveryView{HasSet: true, Total: 10, Remaining: 0}},
			want: []string{
				`You signed in with a recovery key`,
				`Add a passkey or set a password now; until then this is the only page you can use, for up to 15 minutes.`,
				`All used.`,
			},
			notWant: []string{`aria-label="Account sections"`},
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
		{
			name: "account nav leads to security",
			page: "account",
			data: AccountPage{Base: signedIn},
			want: []string{
				`<a href="/account" aria-current="page">Account</a>`,
				`<a href="/account/security">Security</a>`,
			},
			notWant: []string{`passkeys.js`, `/account/sessions`},
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
	scriptTag   = regexp.MustCompile(`(?is)<script\b.*?</script>`)
	allowedJS   = regexp.MustCompile(`^<script src="/static/passkeys\.js\?v=[0-9a-f]+" defer></script>$`)
	scriptOnly  = regexp.MustCompile(`<[a-z]+\b[^>]*\sdata-(?:passkey-(?:login|add|reauth|reveal|error)|copy)\b[^>]*>`)
	inputTag    = regexp.MustCompile(`<input\b[^>]*>`)
	idAttr      = regexp.MustCompile(`\sid="([^"]+)"`)
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
	for _, bad := range []string{`style=`, `<style`, `javascript:`} {
		if strings.Contains(strings.ToLower(body), bad) {
			t.Errorf("page contains %q, which the CSP forbids", bad)
		}
	}
	// Script comes only from our own static files, never inline.
	scripts := scriptTag.FindAllString(body, -1)
	for _, tag := range scripts {
		if !allowedJS.MatchString(tag) {
			t.Errorf("script other than an external passkeys.js: %s", tag)
		}
	}
	if n := strings.Count(strings.ToLower(body), "<script"); n != len(scripts) {
		t.Errorf("found %d <script tags, %d of them well formed", n, len(scripts))
	}
	// What only the script can drive stays hidden until it reveals it, so
	// a page without JavaScript or passkeys shows no dead buttons.
	for _, tag := range scriptOnly.FindAllString(body, -1) {
		if !regexp.MustCompile(`\shidden[\s>]`).MatchString(tag) {
			t.Errorf("script-driven element is not hidden by default: %s", tag)
		}
	}
	if len(scripts) > 0 && !strings.Contains(body, `<meta name="csrf-token" content="`) {
		t.Errorf("page loads a script but carries no csrf-token meta")
	}
	// Every control a person types into has a visible label.
	for _, in := range inputTag.FindAllString(body, -1) {
		if strings.Contains(in, `type="hidden"`) || strings.Contains(in, ` hidden`) {
			continue
		}
		m := idAttr.FindStringSubmatch(in)
		if m == nil {
			t.Errorf("input without an id for its label: %s", in)
			continue
		}
		if !strings.Contains(body, `<label for="`+m[1]+`">`) {
			t.Errorf("input %q has no <label for>", m[1])
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

	rec = get("GET", "/static/passkeys.js", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET passkeys.js: status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("passkeys.js Content-Type = %q, want text/javascript", ct)
	}
	js := rec.Body.String()
	for _, w := range []string{
		"'use strict'",
		`meta[name="csrf-token"]`,
		`'X-CSRF-Token': csrfToken`,
		`credentials: 'same-origin'`,
		`method: 'POST'`,
		`PublicKeyCredential.parseRequestOptionsFromJSON`,
		`PublicKeyCredential.parseCreationOptionsFromJSON`,
		`isConditionalMediationAvailable`,
		`mediation: 'conditional'`,
		`'/login/passkey/begin'`, `'/login/passkey/finish'`,
		`'/account/security/passkeys/begin'`, `'/account/security/passkeys/finish'`,
		`'/account/reauth/passkey/begin'`, `'/account/reauth/passkey/finish'`,
		`[data-passkey-login]`, `[data-passkey-add]`, `[data-passkey-reauth]`, `[data-copy]`, `[data-passkey-error]`,
		`navigator.clipboard`, `aria-busy`,
		`Passkey sign-in was cancelled.`,
		`This device already has a passkey for your account.`,
	} {
		if !strings.Contains(js, w) {
			t.Errorf("passkeys.js lacks %q", w)
		}
	}
	for _, bad := range []string{"eval(", "new Function", "innerHTML", "document.write", "http://", "https://"} {
		if strings.Contains(js, bad) {
			t.Errorf("passkeys.js contains %q", bad)
		}
	}

	etag := rec.Header().Get("ETag")
	if rec := get("GET", "/static/passkeys.js", http.Header{"If-None-Match": {etag}}); rec.Code != http.StatusNotModified {
		t.Errorf("conditional GET passkeys.js: status %d, want 304", rec.Code)
	}
	rec = get("GET", "/static/latch.css", nil)
	etag = rec.Header().Get("ETag")
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
// Static, so a renamed asset cannot leave a page unstyled or without its
// script.
func TestPageAssetsResolve(t *testing.T) {
	s := parse(t)
	body := render(t, s, http.StatusOK, "login", LoginPage{Base: Base{CSRFToken: csrf}}).Body.String()
	links := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(links) < 3 {
		t.Fatalf("found %d asset links, want the stylesheet, the icon and the script", len(links))
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

// TestEveryPageHasSamples keeps pages() complete: a page file without samples
// would skip Parse's dry run and could not be rendered at all.
func TestEveryPageHasSamples(t *testing.T) {
	files, err := fs.Glob(pageFiles, "html/*.html")
	if err != nil {
		t.Fatal(err)
	}
	samples := pages()
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "html/"), ".html")
		if name == "layout" {
			continue
		}
		if len(samples[name]) == 0 {
			t.Errorf("page %q has no sample in pages()", name)
		}
	}
	if len(samples) != len(files)-1 {
		t.Errorf("pages() names %d pages, html/ holds %d", len(samples), len(files)-1)
	}
}

func TestGroup4(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"JBSWY3DPEHPK3PXP", []string{"JBSW", "Y3DP", "EHPK", "3PXP"}},
		{"JBSWY3DPEH", []string{"JBSW", "Y3DP", "EH"}},
		{"JBSW Y3DP====", []string{"JBSW", "Y3DP"}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := group4(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("group4(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
