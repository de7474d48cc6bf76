package sessions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latch-idp/latch/internal/pg"
)

// Agent sessions are agents acting for a person with a delegated token
// (OAuth 2.0 Token Exchange, RFC 8693; idp/exchange.go). Each is an app
// session of the agent's client inside the device session whose token was
// exchanged, plus a row of agent_sessions with what only an agent has
// (migrations/00017_agent_sessions.sql). Being an app session, an agent's
// tokens live and die by the same checks as an app's: ending the device
// session ends its agents in the same transaction (EndTx), with a
// back-channel logout for an agent that takes them, and every replica
// drops their tokens from its cache. There is one live agent session per
// agent and device session: another exchange renews it.

// ReasonStopped ends an agent the person stopped from the sessions page or
// the JSON API.
const ReasonStopped EndReason = "stopped"

// The history's events of agents.
const (
	EventAgentStarted EventKind = "agent_started" // an exchange started an agent (not a renewal)
	EventAgentEnded   EventKind = "agent_ended"   // the person stopped an agent
)

// AgentStart is one exchange that starts or renews an agent session.
type AgentStart struct {
	AccountID string
	DeviceID  string // the device session of the exchanged token
	AgentID   string // the agent's client id
	StartedBy string // the client id of the app that exchanged the token
	Scopes    []string
	Note      string // where the agent runs, as the starting app reports it; "" keeps the last one
	// ExpiresAt is when what this exchange issued dies: the access token,
	// or the refresh token when there is one.
	ExpiresAt time.Time
	// AgentName and StarterName are the names people see, for the history.
	AgentName, StarterName string
}

// AgentSession is the agent session an exchange started or renewed.
type AgentSession struct {
	ID string // the app session's id: the agent's tokens hang on it
	// Started is true when the exchange started the agent, false when it
	// renewed one that was still acting.
	Started   bool
	StartedAt time.Time
	Scopes    []string // everything granted to it so far
}

// StartAgentTx starts or renews the agent session of st inside q, the
// transaction that issues the agent's tokens, which must hold the device
// session (LockLive) so that an end cannot slip in between. A start is
// recorded in the history; a renewal is not. An agent whose last tokens
// had died is started afresh.
func (s *Store) StartAgentTx(ctx context.Context, q pg.Querier, st AgentStart) (*AgentSession, error) {
	id, err := s.AppSession(ctx, q, st.DeviceID, st.AccountID, st.AgentID)
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	a := &AgentSession{ID: id, StartedAt: now, Scopes: slices.Clone(st.Scopes)}
	var old struct {
		scopes    []string
		note      string
		startedAt time.Time
		expiresAt time.Time
	}
	err = q.QueryRow(ctx, `SELECT scopes, note, started_at, expires_at FROM agent_sessions
		WHERE app_session_id = $1 FOR UPDATE`, id).Scan(&old.scopes, &old.note, &old.startedAt, &old.expiresAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		a.Started = true
		_, err = q.Exec(ctx, `INSERT INTO agent_sessions (app_session_id, account_id, device_session_id, agent_id,
				started_by, scopes, note, started_at, renewed_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)`,
			id, st.AccountID, st.DeviceID, st.AgentID, st.StartedBy, a.Scopes, st.Note, now, st.ExpiresAt.UTC())
	case err != nil:
	default:
		expiresAt, note := st.ExpiresAt.UTC(), st.Note
		if now.Before(old.expiresAt) {
			// Still acting: the renewal adds to what it may do, and its
			// earlier tokens live on until they expire.
			a.StartedAt = old.startedAt
			for _, sc := range old.scopes {
				if !slices.Contains(a.Scopes, sc) {
					a.Scopes = append(a.Scopes, sc)
				}
			}
			if old.expiresAt.After(expiresAt) {
				expiresAt = old.expiresAt
			}
			if note == "" {
				note = old.note
			}
		} else {
			a.Started = true
		}
		_, err = q.Exec(ctx, `UPDATE agent_sessions SET started_by = $2, scopes = $3, note = $4, started_at = $5,
			renewed_at = $6, expires_at = $7 WHERE app_session_id = $1`,
			id, st.StartedBy, a.Scopes, note, a.StartedAt, now, expiresAt)
	}
	if err != nil {
		return nil, fmt.Errorf("sessions: agent session: %w", err)
	}
	if a.Started {
		detail := map[string]any{"agent": st.AgentName, "client_id": st.AgentID, "started_by": st.StarterName, "scopes": st.Scopes}
		if st.Note != "" {
			detail["note"] = st.Note
		}
		if err := Record(ctx, q, Event{AccountID: st.AccountID, At: now, Kind: EventAgentStarted, DeviceSessionID: st.DeviceID,
			Detail: detail}); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// AgentRecord is a live agent session for the sessions page and API.
type AgentRecord struct {
	ID          string // its app session's id
	DeviceID    string // the device session it was started from
	AgentID     string // the agent's client id
	StartedBy   string // the client id of the app that started it
	Scopes      []string
	Note        string
	StartedAt   time.Time
	LastActedAt time.Time // its last exchange, refresh or introspection
	ExpiresAt   time.Time
	// The device session it was started from: latch's name for it, the
	// name the person gave it (or ""), its icon's kind, its kind of
	// session (KindBrowser, KindCLI, KindNative) and its place.
	DeviceName, CustomName, DeviceKind, SessionKind, Place string
}

// StartedFrom names, for people, what an agent was started from: the app
// that started it on the device, "ChatGPT on Chrome on macOS". A
// command-line or desktop session's name already names its app, the only
// one signed in there and so the one that started the agent, and stands
// alone: "Codex CLI on ada-laptop · Linux". A name the person gave the
// device is used instead of latch's ("Codex CLI on build box"), alone when
// it starts with the app's name.
func StartedFrom(app, sessionKind, name, custom string) string {
	switch {
	case custom != "":
		if startsWithName(custom, app) {
			return custom
		}
		name = custom
	case name == "":
		name = "an unknown device"
	case sessionKind == KindCLI || sessionKind == KindNative:
		return name
	}
	return app + " on " + name
}

// startsWithName reports whether s starts with the words of name, in any
// case.
func startsWithName(s, name string) bool {
	s, name = strings.ToLower(s), strings.ToLower(name)
	return name != "" && strings.HasPrefix(s, name) && (len(s) == len(name) || s[len(name)] == ' ')
}

// MaxAgents bounds how many agents the page and the API list at once.
const MaxAgents = 200

// Agents returns the account's agents that are acting: their session and
// the device session they were started from are live, and their tokens
// have not all expired. Newest first.
func (s *Store) Agents(ctx context.Context, accountID string) ([]AgentRecord, error) {
	if !IsID(accountID) {
		return nil, nil
	}
	rows, err := s.DB.Query(ctx, `
		SELECT g.app_session_id, g.device_session_id, g.agent_id, g.started_by, g.scopes, g.note, g.started_at,
			a.last_active_at, g.expires_at, d.device_name, d.custom_name, d.device_kind, d.kind, d.place
		FROM agent_sessions g
			JOIN app_sessions a ON a.id = g.app_session_id
			JOIN device_sessions d ON d.id = g.device_session_id
		WHERE g.account_id = $1 AND a.ended_at IS NULL AND d.ended_at IS NULL
			AND $2 < g.expires_at AND $2 < d.expires_at AND d.restricted_until IS NULL
		ORDER BY g.started_at DESC LIMIT $3`, accountID, s.Now().UTC(), MaxAgents)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AgentRecord, error) {
		var g AgentRecord
		return g, r.Scan(&g.ID, &g.DeviceID, &g.AgentID, &g.StartedBy, &g.Scopes, &g.Note, &g.StartedAt,
			&g.LastActedAt, &g.ExpiresAt, &g.DeviceName, &g.CustomName, &g.DeviceKind, &g.SessionKind, &g.Place)
	})
}

// lockAgents locks the account's acting agents named by ids (all of them
// when ids is nil) and returns their ids.
func (s *Store) lockAgents(ctx context.Context, tx pgx.Tx, accountID string, ids []string) ([]string, error) {
	var idsArg any
	if ids != nil {
		idsArg = ids
	}
	rows, err := tx.Query(ctx, `SELECT a.id::text FROM agent_sessions g
			JOIN app_sessions a ON a.id = g.app_session_id
		WHERE g.account_id = $1 AND a.ended_at IS NULL AND $2 < g.expires_at
			AND ($3::uuid[] IS NULL OR g.app_session_id = ANY($3::uuid[]))
		FOR UPDATE OF a`, accountID, s.Now().UTC(), idsArg)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// EndAgent ends one agent of the account: its tokens stop working
// everywhere and its client gets a back-channel logout. An id that is not
// an acting agent of this account answers ErrNotYours and changes nothing.
func (s *Store) EndAgent(ctx context.Context, accountID, id string, reason EndReason) error {
	if !IsID(accountID) || !IsID(id) {
		return ErrNotYours
	}
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		got, err := s.lockAgents(ctx, tx, accountID, []string{id})
		if err != nil {
			return err
		}
		if len(got) != 1 {
			return ErrNotYours
		}
		return s.endAgentTx(ctx, tx, id, reason)
	})
	if err == nil {
		s.Forget("app:" + id)
	}
	return err
}

// EndAgents ends every acting agent of the account in one transaction and
// returns how many ended.
func (s *Store) EndAgents(ctx context.Context, accountID string, reason EndReason) (int, error) {
	if !IsID(accountID) {
		return 0, nil
	}
	var ended []string
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		var err error
		if ended, err = s.lockAgents(ctx, tx, accountID, nil); err != nil {
			return err
		}
		for _, id := range ended {
			if err := s.endAgentTx(ctx, tx, id, reason); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, id := range ended {
		s.Forget("app:" + id)
	}
	return len(ended), nil
}

// endAgentTx ends an agent's app session as endApp ends an app's, and
// records it as an agent's end.
func (s *Store) endAgentTx(ctx context.Context, q pg.Querier, id string, reason EndReason) error {
	now := s.Now().UTC()
	var deviceID, accountID, clientID string
	err := q.QueryRow(ctx, `UPDATE app_sessions SET ended_at = $2, end_reason = $3
		WHERE id = $1 AND ended_at IS NULL RETURNING device_session_id, account_id, client_id`,
		id, now, reason).Scan(&deviceID, &accountID, &clientID)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("sessions: end agent: %w", err)
	}
	wrote, err := s.logoutJob(ctx, q, id, deviceID, accountID, clientID, now)
	if err != nil {
		return err
	}
	if err := Record(ctx, q, Event{AccountID: accountID, At: now, Kind: EventAgentEnded, DeviceSessionID: deviceID,
		Detail: map[string]any{"reason": reason, "client_id": clientID}}); err != nil {
		return err
	}
	if _, err := q.Exec(ctx, `SELECT pg_notify($1, $2)`, ChannelEnded, "app:"+id); err != nil {
		return fmt.Errorf("sessions: end agent: %w", err)
	}
	if wrote {
		if _, err := q.Exec(ctx, `SELECT pg_notify($1, '')`, ChannelLogoutJobs); err != nil {
			return fmt.Errorf("sessions: end agent: %w", err)
		}
	}
	return nil
}

// TouchAgent records that an agent acted (its token was introspected), at
// most once a minute.
func (s *Store) TouchAgent(ctx context.Context, id string) error {
	if !IsID(id) {
		return nil
	}
	now := s.Now().UTC()
	_, err := s.DB.Exec(ctx, `UPDATE app_sessions SET last_active_at = $2
		WHERE id = $1 AND ended_at IS NULL AND last_active_at < $2::timestamptz - interval '1 minute'`, id, now)
	return err
}
