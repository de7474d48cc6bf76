package sessions

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"latch/internal/pg"
)

// Event is one line of an account's activity history.
type Event struct {
	AccountID       string
	At              time.Time
	Kind            string // "signin", "signin_failed", "session_ended", "account_locked", ...
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
