package authn

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/latch-idp/latch/sessions"
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
// that authentication. Each secret goes through the guard, against the same
// throttles and budgets as at sign-in from this browser. queue bounds the
// wait for a hashing worker (HashQueueWait after the request arrived). A
// *StepUpRefused says why the secret did not pass; any other error means
// latch could not check (its database did not answer, or ErrBusy).
func (h *Handler) CheckStepUp(queue context.Context, r *http.Request, acct *Account, password, code string) ([]string, error) {
	if acct.Advanced() {
		return nil, &StepUpRefused{Status: http.StatusForbidden, Message: "This account confirms changes with a passkey only."}
	}
	hasTOTP, err := h.TOTP.Enabled(r.Context(), acct.ID)
	if err != nil {
		return nil, err
	}
	refused := func(no *Refusal) error {
		switch no.Kind {
		case Throttled:
			return &StepUpRefused{Status: no.Status(), Message: "Too many failed attempts. Try again in " + roundWait(no.RetryAfter) + ".", Wait: no.RetryAfter}
		case Locked:
			return &StepUpRefused{Status: no.Status(),
				Message: "Password sign-in to this account is locked after too many wrong verification codes."}
		case Wrong:
			if hasTOTP {
				return &StepUpRefused{Status: no.Status(), Message: "That password or code is not right."}
			}
			return &StepUpRefused{Status: no.Status(), Message: "That password is not right."}
		}
		return no.Err
	}
	no := h.Guard(queue, r, Attempt{Method: sessions.MethodPassword, Secret: SecretPassword, Account: acct, Hash: true,
		Verify: func(ctx context.Context, worker *Worker) error {
			ok, err := h.passwordMatches(ctx, worker, acct, password)
			if err == nil && !ok {
				return WrongSecret(nil)
			}
			return err
		}})
	if no != nil {
		return nil, refused(no)
	}
	if !hasTOTP {
		return []string{"pwd"}, nil
	}
	// A wrong code after the right password is a second-factor guess,
	// counted (and locking) as at sign-in.
	no = h.Guard(queue, r, Attempt{Method: sessions.MethodPasswordTOTP, Secret: SecretSecondFactor, Account: acct,
		Verify: func(ctx context.Context, _ *Worker) error {
			err := h.TOTP.Verify(ctx, acct.ID, code)
			if errors.Is(err, ErrBadCode) {
				return WrongSecret(err)
			}
			return err
		}})
	if no != nil {
		return nil, refused(no)
	}
	return []string{"pwd", "otp", "mfa"}, nil
}
