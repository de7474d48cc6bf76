package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// fresh reports whether the session's last authentication is recent enough
// for a sensitive change. A recovery session is: it was just authenticated
// with a recovery key, and it dies within 15 minutes anyway.
func (h *Handler) fresh(ctx context.Context, d *sessions.Device, acct *authn.Account) bool {
	if d.Restricted() {
		return true
	}
	window, ok := h.StepUp[acct.SecurityMode]
	if !ok {
		// A mode without a window (the wiring forgot one) is never fresh:
		// every change asks for a step-up rather than guess a window.
		return false
	}
	// Advanced accounts confirm changes with a passkey only.
	if acct.Advanced() && d.ACR != authn.ACRPhishingResistant {
		return false
	}
	// An account with an authenticator app confirms with it (or a passkey):
	// a password alone, as on a trusted device, is not enough.
	if !slices.Contains(d.AMR, "mfa") {
		if on, err := h.TOTP.Enabled(ctx, acct.ID); err != nil || on {
			return false
		}
	}
	return h.Now().Sub(d.AuthTime) <= window
}

// change is a sensitive change, applied at once when the session is fresh,
// or kept until the person has signed in again.
type change struct {
	Action string            `json:"action"`
	Params map[string]string `json:"params"`
	// pending is the id of the stored change this is, which applying it
	// deletes in the same transaction; "" for a change made at once.
	pending string
}

// sensitive applies c if the session is fresh; otherwise it asks for a
// step-up first.
func (h *Handler) sensitive(w http.ResponseWriter, r *http.Request, d *sessions.Device, acct *authn.Account, c change) {
	if h.fresh(r.Context(), d, acct) {
		// The change is decided: from here a hang-up changes nothing.
		h.apply(context.WithoutCancel(r.Context()), w, r, d, acct, c)
		return
	}
	h.askStepUp(w, r, d, c)
}

// askStepUp stores c and sends the person to re-authenticate, after which
// c is applied.
func (h *Handler) askStepUp(w http.ResponseWriter, r *http.Request, d *sessions.Device, c change) {
	id, err := h.Changes.Keep(r.Context(), d.ID, c.Action, c.Params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/reauth?change="+url.QueryEscape(id), http.StatusSeeOther)
}

// pendingChange returns a stored change of this device session that has
// not expired, or nil. Applying it deletes it (takePending), in the
// transaction of the change.
func (h *Handler) pendingChange(ctx context.Context, d *sessions.Device, id string) (*change, error) {
	action, params, ok, err := h.Changes.Get(ctx, d.ID, id)
	if !ok || err != nil {
		return nil, err
	}
	return &change{Action: action, Params: params, pending: id}, nil
}

// takePending deletes the stored change c is, through q: of two
// concurrent step-ups that found it, one applies it and the other finds
// errChangeGone. A change made at once has nothing to delete.
func (h *Handler) takePending(ctx context.Context, q pg.Querier, d *sessions.Device, c change) error {
	if c.pending == "" {
		return nil
	}
	return h.Changes.Take(ctx, q, d.ID, c.pending)
}

// describeChange returns the action of a stored change and the sentence
// that says what waits for the step-up.
func (h *Handler) describeChange(ctx context.Context, d *sessions.Device, id string) (string, string) {
	if !sessions.IsID(id) {
		return "", changeSentence("")
	}
	action, err := h.Changes.Action(ctx, d.ID, id)
	if err != nil {
		return "", changeSentence("")
	}
	return action, changeSentence(action)
}

// changeSentence says, under the step-up page's heading ("Confirm it's
// you"), what waits for it and why, without saying the heading again.
func changeSentence(action string) string {
	switch action {
	case "passkey_rename":
		return "To rename a passkey, latch needs a recent sign-in."
	case "passkey_remove":
		return "To remove a passkey, latch needs a recent sign-in."
	case "passkey_reinstate":
		return "To keep a suspended passkey, sign in again with another way, not that passkey."
	case "totp_begin":
		return "To set up an authenticator app, latch needs a recent sign-in."
	case "totp_remove":
		return "To remove your authenticator app, latch needs a recent sign-in."
	case "recovery_generate":
		return "To generate new recovery keys, latch needs a recent sign-in."
	case "password_set":
		return "To change your password, latch needs a recent sign-in."
	case "password_remove":
		return "To remove your password, latch needs a recent sign-in."
	case "advanced_leave":
		return "To turn off advanced security, latch needs a recent sign-in with a passkey."
	}
	return "This change needs a recent sign-in."
}

func (h *Handler) stepUpRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /account/reauth", h.reauthPage)
	mux.HandleFunc("POST /account/reauth", h.reauth)
	mux.HandleFunc("POST /account/reauth/passkey/begin", h.reauthPasskeyBegin)
	mux.HandleFunc("POST /account/reauth/passkey/finish", h.reauthPasskeyFinish)
}

// safeNext keeps a post-step-up redirect on latch's own account pages, or
// the device approval page (which asks advanced accounts for a passkey
// step-up before a device is signed in).
func safeNext(next string) string {
	if strings.HasPrefix(next, "/account") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	if authn.ReturnPath(next) {
		return next
	}
	return "/account/security"
}

func (h *Handler) renderReauth(w http.ResponseWriter, r *http.Request, status int, d *sessions.Device, acct *authn.Account, changeID, next, msg string) {
	web.NoStore(w)
	ctx := r.Context()
	// Which ways to confirm the page offers. Should latch not know, the
	// page still shows the form: the step-up checks everything again.
	hasTOTP, err := h.TOTP.Enabled(ctx, acct.ID)
	if err != nil {
		h.Logger.WarnContext(ctx, "step-up page: authenticator app", "err", err)
	}
	// A suspended passkey cannot confirm anything, so it does not count.
	n, err := h.Passkeys.Usable(ctx, acct.ID)
	if err != nil {
		h.Logger.WarnContext(ctx, "step-up page: passkeys", "err", err)
	}
	action, description := h.describeChange(ctx, d, changeID)
	// Keeping a suspended passkey takes a second factor: a password alone
	// would lead back here.
	passkeyOnly := acct.Advanced() || (action == "passkey_reinstate" && !hasTOTP)
	p := templates.ReauthPage{Base: h.baseFor(w, r, "Confirm it's you", acct), Change: changeID, Next: safeNext(next),
		HasPassword: acct.HasPassword, HasTOTP: hasTOTP, HasPasskey: n > 0, PasskeyOnly: passkeyOnly,
		Error: msg, Description: description}
	h.Pages.Render(w, status, templates.Reauth.With(p))
}

// formSignedIn checks a form POST of a signed-in page: CSRF first, then the
// session and its account.
func (h *Handler) formSignedIn(w http.ResponseWriter, r *http.Request) (*sessions.Device, *authn.Account, bool) {
	web.NoStore(w)
	if err := h.CSRF.Check(r); err != nil {
		h.errorPage(w, r, http.StatusForbidden, "This form has expired", "Reload the page and try again.")
		return nil, nil, false
	}
	return h.signedIn(w, r)
}

// jsonSignedIn reads a script's JSON call (CSRF in the header) of a
// signed-in page and returns the session and its account.
func (h *Handler) jsonSignedIn(w http.ResponseWriter, r *http.Request, in any) (*sessions.Device, *authn.Account, bool) {
	if !h.readJSON(w, r, in) {
		return nil, nil, false
	}
	d, ok := h.jsonDevice(w, r)
	if !ok {
		return nil, nil, false
	}
	if d == nil {
		jsonError(w, http.StatusUnauthorized, "You are signed out. Sign in again.")
		return nil, nil, false
	}
	acct, err := h.Accounts.ByID(r.Context(), d.AccountID)
	if err != nil {
		h.failMaybeJSON(w, r, err, true)
		return nil, nil, false
	}
	return d, acct, true
}

// signedIn returns the browser's session and account, or sends it to sign in.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) (*sessions.Device, *authn.Account, bool) {
	d, ok := h.device(w, r)
	if !ok {
		return nil, nil, false
	}
	if d == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil, nil, false
	}
	acct, err := h.Accounts.ByID(r.Context(), d.AccountID)
	if err != nil {
		h.fail(w, r, err)
		return nil, nil, false
	}
	return d, acct, true
}

func (h *Handler) reauthPage(w http.ResponseWriter, r *http.Request) {
	d, acct, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	h.renderReauth(w, r, http.StatusOK, d, acct, r.URL.Query().Get("change"), r.URL.Query().Get("next"), "")
}

// reauth is the step-up with a password, plus the authenticator app code
// when the account has one. Failures count against the same throttles as
// sign-in.
func (h *Handler) reauth(w http.ResponseWriter, r *http.Request) {
	queue, cancel := context.WithTimeout(r.Context(), authn.HashQueueWait)
	defer cancel()
	d, acct, ok := h.formSignedIn(w, r)
	if !ok {
		return
	}
	changeID, next := r.PostFormValue("change"), r.PostFormValue("next")
	amr, err := h.Authn.CheckStepUp(queue, r, acct, r.PostFormValue("password"), r.PostFormValue("code"))
	var refused *authn.StepUpRefused
	switch {
	case errors.As(err, &refused):
		if refused.Wait > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int(refused.Wait.Seconds()+1)))
		}
		h.renderReauth(w, r, refused.Status, d, acct, changeID, next, refused.Message)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	// The person is who they say: from here a hang-up changes nothing.
	ctx := context.WithoutCancel(r.Context())
	if err := h.stepUp(ctx, w, r, d, amr, ""); err != nil {
		h.fail(w, r, err)
		return
	}
	h.afterStepUp(ctx, w, r, d, acct, changeID, next, false)
}

// stepUp records a fresh authentication in its own transaction and sets
// the new cookie once it commits.
func (h *Handler) stepUp(ctx context.Context, w http.ResponseWriter, r *http.Request, d *sessions.Device, amr []string, acr string) error {
	var secret string
	err := h.Sessions.Transact(ctx, func(t *sessions.Tx) error {
		var err error
		secret, err = h.steppedUp(ctx, t, r, d, amr, acr)
		return err
	})
	if err != nil {
		return err
	}
	h.Authn.SetSessionCookie(w, secret, d)
	return nil
}

// steppedUp records the fresh authentication inside t, with its activity
// record: a new auth time and a new cookie secret, which it returns for
// the caller to set once t commits.
func (h *Handler) steppedUp(ctx context.Context, t *sessions.Tx, r *http.Request, d *sessions.Device, amr []string, acr string) (string, error) {
	t.Forget(d.ID)
	_, secret, err := h.Sessions.ReauthenticateTx(ctx, t, d.ID, amr, acr)
	if err != nil {
		return "", err
	}
	d.AuthTime, d.AMR, d.ACR = h.Now(), amr, acr
	if err := h.recordTx(ctx, t, r, d.AccountID, sessions.EventStepUp, d.ID, map[string]any{"amr": amr}); err != nil {
		return "", err
	}
	return secret, nil
}

// afterStepUp applies the change that waited, or goes back where the person
// came from. ctx is detached from the request: the step-up is done.
func (h *Handler) afterStepUp(ctx context.Context, w http.ResponseWriter, r *http.Request, d *sessions.Device, acct *authn.Account, changeID, next string, asJSON bool) {
	c, err := h.pendingChange(ctx, d, changeID)
	if err != nil {
		h.failMaybeJSON(w, r, err, asJSON)
		return
	}
	if c == nil {
		to := safeNext(next)
		if asJSON {
			writeJSON(w, http.StatusOK, map[string]string{"redirect": to})
			return
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	if asJSON {
		rec := &redirectRecorder{header: http.Header{}}
		h.apply(ctx, rec, r, d, acct, *c)
		for _, ck := range rec.header.Values("Set-Cookie") {
			w.Header().Add("Set-Cookie", ck)
		}
		writeJSON(w, http.StatusOK, map[string]string{"redirect": rec.header.Get("Location")})
		return
	}
	h.apply(ctx, w, r, d, acct, *c)
}

// redirectRecorder captures the redirect an applied change answers with, so
// the passkey script can follow it.
type redirectRecorder struct {
	header http.Header
	code   int
}

func (rr *redirectRecorder) Header() http.Header         { return rr.header }
func (rr *redirectRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (rr *redirectRecorder) WriteHeader(code int)        { rr.code = code }

type reauthPasskeyRequest struct {
	Change     string          `json:"change"`
	Next       string          `json:"next"`
	Credential json.RawMessage `json:"credential"`
}

func (h *Handler) reauthPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	var in reauthPasskeyRequest
	if !h.readJSON(w, r, &in) {
		return
	}
	d, ok := h.jsonDevice(w, r)
	if !ok {
		return
	}
	if d == nil {
		jsonError(w, http.StatusUnauthorized, "You are signed out. Sign in again.")
		return
	}
	a, err := h.Passkeys.BeginStepUp(r.Context(), h.binding(w, r), d.AccountID)
	if errors.Is(err, authn.ErrPasskeyNotFound) {
		jsonError(w, http.StatusBadRequest, "Your account has no passkey yet.")
		return
	}
	if err != nil {
		h.failMaybeJSON(w, r, err, true)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (h *Handler) reauthPasskeyFinish(w http.ResponseWriter, r *http.Request) {
	var in reauthPasskeyRequest
	d, acct, ok := h.jsonSignedIn(w, r, &in)
	if !ok {
		return
	}
	var as *authn.Assertion
	no := h.Authn.Guard(r.Context(), r, authn.Attempt{Method: sessions.MethodPasskey, Secret: authn.SecretPasskey, Account: acct,
		Verify: func(ctx context.Context, _ *authn.Worker) error {
			var err error
			as, err = h.Passkeys.FinishStepUp(ctx, h.binding(w, r), d.AccountID, in.Credential, h.Authn.CloneRefused(r, d.ID))
			return authn.WrongPasskey(err)
		}})
	if no != nil {
		if no.Kind != authn.Wrong {
			h.failMaybeJSON(w, r, no.Err, true) // 503: not a refused passkey
			return
		}
		h.Logger.InfoContext(r.Context(), "passkey step-up refused", "err", no.Err)
		msg := "latch could not verify that passkey. Try again."
		if errors.Is(no.Err, authn.ErrPasskeyClone) || errors.Is(no.Err, authn.ErrPasskeySuspended) {
			msg = "That passkey is suspended because a copy of it may exist. Confirm with another way to sign in."
		}
		jsonError(w, http.StatusUnauthorized, msg)
		return
	}
	// The passkey is verified: from here a hang-up changes nothing.
	ctx := context.WithoutCancel(r.Context())
	if err := h.stepUp(ctx, w, r, d, as.AMR(), authn.ACRPhishingResistant); err != nil {
		h.failMaybeJSON(w, r, err, true)
		return
	}
	h.afterStepUp(ctx, w, r, d, acct, in.Change, in.Next, true)
}
