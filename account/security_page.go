package account

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

func (h *Handler) securityRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /account/security", h.securityPage)
	mux.HandleFunc("POST /account/security/passkeys/begin", h.passkeyAddBegin)
	mux.HandleFunc("POST /account/security/passkeys/finish", h.passkeyAddFinish)
	mux.HandleFunc("POST /account/security/passkeys/{id}/rename", h.securityForm("passkey_rename", "id", "name"))
	mux.HandleFunc("POST /account/security/passkeys/{id}/remove", h.securityForm("passkey_remove", "id"))
	mux.HandleFunc("POST /account/security/passkeys/{id}/reinstate", h.passkeyReinstate)
	mux.HandleFunc("POST /account/security/totp/begin", h.securityForm("totp_begin"))
	mux.HandleFunc("POST /account/security/totp/confirm", h.totpConfirm)
	mux.HandleFunc("POST /account/security/totp/remove", h.securityForm("totp_remove"))
	mux.HandleFunc("POST /account/security/recovery/generate", h.securityForm("recovery_generate"))
	mux.HandleFunc("POST /account/security/password", h.passwordSet)
	mux.HandleFunc("POST /account/security/password/remove", h.securityForm("password_remove", "sign_out_others"))
}

// reveal is what the security page shows once after a change: new recovery
// keys, or the secret of an authenticator app being set up. It travels in a
// sealed, HttpOnly cookie read (and cleared) by the next page view, so the
// change can answer with a redirect and a reload never shows it again.
type reveal struct {
	RecoveryKeys []string
	// ForAdvanced says the keys were generated to turn advanced security
	// on: the box that shows them leads on to typing one back there.
	ForAdvanced bool
	TOTPSecret  string
	TOTPURL     string
	TOTPError   string
}

func (h *Handler) setReveal(w http.ResponseWriter, v reveal) error {
	s, err := h.Reveal.Encode(h.Cookies.Name(web.CookieReveal), v)
	if err != nil {
		return err
	}
	h.Cookies.Set(w, web.CookieReveal, s, 10*time.Minute)
	return nil
}

// takeReveal reads what to show once. Recovery keys are gone after this
// view; an authenticator app setup stays until it is confirmed or expires,
// so a reload or a wrong code shows the same secret again.
func (h *Handler) takeReveal(w http.ResponseWriter, r *http.Request) *reveal {
	s, ok := h.Cookies.Read(r, web.CookieReveal)
	if !ok {
		return nil
	}
	var v reveal
	if err := h.Reveal.Decode(h.Cookies.Name(web.CookieReveal), s, &v); err != nil {
		h.Cookies.Clear(w, web.CookieReveal)
		return nil
	}
	if v.TOTPURL != "" {
		keep := reveal{TOTPSecret: v.TOTPSecret, TOTPURL: v.TOTPURL}
		if err := h.setReveal(w, keep); err != nil {
			h.Cookies.Clear(w, web.CookieReveal)
		}
	} else {
		h.Cookies.Clear(w, web.CookieReveal)
	}
	return &v
}

// qrDataURL renders an otpauth URL as a QR code image in a data URL (the
// Content-Security-Policy allows data: images and nothing external).
func qrDataURL(otpauth string) template.URL {
	key, err := otp.NewKeyFromURL(otpauth)
	if err != nil {
		return ""
	}
	img, err := key.Image(220, 220)
	if err != nil {
		return ""
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return ""
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
}

// flashes are the sentences a change reports, by the code in ?done=.
var flashes = map[string]string{
	"passkey_added":   "Passkey added.",
	"passkey_renamed": "Passkey renamed.",
	"passkey_removed": "Passkey removed.",
	"totp_on":         "Authenticator app turned on. You'll be asked for a code after your password.",
	"totp_removed":    "Authenticator app removed.",
	"recovery_new":    "New recovery keys generated. Your old keys no longer work.",
	"recovery_first":  "Recovery keys generated. Save them now: you won't see them again.",
	"password_set":    "Password saved.",
	"password_gone":   "Password removed. You sign in with passkeys now.",
	"confirmed":       "Thanks, that was you.",
	"advanced_on":     "Advanced security is on. Only passkeys sign in to your account now.",
	"advanced_off":    "Advanced security is off. You may set a password again.",
	"advanced_key":    "Recovery keys confirmed as saved.",
	"not_me":          "We ended that session everywhere. If you didn't sign in there, change your password and review your passkeys and recovery keys below.",

	// "It's mine, keep it" for a suspended passkey.
	"passkey_reinstated": "Thanks for confirming. That passkey signs you in again.",
}

// errorsByCode are the refusals a change reports, by the code in ?error=.
var errorsByCode = map[string]string{
	"last_credential":      "That is your only way to sign in. Add a passkey or set a password first.",
	"no_passkey":           "That passkey is gone already.",
	"restricted":           "You signed in with a recovery key: add a passkey or set a password first.",
	"name":                 "Give the passkey a name, in plain text.",
	"password_short":       "Your password needs at least 8 characters.",
	"password_match":       "The two passwords don't match.",
	"advanced":             "Under advanced security, passwords and authenticator apps are off.",
	"advanced_key":         "That isn't one of your current, unused recovery keys.",
	"advanced_not_ready":   "Complete every step first: a passkey confirmation, two passkeys with one synced, and saved recovery keys.",
	"advanced_need_stepup": "Confirm it's you with a passkey first (within the last few minutes).",
	"advanced_need_two":    "Add a second passkey first, so losing one device doesn't lock you out.",
	"advanced_need_synced": "One of your passkeys must be synced across your devices, like iCloud Keychain or Google Password Manager.",
	"advanced_need_keys":   "Generate a fresh set of recovery keys and type one back first, so we know you saved them.",
	"totp_exists":          "An authenticator app is already set up. Remove it first to set up another.",
	"reinstate_other":      "To keep a suspended passkey, confirm it's you with another passkey, or your password and authenticator app code. Add one of those first, or remove the passkey.",
}

func (h *Handler) securityPage(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	d, acct, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	p := templates.SecurityPage{Base: h.baseFor(w, r, "Security", acct), Name: acct.Name, Restricted: d.Restricted(),
		HasPassword: acct.HasPassword, Flash: flashes[r.URL.Query().Get("done")], Error: errorsByCode[r.URL.Query().Get("error")]}
	list, err := h.Passkeys.List(ctx, acct.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, pk := range list {
		p.Passkeys = append(p.Passkeys, templates.PasskeyView{ID: base64.RawURLEncoding.EncodeToString(pk.ID), Name: pk.Name,
			CreatedAt: pk.CreatedAt, LastUsedAt: pk.LastUsedAt, Synced: pk.BackupEligible, Authenticator: authn.AuthenticatorName(pk.AAGUID),
			Suspended: pk.Suspended()})
		p.UsablePasskey = p.UsablePasskey || !pk.Suspended()
	}
	// Only a passkey that can sign in lets the password go.
	p.CanRemovePassword = acct.HasPassword && p.UsablePasskey
	if p.TOTPEnabled, err = h.TOTP.Enabled(ctx, acct.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	st, err := h.Recovery.Status(ctx, acct.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Recovery = templates.RecoveryView{HasSet: st.HasSet, Total: st.Total, Remaining: st.Remaining, CreatedAt: st.CreatedAt}
	if p.Advanced, err = h.advancedConditions(ctx, d, acct); err != nil {
		h.fail(w, r, err)
		return
	}
	// The advanced section shows its own refusals, beside its checklist.
	if code := r.URL.Query().Get("error"); strings.HasPrefix(code, "advanced") {
		p.Advanced.Error, p.Error = p.Error, ""
	}
	if rv := h.takeReveal(w, r); rv != nil {
		if len(rv.RecoveryKeys) > 0 {
			p.NewRecoveryKeys, p.NewRecoveryForAdvanced = rv.RecoveryKeys, rv.ForAdvanced && !p.Advanced.On
			text := "latch recovery keys for " + acct.Email + "\nEach key works once. Keep them somewhere safe.\n\n" +
				strings.Join(rv.RecoveryKeys, "\n") + "\n"
			p.RecoveryDownload = template.URL("data:text/plain;base64," + base64.StdEncoding.EncodeToString([]byte(text)))
		}
		if rv.TOTPURL != "" && !p.TOTPEnabled {
			p.TOTPSetup = &templates.TOTPSetupView{QRDataURL: qrDataURL(rv.TOTPURL), Secret: rv.TOTPSecret, Error: rv.TOTPError}
		}
	}
	h.Pages.Render(w, http.StatusOK, templates.Security.With(p))
}

// securityForm handles a form POST that makes a sensitive change: CSRF, a
// signed-in session, the recovery-session limits, then the change itself,
// after a step-up when the last authentication is too old.
func (h *Handler) securityForm(action string, fields ...string) http.HandlerFunc {
	return h.securityFormWith(action, nil, fields...)
}

// securityFormWith is securityForm for a route that adds fixed params to
// the change (where the form was: the advanced section's recovery keys).
func (h *Handler) securityFormWith(action string, fixed map[string]string, fields ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, acct, ok := h.formSignedIn(w, r)
		if !ok {
			return
		}
		params := map[string]string{}
		for k, v := range fixed {
			params[k] = v
		}
		for _, f := range fields {
			if v := r.PathValue(f); v != "" {
				params[f] = v
			} else {
				params[f] = r.PostFormValue(f)
			}
		}
		h.sensitive(w, r, d, acct, change{Action: action, Params: params})
	}
}

func backTo(w http.ResponseWriter, r *http.Request, key, code string) {
	http.Redirect(w, r, "/account/security?"+key+"="+url.QueryEscape(code), http.StatusSeeOther)
}

// refusal is a change refused for a reason the security page explains,
// by the code in ?error=. Returned inside a transaction, it rolls it back.
type refusal string

func (r refusal) Error() string { return "authn: change refused: " + string(r) }

// apply makes a sensitive change whose step-up is satisfied and answers
// with a redirect to the security page. ctx is detached from the request:
// the change is decided. The change, its activity record, its alert and
// the sessions it ends commit in one transaction, together with the
// deletion of the stored change it was, if it waited for a step-up.
func (h *Handler) apply(ctx context.Context, w http.ResponseWriter, r *http.Request, d *sessions.Device, acct *authn.Account, c change) {
	outside := func() bool { return h.outside(ctx, w, r, d, c) }
	refuse := func(code string) {
		if outside() {
			backTo(w, r, "error", code)
		}
	}
	if d.Restricted() && c.Action != "password_set" {
		refuse("restricted")
		return
	}
	if acct.Advanced() && (c.Action == "password_set" || c.Action == "totp_begin") {
		refuse("advanced")
		return
	}
	switch c.Action {
	case "totp_begin":
		// Setting up changes nothing until the app is confirmed.
		if outside() {
			h.totpBegin(ctx, w, r, acct)
		}
		return
	case "passkey_reinstate":
		h.reinstate(ctx, w, r, d, acct, c) // decides, records and announces it itself
		return
	case "advanced_leave":
		if !acct.Advanced() {
			if outside() {
				backTo(w, r, "done", "advanced_off")
			}
			return
		}
		if d.ACR != authn.ACRPhishingResistant {
			if outside() {
				http.Redirect(w, r, "/account/reauth?next=/account/security%23advanced", http.StatusSeeOther)
			}
			return
		}
	case "passkey_rename", "passkey_remove", "totp_remove", "recovery_generate", "password_set", "password_remove":
	default:
		h.errorPage(w, r, http.StatusBadRequest, "Unknown change", "Go back to the security page and try again.")
		return
	}
	var done string
	var rv *reveal
	err := h.Sessions.Transact(ctx, func(t *sessions.Tx) error {
		if err := h.takePending(ctx, t, d, c); err != nil {
			return err
		}
		var err error
		done, rv, err = h.change(ctx, t, r, d, acct, c)
		return err
	})
	var refused refusal
	switch {
	case errors.As(err, &refused):
		backTo(w, r, "error", string(refused))
		return
	case errors.Is(err, errChangeGone):
		http.Redirect(w, r, "/account/security", http.StatusSeeOther)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	if rv != nil {
		if err := h.setReveal(w, *rv); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	backTo(w, r, "done", done)
}

// outside ends the stored change c is, if any, for a change that has no
// transaction of its own (a refusal, a setup that changes nothing yet, a
// further step-up), and reports whether to go on. A change applied
// meanwhile leads back to the security page.
func (h *Handler) outside(ctx context.Context, w http.ResponseWriter, r *http.Request, d *sessions.Device, c change) bool {
	err := h.takePending(ctx, h.Changes.DB, d, c)
	if errors.Is(err, errChangeGone) {
		http.Redirect(w, r, "/account/security", http.StatusSeeOther)
		return false
	}
	if err != nil {
		h.fail(w, r, err)
		return false
	}
	return true
}

// change makes c inside t with its activity record, its alert and the
// sessions it ends, and returns the code of its flash and what the page
// must show once.
func (h *Handler) change(ctx context.Context, t *sessions.Tx, r *http.Request, d *sessions.Device, acct *authn.Account, c change) (string, *reveal, error) {
	detail := map[string]any{}
	var done string             // the flash's code
	var kind sessions.EventKind // the history's
	var rv *reveal
	switch c.Action {
	case "passkey_rename":
		id, err := base64.RawURLEncoding.DecodeString(c.Params["id"])
		if err != nil {
			return "", nil, refusal("no_passkey")
		}
		switch err := h.Passkeys.Rename(ctx, t, acct.ID, id, c.Params["name"]); {
		case errors.Is(err, authn.ErrPasskeyName):
			return "", nil, refusal("name")
		case errors.Is(err, authn.ErrPasskeyNotFound):
			return "", nil, refusal("no_passkey")
		case err != nil:
			return "", nil, err
		}
		// The history names the passkey as stored: at most 64 characters.
		detail["name"], done, kind = truncate(strings.TrimSpace(c.Params["name"]), 64), "passkey_renamed", sessions.EventPasskeyRenamed
	case "passkey_remove":
		id, err := base64.RawURLEncoding.DecodeString(c.Params["id"])
		if err != nil {
			return "", nil, refusal("no_passkey")
		}
		name, err := h.Passkeys.RemoveTx(ctx, t, acct.ID, id)
		switch {
		case errors.Is(err, authn.ErrLastCredential):
			return "", nil, refusal("last_credential")
		case errors.Is(err, authn.ErrPasskeyNotFound):
			return "", nil, refusal("no_passkey")
		case err != nil:
			return "", nil, err
		}
		detail["name"], done, kind = name, "passkey_removed", sessions.EventPasskeyRemoved
		if err := h.Authn.AlertPasskey(ctx, t, r, acct, name, false); err != nil {
			return "", nil, err
		}
	case "totp_remove":
		if err := h.TOTP.Remove(ctx, t, acct.ID); err != nil {
			return "", nil, err
		}
		done, kind = "totp_removed", sessions.EventTOTPRemoved
	case "recovery_generate":
		// A first set replaces nothing, and must not say so.
		before, err := h.Recovery.StatusTx(ctx, t, acct.ID)
		if err != nil {
			return "", nil, err
		}
		keys, err := h.Recovery.GenerateTx(ctx, t, acct.ID)
		if err != nil {
			return "", nil, err
		}
		rv, done, kind = &reveal{RecoveryKeys: keys, ForAdvanced: c.Params["for"] == "advanced"}, "recovery_new", sessions.EventRecoveryGenerated
		if !before.HasSet {
			done = "recovery_first"
		}
	case "password_set":
		if err := h.Accounts.SetPasswordHash(ctx, t, acct.ID, c.Params["hash"]); err != nil {
			return "", nil, err
		}
		if d.Restricted() {
			t.Forget(d.ID)
			if err := h.Sessions.Unrestrict(ctx, t, d.ID); err != nil {
				return "", nil, err
			}
		}
		done, kind = "password_set", sessions.EventPasswordSet
	case "password_remove":
		if err := h.Accounts.RemovePassword(ctx, t, acct.ID); errors.Is(err, authn.ErrLastCredential) {
			return "", nil, refusal("last_credential")
		} else if err != nil {
			return "", nil, err
		}
		done, kind = "password_gone", sessions.EventPasswordRemoved
	case "advanced_leave":
		// It records and announces itself.
		return "advanced_off", nil, h.leaveAdvanced(ctx, t, r, d, acct)
	default:
		return "", nil, fmt.Errorf("account: unknown change %q", c.Action)
	}
	if (c.Action == "password_set" || c.Action == "password_remove") && c.Params["sign_out_others"] == "1" {
		// Whoever knew the old password may be signed in elsewhere.
		n, err := h.endOthersTx(ctx, t, acct.ID, d.ID, sessions.ReasonPassword)
		if err != nil {
			return "", nil, err
		}
		detail["sessions_ended"] = n
	}
	if err := h.recordTx(ctx, t, r, acct.ID, kind, d.ID, detail); err != nil {
		return "", nil, err
	}
	return done, rv, nil
}

// totpBegin starts setting up an authenticator app and shows its secret.
func (h *Handler) totpBegin(ctx context.Context, w http.ResponseWriter, r *http.Request, acct *authn.Account) {
	en, err := h.TOTP.Begin(ctx, acct.ID, acct.Email)
	if errors.Is(err, authn.ErrTOTPExists) {
		backTo(w, r, "error", "totp_exists")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.setReveal(w, reveal{TOTPSecret: en.Secret, TOTPURL: en.URL}); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/security#totp", http.StatusSeeOther)
}

// passkeyReinstate is "It's mine, keep it" for a suspended passkey. An
// account with no other method to confirm it with hears what to add first,
// rather than being sent to a step-up it cannot pass.
func (h *Handler) passkeyReinstate(w http.ResponseWriter, r *http.Request) {
	d, acct, ok := h.formSignedIn(w, r)
	if !ok {
		return
	}
	can, err := h.canConfirmSuspended(r.Context(), acct)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !can {
		backTo(w, r, "error", "reinstate_other")
		return
	}
	h.sensitive(w, r, d, acct, change{Action: "passkey_reinstate", Params: map[string]string{"id": r.PathValue("id")}})
}

// passwordSet hashes the new password before anything else, so a change
// waiting for its step-up never stores a password in clear.
func (h *Handler) passwordSet(w http.ResponseWriter, r *http.Request) {
	d, acct, ok := h.formSignedIn(w, r)
	if !ok {
		return
	}
	pw := r.PostFormValue("new_password")
	if pw != r.PostFormValue("confirm_password") {
		backTo(w, r, "error", "password_match")
		return
	}
	hash, err := h.Accounts.Hasher.Hash(r.Context(), pw)
	if errors.Is(err, authn.ErrWeakPassword) {
		backTo(w, r, "error", "password_short")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.sensitive(w, r, d, acct, change{Action: "password_set", Params: map[string]string{"hash": hash,
		"sign_out_others": r.PostFormValue("sign_out_others")}})
}

// totpConfirm turns the authenticator app on once a code from it matches.
// Setting up needed a step-up (totp_begin); confirming proves the app works.
func (h *Handler) totpConfirm(w http.ResponseWriter, r *http.Request) {
	d, acct, ok := h.formSignedIn(w, r)
	if !ok {
		return
	}
	if d.Restricted() {
		backTo(w, r, "error", "restricted")
		return
	}
	// The code decides inside the transaction that turns the app on: from
	// here a hang-up changes nothing.
	ctx := context.WithoutCancel(r.Context())
	var secret string
	err := h.Sessions.Transact(ctx, func(t *sessions.Tx) error {
		if err := h.TOTP.ConfirmTx(ctx, t, acct.ID, r.PostFormValue("code")); err != nil {
			return err
		}
		if err := h.recordTx(ctx, t, r, acct.ID, sessions.EventTOTPAdded, d.ID, nil); err != nil {
			return err
		}
		// The code that just confirmed the app is a second factor this
		// session has now shown, so it counts for the step-up of what comes
		// next.
		var err error
		secret, err = h.steppedUp(ctx, t, r, d, []string{"pwd", "otp", "mfa"}, d.ACR)
		return err
	})
	if errors.Is(err, authn.ErrBadCode) || errors.Is(err, authn.ErrNoTOTP) {
		// Show the same setup again, with the error.
		if s, ok := h.Cookies.Read(r, web.CookieReveal); ok {
			var v reveal
			if h.Reveal.Decode(h.Cookies.Name(web.CookieReveal), s, &v) == nil && v.TOTPURL != "" {
				v.TOTPError = "That code is not right. Enter the current code from your app."
				if err := h.setReveal(w, v); err != nil {
					// The page shows the setup again without the sentence.
					h.Logger.ErrorContext(r.Context(), "seal the authenticator app's setup", "err", err)
				}
			}
		}
		http.Redirect(w, r, "/account/security#totp", http.StatusSeeOther)
		return
	}
	h.Cookies.Clear(w, web.CookieReveal)
	if errors.Is(err, authn.ErrTOTPExists) {
		backTo(w, r, "done", "totp_on") // a second submit of a confirmation that worked
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Authn.SetSessionCookie(w, secret, d)
	backTo(w, r, "done", "totp_on")
}

type passkeyAddRequest struct {
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

// passkeyAddBegin starts adding a passkey; a stale session is sent to
// re-authenticate first.
func (h *Handler) passkeyAddBegin(w http.ResponseWriter, r *http.Request) {
	var in passkeyAddRequest
	d, acct, ok := h.jsonSignedIn(w, r, &in)
	if !ok {
		return
	}
	if !h.fresh(r.Context(), d, acct) {
		writeJSON(w, http.StatusForbidden, map[string]string{"reauth": "/account/reauth?next=/account/security"})
		return
	}
	c, err := h.Passkeys.BeginRegistration(r.Context(), h.binding(w, r), acct.ID)
	if err != nil {
		h.failMaybeJSON(w, r, err, true)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (h *Handler) passkeyAddFinish(w http.ResponseWriter, r *http.Request) {
	var in passkeyAddRequest
	d, acct, ok := h.jsonSignedIn(w, r, &in)
	if !ok {
		return
	}
	if !h.fresh(r.Context(), d, acct) {
		writeJSON(w, http.StatusForbidden, map[string]string{"reauth": "/account/reauth?next=/account/security"})
		return
	}
	pk, err := h.Passkeys.VerifyRegistration(r.Context(), h.binding(w, r), acct.ID, in.Name, in.Credential)
	if err != nil {
		h.Logger.InfoContext(r.Context(), "passkey registration refused", "err", err)
		msg := "latch could not add that passkey. Try again."
		if errors.Is(err, authn.ErrNoChallenge) || errors.Is(err, authn.ErrPasskeyName) {
			msg = capitalize(err.Error()) + "."
		}
		if errors.Is(err, authn.ErrNoUserVerification) {
			msg = "That authenticator can't verify it's you (no PIN or biometrics), so latch can't use it as a passkey."
		}
		jsonError(w, http.StatusBadRequest, msg)
		return
	}
	// The passkey is verified: from here a hang-up changes nothing. It is
	// stored, recorded and announced in one transaction.
	ctx := context.WithoutCancel(r.Context())
	err = h.Sessions.Transact(ctx, func(t *sessions.Tx) error {
		if err := h.Passkeys.Add(ctx, t, pk); err != nil {
			return err
		}
		if err := h.recordTx(ctx, t, r, acct.ID, sessions.EventPasskeyAdded, d.ID, map[string]any{"name": pk.Name, "synced": pk.BackupEligible}); err != nil {
			return err
		}
		if err := h.Authn.AlertPasskey(ctx, t, r, acct, pk.Name, true); err != nil {
			return err
		}
		if d.Restricted() {
			t.Forget(d.ID)
			return h.Sessions.Unrestrict(ctx, t, d.ID)
		}
		return nil
	})
	if err != nil {
		h.failMaybeJSON(w, r, err, true)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": "/account/security?done=passkey_added"})
}
