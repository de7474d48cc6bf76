package authn

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/recovery"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// RecoverySessionLifetime bounds a recovery session: 15 minutes to add a
// passkey or set a password.
const RecoverySessionLifetime = 15 * time.Minute

// secondFactorLifetime is how long a correct password waits for its second
// factor.
const secondFactorLifetime = 5 * time.Minute

func writeJSON(w http.ResponseWriter, status int, v any) {
	web.NoStore(w)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// v is latch's own map or struct, which always encodes; an error
	// writing is the client gone, and nothing is left to tell it.
	_ = json.NewEncoder(w).Encode(v)
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (h *Handler) failMaybeJSON(w http.ResponseWriter, r *http.Request, err error, asJSON bool) {
	if !asJSON {
		h.fail(w, r, err)
		return
	}
	if databaseAway(err) {
		h.unavailableJSON(w, r, err)
		return
	}
	h.Logger.ErrorContext(r.Context(), "sign-in", "err", err)
	h.Metrics.Errors.WithLabelValues("signin").Inc()
	jsonError(w, http.StatusInternalServerError, "latch could not sign you in just now. Please try again in a moment.")
}

// FailJSON is failMaybeJSON for a script's JSON call of package account's
// pages.
func (h *Handler) FailJSON(w http.ResponseWriter, r *http.Request, err error) {
	h.failMaybeJSON(w, r, err, true)
}

// readJSON decodes a small JSON body after the CSRF check every script call
// passes (the token travels in the X-CSRF-Token header).
func (h *Handler) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := h.CSRF.Check(r); err != nil {
		jsonError(w, http.StatusForbidden, "This page has expired. Reload it and try again.")
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil || json.Unmarshal(body, v) != nil {
		jsonError(w, http.StatusBadRequest, "latch could not read that request.")
		return false
	}
	return true
}

// binding returns the random value that ties WebAuthn challenges to this
// browser, setting its cookie on first use. A challenge begun in one browser
// cannot be finished in another.
func (h *Handler) binding(w http.ResponseWriter, r *http.Request) string {
	if v, ok := h.Cookies.Read(r, web.CookieWebAuthn); ok && len(v) >= 32 {
		return v
	}
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	h.Cookies.Set(w, web.CookieWebAuthn, v, 0)
	return v
}

// WebAuthnBinding is binding for package account's passkey ceremonies
// (adding a passkey, a passkey step-up).
func (h *Handler) WebAuthnBinding(w http.ResponseWriter, r *http.Request) string {
	return h.binding(w, r)
}

// event is a history line of this request, signed in (or tried) with m.
func (h *Handler) event(r *http.Request, m sessions.Method) sessions.Event {
	return sessions.Event{IP: h.ClientIP.Addr(r), UserAgent: r.UserAgent(), Detail: map[string]any{"method": string(m)}}
}

type passkeyLoginRequest struct {
	AuthRequest string          `json:"auth_request"`
	Conditional bool            `json:"conditional"`
	Credential  json.RawMessage `json:"credential"`
}

// passkeyLoginBegin starts "Sign in with a passkey" or passkey autofill.
func (h *Handler) passkeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	var in passkeyLoginRequest
	if !h.readJSON(w, r, &in) {
		return
	}
	a, err := h.Passkeys.BeginLogin(r.Context(), h.binding(w, r), in.Conditional)
	if err != nil {
		h.failMaybeJSON(w, r, err, true)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// passkeyLoginFinish verifies the assertion and signs the person in. A
// passkey sign-in is complete by itself: possession plus user verification.
func (h *Handler) passkeyLoginFinish(w http.ResponseWriter, r *http.Request) {
	var in passkeyLoginRequest
	if !h.readJSON(w, r, &in) {
		return
	}
	var req *AuthRequest
	if in.AuthRequest != "" {
		var err error
		if req, err = h.Requests.LoginRequest(r.Context(), in.AuthRequest); err != nil {
			if databaseAway(err) {
				h.unavailableJSON(w, r, err)
				return
			}
			jsonError(w, http.StatusBadRequest, "This sign-in link has expired. Go back to the app and start again.")
			return
		}
	}
	var as *Assertion
	no := h.Guard(r.Context(), r, Attempt{Method: sessions.MethodPasskey, Secret: SecretPasskey, SignIn: true,
		Verify: func(ctx context.Context, _ *Worker) error {
			var err error
			as, err = h.Passkeys.FinishLogin(ctx, h.binding(w, r), in.Credential, h.CloneRefused(r, ""))
			return WrongPasskey(err)
		}})
	if no != nil {
		if no.Kind != Wrong {
			// Not a refused passkey: latch could not look it up.
			h.failMaybeJSON(w, r, no.Err, true)
			return
		}
		h.Logger.InfoContext(r.Context(), "passkey sign-in refused", "err", no.Err)
		msg := "latch could not verify that passkey. Try again, or use another way to sign in."
		switch err := no.Err; {
		case errors.Is(err, ErrNoChallenge), errors.Is(err, ErrPasskeyClone), errors.Is(err, ErrPasskeySuspended), errors.Is(err, ErrUnknownPasskey):
			msg = capitalize(err.Error()) + "."
		}
		jsonError(w, http.StatusUnauthorized, msg)
		return
	}
	// The passkey is verified: from here a hang-up changes nothing.
	ctx := context.WithoutCancel(r.Context())
	acct, err := h.Accounts.ByID(ctx, as.AccountID)
	if err != nil {
		h.failMaybeJSON(w, r, err, true)
		return
	}
	d, err := h.signIn(ctx, w, r, acct, as.AMR(), ACRPhishingResistant, h.event(r, sessions.MethodPasskey), nil)
	if err != nil {
		h.failMaybeJSON(w, r, err, true)
		return
	}
	h.countSignIn(sessions.MethodPasskey, "success")
	h.finishSignIn(ctx, w, r, d, req, true)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// flowState is what a correct password leaves for the second factor.
type flowState struct {
	AccountID   string
	AuthRequest string
	At          time.Time
}

func (h *Handler) startSecondFactor(w http.ResponseWriter, r *http.Request, acct *Account, req *AuthRequest) {
	st := flowState{AccountID: acct.ID, At: h.Now()}
	if req != nil {
		st.AuthRequest = req.ID
	}
	v, err := h.Flow.Encode(h.Cookies.Name(web.CookieFlow), st)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Cookies.Set(w, web.CookieFlow, v, secondFactorLifetime)
	http.Redirect(w, r, "/login/verify", http.StatusSeeOther)
}

// flow returns the pending second-factor state, if fresh.
func (h *Handler) flow(r *http.Request) (*flowState, bool) {
	v, ok := h.Cookies.Read(r, web.CookieFlow)
	if !ok {
		return nil, false
	}
	var st flowState
	if err := h.Flow.Decode(h.Cookies.Name(web.CookieFlow), v, &st); err != nil {
		return nil, false
	}
	if h.Now().Sub(st.At) > secondFactorLifetime {
		return nil, false
	}
	return &st, true
}

func (h *Handler) renderSecondFactor(w http.ResponseWriter, r *http.Request, status int, st *flowState, useRecovery bool, msg string) {
	web.NoStore(w)
	p := templates.SecondFactorPage{Base: h.base(w, r, "Two-step verification", nil), UseRecovery: useRecovery, Error: msg}
	if acct, err := h.Accounts.ByID(r.Context(), st.AccountID); err == nil {
		p.Email = acct.Email
		p.CanTrust = !acct.Advanced()
	}
	if st.AuthRequest != "" {
		if req, err := h.Requests.LoginRequest(r.Context(), st.AuthRequest); err == nil {
			p.AppName = req.AppName
		}
	}
	h.Pages.Render(w, status, templates.SecondFactor.With(p))
}

func (h *Handler) secondFactorPage(w http.ResponseWriter, r *http.Request) {
	st, ok := h.flow(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	h.renderSecondFactor(w, r, http.StatusOK, st, r.URL.Query().Get("recovery") != "", "")
}

// secondFactor checks the authenticator app code or a recovery key after a
// correct password. Guessing is throttled per account like passwords.
func (h *Handler) secondFactor(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	if err := h.CSRF.Check(r); err != nil {
		h.errorPage(w, r, http.StatusForbidden, "This form has expired", "Reload the page and try again.")
		return
	}
	st, ok := h.flow(r)
	if !ok {
		h.errorPage(w, r, http.StatusBadRequest, "Your sign-in timed out", "Start again: sign in with your email and password.")
		return
	}
	key := r.PostFormValue("recovery_key")
	useRecovery := key != "" || r.PostForm.Has("recovery_key")
	ctx := r.Context()
	acct, err := h.Accounts.ByID(ctx, st.AccountID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if acct.Advanced() {
		// Turned advanced after this password was checked: passkeys only now.
		h.Cookies.Clear(w, web.CookieFlow)
		h.errorPage(w, r, http.StatusForbidden, "Sign in with a passkey", "This account now uses advanced security and signs in with a passkey only.")
		return
	}
	method := sessions.MethodPasswordTOTP
	if useRecovery {
		method = sessions.MethodPasswordRecoveryKey
	}
	ev := h.event(r, method)
	var req *AuthRequest
	var d *sessions.Device
	var trustSecret string
	// Guesses here got past the password: 100 failures lock password
	// sign-in on every device (SecretSecondFactor). Until then a browser
	// that signed in to the account before keeps its own budget.
	no := h.Guard(ctx, r, Attempt{Method: method, Secret: SecretSecondFactor, Account: acct, SignIn: true,
		Verify: func(ctx context.Context, _ *Worker) error {
			if !useRecovery {
				err := h.TOTP.Verify(ctx, acct.ID, r.PostFormValue("code"))
				if errors.Is(err, ErrBadCode) || errors.Is(err, ErrNoTOTP) {
					return WrongSecret(err)
				}
				if err != nil {
					return err
				}
			}
			if st.AuthRequest != "" {
				var err error
				if req, err = h.Requests.LoginRequest(ctx, st.AuthRequest); err != nil {
					return &requestFailed{err}
				}
			}
			// The code was right, or the recovery key decides inside the
			// sign-in's transaction: from here a hang-up changes nothing.
			ctx = context.WithoutCancel(ctx)
			trust := r.PostFormValue("trust_device") == "1" && !acct.Advanced()
			// A recovery key is a one-time password too (RFC 8176 "otp").
			var err error
			d, err = h.signIn(ctx, w, r, acct, []string{"pwd", "otp", "mfa"}, "", ev, func(t *sessions.Tx) error {
				if useRecovery {
					if err := h.Recovery.Use(ctx, t, acct.ID, key); err != nil {
						return err
					}
					if err := h.recordTx(ctx, t, r, acct.ID, sessions.EventRecoveryKeyUsed, "", map[string]any{"during": "second factor"}); err != nil {
						return err
					}
					a, err := alertRecoveryUsed(ctx, h, t, r, acct)
					if err != nil {
						return err
					}
					if err := h.alert(ctx, t, acct, a); err != nil {
						return err
					}
				}
				if trust {
					secret, id, err := h.Sessions.Trust(ctx, t, acct.ID)
					if err != nil {
						return err
					}
					trustSecret = secret
					ev.Detail["trusted_device"] = id
				}
				return nil
			})
			if errors.Is(err, recovery.ErrInvalidKey) {
				return WrongSecret(err)
			}
			return err
		}})
	var badRequest *requestFailed
	switch {
	case no == nil:
	case no.Kind == Locked:
		h.renderSecondFactor(w, r, no.Status(), st, useRecovery,
			"This account is locked after too many wrong codes. Contact your administrator to unlock it.")
		return
	case no.Kind == Throttled:
		no.SetRetryAfter(w)
		h.renderSecondFactor(w, r, no.Status(), st, useRecovery, "Too many wrong codes. Try again in "+roundWait(no.RetryAfter)+".")
		return
	case no.Kind == Wrong:
		msg := "That code is not right. Check your authenticator app and try again."
		if useRecovery {
			msg = "That recovery key is not valid. Each key works once."
		}
		h.renderSecondFactor(w, r, no.Status(), st, useRecovery, msg)
		return
	case errors.As(no.Err, &badRequest):
		h.requestError(w, r, badRequest.err)
		return
	default:
		h.fail(w, r, no.Err)
		return
	}
	// The person is signed in: from here a hang-up changes nothing.
	ctx = context.WithoutCancel(r.Context())
	h.Cookies.Clear(w, web.CookieFlow)
	if trustSecret != "" {
		h.Cookies.Set(w, web.CookieTrusted, trustSecret, h.Sessions.TrustLifetime())
	}
	h.countSignIn(method, "success")
	h.finishSignIn(ctx, w, r, d, req, false)
}

// requestFailed is a second factor that could not go on because the
// authorization request it continues could not be read: answered as such
// (Handler.requestError), not as a sign-in that failed.
type requestFailed struct{ err error }

func (e *requestFailed) Error() string { return "authn: authorization request: " + e.err.Error() }
func (e *requestFailed) Unwrap() error { return e.err }

func (h *Handler) recoverPage(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	h.Pages.Render(w, http.StatusOK, templates.Recover.With(templates.RecoverPage{Base: h.base(w, r, "Use a recovery key", nil),
		AuthRequestID: r.URL.Query().Get("auth_request")}))
}

// recover signs a passkey-only account that lost its passkeys in with its
// email and a recovery key, into a recovery session: 15 minutes, limited to
// the security page until a passkey or password is added. Accounts with a
// password use their recovery keys as the second factor instead, so a key
// alone never replaces a password. Every failure reads the same.
func (h *Handler) recover(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	if err := h.CSRF.Check(r); err != nil {
		h.errorPage(w, r, http.StatusForbidden, "This form has expired", "Reload the page and try again.")
		return
	}
	ctx := r.Context()
	email := r.PostFormValue("email")
	page := func(status int, msg string) {
		h.Pages.Render(w, status, templates.Recover.With(templates.RecoverPage{Base: h.base(w, r, "Use a recovery key", nil),
			AuthRequestID: r.PostFormValue("auth_request"), Email: email, Error: msg}))
	}
	if !PossibleEmail(email) {
		email = ""
		page(http.StatusBadRequest, "Enter your email address, like name@example.com.")
		return
	}
	acct, err := h.accountByEmail(ctx, email)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// A recovery key alone is not a second factor after a password:
	// guesses only slow down, never lock (SecretRecoveryKey).
	ev := h.event(r, sessions.MethodRecoveryKey)
	var d *sessions.Device
	var secret string
	no := h.Guard(ctx, r, Attempt{Method: sessions.MethodRecoveryKey, Secret: SecretRecoveryKey, Account: acct, Email: email,
		SignIn: true, Verify: func(ctx context.Context, _ *Worker) error {
			if acct == nil || acct.HasPassword {
				return WrongSecret(nil)
			}
			// The key decides inside the transaction that spends it: from
			// here a hang-up changes nothing. The key, the recovery
			// session, their records and the alert commit together or not
			// at all.
			ctx = context.WithoutCancel(ctx)
			old, err := h.deviceWith(ctx, r)
			if err != nil {
				return err
			}
			err = h.Sessions.Transact(ctx, func(t *sessions.Tx) error {
				if err := h.Recovery.Use(ctx, t, acct.ID, r.PostFormValue("recovery_key")); err != nil {
					return err
				}
				if old != nil {
					t.Forget(old.ID)
					if err := h.Sessions.EndTx(ctx, t, old.ID, sessions.ReasonReplaced); err != nil && !errors.Is(err, sessions.ErrNotFound) {
						return err
					}
				}
				var err error
				d, secret, err = h.Sessions.CreateTx(ctx, t, sessions.NewDevice{AccountID: acct.ID, Mode: acct.SecurityMode,
					AMR: []string{"otp"}, IP: ev.IP, UserAgent: ev.UserAgent, Restricted: RecoverySessionLifetime})
				if err != nil {
					return err
				}
				if err := h.recordTx(ctx, t, r, acct.ID, sessions.EventRecoveryKeyUsed, d.ID, map[string]any{"during": "recovery sign-in"}); err != nil {
					return err
				}
				a, err := alertRecoveryUsed(ctx, h, t, r, acct)
				if err != nil {
					return err
				}
				if err := h.alert(ctx, t, acct, a); err != nil {
					return err
				}
				if acct.Advanced() {
					// Under advanced security a recovery ends every other session: whoever
					// else is signed in may be why the person lost their passkeys.
					if _, err := h.endOthers(ctx, t, acct.ID, d.ID, sessions.ReasonAdvanced); err != nil {
						return err
					}
				}
				ev.AccountID, ev.At, ev.Kind, ev.DeviceSessionID = acct.ID, h.Now(), sessions.EventSignIn, d.ID
				return sessions.Record(ctx, t, ev)
			})
			if errors.Is(err, recovery.ErrInvalidKey) {
				return WrongSecret(err)
			}
			return err
		}})
	if no != nil {
		switch no.Kind {
		case Throttled:
			no.SetRetryAfter(w)
			page(no.Status(), "Too many failed attempts. Try again in "+roundWait(no.RetryAfter)+".")
		case Wrong:
			page(no.Status(), "That email and recovery key don't match an account that signs in with passkeys only.")
		default:
			h.fail(w, r, no.Err)
		}
		return
	}
	h.SetSessionCookie(w, secret, d)
	h.countSignIn(sessions.MethodRecoveryKey, "success")
	http.Redirect(w, r, "/account/security", http.StatusSeeOther)
}
