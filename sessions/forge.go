package sessions

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The methods in this file make a state that, in life, only a ceremony in
// a browser or a fault makes, so that end-to-end tests can start from it.
// latch itself never calls them.

// StampAuthentication records an authentication at at, with amr and acr,
// in a live device session, as a sign-in or step-up with that method
// would, but keeps the cookie secret (a real one replaces it) and takes
// no ceremony: tests use it to stand for a passkey step-up. Every replica
// drops the session from its cache.
func (s *Store) StampAuthentication(ctx context.Context, id string, amr []string, acr string, at time.Time) error {
	if !IsID(id) {
		return ErrNotFound
	}
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE device_sessions SET acr = $2, amr = $3, auth_time = $4 WHERE id = $1 AND ended_at IS NULL`,
			id, acr, amr, at.UTC())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, ChannelEnded, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sessions: stamp authentication: %w", err)
	}
	s.Forget(id)
	return nil
}

// EndUnannounced ends a device session the way an operator's UPDATE would,
// or an end whose notification was lost: the row says ended, but no
// replica is told, no app session ends and no logout is written. Tests of
// the session cache use it to show what a replica does when it misses an
// end.
func (s *Store) EndUnannounced(ctx context.Context, id string, reason EndReason) error {
	if !IsID(id) {
		return ErrNotFound
	}
	tag, err := s.DB.Exec(ctx, `UPDATE device_sessions SET ended_at = $2, end_reason = $3 WHERE id = $1 AND ended_at IS NULL`,
		id, s.Now().UTC(), reason)
	if err != nil {
		return fmt.Errorf("sessions: end unannounced: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// Backdate moves when a device session was created and last active, as
// if it had been signed in and used at those times; its lifetime follows
// (expires_at is kept by a trigger). No cache is told, so it is for a
// session no browser is using: tests of how pages write past days.
func (s *Store) Backdate(ctx context.Context, id string, createdAt, lastActiveAt time.Time) error {
	if !IsID(id) {
		return ErrNotFound
	}
	tag, err := s.DB.Exec(ctx, `UPDATE device_sessions SET created_at = $2, last_active_at = $3 WHERE id = $1`,
		id, createdAt.UTC(), lastActiveAt.UTC())
	if err != nil {
		return fmt.Errorf("sessions: backdate: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
