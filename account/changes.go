package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/sessions"
)

// pendingChangeLifetime is how long a sensitive change waits for its step-up.
const pendingChangeLifetime = 10 * time.Minute

// errChangeGone means a stored change was applied meanwhile (the step-up
// was sent twice) or has expired.
var errChangeGone = errors.New("account: the change was applied already")

// Changes keeps the sensitive changes that wait for a step-up
// (pending_changes), each bound to the device session that asked for it.
// It is the one table package account owns.
type Changes struct {
	DB  *pgxpool.Pool
	Now func() time.Time
}

// Keep stores a change of device session sid that waits for its step-up,
// for pendingChangeLifetime, and returns its id.
func (c *Changes) Keep(ctx context.Context, sid, action string, params map[string]string) (string, error) {
	p, err := json.Marshal(params)
	if err != nil {
		return "", err
	}
	now := c.Now().UTC()
	var id string
	err = c.DB.QueryRow(ctx, `INSERT INTO pending_changes (device_session_id, action, params, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, sid, action, p, now, now.Add(pendingChangeLifetime)).Scan(&id)
	return id, err
}

// Get returns the action and parameters of device session sid's stored
// change id, unless it has expired; ok is false when there is none.
func (c *Changes) Get(ctx context.Context, sid, id string) (action string, params map[string]string, ok bool, err error) {
	if !sessions.IsID(id) {
		return "", nil, false, nil
	}
	var p []byte
	err = c.DB.QueryRow(ctx, `SELECT action, params FROM pending_changes
		WHERE id = $1 AND device_session_id = $2 AND expires_at > $3`,
		id, sid, c.Now().UTC()).Scan(&action, &p)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, err
	}
	if err := json.Unmarshal(p, &params); err != nil {
		return "", nil, false, err
	}
	return action, params, true, nil
}

// Action returns the action of device session sid's stored change id,
// expired or not, for the step-up page to say what waits.
func (c *Changes) Action(ctx context.Context, sid, id string) (string, error) {
	if !sessions.IsID(id) {
		return "", fmt.Errorf("account: no change %q", id)
	}
	var action string
	err := c.DB.QueryRow(ctx, `SELECT action FROM pending_changes WHERE id = $1 AND device_session_id = $2`,
		id, sid).Scan(&action)
	return action, err
}

// Take deletes device session sid's stored change id through q, the
// transaction that applies it: of two concurrent step-ups that found it,
// one applies it and the other finds errChangeGone.
func (c *Changes) Take(ctx context.Context, q pg.Querier, sid, id string) error {
	tag, err := q.Exec(ctx, `DELETE FROM pending_changes WHERE id = $1 AND device_session_id = $2 AND expires_at > $3`,
		id, sid, c.Now().UTC())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errChangeGone
	}
	return nil
}

// Sweep deletes the changes that expired before their step-up, and
// returns how many.
func (c *Changes) Sweep(ctx context.Context) (int, error) {
	tag, err := c.DB.Exec(ctx, `DELETE FROM pending_changes WHERE expires_at < $1`, c.Now().UTC())
	if err != nil {
		return 0, fmt.Errorf("account: sweep: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
