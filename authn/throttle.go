package authn

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"latch/sessions"
)

// Throttle limits guessing per account (NIST SP 800-63B §5.2.2): after
// FreeFailures consecutive failures each further attempt must wait a delay
// that doubles up to MaxDelay, and LockAfter consecutive failures lock the
// account until an operator unlocks it. Failures are counted per email key
// whether or not an account exists, so the throttle's answers reveal nothing
// about which emails have accounts.
type Throttle struct {
	DB           *pgxpool.Pool
	Now          func() time.Time
	FreeFailures int
	LockAfter    int
	BaseDelay    time.Duration
	MaxDelay     time.Duration
}

// NewThrottle returns DESIGN.md's limits: delays after 5 failures, a lock
// after 100.
func NewThrottle(db *pgxpool.Pool) *Throttle {
	return &Throttle{DB: db, Now: time.Now, FreeFailures: 5, LockAfter: 100,
		BaseDelay: time.Second, MaxDelay: 15 * time.Minute}
}

// ErrLocked means the account is locked after too many failures.
var ErrLocked = errors.New("too many failed sign-ins: this account is locked")

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

// Check tells whether an attempt for key may be made now (ErrLocked, or a
// positive wait) and, when it may, counts the attempt as a failure before
// the credential is even looked at. The check and the count share one
// locked row, so parallel guesses are throttled one after another instead
// of all passing the check before any failure is recorded. A correct
// credential then calls Succeed, which clears the count.
func (t *Throttle) Check(ctx context.Context, key string) (time.Duration, error) {
	now := t.Now().UTC()
	var wait time.Duration
	err := pgx.BeginFunc(ctx, t.DB, func(tx pgx.Tx) error {
		// One upsert finds or creates the row and locks it: the update that
		// changes nothing still takes the row lock, and a concurrent Succeed
		// that deletes the row cannot slip between a look and a lock.
		var n int
		var last time.Time
		var locked *time.Time
		if err := tx.QueryRow(ctx, `INSERT INTO signin_failures AS f (email_key, failures, last_failed_at)
			VALUES ($1, 0, 'epoch') ON CONFLICT (email_key) DO UPDATE SET failures = f.failures
			RETURNING failures, last_failed_at, locked_at`, key).Scan(&n, &last, &locked); err != nil {
			return err
		}
		if locked != nil {
			return ErrLocked
		}
		if n > 0 {
			if wait = last.Add(t.delay(n)).Sub(now); wait > 0 {
				return nil
			}
		}
		wait = 0
		_, err := tx.Exec(ctx, `UPDATE signin_failures SET failures = failures + 1, last_failed_at = $2 WHERE email_key = $1`, key, now)
		return err
	})
	return wait, err
}

// Fail records a failed attempt, already counted by Check, in the account's
// history, and locks at the limit (recording the lock too).
func (t *Throttle) Fail(ctx context.Context, key, accountID string, ev sessions.Event) error {
	now := t.Now().UTC()
	return pgx.BeginFunc(ctx, t.DB, func(tx pgx.Tx) error {
		var n int
		var locked *time.Time
		err := tx.QueryRow(ctx, `SELECT failures, locked_at FROM signin_failures WHERE email_key = $1 FOR UPDATE`,
			key).Scan(&n, &locked)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if accountID != "" {
			ev.AccountID, ev.At, ev.Kind = accountID, now, "signin_failed"
			if err := sessions.Record(ctx, tx, ev); err != nil {
				return err
			}
		}
		if n >= t.LockAfter && locked == nil {
			if _, err := tx.Exec(ctx, `UPDATE signin_failures SET locked_at = $2 WHERE email_key = $1`, key, now); err != nil {
				return err
			}
			if accountID != "" {
				ev.Kind = "account_locked"
				ev.Detail = map[string]any{"failures": n}
				return sessions.Record(ctx, tx, ev)
			}
		}
		return nil
	})
}

// Succeed clears the failure count after a successful sign-in.
func (t *Throttle) Succeed(ctx context.Context, emailKey string) error {
	_, err := t.DB.Exec(ctx, `DELETE FROM signin_failures WHERE email_key = $1 AND locked_at IS NULL`, emailKey)
	return err
}

// Unlock lifts every lock of an account and clears its counts (an
// operator's action): sign-in by email, the second factor, recovery, and
// the typed-back recovery key check.
func (t *Throttle) Unlock(ctx context.Context, email, accountID string) error {
	key := EmailKey(email)
	_, err := t.DB.Exec(ctx, `DELETE FROM signin_failures WHERE email_key = ANY($1)`,
		[]string{key, "recover:" + key, "2fa:" + accountID, "confirm:" + accountID})
	return err
}
