package sessions

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// logoutAttempts is how often a back-channel logout is tried before it
// counts as failed: with the doubling backoff of DeliverLogouts, about two
// hours.
const logoutAttempts = 14

// LogoutJob is a back-channel logout to deliver: written by EndTx for an
// app whose client takes them, in the transaction that ended its session.
type LogoutJob struct {
	ID              int64
	DeviceSessionID string // the sid of the logout token
	AccountID       string // its sub
	ClientID        string
	URI             string
	Attempts        int // earlier tries
}

// Logout is a back-channel logout written for one of an account's app
// sessions, and how its delivery stands.
type Logout struct {
	DeviceSessionID string
	AppSessionID    string
	ClientID        string
	Status          string // "pending", "delivered" or "failed"
	Attempts        int    // tries so far
}

// Logouts returns the back-channel logouts written for the account's
// sessions, oldest first.
func (s *Store) Logouts(ctx context.Context, accountID string) ([]Logout, error) {
	if !IsID(accountID) {
		return nil, nil
	}
	rows, err := s.DB.Query(ctx, `SELECT j.device_session_id::text, j.app_session_id::text, j.client_id, j.status, j.attempts
		FROM app_sessions a JOIN logout_jobs j ON j.app_session_id = a.id
		WHERE a.account_id = $1 ORDER BY j.id`, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Logout, error) {
		var l Logout
		return l, r.Scan(&l.DeviceSessionID, &l.AppSessionID, &l.ClientID, &l.Status, &l.Attempts)
	})
}

// DeliverLogouts hands up to limit due logout jobs to deliver, which
// returns one error per job (nil when the app took it), and records each
// outcome: delivered, or tried again later (1 s, 2 s, 4 s ... up to an
// hour), or failed after logoutAttempts tries. It returns how many jobs it
// handled. The jobs stay locked (FOR UPDATE SKIP LOCKED) from the moment
// they are picked until their outcomes are recorded, in one transaction,
// so the senders of every replica share the work and none is sent twice.
func (s *Store) DeliverLogouts(ctx context.Context, limit int, deliver func(context.Context, []LogoutJob) []error) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		n = 0
		rows, err := tx.Query(ctx, `SELECT id, device_session_id::text, account_id::text, client_id, uri, attempts
			FROM logout_jobs WHERE status = 'pending' AND next_attempt_at <= $1
			ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`, s.Now().UTC(), limit)
		if err != nil {
			return err
		}
		jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LogoutJob, error) {
			var j LogoutJob
			return j, r.Scan(&j.ID, &j.DeviceSessionID, &j.AccountID, &j.ClientID, &j.URI, &j.Attempts)
		})
		if err != nil {
			return err
		}
		errs := deliver(ctx, jobs)
		for i, j := range jobs {
			derr := errs[i]
			now := s.Now().UTC()
			switch {
			case derr == nil:
				_, err = tx.Exec(ctx, `UPDATE logout_jobs SET status = 'delivered', attempts = attempts + 1, delivered_at = $2, last_error = '' WHERE id = $1`, j.ID, now)
			case j.Attempts+1 >= logoutAttempts:
				_, err = tx.Exec(ctx, `UPDATE logout_jobs SET status = 'failed', attempts = attempts + 1, last_error = $2 WHERE id = $1`, j.ID, derr.Error())
			default:
				backoff := min(time.Second<<j.Attempts, time.Hour)
				_, err = tx.Exec(ctx, `UPDATE logout_jobs SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1`,
					j.ID, now.Add(backoff), derr.Error())
			}
			if err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
