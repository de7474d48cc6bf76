package authn

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/latch-idp/latch/internal/notify"
	"github.com/latch-idp/latch/internal/web"
)

// What the sign-in pages tell the Throttle about a guess, and what the
// owner hears when it engages or locks.

// Secret is what an attempt guesses. Each has its own throttle key per
// account (or per typed email), so guessing one never slows down another.
type Secret int

const (
	// SecretPassword is a password, at sign-in or at a step-up; keyed by
	// the email.
	SecretPassword Secret = iota
	// SecretSecondFactor is the code (or recovery key) that follows a
	// correct password; keyed by the account. Its failures lock.
	SecretSecondFactor
	// SecretRecoveryKey is a recovery key alone, at a recovery sign-in;
	// keyed by the email. Its failures never lock: a stranger could lock
	// the owner who lost their passkeys out of their last way back.
	SecretRecoveryKey
	// SecretConfirmKey is a recovery key typed back to prove a new set was
	// saved; keyed by the account. Its failures lock, and count against no
	// device budget, history line or alert.
	SecretConfirmKey
	// SecretPasskey is a passkey: nothing to guess, so not throttled.
	SecretPasskey
	// SecretUserCode is a device's user code typed at /device by a
	// signed-in person (RFC 8628 §5.1); keyed by the account, whose one
	// budget every browser shares. Its failures never lock, and raise no
	// alert: the person typing is the account's.
	SecretUserCode
)

func (s Secret) String() string {
	switch s {
	case SecretPassword:
		return "password"
	case SecretSecondFactor:
		return "second factor"
	case SecretRecoveryKey:
		return "recovery key"
	case SecretConfirmKey:
		return "typed-back recovery key"
	case SecretPasskey:
		return "passkey"
	case SecretUserCode:
		return "user code"
	}
	return fmt.Sprintf("Secret(%d)", int(s))
}

// The throttle keys of each secret (Guess.Key).
func passwordKey(email string) string         { return EmailKey(email) }
func recoveryKey(email string) string         { return "recover:" + EmailKey(email) }
func secondFactorKey(accountID string) string { return "2fa:" + accountID }
func confirmKey(accountID string) string      { return "confirm:" + accountID }
func userCodeKey(accountID string) string     { return "device:" + accountID }

// guessOf is attempt a from this browser as the throttle counts it, and
// whether the throttle counts it at all.
func (h *Handler) guessOf(r *http.Request, a Attempt) (Guess, bool) {
	email := a.Email
	if email == "" && a.Account != nil {
		email = a.Account.Email
	}
	switch a.Secret {
	case SecretPassword:
		return h.guess(r, passwordKey(email), a.Account), true
	case SecretSecondFactor:
		// Guesses here got past the password: LockAfter failures lock
		// password sign-in on every device (Guess.Lock). Until then a
		// browser that signed in to the account before keeps its own
		// budget.
		g := h.guess(r, secondFactorKey(a.Account.ID), a.Account)
		g.Lock = true
		return g, true
	case SecretRecoveryKey:
		return h.guess(r, recoveryKey(email), a.Account), true
	case SecretConfirmKey:
		return Guess{Key: confirmKey(a.Account.ID), Lock: true}, true
	case SecretUserCode:
		return Guess{Key: userCodeKey(a.Account.ID), AccountID: a.Account.ID}, true
	}
	return Guess{}, false
}

// provenDevice is the throttle budget of this browser for the account: the
// hash of its device cookie when the account signed in from it before, or
// of its trusted-device cookie while trusted; nil for any other browser,
// which shares the account's budget with every stranger. A failed lookup
// counts the browser as unknown: it is slowed down like one, no worse.
func (h *Handler) provenDevice(r *http.Request, accountID string) []byte {
	if accountID == "" {
		return nil
	}
	did, _ := h.Cookies.Read(r, web.CookieDevice)
	td, _ := h.Cookies.Read(r, web.CookieTrusted)
	dev, err := h.Sessions.ProvenDevice(r.Context(), accountID, did, td)
	if err != nil {
		h.Logger.ErrorContext(r.Context(), "proven device", "err", err)
		return nil
	}
	return dev
}

// guess describes an attempt at key for acct (nil when the email has no
// account) from this browser.
func (h *Handler) guess(r *http.Request, key string, acct *Account) Guess {
	g := Guess{Key: key}
	if acct != nil {
		g.AccountID = acct.ID
		g.Device = h.provenDevice(r, acct.ID)
	}
	return g
}

// throttleAlert queues, in the throttle's transaction, the owner's alert
// that the throttle engaged or locked for a guess of kind from this
// request's browser.
func (h *Handler) throttleAlert(r *http.Request, acct *Account, kind Secret) func(context.Context, pgx.Tx, Change) error {
	return func(ctx context.Context, tx pgx.Tx, c Change) error {
		if acct == nil || kind == SecretUserCode {
			return nil
		}
		return h.alert(ctx, tx, acct, alertThrottle(h, r, kind, c))
	}
}

func alertThrottle(h *Handler, r *http.Request, kind Secret, c Change) alertDraft {
	device, place := h.where(r)
	facts := [][2]string{{"Last attempt from", device}, {"Where", place}, {"When", when(h.Now())}}
	switch {
	case c.Locked:
		return alertDraft{Subject: "Your account is locked: change your password", Alert: notify.Alert{
			Heading: "Password sign-in is locked",
			Lines: []string{
				fmt.Sprintf("Someone who knows your password failed two-step verification %d times, so latch locked sign-in with your password on every device, yours included.", c.Failures),
				"A passkey still signs you in; otherwise ask your administrator to unlock your account. Then change your password: it is known to someone else.",
			},
			Facts: facts, Action: "Open your security settings", URL: h.link("/account/security"),
		}}
	case kind == SecretSecondFactor:
		return alertDraft{Subject: "Someone knows your password", Alert: notify.Alert{
			Heading: "Someone knows your password",
			Lines: []string{
				fmt.Sprintf("Someone entered your password correctly, then failed two-step verification %d times. Further attempts from unknown devices are slowed down, and after %d failures password sign-in locks on every device.", c.Failures, h.Throttle.LockAfter),
				"Your own devices are not slowed down. If this wasn't you, change your password now.",
			},
			Facts: facts, Action: "Change your password", URL: h.link("/account/security"),
			Footer: "latch tells you once per wave of attempts.",
		}}
	case kind == SecretRecoveryKey:
		return alertDraft{Subject: "Someone is trying your recovery keys", Alert: notify.Alert{
			Heading: "Someone is trying your recovery keys",
			Lines: []string{
				fmt.Sprintf("Someone tried to get into your account with wrong recovery keys %d times; attempts from unknown devices are slowed down. Your own devices are not affected.", c.Failures),
				"Recovery keys are too long to guess, so there is nothing you need to do.",
			},
			Facts: facts, Action: "Check your security settings", URL: h.link("/account/security"),
			Footer: "latch tells you once per wave of attempts.",
		}}
	}
	return alertDraft{Subject: "Someone is trying to sign in to your account", Alert: notify.Alert{
		Heading: "Someone is trying to sign in to your account",
		Lines: []string{
			fmt.Sprintf("Someone tried to sign in to your account with wrong passwords %d times; sign-ins from unknown devices are slowed down. Your own devices are not affected.", c.Failures),
			"If it was you on a new device, wait a little and try again. If not, your password has held; a passkey would make such attempts pointless.",
		},
		Facts: facts, Action: "Check your security settings", URL: h.link("/account/security"),
		Footer: "latch tells you once per wave of attempts.",
	}}
}
