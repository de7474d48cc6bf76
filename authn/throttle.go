package authn

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latch-idp/latch/sessions"
)

// Throttle limits guessing per account (NIST SP 800-63B §5.2.2): after
// FreeFailures consecutive failures each further attempt must wait a delay
// that doubles up to MaxDelay. Failures are counted per key (an email key
// for passwords, "2fa:"+account for the second factor, ...) whether or not
// an account exists, so the throttle's answers reveal nothing about which
// emails have accounts.
//
// A locked door for the attacker must not be one for the owner (OWASP's
// account lockout guidance, Kanidm): a browser that proved itself for the
// account before (its device cookie is one of the account's known devices,
// or its trusted-device cookie is still trusted) keeps a budget of its own
// per key, and every other browser shares the key's budget. When the shared
// budget starts slowing guesses down the throttle "engages" and the owner
// hears of it once, until the count is cleared.
//
// Guesses only ever slow down, except where the guesser has already got
// through the password (Guess.Lock: the second factor): LockAfter failures
// there lock the key on every device until an operator unlocks it.
type Throttle struct {
	DB           *pgxpool.Pool
	Now          func() time.Time
	FreeFailures int
	LockAfter    int
	BaseDelay    time.Duration
	MaxDelay     time.Duration
	// Forget is how long a count without failures is kept before Sweep
	// deletes it.
	Forget time.Duration
}

// NewThrottle returns the limits of docs/design.md §Policies P16: delays
// after 5 failures doubling from a second up to 15 minutes, a lock after 100
// second-factor failures.
func NewThrottle(db *pgxpool.Pool) *Throttle {
	return &Throttle{DB: db, Now: time.Now, FreeFailures: 5, LockAfter: 100,
		BaseDelay: time.Second, MaxDelay: 15 * time.Minute, Forget: 24 * time.Hour}
}

// ErrLocked means the account is locked after too many failures.
var ErrLocked = errors.New("too many failed sign-ins: this account is locked")

// Guess is one attempt at a secret, as the throttle counts it.
type Guess struct {
	// Key names what is guessed: EmailKey(email) for a password,
	// "2fa:"+account for the second factor, "recover:"+EmailKey(email)
	// for a recovery sign-in, "confirm:"+account for a typed-back key,
	// "device:"+account for user codes typed at /device.
	Key string
	// Device is the budget of a browser that proved itself for the account
	// (Handler.provenDevice); nil for any other browser, which share one.
	Device []byte
	// AccountID is the account the key belongs to, "" when there is none:
	// its history records failures, and its owner hears of engagements.
	AccountID string
	// Lock: LockAfter failures lock the key. Only for guesses that got
	// past the password, the one place where guessing is a sign that the
	// account is compromised rather than targeted.
	Lock bool
}

// Change is what a failure changed in the throttle: it engaged (the shared
// budget began to slow guesses down), or locked. Failures is the count.
type Change struct {
	Engaged  bool
	Locked   bool
	Failures int
}

// delay is how long to wait after n consecutive failures.
func (t *Throttle) delay(n int) time.Duration {
	if n < t.FreeFailures {
		return 0
	}
	d := t.BaseDelay
	for i := t.FreeFailures; i < n && d < t.MaxDelay; i++ {
		d *= 2
	}
	return min(d, t.MaxDelay)
}

// Check tells whether g may be made now (ErrLocked, or a positive wait)
// and, when it may, counts it as a failure before the secret is even looked
// at: the check and the count share one locked row, so parallel guesses are
// throttled one after another instead of all passing the check before any
// failure is recorded. A correct secret then calls Succeed, which clears the
// count.
func (t *Throttle) Check(ctx context.Context, g Guess) (time.Duration, error) {
	now := t.Now().UTC()
	var wait time.Duration
	err := pgx.BeginFunc(ctx, t.DB, func(tx pgx.Tx) error {
		// One upsert finds or creates the budget and locks it: the update
		// that changes nothing still takes the row lock, and a concurrent
		// Succeed that deletes the row cannot slip between a look and a
		// lock.
		var n int
		var last time.Time
		var locked *time.Time
		var err error
		if g.Device == nil {
			err = tx.QueryRow(ctx, `INSERT INTO signin_failures AS f (email_key, failures, last_failed_at)
				VALUES ($1, 0, 'epoch') ON CONFLICT (email_key) DO UPDATE SET failures = f.failures
				RETURNING failures, last_failed_at, locked_at`, g.Key).Scan(&n, &last, &locked)
		} else {
			// The lock, kept with the shared budget, holds for every device.
			err = tx.QueryRow(ctx, `INSERT INTO throttle_budgets AS b (email_key, device_hash, failures, last_failed_at)
				VALUES ($1, $2, 0, 'epoch') ON CONFLICT (email_key, device_hash) DO UPDATE SET failures = b.failures
				RETURNING failures, last_failed_at, (SELECT locked_at FROM signin_failures WHERE email_key = $1)`,
				g.Key, g.Device).Scan(&n, &last, &locked)
		}
		if err != nil {
			return err
		}
		if locked != nil && g.Lock {
			return ErrLocked
		}
		if n > 0 {
			if wait = last.Add(t.delay(n)).Sub(now); wait > 0 {
				return nil
			}
		}
		wait = 0
		if g.Device == nil {
			_, err = tx.Exec(ctx, `UPDATE signin_failures SET failures = failures + 1, last_failed_at = $2
				WHERE email_key = $1`, g.Key, now)
		} else {
			_, err = tx.Exec(ctx, `UPDATE throttle_budgets SET failures = failures + 1, last_failed_at = $3
				WHERE email_key = $1 AND device_hash = $2`, g.Key, g.Device, now)
		}
		return err
	})
	return wait, err
}

// Fail records a failed guess, already counted by Check, in the account's
// history. When the shared budget reaches FreeFailures the throttle engages,
// once until the count is cleared; when a locking guess reaches LockAfter
// the key locks. Either is recorded, and announced by alert (may be nil),
// in the same transaction.
func (t *Throttle) Fail(ctx context.Context, g Guess, ev sessions.Event,
	alert func(context.Context, pgx.Tx, Change) error) error {
	now := t.Now().UTC()
	return pgx.BeginFunc(ctx, t.DB, func(tx pgx.Tx) error {
		var n int
		var engaged, locked *time.Time
		var err error
		if g.Device == nil {
			err = tx.QueryRow(ctx, `SELECT failures, engaged_at, locked_at FROM signin_failures
				WHERE email_key = $1 FOR UPDATE`, g.Key).Scan(&n, &engaged, &locked)
		} else {
			err = tx.QueryRow(ctx, `SELECT failures FROM throttle_budgets
				WHERE email_key = $1 AND device_hash = $2 FOR UPDATE`, g.Key, g.Device).Scan(&n)
		}
		if errors.Is(err, pgx.ErrNoRows) {
			// Cleared meanwhile by a correct guess (or an operator).
			n, err = 0, nil
		}
		if err != nil {
			return err
		}
		if g.AccountID != "" {
			ev.AccountID, ev.At, ev.Kind = g.AccountID, now, sessions.EventSignInFailed
			if err := sessions.Record(ctx, tx, ev); err != nil {
				return err
			}
		}
		if g.Device == nil && n >= t.FreeFailures && engaged == nil && locked == nil {
			if _, err := tx.Exec(ctx, `UPDATE signin_failures SET engaged_at = $2 WHERE email_key = $1`, g.Key, now); err != nil {
				return err
			}
			if g.AccountID != "" {
				ev.Kind, ev.Detail = sessions.EventSignInThrottled, map[string]any{"failures": n, "method": ev.Detail["method"]}
				if err := sessions.Record(ctx, tx, ev); err != nil {
					return err
				}
				if alert != nil {
					if err := alert(ctx, tx, Change{Engaged: true, Failures: n}); err != nil {
						return err
					}
				}
			}
		}
		if !g.Lock || n < t.LockAfter {
			return nil
		}
		// The lock lives with the shared budget, whichever budget reached it.
		tag, err := tx.Exec(ctx, `INSERT INTO signin_failures AS f (email_key, failures, last_failed_at, locked_at)
			VALUES ($1, $2, $3, $3) ON CONFLICT (email_key) DO UPDATE SET locked_at = $3 WHERE f.locked_at IS NULL`,
			g.Key, n, now)
		if err != nil || tag.RowsAffected() == 0 || g.AccountID == "" {
			return err
		}
		ev.Kind, ev.Detail = sessions.EventAccountLocked, map[string]any{"failures": n, "method": ev.Detail["method"]}
		if err := sessions.Record(ctx, tx, ev); err != nil {
			return err
		}
		if alert != nil {
			return alert(ctx, tx, Change{Locked: true, Failures: n})
		}
		return nil
	})
}

// Succeed clears g's count after a correct guess: a proven device's own
// budget, or the shared one (which also ends an engagement). A correct
// password on the owner's device leaves the shared budget as it is, so it
// gives no one else fresh guesses.
func (t *Throttle) Succeed(ctx context.Context, g Guess) error {
	var err error
	if g.Device == nil {
		_, err = t.DB.Exec(ctx, `DELETE FROM signin_failures WHERE email_key = $1 AND locked_at IS NULL`, g.Key)
	} else {
		_, err = t.DB.Exec(ctx, `DELETE FROM throttle_budgets WHERE email_key = $1 AND device_hash = $2`, g.Key, g.Device)
	}
	return err
}

// Locked reports whether key is locked.
func (t *Throttle) Locked(ctx context.Context, key string) (bool, error) {
	var locked bool
	err := t.DB.QueryRow(ctx, `SELECT locked_at IS NOT NULL FROM signin_failures WHERE email_key = $1`, key).Scan(&locked)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return locked, err
}

// Unlock lifts every lock of an account and clears its counts, every
// device's included (an operator's action): sign-in by email, the second
// factor, recovery, the typed-back recovery key check and the user codes
// of the device page.
func (t *Throttle) Unlock(ctx context.Context, email, accountID string) error {
	keys := []string{passwordKey(email), recoveryKey(email), secondFactorKey(accountID), confirmKey(accountID), userCodeKey(accountID)}
	return pgx.BeginFunc(ctx, t.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM signin_failures WHERE email_key = ANY($1)`, keys); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM throttle_budgets WHERE email_key = ANY($1)`, keys)
		return err
	})
}

// Sweep forgets counts that saw no failure for Forget (a day), on every
// device; locks stay until an operator lifts them. Both deletes walk an
// index on last_failed_at.
func (t *Throttle) Sweep(ctx context.Context) (int, error) {
	before := t.Now().UTC().Add(-t.Forget)
	n := 0
	err := pgx.BeginFunc(ctx, t.DB, func(tx pgx.Tx) error {
		a, err := tx.Exec(ctx, `DELETE FROM signin_failures WHERE locked_at IS NULL AND last_failed_at < $1`, before)
		if err != nil {
			return err
		}
		b, err := tx.Exec(ctx, `DELETE FROM throttle_budgets WHERE last_failed_at < $1`, before)
		n = int(a.RowsAffected() + b.RowsAffected())
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
