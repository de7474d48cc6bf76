package sessions

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latch-idp/latch/internal/pg"
)

// ErrNotFound means no live session matches: it never existed, has ended or
// has expired. Callers treat all three alike.
var ErrNotFound = errors.New("sessions: no live session")

// EndReason is why a session ended: the end_reason column of device and
// app sessions, shown on the sessions page and in the history.
type EndReason string

// Reasons a session ends.
const (
	ReasonSignedOut      EndReason = "signed_out"        // signed out on the device itself
	ReasonEndedElsewhere EndReason = "ended_elsewhere"   // ended from another device's sessions page
	ReasonNotMe          EndReason = "not_me"            // reported as not the person's own
	ReasonExpired        EndReason = "expired"           // past its idle or absolute lifetime
	ReasonAdvanced       EndReason = "advanced_security" // ended when advanced security was turned on
	ReasonReplaced       EndReason = "replaced"          // another account signed in on the same browser
	ReasonTokenReuse     EndReason = "token_reuse"       // a rotated-out refresh token was presented again
	ReasonAdministrator  EndReason = "administrator"     // ended from the command line
	ReasonPassword       EndReason = "password_changed"  // signed out when the password was changed or removed
	ReasonAccessRemoved  EndReason = "access_removed"    // an app's sessions, when the person removed its access (connected apps)
)

// Lifetime is the pair of limits a device session lives under.
type Lifetime struct {
	Absolute time.Duration // from sign-in, whatever the activity
	Idle     time.Duration // since the last activity
}

// Policy maps security modes to lifetimes.
type Policy map[SecurityMode]Lifetime

// DefaultPolicy is the table of docs/design.md §Policies P1.
func DefaultPolicy() Policy {
	return Policy{
		ModeStandard: {Absolute: 30 * 24 * time.Hour, Idle: 14 * 24 * time.Hour},
		ModeAdvanced: {Absolute: 12 * time.Hour, Idle: 15 * time.Minute},
	}
}

// touchEvery is how stale last_active_at may get before a request writes it
// again (docs/design.md §Policies P6: at most once a minute per session).
const touchEvery = time.Minute

// Store reads and writes sessions in PostgreSQL.
type Store struct {
	DB     *pgxpool.Pool
	Policy Policy
	Now    func() time.Time
	// LogoutURI gives a client's back-channel logout URI, or "" when it
	// takes none; ending an app session of such a client writes a job.
	LogoutURI func(clientID string) string
	// Locator turns addresses into places; nil knows no place.
	Locator *Locator
	// TrustFor is how long a trusted device skips the second factor; zero
	// means DefaultTrustLifetime.
	TrustFor time.Duration
	// cache, when set, keeps live sessions found by cookie; see Cache.
	cache *Cache
	// forgetters are told what Forget is told; see OnForget.
	forgetters []func(string)
}

// New returns a Store with the default clock.
func New(db *pgxpool.Pool, policy Policy) *Store {
	return &Store{DB: db, Policy: policy, Now: time.Now}
}

// Device is a device session as the rest of latch sees it.
type Device struct {
	ID                string
	AccountID         string
	Kind              string
	CreatedAt         time.Time
	AuthTime          time.Time
	AMR               []string // of the last authentication: the sign-in or a later confirmation
	SignInAMR         []string // of the sign-in that created the session
	ACR               string
	LastActiveAt      time.Time
	IdleTimeout       time.Duration
	AbsoluteExpiresAt time.Time
	IP                netip.Addr
	UserAgent         string
	// RestrictedUntil is set on a recovery session: until the person adds
	// a passkey or sets a password it may only reach the security page, and
	// it dies at this time.
	RestrictedUntil *time.Time
}

// Restricted reports whether this is a recovery session.
func (d *Device) Restricted() bool { return d.RestrictedUntil != nil }

// ExpiresAt is when the session dies if nothing happens before then.
func (d *Device) ExpiresAt() time.Time {
	end := d.AbsoluteExpiresAt
	if idle := d.LastActiveAt.Add(d.IdleTimeout); idle.Before(end) {
		end = idle
	}
	if d.RestrictedUntil != nil && d.RestrictedUntil.Before(end) {
		end = *d.RestrictedUntil
	}
	return end
}

// NewDevice describes a fresh sign-in.
type NewDevice struct {
	AccountID string
	Mode      SecurityMode // security mode of the account
	AMR       []string
	ACR       string
	IP        netip.Addr
	UserAgent string
	// Restricted makes a recovery session that lives this long at most and
	// reaches only the security page.
	Restricted time.Duration
	// TrustedDeviceID is the trusted device the browser came from, if any.
	TrustedDeviceID string
	// Kind is the session's kind: KindBrowser (""), KindCLI or KindNative.
	// A CLI or native session is named Name (DescribeCLI) rather than
	// after its User-Agent, and was approved from the browser session
	// ApprovedBy, whose device is named ApprovedOn.
	Kind       string
	Name       string
	ApprovedBy string
	ApprovedOn string
	// Life, when set, are the session's lifetimes instead of Mode's: a
	// desktop app's session takes those of the browser session it was
	// signed in through (docs/design.md P28).
	Life *Lifetime
}

// Session kinds: a sign-in in a browser, a command-line tool signed in with
// the device grant, or a desktop or mobile app.
const (
	KindBrowser = "browser"
	KindCLI     = "cli"
	KindNative  = "native"
)

// NewSecret returns a fresh 256-bit session secret and the SHA-256 hash that
// is stored in its place. The database never holds a usable cookie.
func NewSecret() (secret string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret)
}

// HashSecret is the stored form of a session secret.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func ipArg(a netip.Addr) any {
	if !a.IsValid() {
		return nil
	}
	return a
}

// Create starts a device session and returns its cookie secret.
func (s *Store) Create(ctx context.Context, nd NewDevice) (*Device, string, error) {
	return s.CreateTx(ctx, s.DB, nd)
}

// CreateTx is Create inside a caller's transaction, so that a sign-in's
// session, its activity record and its alert commit together.
func (s *Store) CreateTx(ctx context.Context, q pg.Querier, nd NewDevice) (*Device, string, error) {
	life, ok := s.Policy[nd.Mode]
	if nd.Life != nil {
		life, ok = *nd.Life, nd.Life.Absolute > 0 && nd.Life.Idle > 0
	}
	if !ok {
		return nil, "", fmt.Errorf("sessions: unknown security mode %q", nd.Mode)
	}
	if nd.AMR == nil {
		nd.AMR = []string{}
	}
	now := s.Now().UTC()
	secret, hash := NewSecret()
	if nd.Kind == "" {
		nd.Kind = KindBrowser
	}
	d := &Device{
		AccountID: nd.AccountID, Kind: nd.Kind, CreatedAt: now, AuthTime: now,
		AMR: nd.AMR, SignInAMR: nd.AMR, ACR: nd.ACR, LastActiveAt: now, IdleTimeout: life.Idle,
		AbsoluteExpiresAt: now.Add(life.Absolute), IP: nd.IP, UserAgent: nd.UserAgent,
	}
	if nd.Restricted > 0 {
		until := now.Add(nd.Restricted)
		d.RestrictedUntil = &until
	}
	info := DescribeUserAgent(nd.UserAgent)
	if nd.Kind != KindBrowser {
		info = DeviceInfo{Name: capRunes(nd.Name, maxSessionNameRunes), Kind: KindApp}
	}
	var approvedBy any
	if IsID(nd.ApprovedBy) {
		approvedBy = nd.ApprovedBy
	}
	place := ""
	if p := s.Locator.Locate(nd.IP); p.Known() {
		place = p.String()
	}
	var trusted any
	if nd.TrustedDeviceID != "" {
		trusted = nd.TrustedDeviceID
	}
	err := q.QueryRow(ctx, `
		INSERT INTO device_sessions (account_id, kind, secret_hash, created_at, auth_time, amr, signin_amr, acr,
			last_active_at, idle_timeout, absolute_expires_at, ip, user_agent, restricted_until,
			device_name, device_kind, place, trusted_device_id, approved_by_session, approved_on)
		VALUES ($1, $2, $3, $4, $4, $5, $5, $6, $4, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		RETURNING id`,
		d.AccountID, d.Kind, hash, now, d.AMR, d.ACR, life.Idle, d.AbsoluteExpiresAt, ipArg(nd.IP), nd.UserAgent, d.RestrictedUntil,
		info.Name, string(info.Kind), place, trusted, approvedBy, capRunes(nd.ApprovedOn, maxDeviceNameRunes),
	).Scan(&d.ID)
	if err != nil {
		return nil, "", fmt.Errorf("sessions: create: %w", err)
	}
	return d, secret, nil
}

// ReauthenticateTx records a fresh authentication in a live device session
// (prompt=login, max_age, step-up) inside a caller's transaction and
// returns the session as it now is. The cookie secret is replaced, so a
// secret captured before this sign-in is worthless after it, while the
// session id (the sid apps hold) stays. Every replica hears of it at
// commit; the caller calls Forget(id) after committing.
func (s *Store) ReauthenticateTx(ctx context.Context, q pg.Querier, id string, amr []string, acr string) (*Device, string, error) {
	if !IsID(id) {
		return nil, "", ErrNotFound
	}
	if amr == nil {
		amr = []string{}
	}
	now := s.Now().UTC()
	secret, hash := NewSecret()
	d, err := scanDevice(q.QueryRow(ctx, `
		UPDATE device_sessions SET secret_hash = $2, auth_time = $3, amr = $4, acr = $5, last_active_at = $3,
			signin_amr = coalesce(signin_amr, amr)
		WHERE id = $1 AND ended_at IS NULL RETURNING `+deviceColumns, id, hash, now, amr, acr))
	if errors.Is(err, ErrNotFound) {
		return nil, "", ErrNotFound
	}
	if err != nil {
		return nil, "", fmt.Errorf("sessions: reauthenticate: %w", err)
	}
	// The old secret is worthless now on every replica too.
	if _, err := q.Exec(ctx, `SELECT pg_notify($1, $2)`, ChannelEnded, id); err != nil {
		return nil, "", fmt.Errorf("sessions: reauthenticate: %w", err)
	}
	return d, secret, nil
}

// deviceColumns are what Device holds. signin_amr is NULL on sessions
// created before it was kept: their amr is the best guess there is.
const deviceColumns = `id, account_id, kind, created_at, auth_time, amr, coalesce(signin_amr, amr), acr, last_active_at,
	idle_timeout, absolute_expires_at, ip, user_agent, restricted_until`

func scanDevice(row pgx.Row) (*Device, error) {
	var d Device
	var ip *netip.Addr
	err := row.Scan(&d.ID, &d.AccountID, &d.Kind, &d.CreatedAt, &d.AuthTime, &d.AMR, &d.SignInAMR, &d.ACR,
		&d.LastActiveAt, &d.IdleTimeout, &d.AbsoluteExpiresAt, &ip, &d.UserAgent, &d.RestrictedUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if ip != nil {
		d.IP = *ip
	}
	return &d, nil
}

// BySecret finds the live device session whose cookie carries secret. An
// expired session is ended with reason "expired" on the way, so it moves to
// the history the moment anyone tries to use it.
func (s *Store) BySecret(ctx context.Context, secret string) (*Device, error) {
	if secret == "" {
		return nil, ErrNotFound
	}
	hash := HashSecret(secret)
	key := string(hash)
	var gen uint64
	if s.cache != nil {
		if d, ok := s.cache.get(key); ok {
			if s.Now().Before(d.ExpiresAt()) {
				return s.checkLive(ctx, &d, key)
			}
			// Looks expired here, but another replica may have seen
			// activity since this copy was cached: ask the database.
			s.cache.drop(d.ID)
		}
		gen = s.cache.gen()
	}
	d, err := scanDevice(s.DB.QueryRow(ctx,
		`SELECT `+deviceColumns+` FROM device_sessions WHERE secret_hash = $1 AND ended_at IS NULL`, hash))
	if err != nil {
		return nil, err
	}
	if s.cache != nil {
		s.cache.put(key, *d, gen)
	}
	return s.checkLive(ctx, d, key)
}

// Get returns the live device session with this id.
func (s *Store) Get(ctx context.Context, id string) (*Device, error) {
	if !IsID(id) {
		return nil, ErrNotFound
	}
	d, err := scanDevice(s.DB.QueryRow(ctx,
		`SELECT `+deviceColumns+` FROM device_sessions WHERE id = $1 AND ended_at IS NULL`, id))
	if err != nil {
		if isInvalidUUID(err) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return s.checkLive(ctx, d, "")
}

// LockLive reads a live device session inside a transaction and holds it
// (FOR SHARE) until the transaction ends, so an End cannot commit in
// between: whatever the transaction attaches to the session (a new app
// session at a code exchange) is seen, and signed out, by that End.
func (s *Store) LockLive(ctx context.Context, q pg.Querier, id string) (*Device, error) {
	if !IsID(id) {
		return nil, ErrNotFound
	}
	d, err := scanDevice(q.QueryRow(ctx,
		`SELECT `+deviceColumns+` FROM device_sessions WHERE id = $1 AND ended_at IS NULL FOR SHARE`, id))
	if err != nil {
		return nil, err
	}
	if !s.Now().Before(d.ExpiresAt()) {
		return nil, ErrNotFound
	}
	return d, nil
}

// checkLive ends an expired session and touches a live one.
func (s *Store) checkLive(ctx context.Context, d *Device, cacheKey string) (*Device, error) {
	now := s.Now()
	if !now.Before(d.ExpiresAt()) {
		if err := s.End(ctx, d.ID, ReasonExpired); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, ErrNotFound
	}
	if now.Sub(d.LastActiveAt) >= touchEvery {
		if err := s.Touch(ctx, d.ID); err != nil {
			return nil, err
		}
		d.LastActiveAt = now
		if s.cache != nil && cacheKey != "" {
			s.cache.touched(cacheKey, now)
		}
	}
	return d, nil
}

// Unrestrict turns a recovery session into a normal one, once the person has
// added a passkey or set a password, inside the caller's transaction. The
// caller calls Forget(id) after committing.
func (s *Store) Unrestrict(ctx context.Context, q pg.Querier, id string) error {
	if _, err := q.Exec(ctx, `UPDATE device_sessions SET restricted_until = NULL WHERE id = $1 AND ended_at IS NULL`, id); err != nil {
		return fmt.Errorf("sessions: unrestrict: %w", err)
	}
	if _, err := q.Exec(ctx, `SELECT pg_notify($1, $2)`, ChannelEnded, id); err != nil {
		return fmt.Errorf("sessions: unrestrict: %w", err)
	}
	return nil
}

// Touch records activity on a device session.
func (s *Store) Touch(ctx context.Context, id string) error {
	_, err := s.DB.Exec(ctx, `UPDATE device_sessions SET last_active_at = $2 WHERE id = $1 AND ended_at IS NULL`,
		id, s.Now().UTC())
	return err
}

// AppSession returns the live app session of clientID inside device session
// deviceID, creating it on the client's first code exchange there.
func (s *Store) AppSession(ctx context.Context, q pg.Querier, deviceID, accountID, clientID string) (string, error) {
	now := s.Now().UTC()
	var id string
	// The partial unique index on live (device, client) pairs makes two
	// concurrent first exchanges agree on one app session.
	err := q.QueryRow(ctx, `
		INSERT INTO app_sessions (device_session_id, account_id, client_id, created_at, last_active_at)
		VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (device_session_id, client_id) WHERE ended_at IS NULL
		DO UPDATE SET last_active_at = EXCLUDED.last_active_at
		RETURNING id`, deviceID, accountID, clientID, now).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("sessions: app session: %w", err)
	}
	return id, nil
}

// AppAlive reports whether an app session and its device session are both
// live at the store's clock. Token checks call it.
func (s *Store) AppAlive(ctx context.Context, q pg.Querier, appSessionID string) (bool, error) {
	var alive bool
	err := q.QueryRow(ctx, `
		SELECT a.ended_at IS NULL AND d.ended_at IS NULL AND d.restricted_until IS NULL
			AND $2 < d.absolute_expires_at AND $2 < d.last_active_at + d.idle_timeout
		FROM app_sessions a JOIN device_sessions d ON d.id = a.device_session_id
		WHERE a.id = $1`, appSessionID, s.Now().UTC()).Scan(&alive)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return alive, err
}

// Summary is a live device session for listings (the CLI).
type Summary struct {
	Device
	Apps   []string // client ids of the apps signed in there
	Agents []string // client ids of the agents acting from there (agents.go)
}

// List returns an account's live device sessions, most recently active first.
func (s *Store) List(ctx context.Context, accountID string) ([]Summary, error) {
	rows, err := s.DB.Query(ctx, `
		SELECT `+deviceColumns+`,
			coalesce((SELECT array_agg(client_id ORDER BY created_at) FROM app_sessions a
				WHERE a.device_session_id = d.id AND a.ended_at IS NULL
					AND NOT EXISTS (SELECT 1 FROM agent_sessions g WHERE g.app_session_id = a.id)), '{}'),
			coalesce((SELECT array_agg(client_id ORDER BY created_at) FROM app_sessions a
				WHERE a.device_session_id = d.id AND a.ended_at IS NULL
					AND EXISTS (SELECT 1 FROM agent_sessions g WHERE g.app_session_id = a.id)), '{}')
		FROM device_sessions d
		WHERE account_id = $1 AND ended_at IS NULL
			AND $2 < absolute_expires_at AND $2 < last_active_at + idle_timeout
		ORDER BY last_active_at DESC`, accountID, s.Now().UTC())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Summary
	for rows.Next() {
		var sm Summary
		var ip *netip.Addr
		if err := rows.Scan(&sm.ID, &sm.AccountID, &sm.Kind, &sm.CreatedAt, &sm.AuthTime, &sm.AMR, &sm.SignInAMR, &sm.ACR,
			&sm.LastActiveAt, &sm.IdleTimeout, &sm.AbsoluteExpiresAt, &ip, &sm.UserAgent, &sm.RestrictedUntil, &sm.Apps, &sm.Agents); err != nil {
			return nil, err
		}
		if ip != nil {
			sm.IP = *ip
		}
		out = append(out, sm)
	}
	return out, rows.Err()
}

// EndAll ends every live device session of an account except keep (which
// may be empty) and returns how many ended.
func (s *Store) EndAll(ctx context.Context, accountID, keep string, reason EndReason) (int, error) {
	var ended []string
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		var err error
		ended, err = s.EndAllTx(ctx, tx, accountID, keep, reason)
		return err
	})
	if err == nil {
		s.Forget(ended...)
	}
	return len(ended), err
}

// EndAllTx is EndAll inside a caller's transaction: it returns the ids of
// the sessions it ended, which the caller passes to Forget after
// committing.
func (s *Store) EndAllTx(ctx context.Context, tx pgx.Tx, accountID, keep string, reason EndReason) ([]string, error) {
	var keepArg any
	if IsID(keep) {
		keepArg = keep
	}
	rows, err := tx.Query(ctx, `SELECT id FROM device_sessions
		WHERE account_id = $1 AND ended_at IS NULL AND id IS DISTINCT FROM $2::uuid FOR UPDATE`, accountID, keepArg)
	if err != nil {
		return nil, fmt.Errorf("sessions: end all: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("sessions: end all: %w", err)
	}
	for _, id := range ids {
		// The session kept is the one the others are ended from.
		if err := s.EndByTx(ctx, tx, id, reason, keep); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func isInvalidUUID(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "22P02"
}

// SetLifetime puts a live device session under another security mode's
// lifetimes (advanced security turned on or off). The idle limit changes at
// once. Tightening, the absolute end becomes at most now plus the new
// limit, so the session that turned advanced security on lives on rather
// than dying on the spot; loosening, it is counted from the sign-in again.
func (s *Store) SetLifetime(ctx context.Context, q pg.Querier, id string, life Lifetime, now time.Time, tighten bool) error {
	_, err := q.Exec(ctx, `UPDATE device_sessions SET idle_timeout = $2, last_active_at = $4,
		absolute_expires_at = CASE WHEN $5 THEN least(absolute_expires_at, $4::timestamptz + $3::interval)
			ELSE created_at + $3::interval END
		WHERE id = $1 AND ended_at IS NULL`, id, life.Idle, life.Absolute, now, tighten)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, `SELECT pg_notify($1, $2)`, ChannelEnded, id)
	return err
}
