package sessions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latch-idp/latch/internal/pg"
)

// Notification channels. Every replica listens to ChannelEnded to drop from
// its caches at once what stopped being valid: a device session's id when
// it ends or its sign-in changes, "app:<id>" when an app session ends, and
// "token:<id>" or "family:<id>" when tokens are revoked. Delivery workers
// listen to ChannelLogoutJobs to send back-channel logouts without waiting
// to poll.
const (
	ChannelEnded      = "latch_session_ended"
	ChannelLogoutJobs = "latch_logout_jobs"
)

// End ends a device session and all its app sessions in one transaction.
func (s *Store) End(ctx context.Context, id string, reason EndReason) error {
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		return s.EndTx(ctx, tx, id, reason)
	})
	if err == nil {
		s.Forget(id)
	}
	return err
}

// forgetsTrust reports whether a session ended for reason takes its
// device's "trust this device" mark with it. Ended from elsewhere, reported,
// replayed, by an administrator or by a password change: the device may be
// in the wrong hands, and it must show the second factor again. Signing out
// on the device itself, expiring, or another account signing in there
// keeps the mark: skipping the code at the next sign-in on that browser is
// what the person asked for.
func forgetsTrust(reason EndReason) bool {
	switch reason {
	case ReasonSignedOut, ReasonExpired, ReasonReplaced:
		return false
	}
	return true
}

// Forget drops sessions from this replica's cache at once. The
// notification every replica hears comes a moment later; the replica that
// made the change must not serve the old state even for that moment. Call
// it after the transaction that changed the sessions has committed.
func (s *Store) Forget(ids ...string) {
	for _, id := range ids {
		if s.cache != nil {
			s.cache.drop(id)
		}
		for _, f := range s.forgetters {
			f(id)
		}
	}
}

// OnForget registers another per-replica cache (the token cache) to be
// told at once, on this replica, what Forget is told: device session ids,
// and "app:<id>" for an ended app session.
func (s *Store) OnForget(f func(payload string)) { s.forgetters = append(s.forgetters, f) }

// EndTx ends a device session inside a caller's transaction, as
// docs/design.md §Architecture "Ending a session" draws it: the device
// session and its app sessions are marked ended with a reason, one
// back-channel logout job is written per app session whose client takes
// them, the end is recorded in the history, and the session id is announced
// so every replica drops it from its cache. Tokens need no
// separate revocation: every token check joins to its app and device
// session, so they stop working the moment this commits.
func (s *Store) EndTx(ctx context.Context, q pg.Querier, id string, reason EndReason) error {
	return s.EndByTx(ctx, q, id, reason, "")
}

// EndByTx is EndTx for a session the person ended from another of their
// device sessions, by: the history and the recently ended list name it
// ("Ended from Chrome on macOS"). by may be "" or id itself (signing out
// here), which names nothing.
func (s *Store) EndByTx(ctx context.Context, q pg.Querier, id string, reason EndReason, by string) error {
	if !IsID(id) {
		return ErrNotFound
	}
	var byArg any
	if IsID(by) && by != id {
		byArg = by
	}
	now := s.Now().UTC()
	var accountID string
	var trustedID *string
	err := q.QueryRow(ctx, `
		UPDATE device_sessions SET ended_at = $2, end_reason = $3, ended_by = $4
		WHERE id = $1 AND ended_at IS NULL RETURNING account_id, trusted_device_id`, id, now, reason, byArg).Scan(&accountID, &trustedID)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("sessions: end: %w", err)
	}
	if trustedID != nil && forgetsTrust(reason) {
		if _, err := q.Exec(ctx, `UPDATE trusted_devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`,
			*trustedID, now); err != nil {
			return fmt.Errorf("sessions: end: forget trust: %w", err)
		}
	}
	rows, err := q.Query(ctx, `
		UPDATE app_sessions SET ended_at = $2, end_reason = $3
		WHERE device_session_id = $1 AND ended_at IS NULL RETURNING id, client_id`, id, now, reason)
	if err != nil {
		return fmt.Errorf("sessions: end apps: %w", err)
	}
	type app struct{ id, client string }
	apps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (app, error) {
		var a app
		return a, r.Scan(&a.id, &a.client)
	})
	if err != nil {
		return fmt.Errorf("sessions: end apps: %w", err)
	}
	jobs := false
	for _, a := range apps {
		wrote, err := s.logoutJob(ctx, q, a.id, id, accountID, a.client, now)
		if err != nil {
			return err
		}
		jobs = jobs || wrote
	}
	detail := map[string]any{"reason": string(reason)}
	if byArg != nil {
		detail["by"] = by
	}
	if err := Record(ctx, q, Event{AccountID: accountID, At: now, Kind: EventSessionEnded, DeviceSessionID: id,
		Detail: detail}); err != nil {
		return err
	}
	return s.notify(ctx, q, id, jobs)
}

func (s *Store) notify(ctx context.Context, q pg.Querier, deviceID string, jobs bool) error {
	if _, err := q.Exec(ctx, `SELECT pg_notify($1, $2)`, ChannelEnded, deviceID); err != nil {
		return fmt.Errorf("sessions: notify: %w", err)
	}
	if jobs {
		if _, err := q.Exec(ctx, `SELECT pg_notify($1, '')`, ChannelLogoutJobs); err != nil {
			return fmt.Errorf("sessions: notify: %w", err)
		}
	}
	return nil
}

// logoutJob writes the back-channel logout of one ended app session, when
// its client takes them.
func (s *Store) logoutJob(ctx context.Context, q pg.Querier, appID, deviceID, accountID, clientID string, now time.Time) (bool, error) {
	if s.LogoutURI == nil {
		return false, nil
	}
	uri := s.LogoutURI(clientID)
	if uri == "" {
		return false, nil
	}
	_, err := q.Exec(ctx, `INSERT INTO logout_jobs (app_session_id, device_session_id, account_id, client_id, uri, next_attempt_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, appID, deviceID, accountID, clientID, uri, now)
	if err != nil {
		return false, fmt.Errorf("sessions: logout job: %w", err)
	}
	return true, nil
}

// EndApp ends one app session and only it, with its back-channel logout.
func (s *Store) EndApp(ctx context.Context, appSessionID string, reason EndReason) error {
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		_, err := s.endApp(ctx, tx, appSessionID, reason, "")
		return err
	})
	if err == nil {
		s.Forget("app:" + appSessionID)
	}
	return err
}

// endApp ends one app session inside q and returns its client. by is the
// device session the person did it from, or "".
func (s *Store) endApp(ctx context.Context, q pg.Querier, appSessionID string, reason EndReason, by string) (string, error) {
	if !IsID(appSessionID) {
		return "", ErrNotFound
	}
	now := s.Now().UTC()
	var deviceID, accountID, clientID string
	err := q.QueryRow(ctx, `UPDATE app_sessions SET ended_at = $2, end_reason = $3
		WHERE id = $1 AND ended_at IS NULL RETURNING device_session_id, account_id, client_id`,
		appSessionID, now, reason).Scan(&deviceID, &accountID, &clientID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("sessions: end app: %w", err)
	}
	wrote, err := s.logoutJob(ctx, q, appSessionID, deviceID, accountID, clientID, now)
	if err != nil {
		return "", err
	}
	detail := map[string]any{"reason": string(reason), "client_id": clientID}
	if IsID(by) && by != deviceID {
		detail["by"] = by
	}
	if err := Record(ctx, q, Event{AccountID: accountID, At: now, Kind: EventAppSessionEnded, DeviceSessionID: deviceID,
		Detail: detail}); err != nil {
		return "", err
	}
	// Every replica drops what it cached of this app session's tokens.
	if _, err := q.Exec(ctx, `SELECT pg_notify($1, $2)`, ChannelEnded, "app:"+appSessionID); err != nil {
		return "", err
	}
	if wrote {
		if _, err := q.Exec(ctx, `SELECT pg_notify($1, '')`, ChannelLogoutJobs); err != nil {
			return "", err
		}
	}
	// A command-line or desktop session is its app: with its app signed
	// out, however that came about (the sessions page, a reused refresh
	// token), it ends too, agents started from it included, rather than
	// stay listed and live holding nothing.
	var empty bool
	if err := q.QueryRow(ctx, `SELECT d.kind <> 'browser' AND d.ended_at IS NULL AND NOT EXISTS (
			SELECT 1 FROM app_sessions a WHERE a.device_session_id = d.id AND a.ended_at IS NULL
				AND NOT EXISTS (SELECT 1 FROM agent_sessions g WHERE g.app_session_id = a.id))
		FROM device_sessions d WHERE d.id = $1`, deviceID).Scan(&empty); err != nil {
		return "", fmt.Errorf("sessions: end app: %w", err)
	}
	if empty {
		if err := s.EndByTx(ctx, q, deviceID, reason, by); err != nil {
			return "", err
		}
	}
	return clientID, nil
}
