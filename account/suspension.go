package account

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/sessions"
)

// A passkey whose signature counter goes backwards is suspended (see
// authn.Passkeys.refuse and authn.Handler.CloneRefused): it signs nothing
// in until its owner confirms here, on the security page, that it is
// theirs, with another method, or removes it.

// reinstate lifts a passkey's suspension: "It's mine, keep it" on the
// security page. The person must have confirmed it's them with another
// method after the suspension: an authentication after it cannot have come
// from the suspended passkey, which signs nothing in from then on, and it
// must be multi-factor (another passkey, or the password and a second
// factor), since whoever holds a copy of the passkey may be signed in
// already with it. A session that has not confirmed so is sent to step up,
// when the account has such a method; otherwise the page says what to add.
func (h *Handler) reinstate(ctx context.Context, w http.ResponseWriter, r *http.Request, d *sessions.Device, acct *authn.Account, c change) {
	id, err := base64.RawURLEncoding.DecodeString(c.Params["id"])
	if err != nil {
		if h.outside(ctx, w, r, d, c) {
			backTo(w, r, "error", "no_passkey")
		}
		return
	}
	pk, err := h.Passkeys.Get(ctx, acct.ID, id)
	if errors.Is(err, authn.ErrPasskeyNotFound) {
		if h.outside(ctx, w, r, d, c) {
			backTo(w, r, "error", "no_passkey")
		}
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !pk.Suspended() {
		if h.outside(ctx, w, r, d, c) {
			backTo(w, r, "done", "passkey_reinstated") // a second submit of one that worked
		}
		return
	}
	if !d.AuthTime.After(*pk.SuspendedAt) || !slices.Contains(d.AMR, "mfa") {
		can, err := h.canConfirmSuspended(ctx, acct)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !h.outside(ctx, w, r, d, c) {
			return
		}
		if !can {
			backTo(w, r, "error", "reinstate_other")
			return
		}
		h.askStepUp(w, r, d, c)
		return
	}
	// The suspension is lifted, recorded and announced in one transaction,
	// with the stored change it was.
	err = h.Sessions.Transact(ctx, func(t *sessions.Tx) error {
		if err := h.takePending(ctx, t, d, c); err != nil {
			return err
		}
		name, err := h.Passkeys.Reinstate(ctx, t, acct.ID, id, d.AuthTime)
		if err != nil {
			return err
		}
		if err := h.recordTx(ctx, t, r, acct.ID, sessions.EventPasskeyReinstated, d.ID, map[string]any{"name": name}); err != nil {
			return err
		}
		return h.Authn.AlertPasskeyReinstated(ctx, t, r, acct, name)
	})
	if errors.Is(err, errChangeGone) {
		http.Redirect(w, r, "/account/security", http.StatusSeeOther)
		return
	}
	if errors.Is(err, authn.ErrPasskeyNotFound) {
		backTo(w, r, "error", "no_passkey")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	backTo(w, r, "done", "passkey_reinstated")
}

// canConfirmSuspended reports whether the account has a method that may
// vouch for a suspended passkey: a passkey in good standing, or (outside
// advanced security) a password with an authenticator app.
func (h *Handler) canConfirmSuspended(ctx context.Context, acct *authn.Account) (bool, error) {
	n, err := h.Passkeys.Usable(ctx, acct.ID)
	if err != nil || n > 0 {
		return n > 0, err
	}
	if !acct.HasPassword || acct.Advanced() {
		return false, nil
	}
	return h.TOTP.Enabled(ctx, acct.ID)
}
