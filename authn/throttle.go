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

// Check tells whether an attempt for emailKey may be made now: ErrLocked, or
// a positive wait.
func (t *Throttle) Check(ctx context.Context, emailKey string) (time.Duration, error) {
	var n int
	var last time.Time
	var locked *time.Time
	err := t.DB.QueryRow(ctx, `SELECT failures, last_failed_at, locked_at FROM signin_failures WHERE email_key = $1`,
		emailKey).Scan(&n, &last, &locked)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if locked != nil {
		return 0, ErrLocked
	}
	if wait := last.Add(t.delay(n)).Sub(t.Now()); wait > 0 {
		return wait, nil
	}
	return 0, nil
}

// Fail records a failed attempt and locks at the limit; the lock is written
// to the account's history when the account exists.
func (t *Throttle) Fail(ctx context.Context, emailKey, accountID string, ev sessions.Event) error {
	now := t.Now().UTC()
	return pgx.BeginFunc(ctx, t.DB, func(tx pgx.Tx) error {
		var n int
		var locked *time.Time
		err := tx.QueryRow(ctx, `
			INSERT INTO signin_failures (email_key, failures, last_failed_at) VALUES ($1, 1, $2)
			ON CONFLICT (email_key) DO UPDATE SET failures = signin_failures.failures + 1, last_failed_at = $2
			RETURNING failures, locked_at`, emailKey, now).Scan(&n, &locked)
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
			if _, err := tx.Exec(ctx, `UPDATE signin_failures SET locked_at = $2 WHERE email_key = $1`, emailKey, now); err != nil {
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

// Unlock lifts a lock and clears the count (an operator's action).
func (t *Throttle) Unlock(ctx context.Context, emailKey string) error {
	_, err := t.DB.Exec(ctx, `DELETE FROM signin_failures WHERE email_key = $1`, emailKey)
	return err
}
