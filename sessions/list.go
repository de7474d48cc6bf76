package sessions

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
)

// AppRecord is a live app session for the sessions page.
type AppRecord struct {
	ID           string
	ClientID     string
	SignedInAt   time.Time
	LastActiveAt time.Time
}

// DeviceRecord is a live device session for the sessions page and API.
type DeviceRecord struct {
	ID         string
	Name       string // worked out from the User-Agent at sign-in
	CustomName string // the name the person gave it, or ""
	Kind       string // the icon: DeviceKind
	// SessionKind is KindBrowser, KindCLI or KindNative. A CLI or native
	// session was approved on the device named ApprovedOn.
	SessionKind  string
	ApprovedOn   string
	Place        string
	IP           netip.Addr
	SignedInAt   time.Time
	LastActiveAt time.Time
	SignInAMR    []string  // how the session was created
	AMR          []string  // of the last authentication: the sign-in or a later confirmation
	AuthTime     time.Time // of the last authentication
	Trusted      bool
	Restricted   bool
	Apps         []AppRecord
}

// EndedRecord is a recently ended device session.
type EndedRecord struct {
	ID          string
	Name        string
	CustomName  string
	Kind        string
	SessionKind string
	Place       string
	IP          netip.Addr
	SignedInAt  time.Time
	EndedAt     time.Time
	Reason      EndReason
	// EndedBy names the device session the person ended it from, when
	// they did: its name, the name they gave it, and its place.
	EndedBy NamedSession
	Apps    []EndedApp
}

// EndedApp is an app of an ended session and how its sign-out went:
// Delivery is "delivered", "pending" (NextTry says when it is tried
// again), "failed" (after Attempts tries), or "" when the app takes no
// back-channel logout. Agent says it is an agent that was acting there
// (agents.go), which ended with the session: nobody signed in to it.
type EndedApp struct {
	ClientID string    `json:"client_id"`
	Agent    bool      `json:"agent"`
	Delivery string    `json:"delivery"`
	NextTry  time.Time `json:"next_try"`
	Attempts int       `json:"attempts"`
}

// HistoryDays is how long ended sessions stay on the page.
const HistoryDays = 30

// DevicePageSize is how many device sessions the sessions page shows at a
// time: an account with a thousand sessions gets the first fifty, and the
// rest on request.
const DevicePageSize = 50

// Devices returns a page of the account's live device sessions with their
// apps: current (this browser's session, may be "") first, then the others
// most recently active first, skipping offset and returning at most limit
// (all of them when limit is negative). total is how many live sessions the
// account has. Expired ones are left out (the sweep ends them).
func (s *Store) Devices(ctx context.Context, accountID, current string, offset, limit int) (page []DeviceRecord, total int, err error) {
	if !IsID(accountID) {
		return nil, 0, nil
	}
	var cur, lim any
	if IsID(current) {
		cur = current
	}
	if limit >= 0 {
		lim = limit
	}
	now := s.Now().UTC()
	// The apps of a device are aggregated only for the rows of the page:
	// the planner evaluates the subquery after the sort and limit.
	rows, err := s.DB.Query(ctx, `
		SELECT d.id, d.device_name, d.custom_name, d.device_kind, d.kind, d.approved_on, d.place, d.ip, d.created_at, d.last_active_at,
			coalesce(d.signin_amr, d.amr), d.amr, d.auth_time,
			coalesce(t.revoked_at IS NULL AND t.expires_at > $2, false), d.restricted_until IS NOT NULL,
			coalesce((SELECT json_agg(json_build_object('id', a.id, 'client_id', a.client_id,
				'signed_in_at', a.created_at, 'last_active_at', a.last_active_at) ORDER BY a.created_at)
				FROM app_sessions a WHERE a.device_session_id = d.id AND a.ended_at IS NULL
					-- Agents are listed on their own (Agents).
					AND NOT EXISTS (SELECT 1 FROM agent_sessions g WHERE g.app_session_id = a.id)), '[]'),
			count(*) OVER ()
		FROM device_sessions d LEFT JOIN trusted_devices t ON t.id = d.trusted_device_id
		WHERE d.account_id = $1 AND d.ended_at IS NULL AND $2 < d.expires_at
		ORDER BY coalesce(d.id = $3::uuid, false) DESC, d.last_active_at DESC, d.created_at DESC
		OFFSET $4 LIMIT $5`, accountID, now, cur, offset, lim)
	if err != nil {
		return nil, 0, err
	}
	page, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeviceRecord, error) {
		var d DeviceRecord
		var ip *netip.Addr
		var apps []struct {
			ID           string    `json:"id"`
			ClientID     string    `json:"client_id"`
			SignedInAt   time.Time `json:"signed_in_at"`
			LastActiveAt time.Time `json:"last_active_at"`
		}
		var n int64
		err := r.Scan(&d.ID, &d.Name, &d.CustomName, &d.Kind, &d.SessionKind, &d.ApprovedOn, &d.Place, &ip, &d.SignedInAt, &d.LastActiveAt,
			&d.SignInAMR, &d.AMR, &d.AuthTime, &d.Trusted, &d.Restricted, &apps, &n)
		if ip != nil {
			d.IP = *ip
		}
		for _, a := range apps {
			d.Apps = append(d.Apps, AppRecord{ID: a.ID, ClientID: a.ClientID, SignedInAt: a.SignedInAt, LastActiveAt: a.LastActiveAt})
		}
		total = int(n)
		return d, err
	})
	if err != nil {
		return nil, 0, err
	}
	if len(page) == 0 && offset > 0 {
		// Past the last page the window saw no row; count on its own.
		err = s.DB.QueryRow(ctx, `SELECT count(*) FROM device_sessions
			WHERE account_id = $1 AND ended_at IS NULL AND $2 < expires_at`, accountID, now).Scan(&total)
	}
	return page, total, err
}

// Ended returns the account's device sessions ended in the last 30 days,
// newest first, with the state of each app's sign-out: its latest logout
// job's status, next try and attempts.
func (s *Store) Ended(ctx context.Context, accountID string, limit int) ([]EndedRecord, error) {
	now := s.Now().UTC()
	rows, err := s.DB.Query(ctx, `
		SELECT d.id, d.device_name, d.custom_name, d.device_kind, d.kind, d.place, d.ip, d.created_at, d.ended_at, coalesce(d.end_reason, ''),
			coalesce(b.device_name, ''), coalesce(b.custom_name, ''), coalesce(b.place, ''),
			coalesce((SELECT json_agg(json_build_object('client_id', a.client_id,
					'agent', EXISTS (SELECT 1 FROM agent_sessions g WHERE g.app_session_id = a.id), 'delivery', coalesce(j.status, ''),
				'next_try', CASE WHEN j.status = 'pending' THEN j.next_attempt_at END, 'attempts', coalesce(j.attempts, 0)) ORDER BY a.created_at)
				FROM app_sessions a LEFT JOIN LATERAL (SELECT status, next_attempt_at, attempts FROM logout_jobs
					WHERE app_session_id = a.id ORDER BY id DESC LIMIT 1) j ON true
				WHERE a.device_session_id = d.id), '[]')
		FROM device_sessions d LEFT JOIN device_sessions b ON b.id = d.ended_by
		WHERE d.account_id = $1 AND d.ended_at IS NOT NULL AND d.ended_at > $2
		ORDER BY d.ended_at DESC LIMIT $3`, accountID, now.Add(-HistoryDays*24*time.Hour), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (EndedRecord, error) {
		var e EndedRecord
		var ip *netip.Addr
		err := r.Scan(&e.ID, &e.Name, &e.CustomName, &e.Kind, &e.SessionKind, &e.Place, &ip, &e.SignedInAt, &e.EndedAt, &e.Reason,
			&e.EndedBy.Name, &e.EndedBy.CustomName, &e.EndedBy.Place, &e.Apps)
		if ip != nil {
			e.IP = *ip
		}
		return e, err
	})
}

// EndedWith says whether the device session with this id has ended, and
// why: "" while it is live (or expired, until the sweep or its next use
// ends it), the reason it ended with otherwise. ErrNotFound when there is
// no such session.
func (s *Store) EndedWith(ctx context.Context, id string) (EndReason, error) {
	if !IsID(id) {
		return "", ErrNotFound
	}
	var ended bool
	var reason EndReason
	err := s.DB.QueryRow(ctx, `SELECT ended_at IS NOT NULL, coalesce(end_reason, '') FROM device_sessions WHERE id = $1`,
		id).Scan(&ended, &reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", err
	}
	if ended && reason == "" {
		// Every end names its reason; a row without one still ended.
		reason = "ended"
	}
	return reason, nil
}

// ErrNotYours answers an id that is not a live session of this account:
// another account's, an ended one, or none at all. Callers answer 404.
var ErrNotYours = errors.New("sessions: no such session")

// EndOwned ends device sessions of one account in one transaction: all of
// them or, if any id is not a live session of the account, none. by is the
// account's device session they are ended from ("" when none is), which
// the history names.
func (s *Store) EndOwned(ctx context.Context, accountID, by string, ids []string, reasonFor func(id string) EndReason) error {
	if len(ids) == 0 {
		return nil
	}
	defer s.Forget(ids...)
	return pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error { return s.EndOwnedTx(ctx, tx, accountID, by, ids, reasonFor) })
}

// EndOwnedTx is EndOwned inside a caller's transaction, which must roll
// back when it fails. The caller passes ids to Forget after committing.
func (s *Store) EndOwnedTx(ctx context.Context, tx pgx.Tx, accountID, by string, ids []string, reasonFor func(id string) EndReason) error {
	for _, id := range ids {
		if !IsID(id) {
			return ErrNotYours
		}
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT id FROM device_sessions
		WHERE id = ANY($1) AND account_id = $2 AND ended_at IS NULL FOR UPDATE) x`, ids, accountID).Scan(&n); err != nil {
		return err
	}
	if n != len(uniq(ids)) {
		return ErrNotYours
	}
	for _, id := range uniq(ids) {
		if err := s.EndByTx(ctx, tx, id, reasonFor(id), by); err != nil {
			return fmt.Errorf("end %s: %w", id, err)
		}
	}
	return nil
}

// ReportNotMe ends the account's session id, which its owner does not
// recognise, and records the report as made from session by, in one
// transaction.
func (s *Store) ReportNotMe(ctx context.Context, accountID, by, id string) error {
	return s.Transact(ctx, func(t *Tx) error {
		t.Forget(id)
		if err := s.EndOwnedTx(ctx, t, accountID, by, []string{id}, func(string) EndReason { return ReasonNotMe }); err != nil {
			return err
		}
		return Record(ctx, t, Event{AccountID: accountID, At: s.Now(), Kind: EventReportedNotMe, DeviceSessionID: by,
			Detail: map[string]any{"session": id}})
	})
}

// EndOwnedApp ends one app session of the account on the given device,
// from the account's device session by, and returns the app's client id.
// An agent's app session is none (ErrNotYours): agents end by EndAgent.
func (s *Store) EndOwnedApp(ctx context.Context, accountID, by, deviceID, appID string, reason EndReason) (string, error) {
	if !IsID(deviceID) || !IsID(appID) {
		return "", ErrNotYours
	}
	defer s.Forget("app:" + appID)
	var clientID string
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		var ok bool
		// An agent is not an app the person signed in to: it is stopped as
		// an agent (EndAgent), with its own history line.
		err := tx.QueryRow(ctx, `SELECT true FROM app_sessions a WHERE id = $1 AND device_session_id = $2
			AND account_id = $3 AND ended_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM agent_sessions g WHERE g.app_session_id = a.id) FOR UPDATE`, appID, deviceID, accountID).Scan(&ok)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotYours
		}
		if err != nil {
			return err
		}
		clientID, err = s.endApp(ctx, tx, appID, reason, by)
		return err
	})
	return clientID, err
}

// LiveIDs returns the ids of the account's live device sessions.
func (s *Store) LiveIDs(ctx context.Context, accountID string) ([]string, error) {
	rows, err := s.DB.Query(ctx, `SELECT id::text FROM device_sessions WHERE account_id = $1 AND ended_at IS NULL`, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func uniq(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// EndExpired ends every session past its lifetime with reason "expired", so
// it moves to recently ended and its apps get their back-channel logout
// even if nobody uses its cookie again.
func (s *Store) EndExpired(ctx context.Context) (int, error) {
	now := s.Now().UTC()
	// expires_at is the earliest of the absolute, idle and recovery ends
	// (kept by a trigger), so this walks an index, not the table.
	rows, err := s.DB.Query(ctx, `SELECT id::text FROM device_sessions WHERE ended_at IS NULL
		AND expires_at <= $1 ORDER BY expires_at LIMIT 1000`, now)
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if err := s.End(ctx, id, ReasonExpired); err == nil {
			n++
		} else if !errors.Is(err, ErrNotFound) {
			return n, err
		}
	}
	return n, nil
}

// Sweep deletes the device sessions that ended more than HistoryDays ago,
// which the sessions page no longer shows, and returns how many. Their app
// sessions, tokens, logout jobs and pending changes go with them (the
// foreign keys cascade). EndExpired is the other half of sessions' sweep.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	tag, err := s.DB.Exec(ctx, `DELETE FROM device_sessions WHERE ended_at < $1::timestamptz - interval '30 days'`, s.Now().UTC())
	if err != nil {
		return 0, fmt.Errorf("sessions: sweep: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// IsID reports whether s has the form of a session id (a UUID). Ids come
// from URLs; anything else is answered as not found before it reaches the
// database, which would refuse some bytes (NUL) with an error.
func IsID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
