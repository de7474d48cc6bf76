package sessions

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

	"latch/internal/pg"
)

// Event is one line of an account's activity history.
type Event struct {
	AccountID       string
	At              time.Time
	Kind            EventKind
	DeviceSessionID string
	IP              netip.Addr
	UserAgent       string
	Detail          map[string]any
}

// Record appends an event to the account's history, inside q's transaction
// when q is one.
func Record(ctx context.Context, q pg.Querier, e Event) error {
	var sid any
	if e.DeviceSessionID != "" {
		sid = e.DeviceSessionID
	}
	if e.Detail == nil {
		e.Detail = map[string]any{}
	}
	_, err := q.Exec(ctx, `INSERT INTO activity (account_id, at, kind, device_session_id, ip, user_agent, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		e.AccountID, e.At.UTC(), e.Kind, sid, ipArg(e.IP), e.UserAgent, e.Detail)
	if err != nil {
		return fmt.Errorf("sessions: record %s: %w", e.Kind, err)
	}
	return nil
}

// HistoryEvent is a line of an account's history as the activity page shows
// it: the event, with the name and place of the device session it happened
// in, when there was one.
type HistoryEvent struct {
	At     time.Time
	Kind   EventKind
	Detail map[string]any
	Device string
	Place  string
	IP     *netip.Addr
	// DeviceSessionID is the session it happened in, "" when none.
	DeviceSessionID string
}

// History returns the account's latest limit events, newest first.
func (s *Store) History(ctx context.Context, accountID string, limit int) ([]HistoryEvent, error) {
	rows, err := s.DB.Query(ctx, `SELECT a.at, a.kind, a.detail, coalesce(s.device_name, ''), coalesce(s.place, ''), a.ip,
			coalesce(a.device_session_id::text, '')
		FROM activity a LEFT JOIN device_sessions s ON s.id = a.device_session_id
		WHERE a.account_id = $1 ORDER BY a.at DESC, a.id DESC LIMIT $2`, accountID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (HistoryEvent, error) {
		var e HistoryEvent
		return e, r.Scan(&e.At, &e.Kind, &e.Detail, &e.Device, &e.Place, &e.IP, &e.DeviceSessionID)
	})
}
