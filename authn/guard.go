package authn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/latch-idp/latch/sessions"
)

// The sign-in guard: every path that checks a secret (a password, a second
// factor, a recovery key, a typed-back recovery key, a passkey), at sign-in
// or at a step-up, goes through Handler.Guard, which runs the same steps in
// the same order:
//
//  1. the throttle counts the attempt before the secret is looked at, and
//     refuses it while its budget waits or its key is locked (docs/design.md
//     §Policies P16);
//  2. a password reserves a hashing worker, only once the throttle let it
//     through (P12);
//  3. the secret is checked;
//  4. a wrong one is recorded as a failure (the history, the throttle's
//     engagement or lock and the owner's alert), a right one clears its
//     count;
//  5. a sign-in attempt is counted in latch_signins_total by its method.
//
// The per-address rate limit (P17) comes before all of these, in web.Guard,
// before the request's body is read (Handler.RateLimited names its routes).

// Attempt is one try at a secret.
type Attempt struct {
	// Method is how the person is signing in or confirming: the method of
	// the failure's history line and, for a sign-in, the metric's label.
	Method sessions.Method
	// Secret is what is guessed: it names the throttle's key, whether
	// failures lock it, and the alert its owner gets.
	Secret Secret
	// Account is the account whose secret it is: nil when the typed email
	// has none, which the throttle counts all the same.
	Account *Account
	// Email is the email typed to sign in (for a password or a recovery
	// key); "" means the account's own.
	Email string
	// Hash reserves a hashing worker for Verify (a password).
	Hash bool
	// SignIn counts the attempt in latch_signins_total (Throttled as
	// "throttled", Locked "locked", Busy "busy", Wrong "failure"); the
	// caller counts a success once the person is signed in.
	SignIn bool
	// Verify checks the secret, with the reserved worker when Hash (nil
	// otherwise). It returns nil when the secret is right, an error marked
	// by WrongSecret when it is wrong, and any other error when latch could
	// not tell.
	Verify func(ctx context.Context, w *Worker) error
}

// RefusalKind says why the guard refused an attempt.
type RefusalKind int

const (
	// Throttled: the attempt's budget is slowed down; retry after
	// Refusal.RetryAfter.
	Throttled RefusalKind = iota + 1
	// Locked: the key is locked after too many wrong second factors,
	// until an operator unlocks it.
	Locked
	// Wrong: the secret is not right. The failure is recorded.
	Wrong
	// Busy: every hashing worker stayed taken (503 with Retry-After).
	Busy
	// Unavailable: the database did not answer (503): never "wrong".
	Unavailable
	// Failed: anything else that went wrong on latch's side (500).
	Failed
)

func (k RefusalKind) String() string {
	switch k {
	case Throttled:
		return "throttled"
	case Locked:
		return "locked"
	case Wrong:
		return "wrong"
	case Busy:
		return "busy"
	case Unavailable:
		return "unavailable"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("RefusalKind(%d)", int(k))
}

// Refusal is the guard's answer to an attempt that did not pass.
type Refusal struct {
	Kind RefusalKind
	// RetryAfter is how long a Throttled attempt must wait.
	RetryAfter time.Duration
	// Shared: the Throttled browser shares the account's budget with every
	// stranger (it never proved itself for the account), so a device the
	// person signed in with before would not be slowed down.
	Shared bool
	// Err is why: the refusal of a Wrong secret (nil when there is nothing
	// more to say), or the error of a Locked, Busy, Unavailable or Failed
	// attempt.
	Err error
}

func (no *Refusal) Error() string {
	if no.Err == nil {
		return "authn: attempt refused: " + no.Kind.String()
	}
	return "authn: attempt refused: " + no.Kind.String() + ": " + no.Err.Error()
}

func (no *Refusal) Unwrap() error { return no.Err }

// Status is the HTTP status that answers the refusal.
func (no *Refusal) Status() int {
	switch no.Kind {
	case Throttled, Locked:
		return http.StatusTooManyRequests
	case Wrong:
		return http.StatusUnauthorized
	case Busy, Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// SetRetryAfter gives a Throttled answer its Retry-After, in whole seconds
// past the wait. (Busy and Unavailable get theirs from the page that
// answers them: Handler.Fail.)
func (no *Refusal) SetRetryAfter(w http.ResponseWriter) {
	if no.Kind == Throttled {
		w.Header().Set("Retry-After", fmt.Sprint(int(no.RetryAfter.Seconds()+1)))
	}
}

// wrongSecret marks an error of Verify as a wrong secret.
type wrongSecret struct{ err error }

func (e *wrongSecret) Error() string {
	if e.err == nil {
		return "authn: wrong secret"
	}
	return "authn: wrong secret: " + e.err.Error()
}

func (e *wrongSecret) Unwrap() error { return e.err }

// WrongSecret is what Verify returns for a wrong secret; why (may be nil)
// becomes the refusal's Err.
func WrongSecret(why error) error { return &wrongSecret{why} }

// WrongPasskey is what a passkey ceremony's error means to the guard: a
// wrong secret, whatever the ceremony refused, unless latch could not ask
// its database.
func WrongPasskey(err error) error {
	if err == nil || databaseAway(err) {
		return err
	}
	return WrongSecret(err)
}

// Guard checks attempt a from request r: nil when its secret is right (its
// count is cleared), a *Refusal otherwise. queue bounds the wait for a
// hashing worker (HashQueueWait after the request arrived, see hashQueue);
// the throttle and Verify run with r's context. Once the secret is checked
// a hang-up changes nothing: its failure or success is recorded all the
// same.
func (h *Handler) Guard(queue context.Context, r *http.Request, a Attempt) *Refusal {
	ctx := r.Context()
	g, throttled := h.guessOf(r, a)
	if throttled {
		wait, err := h.Throttle.Check(ctx, g)
		switch {
		case errors.Is(err, ErrLocked):
			return h.refused(a, &Refusal{Kind: Locked, Err: err})
		case err != nil:
			return h.refused(a, failure(err))
		case wait > 0:
			return h.refused(a, &Refusal{Kind: Throttled, RetryAfter: wait, Shared: g.Device == nil})
		}
	}
	var worker *Worker
	if a.Hash {
		// Only an attempt the throttle let through queues for a hashing
		// worker, so guesses being slowed down never hold up anyone's
		// sign-in. Past the queue's wait the answer is busy; the attempt
		// stays counted, like any whose answer the caller did not get.
		var err error
		if worker, err = h.Accounts.Hasher.Reserve(queue); err != nil {
			return h.refused(a, failure(err))
		}
	}
	err := a.Verify(ctx, worker)
	if worker != nil {
		worker.Release()
	}
	decided := context.WithoutCancel(ctx)
	var wrong *wrongSecret
	if errors.As(err, &wrong) {
		no := h.refused(a, &Refusal{Kind: Wrong, Err: wrong.err})
		if !throttled {
			return no
		}
		if err := h.Throttle.Fail(decided, g, h.event(r, a.Method), h.throttleAlert(r, a.Account, a.Secret)); err != nil {
			return failure(err)
		}
		return no
	}
	if err != nil {
		return h.refused(a, failure(err))
	}
	if throttled {
		if err := h.Throttle.Succeed(decided, g); err != nil {
			// The secret was right: the count it leaves behind clears at
			// the next success, and refusing the person would help no one.
			h.Logger.ErrorContext(ctx, "clear throttle count", "secret", a.Secret.String(), "err", err)
		}
	}
	return nil
}

// failure is the refusal of an attempt that latch could not check.
func failure(err error) *Refusal {
	switch {
	case errors.Is(err, ErrBusy):
		return &Refusal{Kind: Busy, Err: err}
	case databaseAway(err):
		return &Refusal{Kind: Unavailable, Err: err}
	}
	return &Refusal{Kind: Failed, Err: err}
}

// refused counts a sign-in's refusal in latch_signins_total and returns it.
// Only what the person's attempt met is counted: latch's own failures
// (Unavailable, Failed) are not.
func (h *Handler) refused(a Attempt, no *Refusal) *Refusal {
	if !a.SignIn {
		return no
	}
	var result string
	switch no.Kind {
	case Throttled:
		result = "throttled"
	case Locked:
		result = "locked"
	case Busy:
		result = "busy"
	case Wrong:
		result = "failure"
	default:
		return no
	}
	h.countSignIn(a.Method, result)
	return no
}

// countSignIn counts a sign-in attempt with m in latch_signins_total:
// "success" once signed in, or why it was refused.
func (h *Handler) countSignIn(m sessions.Method, result string) {
	h.Metrics.SignIns.WithLabelValues(m.Metric(), result).Inc()
}
