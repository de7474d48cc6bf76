package sessions

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ClientUse is what the sessions say of one client of an account: when it
// was last used and the devices it is signed in on now.
type ClientUse struct {
	// LastUsedAt is the latest activity of any of its app sessions, live or
	// ended in the last 30 days: a code exchange, or a token refresh
	// (written at most once a minute). Zero when it has none.
	LastUsedAt time.Time
	Devices    []ClientDevice
}

// ClientDevice is a live device session a client is signed in on.
type ClientDevice struct {
	DeviceID     string
	AppID        string // the app session's id
	Name         string // the device's name ("Chrome on macOS"), or ""
	Kind         string // the device's kind, for its icon ("desktop")
	SessionKind  string // the session's kind: KindBrowser, KindCLI or KindNative
	Place        string
	SignedInAt   time.Time // when the app signed in there
	LastActiveAt time.Time // the app session's last activity there
}

// ClientUse returns, for each of clientIDs that has app sessions of the
// account, its last use and the live devices it is signed in on.
func (s *Store) ClientUse(ctx context.Context, accountID string, clientIDs []string) (map[string]ClientUse, error) {
	out := map[string]ClientUse{}
	if !IsID(accountID) || len(clientIDs) == 0 {
		return out, nil
	}
	rows, err := s.DB.Query(ctx, `
		SELECT a.client_id, a.id, a.last_active_at, a.created_at,
			a.ended_at IS NULL AND d.ended_at IS NULL AND $3 < d.expires_at,
			d.id, d.device_name, d.device_kind, d.kind, d.place
		FROM app_sessions a JOIN device_sessions d ON d.id = a.device_session_id
		WHERE a.account_id = $1 AND a.client_id = ANY($2)
		ORDER BY a.last_active_at DESC`, accountID, clientIDs, s.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("sessions: client use: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var client string
		var live bool
		var dev ClientDevice
		if err := rows.Scan(&client, &dev.AppID, &dev.LastActiveAt, &dev.SignedInAt, &live,
			&dev.DeviceID, &dev.Name, &dev.Kind, &dev.SessionKind, &dev.Place); err != nil {
			return nil, fmt.Errorf("sessions: client use: %w", err)
		}
		u := out[client]
		if dev.LastActiveAt.After(u.LastUsedAt) {
			u.LastUsedAt = dev.LastActiveAt
		}
		if live {
			u.Devices = append(u.Devices, dev)
		}
		out[client] = u
	}
	return out, rows.Err()
}

// EndClientTx ends, inside tx, every live app session of one client for
// an account, each with its back-channel logout job when the client takes
// them, and announces each ended app session ("app:<id>") to every
// replica. It returns the ended app sessions' ids (for the caller's
// Forget after commit) and the ids of all the client's app sessions of the
// account, live or ended, whose tokens the caller revokes in the same
// transaction. A command-line or desktop session left with no app ends
// with them.
func (s *Store) EndClientTx(ctx context.Context, tx pgx.Tx, accountID, clientID string, reason EndReason) (ended, all []string, err error) {
	if !IsID(accountID) {
		return nil, nil, nil
	}
	now := s.Now().UTC()
	rows, err := tx.Query(ctx, `UPDATE app_sessions SET ended_at = $3, end_reason = $4
		WHERE account_id = $1 AND client_id = $2 AND ended_at IS NULL RETURNING id::text, device_session_id::text`,
		accountID, clientID, now, reason)
	if err != nil {
		return nil, nil, fmt.Errorf("sessions: end client: %w", err)
	}
	type app struct{ id, device string }
	apps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (app, error) {
		var a app
		return a, r.Scan(&a.id, &a.device)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("sessions: end client: %w", err)
	}
	jobs := false
	for _, a := range apps {
		wrote, err := s.logoutJob(ctx, tx, a.id, a.device, accountID, clientID, now)
		if err != nil {
			return nil, nil, err
		}
		jobs = jobs || wrote
		ended = append(ended, a.id)
	}
	if len(ended) > 0 {
		// Every replica drops what it cached of these app sessions' tokens.
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, 'app:' || id) FROM unnest($2::text[]) id`, ChannelEnded, ended); err != nil {
			return nil, nil, fmt.Errorf("sessions: notify: %w", err)
		}
	}
	if jobs {
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, ChannelLogoutJobs); err != nil {
			return nil, nil, fmt.Errorf("sessions: notify: %w", err)
		}
	}
	// A command-line or desktop session exists for its app alone: with
	// that app signed out and nothing else in it, it ends too, rather than
	// stay on the sessions page holding nothing.
	devices := make([]string, 0, len(apps))
	for _, a := range apps {
		devices = append(devices, a.device)
	}
	rows, err = tx.Query(ctx, `SELECT d.id::text FROM device_sessions d
		WHERE d.id = ANY($1::uuid[]) AND d.kind <> 'browser' AND d.ended_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM app_sessions a WHERE a.device_session_id = d.id AND a.ended_at IS NULL)`, devices)
	if err != nil {
		return nil, nil, fmt.Errorf("sessions: end client: %w", err)
	}
	empty, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, fmt.Errorf("sessions: end client: %w", err)
	}
	for _, id := range empty {
		if err := s.EndTx(ctx, tx, id, reason); err != nil {
			return nil, nil, err
		}
	}
	rows, err = tx.Query(ctx, `SELECT id::text FROM app_sessions WHERE account_id = $1 AND client_id = $2`, accountID, clientID)
	if err != nil {
		return nil, nil, fmt.Errorf("sessions: client app sessions: %w", err)
	}
	all, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, fmt.Errorf("sessions: client app sessions: %w", err)
	}
	return ended, all, nil
}
