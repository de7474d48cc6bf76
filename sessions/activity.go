package sessions

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latch-idp/latch/internal/pg"
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

// EventKinds are the kinds of event the history holds. Record refuses any
// other, so that a kind cannot reach the history before it has words: the
// account pages' tests check that each of these has them, and that every
// kind the code records is one of these.
var EventKinds = []EventKind{
	// Signing in, and failing to.
	EventSignIn, EventNewDevice, EventSignInFailed, EventSignInThrottled, EventAccountLocked, EventStepUp,
	// Sessions ending, and what a person does from the sessions page.
	EventSessionEnded, EventAppSessionEnded, EventReportedNotMe, EventDeviceUntrusted, EventDeviceRenamed,
	// A command-line or desktop app signing in with a code (RFC 8628).
	EventDeviceApproved, EventDeviceDenied,
	// Passkeys.
	EventPasskeyAdded, EventPasskeyRenamed, EventPasskeyRemoved, EventPasskeyCloneRefused, EventPasskeySuspended, EventPasskeyReinstated,
	// The password, the authenticator app and recovery keys.
	EventPasswordSet, EventPasswordRemoved, EventTOTPAdded, EventTOTPRemoved, EventRecoveryGenerated, EventRecoveryKeyUsed,
	// Advanced security, and apps.
	EventAdvancedOn, EventAdvancedOff, EventConsentGranted, EventConsentWidened, EventConsentRemoved,
	// Agents acting for the person (agents.go).
	EventAgentStarted, EventAgentEnded,
}

// ErrUnknownKind refuses an event whose kind is not in EventKinds.
var ErrUnknownKind = errors.New("sessions: unknown activity kind")

// Record appends an event to the account's history, inside q's transaction
// when q is one. A kind not in EventKinds is refused.
func Record(ctx context.Context, q pg.Querier, e Event) error {
	if !slices.Contains(EventKinds, e.Kind) {
		return fmt.Errorf("%w %q", ErrUnknownKind, e.Kind)
	}
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
// it: the event, with the device session it happened in, when there was
// one (its name, the name the person gave it, and its place), and the other
// device session it names, when it names one: the session reported, no
// longer trusted or renamed (detail "session"), or the one a session was
// ended from (detail "by").
type HistoryEvent struct {
	At     time.Time
	Kind   EventKind
	Detail map[string]any
	// DeviceSessionID is the device session it happened in, or "".
	DeviceSessionID string
	Device          string
	CustomName      string
	Place           string
	IP              *netip.Addr
	UserAgent       string
	Other           NamedSession
}

// uuidPattern matches the text of a UUID, for SQL that casts one.
const uuidPattern = `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`

// History returns the account's latest limit events, newest first.
func (s *Store) History(ctx context.Context, accountID string, limit int) ([]HistoryEvent, error) {
	// The other session is found by its primary key; the CASE keeps a
	// detail that is not a UUID from ever reaching the cast.
	rows, err := s.DB.Query(ctx, `SELECT a.at, a.kind, a.detail, coalesce(a.device_session_id::text, ''),
			coalesce(s.device_name, ''), coalesce(s.custom_name, ''),
			coalesce(s.place, ''), a.ip, a.user_agent,
			coalesce(o.id::text, ''), coalesce(o.device_name, ''), coalesce(o.custom_name, ''), coalesce(o.place, '')
		FROM activity a LEFT JOIN device_sessions s ON s.id = a.device_session_id
		LEFT JOIN device_sessions o ON o.account_id = a.account_id AND o.id = CASE
			WHEN a.detail->>'session' ~ '`+uuidPattern+`' THEN (a.detail->>'session')::uuid
			WHEN a.detail->>'by' ~ '`+uuidPattern+`' THEN (a.detail->>'by')::uuid END
		WHERE a.account_id = $1 ORDER BY a.at DESC, a.id DESC LIMIT $2`, accountID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (HistoryEvent, error) {
		var e HistoryEvent
		return e, r.Scan(&e.At, &e.Kind, &e.Detail, &e.DeviceSessionID, &e.Device, &e.CustomName, &e.Place, &e.IP, &e.UserAgent,
			&e.Other.ID, &e.Other.Name, &e.Other.CustomName, &e.Other.Place)
	})
}
