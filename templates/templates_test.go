package templates

import (
	"bytes"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
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
	s.Render(rec, status, View{name: name, data: data})
	return rec
}

// now is the clock the tests render with: relative times and the activity
// page's "Today" are measured from it.
var now = time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)

func TestPages(t *testing.T) {
	s := parse(t)
	s.Now = func() time.Time { return now }
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
				Description: "To remove the passkey “MacBook”, latch needs a recent sign-in.",
				Change:      "passkey-remove:abc",
				Next:        "/account/security",
				HasPassword: true, HasTOTP: true, HasPasskey: true,
			},
			want: []string{
				`<script src="/static/passkeys.js?v=`,
				`To remove the passkey “MacBook”, latch needs a recent sign-in.`,
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
				`Added <time datetime="2026-03-14T10:00:00Z" data-when="date" title="14 March 2026, 10:00 UTC">14 Mar 2026</time>`,
				`Last used <time datetime="2026-11-26T10:00:00Z" data-when="recent" title="26 November 2026, 10:00 UTC">yesterday, 10:00 UTC</time>`,
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
				`<strong>8 of 10 unused</strong>, created <time datetime="2026-06-03T10:00:00Z" data-when="date" title="3 June 2026, 10:00 UTC">3 Jun 2026</time>`,
				`Generate new keys</button>`,
				`stop working`,
				// Password: change and remove.
				`action="/account/security/password"`,
				`<label for="new_password">New password</label>`,
				`name="new_password" type="password" autocomplete="new-password" minlength="8" required`,
				`<label for="confirm_password">Confirm new password</label>`,
				`name="confirm_password" type="password" autocomplete="new-password" minlength="8" required`,
				`Change password</button>`,
				// Signing out other sessions, ticked, on both forms.
				`<input id="change-sign-out" name="sign_out_others" type="checkbox" value="1" checked`,
				`<label for="change-sign-out">Sign out my other sessions</label>`,
				`Sign in with passkeys only`,
				`action="/account/security/password/remove"`,
				`<input id="remove-sign-out" name="sign_out_others" type="checkbox" value="1" checked>`,
				`<label for="remove-sign-out">Sign out my other sessions</label>`,
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
			// No password to change: nobody signed in with one.
			notWant: []string{`Change password`, `/password/remove`, `sign_out_others`},
		},
		{
			name: "security with a suspended passkey beside a good one",
			page: "security",
			data: SecurityPage{Base: securityBase, HasPassword: true, TOTPEnabled: true, UsablePasskey: true, CanRemovePassword: true,
				Passkeys: []PasskeyView{{ID: "sus", Name: "Phone", CreatedAt: day(2026, 1, 1), Suspended: true}, {ID: "ok", Name: "Laptop", CreatedAt: day(2026, 2, 1)}},
				Recovery: RecoveryView{HasSet: true, Total: 10, Remaining: 10}},
			want: []string{
				`<span class="state state-warn">1 suspended</span>`,
				`<li class="item item-suspended">`,
				`<span>Phone</span><span class="tag">This device only</span><span class="tag tag-warn">Suspended</span>`,
				`<strong>This passkey was used with an out-of-date counter, which happens when a passkey is copied.</strong>`,
				`It can't be used until you confirm it's yours with another passkey, or your password and authenticator app code. If you don't recognise this, remove it.`,
				`<form method="post" action="/account/security/passkeys/sus/reinstate">`,
				`It's mine, keep it<span class="visually-hidden"> (Phone)</span></button>`,
				`<form method="post" action="/account/security/passkeys/sus/remove">`,
				`Remove it<span class="visually-hidden"> (Phone)</span></button>`,
				`<form class="item-remove" method="post" action="/account/security/passkeys/ok/remove">`,
			},
			notWant: []string{
				`<form class="item-remove" method="post" action="/account/security/passkeys/sus/remove">`,
				`/passkeys/ok/reinstate`, `only way to sign in`, `first add another passkey`, `state-on">2 passkeys`,
			},
		},
		{
			name: "security with its only passkey suspended",
			page: "security",
			data: SecurityPage{Base: securityBase, Passkeys: []PasskeyView{{ID: "sus", CreatedAt: day(2026, 1, 1), Suspended: true}}},
			want: []string{
				`It can't be used until you confirm it's yours. If you don't recognise this, remove it.`,
				`<p>To confirm it, first add another passkey.</p>`,
				`It was your only way to sign in. If you're signed out, use one of your recovery keys to get back in`,
				`You have no unused recovery keys, so generate some below, or add another passkey, while you're signed in.`,
				`action="/account/security/passkeys/sus/reinstate"`,
			},
			notWant: []string{`turn on an authenticator app`, `/password/remove`},
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
			notWant: []string{`aria-label="Account sections"`, `id="advanced"`, `/advanced/`},
		},
		{
			name: "security with advanced security off and nothing met",
			page: "security",
			data: SecurityPage{
				Base:        securityBase,
				Passkeys:    []PasskeyView{{ID: "c", Name: "YubiKey", CreatedAt: day(2025, 9, 2)}},
				TOTPEnabled: true, HasPassword: true, CanRemovePassword: true, UsablePasskey: true,
			},
			want: []string{
				`<section class="panel" id="passkeys" aria-labelledby="passkeys-heading">`,
				`<section class="panel" id="advanced" aria-labelledby="advanced-heading">`,
				`<h2 id="advanced-heading">Advanced security</h2>`,
				`journalists, security staff, and anyone whose account holds valuable work`,
				// What it costs, in plain words.
				`Only passkeys sign you in.`,
				`phishing-resistant`,
				`Your password and authenticator app are removed.`,
				`No one can recover your account for you</strong>, not even support or an administrator. Only your recovery keys get you back in.`,
				`Sessions last at most 12 hours</strong> and end after 15 minutes without activity.`,
				`Every sign-in sends you an email`,
				`All your other sessions are signed out</strong> when you turn it on.`,
				// The conditions, none met, each with its way forward.
				`<p class="hint">0 of 4 done</p>`,
				`<a class="button button-small button-secondary condition-action" href="/account/reauth?next=/account/security%23advanced">Confirm with a passkey</a>`,
				`<a href="#passkeys">Add another passkey above</a>`,
				`None of your passkeys is synced yet.`,
				`<form class="condition-action" method="post" action="/account/security/advanced/recovery">`,
				`Generate recovery keys for advanced security</button>`,
				`<form method="post" action="/account/security/advanced/enroll">`,
				`<p id="advanced-enroll-note">Complete the steps above first.</p>`,
				// Standard mode keeps its password and authenticator app forms.
				`action="/account/security/password"`,
				`action="/account/security/password/remove"`,
				`action="/account/security/totp/remove"`,
			},
			notWant: []string{
				`tag-done`, `/advanced/confirm-key`, `/advanced/leave`, `name="recovery_key"`,
				`Passwords are off`, `Not used under advanced security`, `id="advanced-error"`,
			},
		},
		{
			name: "security with advanced security waiting for a typed-back recovery key",
			page: "security",
			data: SecurityPage{
				Base:                   securityBase,
				NewRecoveryKeys:        []string{"AAAA-BBBB-CCCC"},
				NewRecoveryForAdvanced: true,
				Recovery:               RecoveryView{HasSet: true, Total: 10, Remaining: 10, CreatedAt: day(2026, 11, 27)},
				HasPassword:            true,
				Advanced: AdvancedView{PasskeyStepUp: true, TwoPasskeys: true, RecoveryPending: true,
					Error: "That key isn't one of your new recovery keys."},
			},
			want: []string{
				`<div class="alert" role="alert" id="advanced-error">`,
				`<p>That key isn&#39;t one of your new recovery keys.</p>`,
				`<p class="hint">2 of 4 done</p>`,
				`<span class="tag tag-done">Done</span>`,
				`<form class="condition-form" method="post" action="/account/security/advanced/confirm-key">`,
				`<label for="advanced-recovery-key">Type one of your new recovery keys</label>`,
				`<input id="advanced-recovery-key" name="recovery_key" type="text" class="input-code" autocomplete="off" spellcheck="false" autocapitalize="off" required aria-describedby="advanced-recovery-key-hint advanced-error">`,
				`<button type="submit" class="button button-primary">Confirm</button>`,
				`<form class="condition-again" method="post" action="/account/security/advanced/recovery">`,
				// The new keys lead back to where they are typed in.
				`<a class="button button-primary" href="/account/security#advanced">I've saved them</a>`,
				`under <a href="#advanced">Advanced security</a>`,
				`Complete the steps above first.`,
			},
			notWant: []string{`/account/reauth?`, `Add another passkey above`, `Generate recovery keys for advanced security`},
		},
		{
			// Keys generated from the recovery keys panel by someone not
			// turning advanced security on: the box says nothing of it,
			// though their unconfirmed set would count there.
			name: "security with new recovery keys, not for advanced security",
			page: "security",
			data: SecurityPage{
				Base:            securityBase,
				NewRecoveryKeys: []string{"AAAA-BBBB-CCCC"},
				Recovery:        RecoveryView{HasSet: true, Total: 10, Remaining: 10, CreatedAt: day(2026, 11, 27)},
				HasPassword:     true,
				Advanced:        AdvancedView{RecoveryPending: true},
			},
			want: []string{
				`<h2 id="new-keys-heading">Save your recovery keys — shown once</h2>`,
				`<a class="button button-primary" href="/account/security">I've saved them</a>`,
			},
			notWant: []string{`under <a href="#advanced">Advanced security</a>`, `href="/account/security#advanced">I've saved them`},
		},
		{
			name: "security with advanced security ready",
			page: "security",
			data: SecurityPage{
				Base:     securityBase,
				Passkeys: []PasskeyView{{ID: "a", CreatedAt: day(2026, 1, 1), Synced: true}, {ID: "b", CreatedAt: day(2026, 1, 2)}},
				Advanced: AdvancedView{PasskeyStepUp: true, TwoPasskeys: true, SyncedPasskey: true, RecoverySaved: true, Ready: true},
			},
			want: []string{
				`<p class="hint">4 of 4 done</p>`,
				`You typed one back, so you have them.`,
				`<button type="submit" class="button button-primary" aria-describedby="advanced-enroll-note"><svg`,
				`Turn on advanced security</button>`,
				`you'll be signed out everywhere else.`,
			},
			notWant: []string{`disabled`, `Complete the steps above first`, `name="recovery_key"`, `/account/reauth?`, `/advanced/recovery"`},
		},
		{
			name: "security with advanced security on",
			page: "security",
			data: SecurityPage{
				Base:        securityBase,
				Passkeys:    []PasskeyView{{ID: "a", CreatedAt: day(2026, 1, 1), Synced: true}, {ID: "b", CreatedAt: day(2026, 1, 2)}},
				Recovery:    RecoveryView{HasSet: true, Total: 10, Remaining: 10, CreatedAt: day(2026, 11, 20)},
				HasPassword: true, CanRemovePassword: true, TOTPEnabled: true,
				TOTPSetup: &TOTPSetupView{Secret: "JBSWY3DPEHPK3PXP"},
				Advanced:  AdvancedView{On: true, Since: day(2026, 11, 20), Ready: true, Error: "That change needs a passkey."},
			},
			want: []string{
				`<span class="state state-on">On</span>`,
				`Advanced security has been on since <time datetime="2026-11-20T10:00:00Z" data-when="date" title="20 November 2026, 10:00 UTC">20 Nov 2026</time>.`,
				`<div class="alert" role="alert" id="advanced-error">`,
				`What this means now`,
				`<form method="post" action="/account/security/advanced/leave">`,
				`<button type="submit" class="button button-secondary">Turn off advanced security</button>`,
				`Turning it off asks you to confirm with a passkey. Afterwards you may set a password again.`,
				// Password and authenticator app say why they are not offered.
				`Passwords are off under advanced security`,
				`<a href="#advanced">turn off advanced security</a>`,
				`Not used under advanced security`,
				`<span class="state">Not used</span>`,
				`they are the only way back`,
			},
			notWant: []string{
				`action="/account/security/password"`, `/password/remove`, `new-password`, `Change password`,
				`/totp/begin`, `/totp/remove`, `/totp/confirm`, `one-time-code`, `totp-secret`,
				`/advanced/enroll`, `class="conditions"`, `What it costs`,
			},
		},
		{
			name: "security with advanced security on, in a recovery session",
			page: "security",
			data: SecurityPage{Base: securityBase, Restricted: true, Advanced: AdvancedView{On: true}},
			want: []string{
				`id="advanced"`,
				`<span>Advanced security is on.</span>`,
				`Add a passkey now; until then this is the only page you can use`,
			},
			notWant: []string{`/advanced/leave`, `set a password now`, `action="/account/security/password"`},
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
			name: "unavailable",
			page: "unavailable",
			data: UnavailablePage{Base: Base{Title: "Try again in a moment"}, Retry: "/account/sessions?page=2"},
			want: []string{`<title>Try again in a moment · latch</title>`, `latch can't reach its database right now`,
				`If you were signed in, you still are.`, `href="/account/sessions?page=2">Try again</a>`, `Error 503`},
			notWant: []string{`href="/login"`, `Sign out`},
		},
		{
			name:    "unavailable after a form",
			page:    "unavailable",
			data:    UnavailablePage{},
			want:    []string{`Go back and send the form again in a moment.`},
			notWant: []string{`Try again</a>`},
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
				`<dd><time datetime="2026-11-27T09:33:00Z" data-when="daytime" title="27 November 2026, 09:33 UTC">Today, 09:33 UTC</time></dd>`,
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
			name: "account nav leads to every section",
			page: "account",
			data: AccountPage{Base: signedIn},
			want: []string{
				`<a href="/account" aria-current="page">Account</a>`,
				`<a href="/account/security">Security</a>`,
				`<a href="/account/sessions">Sessions</a>`,
				`<a href="/account/activity">Activity</a>`,
			},
			notWant: []string{`passkeys.js`, `sessions.js`},
		},
		{
			name: "second factor: code, offering to trust the device",
			page: "second_factor",
			data: SecondFactorPage{Base: Base{CSRFToken: csrf}, Email: "ada@example.com", CanTrust: true},
			want: []string{
				`name="code" type="text"`,
				`<input id="trust_device" name="trust_device" type="checkbox" value="1" aria-describedby="trust-device-hint">`,
				`<label for="trust_device">Trust this device for 30 days</label>`,
				`<p class="hint" id="trust-device-hint">You won't be asked for a code on this browser. Don't use on shared computers.</p>`,
			},
		},
		{
			name: "second factor: recovery key, offering to trust the device",
			page: "second_factor",
			data: SecondFactorPage{Base: Base{CSRFToken: csrf}, Email: "ada@example.com", UseRecovery: true, CanTrust: true},
			want: []string{
				`name="recovery_key"`,
				`<input id="trust_device" name="trust_device" type="checkbox" value="1"`,
				`<label for="trust_device">Trust this device for 30 days</label>`,
				`Don't use on shared computers.`,
			},
		},
		{
			name:    "second factor where trust is not allowed",
			page:    "second_factor",
			data:    SecondFactorPage{Base: Base{CSRFToken: csrf}, Email: "ada@example.com"},
			notWant: []string{`trust_device`, `Trust this device`},
		},
		{
			name: "sessions with many devices",
			page: "sessions",
			data: sampleSessions(),
			want: []string{
				`<title>Sessions · latch</title>`,
				`<h1>Ada Lovelace</h1>`,
				`<a href="/account/sessions" aria-current="page">Sessions</a>`,
				`<a href="/account/activity">Activity</a>`,
				`<h2>Where you're signed in</h2>`,
				`If you don't recognise one, end it — it's signed out everywhere within a second.`,
				`<div class="notice notice-ok" role="status">`,
				`<p>Signed out of 2 sessions.</p>`,
				`<script src="/static/sessions.js?v=`,
				`<span class="state state-on">4 active</span>`,
				`This device and 3 others.`,
				// Sign out everywhere else.
				`<form method="post" action="/account/sessions/end-others" data-confirm="others" data-others="3">`,
				`Sign out all other sessions</button>`,
				// This device.
				`<span>Chrome on macOS</span><span class="tag tag-current">This device</span><span class="tag tag-trusted">Trusted</span>`,
				`<span class="place">London, England, United Kingdom</span>`,
				`Signed in <time datetime="2026-11-25T13:00:00Z" data-when="recent" title="25 November 2026, 13:00 UTC">25 Nov, 13:00 UTC</time>`,
				`<span class="active-now">Active now</span>`,
				`Signed in with passkey`,
				`Trusted: you won't be asked for a code here.`,
				`<form method="post" action="/account/sessions/d1/end">`,
				`Sign out<span class="visually-hidden"> on this device</span></button>`,
				`<form class="device-untrust" method="post" action="/account/sessions/d1/untrust">`,
				// Its apps.
				`<ul class="apps" aria-label="Apps on Chrome on macOS">`,
				`<p class="app-name">ChatGPT</p>`,
				`Active <time datetime="2026-11-27T14:56:00Z" data-when="recent" title="27 November 2026, 14:56 UTC">4 minutes ago</time>`,
				`<form method="post" action="/account/sessions/d1/apps/a1/end">`,
				`<span>Sign out<span class="app-end-of"> of ChatGPT</span><span class="visually-hidden"> on Chrome on macOS</span></span></button>`,
				`<form method="post" action="/account/sessions/d1/apps/a2/end">`,
				// Another device, trusted, with an app.
				`<span>Safari on iPhone</span><span class="tag tag-trusted">Trusted</span></h3>`,
				`Active <time datetime="2026-11-27T13:00:00Z" data-when="recent" title="27 November 2026, 13:00 UTC">today, 13:00 UTC</time>`,
				`Signed in with password and authenticator app`,
				`<label for="select-d2"><input id="select-d2" type="checkbox" name="ids" value="d2" form="bulk-end">Select<span class="visually-hidden"> Safari on iPhone</span></label>`,
				`<form method="post" action="/account/sessions/d2/end">`,
				`End session<span class="visually-hidden"> on Safari on iPhone</span></button>`,
				`<form method="post" action="/account/sessions/d2/not-me">`,
				`This wasn't me<span class="visually-hidden">: Safari on iPhone</span></button>`,
				`<form class="device-untrust" method="post" action="/account/sessions/d2/untrust">`,
				`<form method="post" action="/account/sessions/d2/apps/a3/end">`,
				// A command-line app, and a device without a name or apps.
				`<span>Codex CLI</span></h3>`,
				`Active <time datetime="2026-11-26T19:00:00Z" data-when="recent" title="26 November 2026, 19:00 UTC">yesterday, 19:00 UTC</time>`,
				`<span>Unknown device</span></h3>`,
				`<span class="place">Unknown location</span>`,
				`Active <time datetime="2026-11-15T15:00:00Z" data-when="recent" title="15 November 2026, 15:00 UTC">15 Nov, 15:00 UTC</time>`,
				`No apps: signed in to your latch account only.`,
				`Signed in with recovery key`,
				// Ending several at once.
				`<form id="bulk-end" method="post" action="/account/sessions/end" data-confirm="selected">`,
				`<button type="submit" class="button button-danger" data-bulk-end>End selected sessions</button>`,
				`<p class="select-all" data-select-all hidden><label for="select-all"><input id="select-all" type="checkbox">Select all</label></p>`,
				// Recently ended, with every delivery state.
				`<h2 id="ended-heading">Recently ended</h2>`,
				`<p class="item-name">Edge on Windows</p>`,
				`Ended <time datetime="2026-11-27T14:58:00Z" data-when="recent" title="27 November 2026, 14:58 UTC">2 minutes ago</time></span><span>Ended from another device</span>`,
				`<li class="delivery delivery-ok">`,
				`<span>Signed out of ChatGPT</span>`,
				`<li class="delivery delivery-pending"><span class="pulse" aria-hidden="true"></span><span>Signing out of Codex…</span></li>`,
				`<li class="delivery delivery-failed">`,
				`<span>Couldn't reach Codex. Sign out in Codex itself.</span>`,
				`<span>Platform: access ended</span>`,
				// An agent that was acting there is no app signed out.
				`<li class="delivery delivery-agent"><span class="dot" aria-hidden="true"></span><span>Agent Codex task runner stopped</span></li>`,
				`Ended <time datetime="2026-11-26T13:00:00Z" data-when="recent" title="26 November 2026, 13:00 UTC">yesterday, 13:00 UTC</time></span><span>Reported as not you</span>`,
				`<span>Expired</span>`,
			},
			notWant: []string{
				`Signed out of Codex task runner`,
				`role="alert"`,
				`value="d1" form="bulk-end"`,
				`/account/sessions/d1/not-me`,
				`/account/sessions/d3/untrust`,
				`Nothing has ended`,
				`passkeys.js`,
			},
		},
		{
			name: "sessions on this device only",
			page: "sessions",
			data: SessionsPage{
				Base: Base{Title: "Sessions", CSRFToken: csrf, SignedIn: true, Email: "ada@example.com"},
				Name: "Ada Lovelace",
				Devices: []DeviceView{{
					ID: "d1", Name: "Firefox on Linux", Kind: "desktop", Location: "Unknown location",
					SignedInAt: now.Add(-time.Hour), LastActiveAt: now, Method: "Password", Current: true,
				}},
				Error: "That session could not be ended.",
			},
			want: []string{
				`<div class="alert" role="alert">`,
				`<p>That session could not be ended.</p>`,
				`You're signed in on this device only.`,
				`<span class="state state-on">1 active</span>`,
				`<span>Firefox on Linux</span><span class="tag tag-current">This device</span></h3>`,
				`Signed in with password`,
				`No apps: signed in to your latch account only.`,
				`<form method="post" action="/account/sessions/d1/end">`,
				`Nothing has ended in the last 30 days.`,
			},
			notWant: []string{
				`type="checkbox"`, `bulk-end`, `end-others`, `Sign out all other sessions`, `Select all`,
				`not-me`, `untrust`, `tag-trusted`, `sessions.js`, `role="status"`,
			},
		},
		{
			name:    "sessions with none",
			page:    "sessions",
			data:    SessionsPage{Base: Base{CSRFToken: csrf, SignedIn: true, Email: "ada@example.com"}},
			want:    []string{`<h1>Your account</h1>`, `No active sessions.`, `Nothing has ended in the last 30 days.`},
			notWant: []string{`class="devices"`, `class="state`, `bulk-end`, `end-others`},
		},
		{
			name: "activity across days",
			page: "activity",
			data: sampleActivity(),
			want: []string{
				`<title>Activity · latch</title>`,
				`<a href="/account/activity" aria-current="page">Activity</a>`,
				`<a href="/account/sessions">Sessions</a>`,
				`<span data-zone-note>Times are in UTC.</span>`,
				`<section class="panel day" aria-labelledby="day-2026-11-27" data-day="2026-11-27">`,
				`<h2 class="day-head" id="day-2026-11-27"><time datetime="2026-11-27">Today</time></h2>`,
				`<h2 class="day-head" id="day-2026-11-26"><time datetime="2026-11-26">Yesterday</time></h2>`,
				`<h2 class="day-head" id="day-2026-11-24"><time datetime="2026-11-24">24 November 2026</time></h2>`,
				`<li class="event">`,
				`<p class="event-title"><strong>Session ended</strong> <span>by you on Chrome on macOS</span></p>`,
				`<span>Edge on Windows</span><span class="place">Manchester, England, United Kingdom</span></p>`,
				`<summary>Details</summary>`,
				`<p class="item-meta">IP address <code class="ip">81.2.69.160</code></p>`,
				`<time class="event-time" datetime="2026-11-27T14:57:00Z" data-when="clock" title="27 November 2026, 14:57 UTC">14:57</time>`,
				`<p class="event-title"><strong>Signed in</strong> <span>with a passkey</span></p>`,
				`<code class="ip">2a02:c7f:1234:5600::1</code>`,
				`<li class="event event-info">`,
				`<p class="event-title"><strong>Signed in on a new device</strong>`,
				`<li class="event event-warn">`,
				`<strong>Account locked</strong>`,
				`<li class="event event-caution">`,
				`<strong>Recovery key used</strong>`,
				`<p class="event-title"><strong>Name changed</strong></p>`,
			},
			notWant: []string{`No activity yet`, `method="post" action="/account`, `passkeys.js`, `sessions.js`},
		},
		{
			name:    "activity with nothing yet",
			page:    "activity",
			data:    ActivityPage{Base: Base{CSRFToken: csrf, SignedIn: true, Email: "ada@example.com"}},
			want:    []string{`No activity yet`, `<a href="/account/activity" aria-current="page">Activity</a>`},
			notWant: []string{`class="timeline"`},
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
	allowedJS   = regexp.MustCompile(`^<script src="/static/(?:passkeys|sessions|times)\.js\?v=[0-9a-f]+" defer></script>$`)
	scriptOnly  = regexp.MustCompile(`<[a-z]+\b[^>]*\sdata-(?:passkey-(?:login|add|reauth|reveal|error)|copy|select-all)\b[^>]*>`)
	formTag     = regexp.MustCompile(`(?i)</?form\b`)
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
			t.Errorf("script other than an external passkeys.js, sessions.js or times.js: %s", tag)
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
	// times.js, on every page, only rewrites times; a script that posts
	// needs the token.
	if !strings.Contains(body, `<script src="/static/times.js?v=`) {
		t.Errorf("page does not load times.js")
	}
	if len(scripts) > 1 && !strings.Contains(body, `<meta name="csrf-token" content="`) {
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
	// HTML has no nested forms: a parser drops the inner <form> tag, and
	// its fields would post to the outer form's action. Controls that
	// belong to a form elsewhere on the page say so with form="id".
	depth := 0
	for _, tag := range formTag.FindAllString(body, -1) {
		if strings.HasPrefix(tag, "</") {
			depth--
		} else if depth++; depth > 1 {
			t.Errorf("nested <form>")
		}
	}
	if depth != 0 {
		t.Errorf("unbalanced <form> tags")
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
	s.Render(rec, http.StatusOK, LoggedOut.With(LoggedOutPage{}))
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

	rec = get("GET", "/static/sessions.js", nil)
	if ct := rec.Header().Get("Content-Type"); rec.Code != http.StatusOK || ct != "text/javascript; charset=utf-8" {
		t.Fatalf("GET sessions.js: status %d, Content-Type %q", rec.Code, ct)
	}
	sjs := rec.Body.String()
	for _, w := range []string{"'use strict'", `getElementById('bulk-end')`, `[data-select-all]`, `[data-bulk-end]`, `form.elements`, `indeterminate`, `pageshow`} {
		if !strings.Contains(sjs, w) {
			t.Errorf("sessions.js lacks %q", w)
		}
	}
	for _, bad := range []string{"eval(", "new Function", "innerHTML", "document.write", "http://", "https://", "fetch("} {
		if strings.Contains(sjs, bad) {
			t.Errorf("sessions.js contains %q", bad)
		}
	}

	rec = get("GET", "/static/passkeys.js", nil)
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
	body += render(t, s, http.StatusOK, "sessions", sampleSessions()).Body.String()
	links := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(links) < 6 {
		t.Fatalf("found %d asset links, want the stylesheet, the icon and the script of each page", len(links))
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
	samples := make(map[string][]any)
	for _, p := range pages() {
		samples[p.name] = p.samples
	}
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

// sampleSessions is a sessions page with this device, three others and
// three ended sessions that between them reach every delivery state.
func sampleSessions() SessionsPage {
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	const day = 24 * time.Hour
	return SessionsPage{
		Base:  Base{Title: "Sessions", CSRFToken: csrf, SignedIn: true, Email: "ada@example.com"},
		Name:  "Ada Lovelace",
		Flash: "Signed out of 2 sessions.",
		Devices: []DeviceView{
			{
				ID: "d1", Name: "Chrome on macOS", Kind: "desktop", Location: "London, England, United Kingdom",
				SignedInAt: ago(50 * time.Hour), LastActiveAt: ago(time.Minute), Method: "Passkey", Trusted: true, Current: true,
				Apps: []AppView{
					{ID: "a1", Name: "ChatGPT", SignedInAt: ago(50 * time.Hour), LastActiveAt: ago(4 * time.Minute)},
					{ID: "a2", Name: "Platform", SignedInAt: ago(26 * time.Hour), LastActiveAt: ago(3 * time.Hour)},
				},
			},
			{
				ID: "d2", Name: "Safari on iPhone", Kind: "phone", Location: "London, England, United Kingdom",
				SignedInAt: ago(9 * day), LastActiveAt: ago(2 * time.Hour), Method: "Password and authenticator app", Trusted: true,
				Apps: []AppView{{ID: "a3", Name: "ChatGPT", SignedInAt: ago(9 * day), LastActiveAt: ago(2 * time.Hour)}},
			},
			{
				ID: "d3", Name: "Codex CLI", Kind: "app", Location: "Berlin, Germany",
				SignedInAt: ago(3 * day), LastActiveAt: ago(20 * time.Hour), Method: "Passkey",
				Apps: []AppView{{ID: "a4", Name: "Codex", SignedInAt: ago(3 * day), LastActiveAt: ago(20 * time.Hour)}},
			},
			{
				ID: "d4", Kind: "unknown", Location: "Unknown location",
				SignedInAt: ago(17 * day), LastActiveAt: ago(12 * day), Method: "Recovery key",
			},
		},
		Ended: []EndedView{
			{
				Name: "Edge on Windows", Kind: "desktop", Location: "Manchester, England, United Kingdom",
				EndedAt: ago(2 * time.Minute), Reason: "Ended from another device",
				Apps: []EndedAppView{{Name: "ChatGPT", Delivery: "delivered"}, {Name: "Codex", Delivery: "pending"},
					{Name: "Codex task runner", Agent: true, Delivery: "delivered"}},
			},
			{
				Name: "Chrome on Android", Kind: "phone", Location: "Lagos, Nigeria",
				EndedAt: ago(26 * time.Hour), Reason: "Reported as not you",
				Apps: []EndedAppView{{Name: "ChatGPT", Delivery: "delivered"}, {Name: "Codex", Delivery: "failed"}, {Name: "Platform"}},
			},
			{Name: "Safari on macOS", Kind: "desktop", Location: "London, England, United Kingdom", EndedAt: ago(11 * day), Reason: "Expired"},
		},
	}
}

// sampleActivity is a history over three days with every kind of event.
func sampleActivity() ActivityPage {
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	return ActivityPage{
		Base: Base{Title: "Activity", CSRFToken: csrf, SignedIn: true, Email: "ada@example.com"},
		Name: "Ada Lovelace",
		Events: []EventView{
			{At: ago(3 * time.Minute), Kind: "ended", Title: "Session ended", Detail: "by you on Chrome on macOS",
				Device: "Edge on Windows", Location: "Manchester, England, United Kingdom", IP: "81.2.69.160"},
			{At: ago(2 * time.Hour), Kind: "signin", Title: "Signed in", Detail: "with a passkey",
				Device: "Chrome on macOS", Location: "London, England, United Kingdom", IP: "2a02:c7f:1234:5600::1"},
			{At: ago(5 * time.Hour), Kind: "credential", Title: "Passkey added", Detail: "“MacBook”", Device: "Chrome on macOS", IP: "81.2.69.142"},
			{At: ago(26 * time.Hour), Kind: "new_device", Title: "Signed in on a new device", Detail: "with a password and a code",
				Device: "Chrome on Android", Location: "Lagos, Nigeria", IP: "102.89.34.12"},
			{At: ago(26*time.Hour + 30*time.Minute), Kind: "lock", Title: "Account locked", Detail: "after too many wrong passwords", IP: "102.89.34.12"},
			{At: ago(3 * 24 * time.Hour), Kind: "recovery", Title: "Recovery key used", Detail: "7 keys left",
				Device: "Safari on iPad", Location: "Paris, France", IP: "90.84.12.4"},
			{At: ago(3*24*time.Hour + time.Hour), Kind: "other", Title: "Name changed", Device: "Safari on iPad"},
		},
	}
}

// TestSessionsDeviceRows checks each device row for the controls it may
// have: the current device can only be signed out, never selected for the
// bulk end nor reported, and every other device has both.
func TestSessionsDeviceRows(t *testing.T) {
	s := parse(t)
	s.Now = func() time.Time { return now }
	data := sampleSessions()
	body := render(t, s, http.StatusOK, "sessions", data).Body.String()

	list := body[strings.Index(body, `<ul class="devices"`):strings.Index(body, `<div class="panel-foot bulk">`)]
	rows := strings.Split(list, `<li class="device`)[1:]
	if len(rows) != len(data.Devices) {
		t.Fatalf("found %d device rows, want %d", len(rows), len(data.Devices))
	}
	for i, row := range rows {
		d := data.Devices[i]
		has := func(s string) bool { return strings.Contains(row, s) }
		if d.Current {
			if !strings.HasPrefix(row, ` device-current"`) {
				t.Errorf("%s: current row not marked device-current", d.ID)
			}
			for _, bad := range []string{`type="checkbox"`, `form="bulk-end"`, `/not-me"`, `This wasn't me`, `End session`} {
				if has(bad) {
					t.Errorf("%s: current device has %q", d.ID, bad)
				}
			}
			if !has(`Sign out<span class="visually-hidden"> on this device</span>`) || !has(`This device`) {
				t.Errorf("%s: current device lacks its Sign out button or chip", d.ID)
			}
			continue
		}
		for _, want := range []string{
			`<input id="select-` + d.ID + `" type="checkbox" name="ids" value="` + d.ID + `" form="bulk-end">`,
			`<label for="select-` + d.ID + `">`,
			`action="/account/sessions/` + d.ID + `/end"`,
			`action="/account/sessions/` + d.ID + `/not-me"`,
			`End session<span class="visually-hidden">`,
		} {
			if !has(want) {
				t.Errorf("%s: missing %q", d.ID, want)
			}
		}
		if has(`This device`) || has(`Sign out<span class="visually-hidden"> on this device`) {
			t.Errorf("%s: another device is labelled as this one", d.ID)
		}
		if got := has(`/untrust"`); got != d.Trusted {
			t.Errorf("%s: Stop trusting shown = %v, want %v", d.ID, got, d.Trusted)
		}
		for _, a := range d.Apps {
			if !has(`action="/account/sessions/` + d.ID + `/apps/` + a.ID + `/end"`) {
				t.Errorf("%s: no sign-out form for app %s", d.ID, a.ID)
			}
		}
	}

	// One bulk form, and every Select box outside any form, joined to it by
	// the form attribute.
	if n := strings.Count(body, `id="bulk-end"`); n != 1 {
		t.Errorf("%d elements with id bulk-end, want 1", n)
	}
	if !strings.Contains(body, `<form id="bulk-end" method="post" action="/account/sessions/end" data-confirm="selected">`) {
		t.Errorf("no bulk form posting to /account/sessions/end")
	}
	boxes := regexp.MustCompile(`<input [^>]*name="ids"[^>]*>`).FindAllStringIndex(body, -1)
	if len(boxes) != len(data.OtherDevices()) {
		t.Errorf("%d Select boxes, want one per other device (%d)", len(boxes), len(data.OtherDevices()))
	}
	forms := regexp.MustCompile(`(?i)</?form\b`).FindAllStringIndex(body, -1)
	for _, box := range boxes {
		tag := body[box[0]:box[1]]
		if !strings.Contains(tag, ` form="bulk-end"`) || !strings.Contains(tag, `type="checkbox"`) {
			t.Errorf("Select box not a checkbox of the bulk form: %s", tag)
		}
		depth := 0
		for _, f := range forms {
			if f[0] > box[0] {
				break
			}
			if body[f[0]+1] == '/' {
				depth--
			} else {
				depth++
			}
		}
		if depth != 0 {
			t.Errorf("Select box inside a form: %s", tag)
		}
	}
}

// TestSessionsPageShowsNoIP keeps addresses off the sessions page: it
// names places, and the views it renders have nowhere to put an IP. The
// activity page is where an address may be seen.
func TestSessionsPageShowsNoIP(t *testing.T) {
	for _, v := range []any{SessionsPage{}, DeviceView{}, AppView{}, EndedView{}, EndedAppView{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			if name := typ.Field(i).Name; strings.Contains(strings.ToUpper(name), "IP") && name != "Base" {
				t.Errorf("%v has a field %s", typ, name)
			}
		}
	}
	s := parse(t)
	s.Now = func() time.Time { return now }
	body := render(t, s, http.StatusOK, "sessions", sampleSessions()).Body.String()
	ipv4 := regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}\b`)
	if m := ipv4.FindString(body); m != "" {
		t.Errorf("sessions page shows an address: %s", m)
	}
	for _, bad := range []string{`IP address`, `class="ip"`} {
		if strings.Contains(body, bad) {
			t.Errorf("sessions page contains %q", bad)
		}
	}
	// The activity list reads without addresses; each waits in its line's
	// details disclosure.
	body = render(t, s, http.StatusOK, "activity", sampleActivity()).Body.String()
	if !strings.Contains(body, `<details class="event-details">
          <summary>Details</summary>
          <p class="item-meta">IP address <code class="ip">81.2.69.160</code></p>
        </details>`) {
		t.Errorf("activity page does not keep the event's IP address in its details")
	}
	outside := regexp.MustCompile(`(?s)<details.*?</details>`).ReplaceAllString(body, "")
	if m := ipv4.FindString(outside); m != "" {
		t.Errorf("activity list shows an address outside a details disclosure: %s", m)
	}
}

func TestSessionsPageDevices(t *testing.T) {
	p := sampleSessions()
	if d := p.ThisDevice(); d == nil || d.ID != "d1" {
		t.Errorf("ThisDevice() = %v, want d1", d)
	}
	var ids []string
	for _, d := range p.OtherDevices() {
		ids = append(ids, d.ID)
	}
	if want := []string{"d2", "d3", "d4"}; !slices.Equal(ids, want) {
		t.Errorf("OtherDevices() = %v, want %v", ids, want)
	}
	if d := (SessionsPage{Devices: []DeviceView{{ID: "x"}}}).ThisDevice(); d != nil {
		t.Errorf("ThisDevice() with no current device = %v, want nil", d)
	}
}

func TestLowerFirst(t *testing.T) {
	for in, want := range map[string]string{
		"Passkey":                        "passkey",
		"Password and authenticator app": "password and authenticator app",
		"Recovery key":                   "recovery key",
		"TOTP":                           "TOTP",
		"YubiKey":                        "YubiKey",
		"iCloud Keychain":                "iCloud Keychain",
		"":                               "",
	} {
		if got := lowerFirst(in); got != want {
			t.Errorf("lowerFirst(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAdvancedWithoutPasskey: the first step is not a "Confirm with a
// passkey" button for an account with no passkey that can sign in; it says
// to add one first.
func TestAdvancedWithoutPasskey(t *testing.T) {
	s := parse(t)
	base := Base{Title: "Security", CSRFToken: csrf, SignedIn: true, Email: "ada@example.com"}
	body := render(t, s, http.StatusOK, "security", SecurityPage{Base: base, HasPassword: true}).Body.String()
	start := strings.Index(body, `<section class="panel" id="advanced"`)
	section := body[start : start+strings.Index(body[start:], `</section>`)]
	if strings.Contains(section, "/account/reauth") || !strings.Contains(section, `<a href="#passkeys">add one</a> first`) {
		t.Errorf("advanced step 1 without a passkey:\n%s", section)
	}
}

// TestSecurityAdvanced checks the advanced security section in each of its
// states: every form carries the CSRF token, the button that turns it on
// works only once every condition is met, and each missing condition
// offers its own way forward.
func TestSecurityAdvanced(t *testing.T) {
	s := parse(t)
	base := Base{Title: "Security", CSRFToken: csrf, SignedIn: true, Email: "ada@example.com"}
	tests := []struct {
		name string
		adv  AdvancedView
	}{
		{"nothing met", AdvancedView{}},
		{"nothing met, refused", AdvancedView{Error: "Confirm it's you with a passkey first."}},
		{"some met, key pending", AdvancedView{PasskeyStepUp: true, TwoPasskeys: true, RecoveryPending: true}},
		{"all met but not ready", AdvancedView{PasskeyStepUp: true, TwoPasskeys: true, SyncedPasskey: true, RecoverySaved: true}},
		{"ready", AdvancedView{PasskeyStepUp: true, TwoPasskeys: true, SyncedPasskey: true, RecoverySaved: true, Ready: true}},
		{"on", AdvancedView{On: true, Since: now}},
	}
	enrollButton := regexp.MustCompile(`(?s)<form method="post" action="/account/security/advanced/enroll">.*?(<button[^>]*>)`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := SecurityPage{Base: base, HasPassword: true, CanRemovePassword: true, TOTPEnabled: true, UsablePasskey: true, Advanced: tt.adv}
			body := render(t, s, http.StatusOK, "security", data).Body.String()
			checkCommon(t, body)
			start := strings.Index(body, `<section class="panel" id="advanced"`)
			if start < 0 {
				t.Fatalf("no advanced security section")
			}
			section := body[start : start+strings.Index(body[start:], `</section>`)]
			has := func(s string) bool { return strings.Contains(section, s) }

			forms := postForm.FindAllString(section, -1)
			if len(forms) == 0 {
				t.Fatalf("no forms in the section")
			}
			for _, f := range forms {
				if !strings.Contains(f, `<input type="hidden" name="csrf_token" value="`+csrf+`">`) {
					t.Errorf("form without csrf_token:\n%s", f)
				}
			}
			if got, want := has(`role="alert"`), tt.adv.Error != ""; got != want {
				t.Errorf("alert shown = %v, want %v", got, want)
			}

			if tt.adv.On {
				for _, bad := range []string{`/advanced/enroll`, `/advanced/recovery`, `/advanced/confirm-key`, `/account/reauth`} {
					if has(bad) {
						t.Errorf("section on contains %q", bad)
					}
				}
				if !has(`action="/account/security/advanced/leave"`) {
					t.Errorf("no way to turn it off")
				}
				for _, bad := range []string{`action="/account/security/password"`, `/password/remove`, `/totp/begin`, `/totp/remove`} {
					if strings.Contains(body, bad) {
						t.Errorf("page offers %q under advanced security", bad)
					}
				}
				return
			}

			m := enrollButton.FindStringSubmatch(section)
			if m == nil {
				t.Fatalf("no enroll form with a button")
			}
			if got := strings.Contains(m[1], " disabled"); got == tt.adv.Ready {
				t.Errorf("enroll button %s with Ready = %v", m[1], tt.adv.Ready)
			}
			if got := has(`Complete the steps above first.`); got == tt.adv.Ready {
				t.Errorf("\"Complete the steps above first\" shown = %v with Ready = %v", got, tt.adv.Ready)
			}
			if got := has(`href="/account/reauth?next=/account/security%23advanced"`); got == tt.adv.PasskeyStepUp {
				t.Errorf("reauth link shown = %v with PasskeyStepUp = %v", got, tt.adv.PasskeyStepUp)
			}
			if got := has(`href="#passkeys"`); got == tt.adv.TwoPasskeys {
				t.Errorf("link to the passkeys shown = %v with TwoPasskeys = %v", got, tt.adv.TwoPasskeys)
			}
			pending := tt.adv.RecoveryPending && !tt.adv.RecoverySaved
			if got := has(`action="/account/security/advanced/confirm-key"`) && has(`name="recovery_key"`); got != pending {
				t.Errorf("confirm-key form shown = %v, want %v", got, pending)
			}
			if got, want := has(`Generate recovery keys for advanced security`), !tt.adv.RecoveryPending && !tt.adv.RecoverySaved; got != want {
				t.Errorf("generate button shown = %v, want %v", got, want)
			}
			if got, want := strings.Count(section, `tag-done`), tt.adv.Met(); got != want {
				t.Errorf("%d conditions marked done, want %d", got, want)
			}
			if !strings.Contains(body, `action="/account/security/password"`) || !strings.Contains(body, `/totp/remove`) {
				t.Errorf("standard mode lost its password or authenticator app forms")
			}
		})
	}
}

func TestAdvancedViewMet(t *testing.T) {
	for _, tt := range []struct {
		v    AdvancedView
		want int
	}{
		{AdvancedView{}, 0},
		{AdvancedView{RecoveryPending: true, Ready: true, On: true}, 0},
		{AdvancedView{PasskeyStepUp: true, SyncedPasskey: true}, 2},
		{AdvancedView{PasskeyStepUp: true, TwoPasskeys: true, SyncedPasskey: true, RecoverySaved: true}, 4},
	} {
		if got := tt.v.Met(); got != tt.want {
			t.Errorf("%+v.Met() = %d, want %d", tt.v, got, tt.want)
		}
	}
}

// TestUnavailable: the database-unavailable answer is a 503 with
// Retry-After that offers to load a same-site GET again, and nothing after
// a POST or for a path that would leave the site.
func TestUnavailable(t *testing.T) {
	s := parse(t)
	for _, tt := range []struct {
		method, target, retry string
	}{
		{"GET", "/account/sessions?page=2", `href="/account/sessions?page=2"`},
		{"POST", "/logout", ""},
		{"GET", "//evil.example/x", ""},
	} {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(tt.method, "http://latch.example/", nil)
		r.URL.Path, r.URL.RawQuery = tt.target, ""
		if i := strings.IndexByte(tt.target, '?'); i >= 0 {
			r.URL.Path, r.URL.RawQuery = tt.target[:i], tt.target[i+1:]
		}
		s.Unavailable(rec, r)
		body := rec.Body.String()
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: %d %v", tt.method, tt.target, rec.Code, rec.Header())
		}
		if !strings.Contains(body, "latch can't reach its database right now") {
			t.Errorf("%s %s: not the unavailable page:\n%s", tt.method, tt.target, body)
		}
		if got := strings.Contains(body, "Try again</a>"); got != (tt.retry != "") || (tt.retry != "" && !strings.Contains(body, tt.retry)) {
			t.Errorf("%s %s: retry link %v, want %q", tt.method, tt.target, got, tt.retry)
		}
	}
}
