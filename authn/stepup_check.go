package authn

import (
	"context"
	"errors"
	"net/http"
	"time"

	"latch/sessions"
)

// StepUpRefused is a step-up whose secret was refused, or that the
// throttle slowed down or locked: the status and sentence of the page that
// says so, and for a slowed-down attempt how long to wait.
type StepUpRefused struct {
	Status  int
	Message string
	Wait    time.Duration // zero when waiting would not help
}

func (e *StepUpRefused) Error() string { return "authn: step-up refused: " + e.Message }

// CheckStepUp verifies a step-up of acct with its password, plus the
// authenticator app code when the account has one, and returns the amr of
// that authentication. The attempt counts against the same throttles and
// budgets as a sign-in from this browser. queue bounds the wait for a
// hashing worker (HashQueueWait after the request arrived). A
// *StepUpRefused says why the secret did not pass; any other error means
// latch could not check (its database did not answer, or ErrBusy).
func (h *Handler) CheckStepUp(queue context.Context, r *http.Request, acct *Account, password, code string) ([]string, error) {
	ctx := r.Context()
	if acct.Advanced() {
		return nil, &StepUpRefused{Status: http.StatusForbidden, Message: "This account confirms changes with a passkey only."}
	}
	throttled := func(wait time.Duration, err error) error {
		if err == nil && wait <= 0 {
			return nil
		}
		if errors.Is(err, ErrLocked) {
			return &StepUpRefused{Status: http.StatusTooManyRequests,
				Message: "Password sign-in to this account is locked after too many wrong verification codes."}
		}
		if err != nil {
			return err
		}
		return &StepUpRefused{Status: http.StatusTooManyRequests, Message: "Too many failed attempts. Try again in " + roundWait(wait) + ".", Wait: wait}
	}
	// The password and the code count against the same budgets as at
	// sign-in: this browser's own, as it signed in to the account.
	pwd := h.guess(r, EmailKey(acct.Email), acct)
	if err := throttled(h.Throttle.Check(ctx, pwd)); err != nil {
		return nil, err
	}
	// A hashing worker once the throttle let the attempt through (see login).
	worker, err := h.Accounts.Hasher.Reserve(queue)
	if err != nil {
		return nil, err
	}
	_, good, err := h.checkPassword(ctx, worker, acct.Email, password)
	worker.Release()
	if err != nil {
		return nil, err
	}
	ev := h.event(r, sessions.MethodPassword)
	amr := []string{"pwd"}
	hasTOTP, err := h.TOTP.Enabled(ctx, acct.ID)
	if err != nil {
		return nil, err
	}
	wrong := &StepUpRefused{Status: http.StatusUnauthorized, Message: "That password is not right."}
	if hasTOTP {
		wrong.Message = "That password or code is not right."
	}
	if !good {
		if err := h.Throttle.Fail(ctx, pwd, ev, h.throttleAlert(r, acct, guessPassword)); err != nil {
			return nil, err
		}
		return nil, wrong
	}
	_ = h.Throttle.Succeed(ctx, pwd)
	if hasTOTP {
		// A wrong code after the right password is a second-factor guess,
		// counted (and locking) as at sign-in.
		otp := pwd
		otp.Key, otp.Lock = secondFactorKey(acct.ID), true
		if err := throttled(h.Throttle.Check(ctx, otp)); err != nil {
			return nil, err
		}
		if err := h.TOTP.Verify(ctx, acct.ID, code); err != nil {
			if !errors.Is(err, ErrBadCode) {
				return nil, err
			}
			ev = h.event(r, sessions.MethodPasswordTOTP)
			if err := h.Throttle.Fail(ctx, otp, ev, h.throttleAlert(r, acct, guessSecondFactor)); err != nil {
				return nil, err
			}
			return nil, wrong
		}
		_ = h.Throttle.Succeed(ctx, otp)
		amr = []string{"pwd", "otp", "mfa"}
	}
	return amr, nil
}
