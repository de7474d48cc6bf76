package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/recovery"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// AuthRequest is what the sign-in page needs to know of a pending OIDC
// authorization request.
type AuthRequest struct {
	ID        string
	AppName   string
	CreatedAt time.Time
	Prompt    []string       // "none", "login", ...
	MaxAge    *time.Duration // nil when the app set none
	LoginHint string
	ACRValues []string // "phr": the app wants a phishing-resistant (passkey) sign-in
	// ClientID and Scopes are what the app asked for; FirstParty apps
	// (latch's own) skip the consent page.
	ClientID   string
	Scopes     []string
	FirstParty bool
	// HintSubject is the account of the app's id_token_hint, "" without
	// one: the app asks for that person and no other.
	HintSubject string
}

// ACRPhishingResistant is OpenID EAP's acr for a phishing-resistant
// authentication: latch's passkey sign-in.
const ACRPhishingResistant = "phr"

// WantsPasskey reports whether the app asked for a phishing-resistant sign-in.
func (r *AuthRequest) WantsPasskey() bool {
	return r != nil && slices.Contains(r.ACRValues, ACRPhishingResistant)
}

// ErrUnknownRequest means the authorization request does not exist, has
// expired or was already answered.
var ErrUnknownRequest = errors.New("authn: unknown or expired authorization request")

// ErrConditionsUnmet means the device session cannot answer the request: it
// is a recovery session, or older than prompt=login or max_age allow, or not
// a passkey sign-in where the app asked for one (acr_values=phr), or another
// person's than the app's id_token_hint names. The person must sign in.
var ErrConditionsUnmet = errors.New("authn: the sign-in does not meet the app's conditions")

// Satisfies reports whether device session d meets req's conditions at now:
// the rule AuthRequests.Complete enforces, whoever calls it.
func Satisfies(req *AuthRequest, d *sessions.Device, now time.Time) bool {
	if d == nil || d.Restricted() {
		return false
	}
	if req.WantsPasskey() && d.ACR != ACRPhishingResistant {
		return false
	}
	if slices.Contains(req.Prompt, "login") && d.AuthTime.Before(req.CreatedAt) {
		return false
	}
	// max_age counts whole seconds, as auth_time does: a sign-in a few
	// milliseconds ago is 0 seconds old, which max_age=0 allows.
	if req.MaxAge != nil && now.Sub(d.AuthTime).Truncate(time.Second) > *req.MaxAge {
		return false
	}
	if req.HintSubject != "" && req.HintSubject != d.AccountID {
		return false
	}
	return true
}

// AuthRequests is the identity provider as the sign-in flow sees it.
type AuthRequests interface {
	// LoginRequest returns the pending request with this id.
	LoginRequest(ctx context.Context, id string) (*AuthRequest, error)
	// Complete binds a signed-in device session to the request and returns
	// where to send the browser to finish it. It refuses, with
	// ErrConditionsUnmet, a session that does not satisfy the request.
	Complete(ctx context.Context, id string, d *sessions.Device) (string, error)
	// Refuse answers the request with an OAuth error (login_required for
	// prompt=none) and returns the redirect to the app.
	Refuse(ctx context.Context, id, code, description string) (string, error)
}

// LogoutRequests decodes the opaque value an end_session confirmation page
// posts back, giving the address to continue to after signing out.
type LogoutRequests interface {
	LogoutRedirect(value string) (string, error)
}

// Handler serves the sign-in pages (/login and its second factor, passkey
// and recovery steps), the consent page and sign-out. The pages of a
// signed-in person (package account) use its Device, Fail, CheckStepUp and
// alerts.
type Handler struct {
	Accounts *Accounts
	Sessions *sessions.Store
	Throttle *Throttle
	Passkeys *Passkeys
	TOTP     *TOTP
	Recovery *recovery.Keys
	Requests AuthRequests
	Logouts  LogoutRequests
	Pages    *templates.Set
	Cookies  *web.Cookies
	CSRF     *web.CSRF
	ClientIP *web.ClientIP
	Metrics  *web.Metrics
	Logger   *slog.Logger
	Now      func() time.Time
	// Flow seals the short-lived state between a correct password and the
	// second factor into a cookie.
	Flow *securecookie.SecureCookie
	// Issuer is latch's public URL, for links in alerts.
	Issuer string
	// Notify turns account alerts on (the outbox exists and a notifier
	// delivers it).
	Notify bool
	// Devices are the device authorizations the /device page approves
	// (the identity provider). DeviceStepUp is how recent a passkey
	// sign-in an account with advanced security needs to approve one
	// (5 minutes when zero).
	Devices      DeviceRequests
	DeviceStepUp time.Duration

	dummyHash string
}

// Routes registers the handler's routes on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	if h.dummyHash == "" {
		// Unknown emails are checked against this hash so a wrong email costs
		// as much time as a wrong password and timing reveals nothing.
		dummy, err := h.Accounts.Hasher.Hash(context.Background(), "latch-dummy-password")
		if err != nil {
			// A pool that computes nothing yet cannot be busy, and the
			// password is a valid one: without this hash unknown emails
			// would answer faster than known ones.
			panic(fmt.Sprintf("authn: the dummy password hash: %v", err))
		}
		h.dummyHash = dummy
	}
	mux.HandleFunc("GET /login", h.loginPage)
	mux.HandleFunc("POST /login", h.login)
	mux.HandleFunc("GET /logout", h.logoutPage)
	mux.HandleFunc("POST /logout", h.logout)
	mux.HandleFunc("GET /logged-out", h.loggedOut)
	mux.HandleFunc("POST /login/passkey/begin", h.passkeyLoginBegin)
	mux.HandleFunc("POST /login/passkey/finish", h.passkeyLoginFinish)
	mux.HandleFunc("GET /login/verify", h.secondFactorPage)
	mux.HandleFunc("POST /login/verify", h.secondFactor)
	mux.HandleFunc("GET /login/recover", h.recoverPage)
	mux.HandleFunc("POST /login/recover", h.recover)
	h.consentRoutes(mux)
	h.deviceRoutes(mux)
}

// RateLimited lists the sign-in routes, each with its sign-in method (the
// metric's label). The per-address rate limiter runs for them in web.Guard,
// before their body is read, so a caller over the limit costs latch no
// parsing, no query and no argon2id.
func (h *Handler) RateLimited() map[string]string {
	return map[string]string{
		"POST /login":               sessions.MethodPassword.Metric(),
		"POST /login/passkey/begin": sessions.MethodPasskey.Metric(),
		"POST /login/verify":        "second_factor", // a code or a recovery key: the body tells
		"POST /login/recover":       sessions.MethodRecoveryKey.Metric(),
		// Each look-up of a user code is a guess at one.
		"GET /device":         sessions.MethodUserCode.Metric(),
		"POST /device":        sessions.MethodUserCode.Metric(),
		"POST /device/decide": sessions.MethodUserCode.Metric(),
	}
}

// Device returns the live device session of the request's cookie: nil
// without an error when there is none (no cookie, or a session that ended,
// expired or never existed), and an error when latch could not tell,
// because its database did not answer. That error never means "signed
// out": the person's cookie may be perfectly good, and a page that treated
// it as signed out would show the sign-in form or, worse, act on it.
func (h *Handler) Device(r *http.Request) (*sessions.Device, error) {
	return h.deviceWith(r.Context(), r)
}

// deviceWith is Device with a context of the caller's: a change that is
// decided looks the session up with a context the client cannot cancel.
func (h *Handler) deviceWith(ctx context.Context, r *http.Request) (*sessions.Device, error) {
	secret, ok := h.Cookies.Read(r, web.CookieSession)
	if !ok {
		return nil, nil
	}
	d, err := h.Sessions.BySecret(ctx, secret)
	if errors.Is(err, sessions.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("session lookup: %w", err)
	}
	return d, nil
}

// device is Device for a handler that answers with a page: when latch
// could not tell, the answer has been written (503 while the database is
// away) and ok is false.
func (h *Handler) device(w http.ResponseWriter, r *http.Request) (d *sessions.Device, ok bool) {
	d, err := h.Device(r)
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return d, true
}

// databaseAway reports whether err means that latch could not ask its
// database, so the answer is "try again", never "wrong" or "signed out".
// A request cancelled on latch's side (the client hung up) is not that:
// nobody reads its answer, and it stays the failure it is.
func databaseAway(err error) bool {
	return pg.Unavailable(err) && !errors.Is(err, context.Canceled)
}

// Unavailable answers a page request that latch could not serve because
// its database did not answer: 503, Retry-After, and a calm page that says
// so. The identity provider uses it too.
func (h *Handler) Unavailable(w http.ResponseWriter, r *http.Request, err error) {
	h.Logger.WarnContext(r.Context(), "answering 503: database unavailable", "path", r.URL.Path, "err", err)
	h.Pages.Unavailable(w, r)
}

// unavailableJSON is Unavailable for a script's JSON call.
func (h *Handler) unavailableJSON(w http.ResponseWriter, r *http.Request, err error) {
	h.Logger.WarnContext(r.Context(), "answering 503: database unavailable", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", templates.RetryAfter)
	jsonError(w, http.StatusServiceUnavailable, "latch can't reach its database right now. Try again in a moment.")
}

func (h *Handler) base(w http.ResponseWriter, r *http.Request, title string, d *sessions.Device) templates.Base {
	if d != nil {
		if a, err := h.Accounts.ByID(r.Context(), d.AccountID); err == nil {
			return h.baseFor(w, r, title, a)
		}
	}
	return h.baseFor(w, r, title, nil)
}

// baseFor is base for a handler that has loaded the account already.
func (h *Handler) baseFor(w http.ResponseWriter, r *http.Request, title string, a *Account) templates.Base {
	b := templates.Base{Title: title, CSRFToken: h.CSRF.Token(w, r)}
	if a != nil {
		b.SignedIn, b.Email = true, a.Email
	}
	return b
}

// ErrorPage shows latch's error page; the identity provider uses it for
// requests it cannot answer at the app, and web.Guard for the requests it
// refuses.
func (h *Handler) ErrorPage(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	h.errorPage(w, r, status, heading, message)
}

func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	web.NoStore(w)
	h.Pages.Render(w, status, templates.Error.With(templates.ErrorPage{
		Base: h.base(w, r, heading, nil), Status: status, Heading: heading, Message: message}))
}

// satisfies reports whether an existing sign-in answers req: it meets the
// request's conditions, and belongs to the person the app's login_hint
// names, if any (a hint for someone else shows the sign-in page with that
// email filled in, or answers login_required to prompt=none).
func (h *Handler) satisfies(ctx context.Context, req *AuthRequest, d *sessions.Device) (bool, error) {
	if !Satisfies(req, d, h.Now()) {
		return false, nil
	}
	if req.LoginHint == "" {
		return true, nil
	}
	acct, err := h.Accounts.ByID(ctx, d.AccountID)
	if err != nil {
		return false, err
	}
	return EmailKey(acct.Email) == EmailKey(req.LoginHint), nil
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	d, ok := h.device(w, r)
	if !ok {
		return
	}
	id := r.URL.Query().Get("authRequestID")
	if id == "" {
		if d != nil {
			http.Redirect(w, r, "/account", http.StatusSeeOther)
			return
		}
		h.renderLogin(w, r, http.StatusOK, nil, "", "")
		return
	}
	req, err := h.Requests.LoginRequest(r.Context(), id)
	if err != nil {
		h.requestError(w, r, err)
		return
	}
	if d != nil && d.Restricted() {
		// A recovery session signs in to no app until it has a credential.
		http.Redirect(w, r, "/account/security", http.StatusSeeOther)
		return
	}
	ok, err = h.satisfies(r.Context(), req, d)
	if err != nil {
		h.requestError(w, r, err)
		return
	}
	if ok {
		h.complete(w, r, req, d)
		return
	}
	if slices.Contains(req.Prompt, "none") {
		h.refuse(w, r, req.ID, "login_required", "The person is not signed in, or not as the app asked.")
		return
	}
	h.renderLogin(w, r, http.StatusOK, req, req.LoginHint, "")
}

func (h *Handler) requestError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrUnknownRequest) {
		h.errorPage(w, r, http.StatusBadRequest, "This sign-in link has expired",
			"Go back to the app and start signing in again.")
		return
	}
	if databaseAway(err) {
		h.Unavailable(w, r, err)
		return
	}
	h.Logger.ErrorContext(r.Context(), "authorization request", "err", err)
	h.errorPage(w, r, http.StatusInternalServerError, "Something went wrong",
		"latch could not continue signing you in. Please try again in a moment.")
}

func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, req *AuthRequest, email, msg string) {
	d, ok := h.device(w, r)
	if !ok {
		return
	}
	p := templates.LoginPage{Base: h.base(w, r, "Sign in", d), Email: email, Error: msg}
	if req != nil {
		p.AppName, p.AuthRequestID = req.AppName, req.ID
		p.Reauth = d != nil
		p.PasskeyOnly = req.WantsPasskey()
	}
	h.Pages.Render(w, status, templates.Login.With(p))
}

func (h *Handler) complete(w http.ResponseWriter, r *http.Request, req *AuthRequest, d *sessions.Device) {
	if to, ok := h.needsConsent(r.Context(), req.ID, d); ok {
		if slices.Contains(req.Prompt, "none") {
			// prompt=none may show no page, the consent page included
			// (OpenID Connect Core §3.1.2.6).
			h.refuse(w, r, req.ID, "consent_required", "The person has not allowed this app yet.")
			return
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	to, err := h.Requests.Complete(r.Context(), req.ID, d)
	if errors.Is(err, ErrConditionsUnmet) {
		to, err = loginURL(req.ID), nil
	}
	if err != nil {
		h.requestError(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// loginURL is the sign-in page of an authorization request, which works out
// afresh what the request still needs.
func loginURL(id string) string { return "/login?authRequestID=" + url.QueryEscape(id) }

// refuse answers the app's request with an OAuth error.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, id, code, description string) {
	to, err := h.Requests.Refuse(r.Context(), id, code, description)
	if err != nil {
		h.requestError(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// login checks a password sign-in. Every failure says the same sentence,
// whether the email has no account, no password or another password.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	queue, cancel := h.hashQueue(r)
	defer cancel()
	if err := h.CSRF.Check(r); err != nil {
		h.errorPage(w, r, http.StatusForbidden, "This form has expired",
			"Reload the page and try again.")
		return
	}
	var req *AuthRequest
	if id := r.PostFormValue("auth_request"); id != "" {
		var err error
		if req, err = h.Requests.LoginRequest(r.Context(), id); err != nil {
			h.requestError(w, r, err)
			return
		}
	}
	email := r.PostFormValue("email")
	password := r.PostFormValue("password")
	if !PossibleEmail(email) {
		h.renderLogin(w, r, http.StatusBadRequest, req, "", "Enter your email address, like name@example.com.")
		return
	}
	acct, err := h.accountByEmail(r.Context(), email)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The browser's own budget when it signed in to this account before,
	// the one shared with every stranger otherwise: an attacker's guesses
	// slow down the attacker, not the owner.
	no := h.Guard(queue, r, Attempt{Method: sessions.MethodPassword, Secret: SecretPassword, Account: acct, Email: email,
		Hash: true, SignIn: true, Verify: func(ctx context.Context, worker *Worker) error {
			ok, err := h.passwordMatches(ctx, worker, acct, password)
			if err != nil {
				return err
			}
			// Advanced accounts have no password, so ok is false for them
			// and the answer is the same as for any wrong password: naming
			// the account's mode would tell a stranger which accounts are
			// worth the most. The sentence itself says plainly that such
			// accounts use passkeys.
			if !ok || acct.Advanced() {
				return WrongSecret(nil)
			}
			return nil
		}})
	if no != nil {
		switch no.Kind {
		case Throttled:
			no.SetRetryAfter(w)
			msg := fmt.Sprintf("Too many failed attempts. Try again in %s.", roundWait(no.RetryAfter))
			if no.Shared {
				msg += " Devices you have signed in with before are not slowed down."
			}
			h.renderLogin(w, r, no.Status(), req, email, msg)
		case Wrong:
			h.renderLogin(w, r, no.Status(), req, email,
				"Wrong email or password. Accounts with advanced security sign in with a passkey only.")
		default:
			h.fail(w, r, no.Err)
		}
		return
	}
	// The password is right: from here a hang-up changes nothing.
	ctx := context.WithoutCancel(r.Context())
	// Wrong second-factor codes after this password locked password
	// sign-in on every device, trusted ones included (they would skip the
	// second factor): the password is known to someone else. Said only to
	// whoever knows the password.
	if locked, err := h.Throttle.Locked(ctx, secondFactorKey(acct.ID)); err != nil {
		h.fail(w, r, err)
		return
	} else if locked {
		h.countSignIn(sessions.MethodPassword, "locked")
		h.renderLogin(w, r, http.StatusTooManyRequests, req, email,
			"Password sign-in to this account is locked after too many wrong verification codes. Sign in with a passkey, or contact your administrator to unlock it.")
		return
	}
	if req.WantsPasskey() {
		// The app asked for a phishing-resistant sign-in; a password is not one.
		h.renderLogin(w, r, http.StatusForbidden, req, email, "This app asks you to sign in with a passkey.")
		return
	}
	ev := h.event(r, sessions.MethodPassword)
	has2FA, err := h.TOTP.Enabled(ctx, acct.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if has2FA {
		// A trusted device (a multi-factor sign-in here chose "trust this
		// device") skips the second factor for 30 days; never in advanced mode.
		td, _ := h.Cookies.Read(r, web.CookieTrusted)
		if id, ok := h.Sessions.Trusted(ctx, acct.ID, td); ok && !acct.Advanced() {
			ev.Detail["trusted_device"] = id
		} else {
			h.startSecondFactor(w, r, acct, req)
			return
		}
	}
	d, err := h.signIn(ctx, w, r, acct, []string{"pwd"}, "", ev, nil)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.countSignIn(sessions.MethodPassword, "success")
	h.finishSignIn(ctx, w, r, d, req, false)
}

// finishSignIn continues a committed sign-in to the app (or to /account),
// as a redirect or, for the passkey script, as JSON.
func (h *Handler) finishSignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, d *sessions.Device, req *AuthRequest, asJSON bool) {
	to := "/account"
	if back, ok := h.Cookies.Read(r, web.CookieReturn); ok {
		// The page that sent the person to sign in (the device approval
		// page) takes them back.
		h.Cookies.Clear(w, web.CookieReturn)
		if req == nil && ReturnPath(back) {
			to = back
		}
	}
	if req != nil {
		var err error
		if c, ok := h.needsConsent(ctx, req.ID, d); ok {
			to = c
		} else if to, err = h.Requests.Complete(ctx, req.ID, d); errors.Is(err, ErrConditionsUnmet) {
			// A fresh sign-in meets every condition but the app's
			// id_token_hint: the person signed in as someone else than the
			// app asked for, which the app must hear rather than loop.
			to, err = h.Requests.Refuse(ctx, req.ID, "login_required", "The person signed in with another account than the app asked for.")
		}
		if err != nil {
			if asJSON {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "This sign-in link has expired. Go back to the app and start again."})
				return
			}
			h.requestError(w, r, err)
			return
		}
	}
	if asJSON {
		writeJSON(w, http.StatusOK, map[string]string{"redirect": to})
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func roundWait(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", int(d.Seconds()+0.999))
	}
	return fmt.Sprintf("%d minutes", int(d.Minutes()+0.999))
}

// fail answers a request that went wrong: 503 and the unavailable page
// when the database did not answer, otherwise 500 and a sentence for
// people (the detail goes to the log only).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrBusy) {
		h.busy(w, r)
		return
	}
	if databaseAway(err) {
		h.Unavailable(w, r, err)
		return
	}
	h.Logger.ErrorContext(r.Context(), "sign-in", "err", err)
	h.Metrics.Errors.WithLabelValues("signin").Inc()
	h.errorPage(w, r, http.StatusInternalServerError, "Something went wrong",
		"latch could not sign you in just now. Please try again in a moment.")
}

// Fail is fail for the pages of package account, which share latch's
// answers to what went wrong.
func (h *Handler) Fail(w http.ResponseWriter, r *http.Request, err error) { h.fail(w, r, err) }

// hashQueue is what a request reserves its hashing worker with: it ends
// HashQueueWait after the request arrived (or when the request ends), so
// the time spent before, reading the account and the throttle under load,
// counts against the wait and a crowd is answered busy within about 2 s
// rather than served in turn for as long as it lasts.
func (h *Handler) hashQueue(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), HashQueueWait)
}

// busy answers a request that found every hashing worker taken: 503 and a
// moment to wait (RFC 9110 §15.6.4), not an error of latch's to log.
func (h *Handler) busy(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", busyRetryAfter)
	h.errorPage(w, r, http.StatusServiceUnavailable, "latch is busy",
		"Too many people are signing in at this moment. Wait a few seconds and try again.")
}

// busyRetryAfter is the Retry-After of a busy answer, in seconds: a few
// times the queue's wait, so a crowd of retries spreads out.
const busyRetryAfter = "5"

// accountByEmail returns the account with this email, or nil when there is
// none.
func (h *Handler) accountByEmail(ctx context.Context, email string) (*Account, error) {
	acct, err := h.Accounts.ByEmail(ctx, email)
	if errors.Is(err, ErrNoAccount) {
		return nil, nil
	}
	return acct, err
}

// passwordMatches reports whether password is acct's password, computing
// with w. No account (nil) and no password still cost one argon2id
// computation.
func (h *Handler) passwordMatches(ctx context.Context, w *Worker, acct *Account, password string) (bool, error) {
	if acct == nil {
		// Only the time it takes matters; the dummy hash is a valid one
		// (Routes made it), so there is no result or error to read.
		_, _ = w.Verify(h.dummyHash, password)
		return false, nil
	}
	hash, err := h.Accounts.PasswordHash(ctx, acct.ID)
	if err != nil {
		return false, err
	}
	if hash == "" {
		_, _ = w.Verify(h.dummyHash, password) // only its time matters, as above
		return false, nil
	}
	return w.Verify(hash, password)
}

// signIn gives the browser a fresh session secret: a re-authentication of the
// same account keeps its device session (and sid) with a new secret; a
// different account replaces the old session. Either way a cookie from before
// the sign-in is worthless after it (no session fixation).
//
// The sign-in is one transaction: also (nil, or what else the sign-in does,
// such as spending a recovery key), the device session, its activity
// record and its alert commit together or not at all. ctx is detached from
// the request: the sign-in is decided. The cookie is set once it commits.
func (h *Handler) signIn(ctx context.Context, w http.ResponseWriter, r *http.Request, acct *Account, amr []string, acr string,
	ev sessions.Event, also func(t *sessions.Tx) error) (*sessions.Device, error) {
	old, err := h.deviceWith(ctx, r)
	if err != nil {
		return nil, err
	}
	var d *sessions.Device
	var secret string
	err = h.Sessions.Transact(ctx, func(t *sessions.Tx) error {
		if also != nil {
			if err := also(t); err != nil {
				return err
			}
		}
		var err error
		d = nil
		if old != nil && old.AccountID == acct.ID && !old.Restricted() {
			t.Forget(old.ID)
			d, secret, err = h.Sessions.ReauthenticateTx(ctx, t, old.ID, amr, acr)
			if err != nil && !errors.Is(err, sessions.ErrNotFound) {
				return err
			}
		} else if old != nil {
			t.Forget(old.ID)
			if err := h.Sessions.EndTx(ctx, t, old.ID, sessions.ReasonReplaced); err != nil && !errors.Is(err, sessions.ErrNotFound) {
				return err
			}
		}
		if d == nil {
			trusted, _ := ev.Detail["trusted_device"].(string)
			d, secret, err = h.Sessions.CreateTx(ctx, t, sessions.NewDevice{
				AccountID: acct.ID, Mode: acct.SecurityMode, AMR: amr, ACR: acr, IP: ev.IP, UserAgent: ev.UserAgent,
				TrustedDeviceID: trusted})
			if err != nil {
				return err
			}
		}
		kind, err := h.deviceKind(ctx, t, w, r, acct.ID)
		if err != nil {
			return err
		}
		ev.AccountID, ev.At, ev.Kind, ev.DeviceSessionID = acct.ID, h.Now(), kind, d.ID
		if err := sessions.Record(ctx, t, ev); err != nil {
			return err
		}
		if kind == sessions.EventNewDevice || acct.Advanced() {
			method, _ := ev.Detail["method"].(string)
			return h.alert(ctx, t, acct, alertSignIn(h, r, acct, kind == sessions.EventNewDevice, sessions.Method(method).Title()))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.SetSessionCookie(w, secret, d)
	return d, nil
}

// SetSessionCookie gives the browser the device session's cookie for as
// long as the session can live (its absolute lifetime: 30 days, or 12
// hours in advanced mode). A cookie that died with the browser left a
// session on the server that nobody could use, listed as live for weeks.
func (h *Handler) SetSessionCookie(w http.ResponseWriter, secret string, d *sessions.Device) {
	h.Cookies.Set(w, web.CookieSession, secret, max(d.AbsoluteExpiresAt.Sub(h.Now()), time.Second))
}

// deviceCookieLifetime keeps the device cookie that tells a known browser
// from a new one.
const deviceCookieLifetime = 400 * 24 * time.Hour

// deviceKind says whether this sign-in comes from a browser the account has
// used before (EventSignIn) or a new one (EventNewDevice), by a long-lived
// random device cookie whose hash the account remembers (inside q, the
// sign-in's transaction).
func (h *Handler) deviceKind(ctx context.Context, q pg.Querier, w http.ResponseWriter, r *http.Request, accountID string) (sessions.EventKind, error) {
	id, ok := h.Cookies.Read(r, web.CookieDevice)
	if !ok || len(id) < 32 {
		id, _ = sessions.NewSecret() // a random id; the hash is for session secrets
		h.Cookies.Set(w, web.CookieDevice, id, deviceCookieLifetime)
	}
	isNew, err := h.Sessions.SeenDevice(ctx, q, accountID, id)
	if err != nil {
		return "", err
	}
	if isNew {
		return sessions.EventNewDevice, nil
	}
	return sessions.EventSignIn, nil
}

// logoutPage shows the end_session confirmation, or a sign-out button.
func (h *Handler) logoutPage(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	d, ok := h.device(w, r)
	if !ok {
		return
	}
	p := templates.LogoutConfirmPage{Base: h.base(w, r, "Sign out", d), Request: r.URL.Query().Get("request")}
	h.Pages.Render(w, http.StatusOK, templates.LogoutConfirm.With(p))
}

// logout ends this browser's device session. With a request value from the
// end_session confirmation page it then continues to the app's registered
// post-logout address.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	if err := h.CSRF.Check(r); err != nil {
		h.errorPage(w, r, http.StatusForbidden, "This form has expired", "Reload the page and try again.")
		return
	}
	to := "/logged-out"
	if v := r.PostFormValue("request"); v != "" {
		u, err := h.Logouts.LogoutRedirect(v)
		if err != nil {
			h.errorPage(w, r, http.StatusBadRequest, "This sign-out link is not valid",
				"Go back to the app and sign out again.")
			return
		}
		to = u
	}
	// Signing out keeps the cookie until the session has really ended: a
	// browser told "signed out" while its session lives on would be a lie.
	d, ok := h.device(w, r)
	if !ok {
		return
	}
	if d != nil {
		ctx := context.WithoutCancel(r.Context())
		if err := h.Sessions.End(ctx, d.ID, sessions.ReasonSignedOut); err != nil && !errors.Is(err, sessions.ErrNotFound) {
			h.fail(w, r, err)
			return
		}
	}
	h.Cookies.Clear(w, web.CookieSession)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (h *Handler) loggedOut(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	h.Pages.Render(w, http.StatusOK, templates.LoggedOut.With(templates.LoggedOutPage{Base: h.base(w, r, "Signed out", nil)}))
}

// LoginURL is the sign-in page for an authorization request.
func LoginURL(authRequestID string) string {
	return "/login?authRequestID=" + url.QueryEscape(authRequestID)
}
