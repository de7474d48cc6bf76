package account

import (
	"context"
	"errors"
	"net/http"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/recovery"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// Advanced account security: passkey-only sign-in, short sessions, recovery
// keys as the only way back, and an alert for every sign-in. A person turns
// it on from the security page once every condition below holds.

// ErrNotReady refuses turning advanced security on before every condition
// holds.
var ErrNotReady = errors.New("complete every step first")

// advancedConditions works out the enrolment checklist.
func (h *Handler) advancedConditions(ctx context.Context, d *sessions.Device, acct *authn.Account) (templates.AdvancedView, error) {
	life := h.Sessions.Policy[sessions.ModeAdvanced]
	v := templates.AdvancedView{On: acct.Advanced(), SessionLimit: authn.Words(life.Absolute), IdleLimit: authn.Words(life.Idle),
		StepUpWindow: authn.Words(h.StepUp[sessions.ModeAdvanced])}
	if acct.AdvancedSince != nil {
		v.Since = *acct.AdvancedSince
	}
	if v.On {
		return v, nil
	}
	v.PasskeyStepUp = authn.PasskeyWithin(d, h.Now(), h.StepUp[sessions.ModeStandard])
	list, err := h.Passkeys.List(ctx, acct.ID)
	if err != nil {
		return v, err
	}
	// A suspended passkey signs nothing in, so it is not one of the two,
	// nor the synced one.
	usable := 0
	for _, pk := range list {
		if pk.Suspended() {
			v.SuspendedPasskey = true
			continue
		}
		usable++
		v.SyncedPasskey = v.SyncedPasskey || pk.BackupEligible
	}
	v.TwoPasskeys = usable >= 2
	current, err := h.Recovery.CurrentSet(ctx, acct.ID)
	if err != nil {
		return v, err
	}
	confirmed, err := h.Accounts.RecoveryConfirmedSet(ctx, acct.ID)
	if err != nil {
		return v, err
	}
	v.RecoverySaved = current != "" && confirmed == current
	v.RecoveryPending = current != "" && !v.RecoverySaved
	v.Ready = v.PasskeyStepUp && v.TwoPasskeys && v.SyncedPasskey && v.RecoverySaved
	return v, nil
}

// missingCondition names the first condition that is not met, as the error
// code whose sentence the page shows.
func missingCondition(v templates.AdvancedView) string {
	switch {
	case !v.PasskeyStepUp:
		return "advanced_need_stepup"
	case !v.TwoPasskeys:
		return "advanced_need_two"
	case !v.SyncedPasskey:
		return "advanced_need_synced"
	case !v.RecoverySaved:
		return "advanced_need_keys"
	}
	return "advanced_not_ready"
}

func (h *Handler) advancedRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /account/security/advanced/recovery", h.securityFormWith("recovery_generate", map[string]string{"for": "advanced"}))
	mux.HandleFunc("POST /account/security/advanced/confirm-key", h.advancedConfirmKey)
	mux.HandleFunc("POST /account/security/advanced/enroll", h.advancedEnroll)
	mux.HandleFunc("POST /account/security/advanced/leave", h.securityForm("advanced_leave"))
}

// advancedConfirmKey checks a typed-back recovery key without burning it,
// proving the new set was saved.
func (h *Handler) advancedConfirmKey(w http.ResponseWriter, r *http.Request) {
	d, acct, ok := h.formSignedIn(w, r)
	if !ok {
		return
	}
	if d.Restricted() {
		backTo(w, r, "error", "restricted")
		return
	}
	ctx := r.Context()
	var set string
	no := h.Authn.Guard(ctx, r, authn.Attempt{Method: sessions.MethodRecoveryKey, Secret: authn.SecretConfirmKey, Account: acct,
		Verify: func(ctx context.Context, _ *authn.Worker) error {
			var err error
			set, err = h.Recovery.Check(ctx, acct.ID, r.PostFormValue("recovery_key"))
			if errors.Is(err, recovery.ErrInvalidKey) {
				return authn.WrongSecret(err)
			}
			return err
		}})
	if no != nil {
		// Slowed down, locked, wrong, or not checked: the page says the
		// key was not confirmed.
		backTo(w, r, "error", "advanced_key")
		return
	}
	if err := h.Accounts.ConfirmRecoverySet(ctx, acct.ID, set); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/security?done=advanced_key#advanced", http.StatusSeeOther)
}

// advancedEnroll turns advanced security on, in one transaction: the
// password and the authenticator app are deleted, trusted devices are
// forgotten, every other device session ends (its apps get their
// back-channel logout), this session continues under advanced lifetimes,
// and the change is recorded and announced.
func (h *Handler) advancedEnroll(w http.ResponseWriter, r *http.Request) {
	d, acct, ok := h.formSignedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if acct.Advanced() {
		backTo(w, r, "done", "advanced_on")
		return
	}
	v, err := h.advancedConditions(ctx, d, acct)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if d.Restricted() || !v.Ready {
		backTo(w, r, "error", missingCondition(v))
		return
	}
	// Every condition holds: from here a hang-up changes nothing.
	ctx = context.WithoutCancel(r.Context())
	now := h.Now().UTC()
	life := h.Sessions.Policy[sessions.ModeAdvanced]
	err = h.Sessions.Transact(ctx, func(t *sessions.Tx) error {
		if err := h.Accounts.EnterAdvancedTx(ctx, t, acct.ID, now); err != nil {
			return err
		}
		if err := h.Sessions.ForgetTrustedDevices(ctx, t, acct.ID); err != nil {
			return err
		}
		ended, err := h.endOthersTx(ctx, t, acct.ID, d.ID, sessions.ReasonAdvanced)
		if err != nil {
			return err
		}
		t.Forget(d.ID)
		if err := h.Sessions.SetLifetime(ctx, t, d.ID, life, now, true); err != nil {
			return err
		}
		if err := sessions.Record(ctx, t, sessions.Event{AccountID: acct.ID, At: now, Kind: sessions.EventAdvancedOn, DeviceSessionID: d.ID,
			IP: h.ClientIP.Addr(r), UserAgent: r.UserAgent(), Detail: map[string]any{"sessions_ended": ended}}); err != nil {
			return err
		}
		return h.Authn.AlertAdvancedOn(ctx, t, acct, ended)
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	backTo(w, r, "done", "advanced_on")
}

// leaveAdvanced returns the account to standard security inside t:
// standard lifetimes for this session, a password may be set again; the
// change is recorded and announced.
func (h *Handler) leaveAdvanced(ctx context.Context, t *sessions.Tx, r *http.Request, d *sessions.Device, acct *authn.Account) error {
	now := h.Now().UTC()
	if err := h.Accounts.LeaveAdvancedTx(ctx, t, acct.ID); err != nil {
		return err
	}
	t.Forget(d.ID)
	if err := h.Sessions.SetLifetime(ctx, t, d.ID, h.Sessions.Policy[sessions.ModeStandard], now, false); err != nil {
		return err
	}
	if err := sessions.Record(ctx, t, sessions.Event{AccountID: acct.ID, At: now, Kind: sessions.EventAdvancedOff, DeviceSessionID: d.ID,
		IP: h.ClientIP.Addr(r), UserAgent: r.UserAgent()}); err != nil {
		return err
	}
	return h.Authn.AlertAdvancedOff(ctx, t, acct)
}
