package idp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/sessions"
)

// Lifetimes of what the provider issues (docs/design.md §Policies P8).
const (
	AuthRequestLifetime = 30 * time.Minute // time to sign in
	CodeLifetime        = 60 * time.Second
	AccessTokenLifetime = 5 * time.Minute
)

// Storage implements op.Storage on PostgreSQL.
type Storage struct {
	DB       *pgxpool.Pool
	Clients  map[string]*Client
	Keys     *Keys
	Sessions *sessions.Store
	// Accounts gives the claims of an ID token whose grant did not read
	// them already, and keeps the consents of apps that are not latch's
	// own, which a code exchange of such an app must still hold.
	Accounts *authn.Accounts
	Logger   *slog.Logger
	Now      func() time.Time

	// tokens, when set, keeps checked access tokens; see tokenCache.
	tokens *tokenCache

	terminate func(context.Context, *op.EndSessionRequest) (string, error)
}

var (
	_ op.Storage                        = (*Storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*Storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*Storage)(nil)
	_ op.CanTerminateSessionFromRequest = (*Storage)(nil)
)

// errNotFound satisfies the library's StorageNotFoundError.
type errNotFound struct{ what string }

func (e errNotFound) Error() string { return e.what + " not found" }
func (e errNotFound) IsNotFound()   {}

func hashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func isInvalidText(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "22P02"
}

// GetClientByClientID returns a registered client.
func (s *Storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, ok := s.Clients[id]
	if !ok {
		return nil, errNotFound{"client"}
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret.
func (s *Storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c, ok := s.Clients[id]
	if !ok || !c.CheckSecret(secret) {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return nil
}

// CreateAuthRequest stores an authorization request after the checks the
// library leaves open: PKCE with S256 for every client (a missing challenge,
// "plain" or no method is refused: RFC 9700 §2.1.1), a redirect URI equal to
// a registered one byte for byte, and query response mode only, so that every
// response carries iss (RFC 9207) in the one place latch adds it.
func (s *Storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	c, ok := s.Clients[req.ClientID]
	if !ok {
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("unknown client")
	}
	if !c.RedirectRegistered(req.RedirectURI) {
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("redirect_uri is not registered for this client")
	}
	if req.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge is required (PKCE with S256)")
	}
	if req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery {
		return nil, oidc.ErrInvalidRequest().WithDescription("response_mode must be query")
	}
	if !slices.Contains(req.Scopes, oidc.ScopeOpenID) {
		return nil, oidc.ErrInvalidScope().WithDescription("scope must include openid")
	}
	a := &AuthRequest{clientID: req.ClientID, createdAt: s.Now().UTC(), params: authParams{
		Scopes: req.Scopes, RedirectURI: req.RedirectURI, State: req.State, Nonce: req.Nonce,
		ResponseType: string(req.ResponseType), ResponseMode: string(req.ResponseMode),
		CodeChallenge: req.CodeChallenge, Prompt: req.Prompt, MaxAge: req.MaxAge,
		LoginHint: req.LoginHint, HintSubject: hintSubject,
	}}
	if req.ACRValues != nil {
		a.params.ACRValues = req.ACRValues
	}
	err := s.DB.QueryRow(ctx, `INSERT INTO auth_requests (client_id, params, created_at, expires_at)
		VALUES ($1, $2, $3, $4) RETURNING id`,
		a.clientID, a.marshalParams(), a.createdAt, a.createdAt.Add(AuthRequestLifetime)).Scan(&a.id)
	if err != nil {
		err = fmt.Errorf("store auth request: %w", err)
		// guard shows the 503 page instead of the library's redirect; were
		// the error ever to reach the app, it says temporarily_unavailable
		// (RFC 6749 §4.1.2.1) rather than server_error.
		noteFailure(ctx, err)
		if pg.Unavailable(err) {
			return nil, errTemporarilyUnavailable(err)
		}
		return nil, err
	}
	return a, nil
}

const authRequestColumns = `id, client_id, params, created_at, coalesce(account_id::text, ''),
	coalesce(device_session_id::text, ''), coalesce(auth_time, created_at), coalesce(amr, '{}'), coalesce(acr, '')`

// scanAuthRequest reads authRequestColumns, then any extra columns into extra.
func scanAuthRequest(row pgx.Row, extra ...any) (*AuthRequest, error) {
	var a AuthRequest
	var params []byte
	err := row.Scan(append([]any{&a.id, &a.clientID, &params, &a.createdAt, &a.accountID, &a.deviceSessionID,
		&a.authTime, &a.amr, &a.acr}, extra...)...)
	if errors.Is(err, pgx.ErrNoRows) || isInvalidText(err) {
		return nil, errNotFound{"auth request"}
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(params, &a.params); err != nil {
		return nil, fmt.Errorf("auth request %s: %w", a.id, err)
	}
	return &a, nil
}

// AuthRequestByID returns a pending request (not expired, no code issued yet).
func (s *Storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	a, err := s.pendingRequest(ctx, id)
	if err != nil {
		noteFailure(ctx, err)
		return nil, err
	}
	return a, nil
}

func (s *Storage) pendingRequest(ctx context.Context, id string) (*AuthRequest, error) {
	if !sessions.IsID(id) {
		return nil, errNotFound{"auth request"}
	}
	return scanAuthRequest(s.DB.QueryRow(ctx, `SELECT `+authRequestColumns+` FROM auth_requests
		WHERE id = $1 AND expires_at > $2 AND code_hash IS NULL`, id, s.Now().UTC()))
}

// bindRequest records, on a pending request, the device session that
// answers it: its account, sid and how and when it signed in. A request
// answered or expired meanwhile is authn.ErrUnknownRequest.
func (s *Storage) bindRequest(ctx context.Context, id string, d *sessions.Device) error {
	tag, err := s.DB.Exec(ctx, `UPDATE auth_requests
		SET account_id = $2, device_session_id = $3, auth_time = $4, amr = $5, acr = $6
		WHERE id = $1 AND code_hash IS NULL AND expires_at > $7`,
		id, d.AccountID, d.ID, d.AuthTime, d.AMR, d.ACR, s.Now().UTC())
	if err != nil && !isInvalidText(err) {
		return err
	}
	if err != nil || tag.RowsAffected() == 0 {
		return authn.ErrUnknownRequest
	}
	return nil
}

// deleteRequest spends a request that was refused.
func (s *Storage) deleteRequest(ctx context.Context, id string) error {
	_, err := s.DB.Exec(ctx, `DELETE FROM auth_requests WHERE id = $1`, id)
	return err
}

// SaveAuthCode binds the one code of a completed request. A second callback
// for the same request gets no second code.
func (s *Storage) SaveAuthCode(ctx context.Context, id, code string) error {
	if !sessions.IsID(id) {
		return errNotFound{"auth request"}
	}
	now := s.Now().UTC()
	tag, err := s.DB.Exec(ctx, `UPDATE auth_requests SET code_hash = $2, code_expires_at = $3
		WHERE id = $1 AND code_hash IS NULL AND account_id IS NOT NULL AND expires_at > $4`,
		id, hashToken(code), now.Add(CodeLifetime), now)
	if err != nil {
		noteFailure(ctx, err)
		return err
	}
	if tag.RowsAffected() == 0 {
		return oidc.ErrInvalidRequest().WithDescription("this authorization request was already answered")
	}
	return nil
}

// AuthRequestByCode finds the request behind a code. A code presented after
// it was used is a replay: whoever holds it is not who redeemed it first, so
// every token minted from the first use is revoked (RFC 6749 §4.1.2).
func (s *Storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	var usedAt, expiresAt *time.Time
	a, err := scanAuthRequest(s.DB.QueryRow(ctx, `SELECT `+authRequestColumns+`, code_used_at, code_expires_at
		FROM auth_requests WHERE code_hash = $1`, hashToken(code)), &usedAt, &expiresAt)
	if err != nil {
		return nil, err
	}
	if usedAt != nil {
		if err := s.revokeFamily(ctx, a.id); err != nil {
			return nil, err
		}
		s.Logger.WarnContext(ctx, "authorization code replayed; tokens from its first use revoked", "client_id", a.clientID)
		return nil, oidc.ErrInvalidGrant().WithDescription("code already used")
	}
	if expiresAt == nil || !s.Now().Before(*expiresAt) {
		return nil, oidc.ErrInvalidGrant().WithDescription("code expired")
	}
	return a, nil
}

// revokeFamily revokes every token minted from one code exchange, including
// the refresh tokens rotated from it, and tells every replica.
func (s *Storage) revokeFamily(ctx context.Context, familyID string) error {
	now := s.Now().UTC()
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		return s.revokeFamilyTx(ctx, tx, familyID, now)
	})
	if err == nil {
		s.forgetTokens("family:" + familyID)
	}
	return err
}

// forgetTokens drops revoked tokens from this replica's cache at once; the
// other replicas hear it from the notification.
func (s *Storage) forgetTokens(tag string) {
	if s.tokens != nil {
		s.tokens.drop(tag)
	}
}

func (s *Storage) revokeFamilyTx(ctx context.Context, tx pgx.Tx, familyID string, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL`, familyID, now); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE access_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL`, familyID, now); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, sessions.ChannelEnded, "family:"+familyID)
	return err
}

// DeleteAuthRequest is called after tokens are issued. The row stays until
// it expires so a replayed code is still recognised; the janitor removes it.
func (s *Storage) DeleteAuthRequest(context.Context, string) error { return nil }

// redeemCode marks the code used inside the token transaction. Of two
// concurrent exchanges exactly one sees the update succeed; the other is a
// replay.
func (s *Storage) redeemCode(ctx context.Context, tx pgx.Tx, a *AuthRequest) error {
	tag, err := tx.Exec(ctx, `UPDATE auth_requests SET code_used_at = $2 WHERE id = $1 AND code_used_at IS NULL`,
		a.id, s.Now().UTC())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errCodeReplay
	}
	return nil
}

var errCodeReplay = errors.New("code replay")

// CreateAccessToken issues an access token for a code exchange without
// offline_access.
func (s *Storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	id, _, exp, err := s.issue(ctx, req, "")
	return id, exp, err
}

// CreateAccessAndRefreshTokens issues an access token and a refresh token,
// rotating currentRefreshToken when the request is a refresh.
func (s *Storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	if r, ok := req.(*RefreshRequest); ok {
		if !r.minted {
			return "", "", time.Time{}, errors.New("refresh: tokens are minted by Storage.Refresh")
		}
		return r.accessID, r.newRefresh, r.accessExp, nil
	}
	return s.issue(ctx, req, current)
}

// issue mints the tokens of a code exchange in one transaction with the
// checks that make them safe: the code is redeemed once, and the device
// session is alive and held (FOR SHARE) until the new app session is
// attached, so a sign-out cannot slip in between and miss it.
func (s *Storage) issue(ctx context.Context, req op.TokenRequest, currentRefresh string) (accessID, refresh string, exp time.Time, err error) {
	r, ok := req.(*AuthRequest)
	if !ok {
		return "", "", time.Time{}, fmt.Errorf("unsupported token request %T", req)
	}
	now := s.Now().UTC()
	exp = now.Add(AccessTokenLifetime)
	wantRefresh := currentRefresh == "" && slices.Contains(r.params.Scopes, oidc.ScopeOfflineAccess)
	sid := r.deviceSessionID
	err = pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		sid = r.deviceSessionID
		if err := s.redeemCode(ctx, tx, r); err != nil {
			return err
		}
		d, err := s.Sessions.LockLive(ctx, tx, r.deviceSessionID)
		if err != nil {
			return err
		}
		if err := s.holdConsent(ctx, tx, r); err != nil {
			return err
		}
		if c, ok := s.Clients[r.clientID]; ok && c.Kind() == KindNative {
			if d, err = s.nativeSession(ctx, tx, d, c, now); err != nil {
				return err
			}
			sid = d.ID
		}
		appSessionID, err := s.Sessions.AppSession(ctx, tx, d.ID, d.AccountID, r.clientID)
		if err != nil {
			return err
		}
		t := newTokens{appSessionID: appSessionID, familyID: r.id, accountID: r.accountID, clientID: r.clientID,
			scopes: r.params.Scopes, audience: r.GetAudience(), amr: r.amr, acr: r.acr, authTime: r.authTime, now: now, accessExp: exp}
		if wantRefresh {
			t.refreshUntil = d.AbsoluteExpiresAt
		}
		accessID, refresh, _, err = t.insert(ctx, tx)
		return err
	})
	switch {
	case err == nil:
		// The ID token, made next, names the session the tokens hang on.
		r.deviceSessionID = sid
		return accessID, refresh, exp, nil
	case errors.Is(err, errCodeReplay):
		if rerr := s.revokeFamily(ctx, r.id); rerr != nil {
			return "", "", time.Time{}, rerr
		}
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("code already used")
	case errors.Is(err, sessions.ErrNotFound):
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the session has ended")
	case errors.Is(err, errNoConsent):
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the person removed this app's access")
	}
	return "", "", time.Time{}, fmt.Errorf("issue tokens: %w", err)
}

// newTokens are the first tokens of a grant (a code exchange, a device's
// poll, a token exchange): an access token, and a refresh token when
// refreshUntil is set, both of one family on one app session.
type newTokens struct {
	appSessionID string
	familyID     string // "": a new family
	accountID    string
	clientID     string
	scopes       []string
	audience     []string
	amr          []string
	acr          string
	authTime     time.Time
	now          time.Time
	accessExp    time.Time
	refreshUntil time.Time // zero: no refresh token
}

// insert writes the tokens inside tx and returns the access token's id,
// the refresh token ("" without one) and the family.
func (t newTokens) insert(ctx context.Context, tx pgx.Tx) (accessID, refresh, family string, err error) {
	if err := tx.QueryRow(ctx, `INSERT INTO access_tokens (app_session_id, family_id, account_id, client_id, scopes, created_at, expires_at)
		VALUES ($1, coalesce(nullif($2, '')::uuid, gen_random_uuid()), $3, $4, $5, $6, $7) RETURNING id, family_id::text`,
		t.appSessionID, t.familyID, t.accountID, t.clientID, t.scopes, t.now, t.accessExp).Scan(&accessID, &family); err != nil {
		return "", "", "", err
	}
	if t.refreshUntil.IsZero() {
		return accessID, "", family, nil
	}
	refresh = randomToken()
	_, err = tx.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, app_session_id, family_id, account_id, client_id,
			scopes, audience, amr, acr, auth_time, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		hashToken(refresh), t.appSessionID, family, t.accountID, t.clientID, t.scopes, t.audience, t.amr, t.acr, t.authTime, t.now,
		t.refreshUntil)
	return accessID, refresh, family, err
}

// nativeSession starts the device session of a desktop or mobile app
// (kind: native) that signed in through the browser session d, inside the
// code exchange's transaction (docs/design.md P28). A loopback redirect
// (RFC 8252 §7.3) reaches only the machine the browser runs on, so the app
// is placed where d is; it is named after the app and that machine's
// system, says it was approved on d's browser, and lives under d's
// lifetimes from now on. Ending either session leaves the other: the app is
// a device of its own on the sessions page, ended there like any other.
func (s *Storage) nativeSession(ctx context.Context, tx pgx.Tx, d *sessions.Device, c *Client, now time.Time) (*sessions.Device, error) {
	name := sessions.DescribeCLI(c.SessionName(), "", d.UserAgent)
	native, _, err := s.Sessions.CreateTx(ctx, tx, sessions.NewDevice{
		AccountID: d.AccountID, AMR: d.AMR, ACR: d.ACR, IP: d.IP, UserAgent: d.UserAgent,
		Kind: sessions.KindNative, Name: name, ApprovedBy: d.ID, ApprovedOn: sessions.DescribeUserAgent(d.UserAgent).Name,
		Life: &sessions.Lifetime{Idle: d.IdleTimeout, Absolute: d.AbsoluteExpiresAt.Sub(d.CreatedAt)},
	})
	if err != nil {
		return nil, err
	}
	return native, sessions.Record(ctx, tx, sessions.Event{AccountID: d.AccountID, At: now, Kind: sessions.EventDeviceApproved,
		DeviceSessionID: d.ID, IP: d.IP, UserAgent: d.UserAgent,
		Detail: map[string]any{"client_id": c.GetID(), "name": name, "session": native.ID, "kind": sessions.KindNative}})
}

// Refresh answers a refresh in one statement, one round trip: the presented
// token, if it was issued to clientID, is unused, unrevoked and unexpired,
// grants every scope asked for, and its app and device session are live at
// this moment, is rotated out (once: of two concurrent uses the second waits
// for the first and then finds it rotated) and its successors — an access
// token and a refresh token — are written, with the app session's last
// activity (at most once a minute). A session ended concurrently either ends
// before this statement's snapshot (nothing is written) or after it, and
// then its end marks the app session these tokens hang on, which every check
// joins to. ErrRefreshRefused means nothing was changed: RefreshRefusal says
// why.
func (s *Storage) Refresh(ctx context.Context, token, clientID string, scopes []string) (*RefreshRequest, error) {
	now := s.Now().UTC()
	r := &RefreshRequest{clientID: clientID, claims: true, minted: true, newRefresh: randomToken(), accessExp: now.Add(AccessTokenLifetime)}
	if scopes == nil {
		scopes = []string{}
	}
	err := s.DB.QueryRow(ctx, refreshSQL,
		hashToken(token), clientID, now, scopes, r.accessExp, hashToken(r.newRefresh)).Scan(
		&r.tokenID, &r.appSessionID, &r.familyID, &r.sid, &r.accountID, &r.grantScopes, &r.audience,
		&r.amr, &r.acr, &r.authTime, &r.expiresAt, &r.email, &r.name, &r.accessID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrRefreshRefused
	}
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	r.scopes = r.grantScopes
	if len(scopes) > 0 {
		r.scopes = scopes
	}
	return r, nil
}

// refreshSQL is Refresh's statement. The app and device session, and the
// account's claims, come from the pieces their owners publish
// (sessions.AppSessionLivenessSQL, authn.AccountClaimsSQL); so does the
// app session's activity (sessions.TouchAppSessionsSQL).
var refreshSQL = `WITH rot AS (
			UPDATE refresh_tokens t SET rotated_at = $3
			FROM ` + sessions.AppSessionLivenessSQL + ` a, ` + authn.AccountClaimsSQL + ` acc
			WHERE t.token_hash = $1 AND t.client_id = $2 AND t.rotated_at IS NULL AND t.revoked_at IS NULL AND $3 < t.expires_at
				AND $4::text[] <@ t.scopes
				AND a.id = t.app_session_id AND acc.id = t.account_id AND a.open AND $3 < a.live_until
			RETURNING t.id, t.app_session_id, t.family_id, a.device_session_id, t.account_id, t.scopes, t.audience,
				t.amr, t.acr, t.auth_time, t.expires_at, a.last_active_at AS app_active, acc.email, acc.name
		), touched AS (
			` + sessions.TouchAppSessionsSQL("rot", "app_session_id", "app_active", "$3") + `
		), access AS (
			INSERT INTO access_tokens (app_session_id, family_id, account_id, client_id, scopes, created_at, expires_at)
			SELECT app_session_id, family_id, account_id, $2,
				CASE WHEN cardinality($4::text[]) > 0 THEN $4::text[] ELSE scopes END, $3, $5 FROM rot
			RETURNING id
		), refresh AS (
			INSERT INTO refresh_tokens (token_hash, app_session_id, family_id, account_id, client_id,
				scopes, audience, amr, acr, auth_time, created_at, expires_at)
			SELECT $6, app_session_id, family_id, account_id, $2, scopes, audience, amr, acr, auth_time, $3, expires_at FROM rot
		)
		SELECT rot.id, rot.app_session_id, rot.family_id, rot.device_session_id, rot.account_id, rot.scopes, rot.audience,
			rot.amr, rot.acr, rot.auth_time, rot.expires_at, rot.email, rot.name, (SELECT id::text FROM access)
		FROM rot`

// ErrRefreshRefused means a refresh token could not be used as presented.
var ErrRefreshRefused = errors.New("refresh token refused")

// RefreshRefusal says why Refresh refused a token, and ends the app session
// of a rotated-out token presented again (reuse: a copy is in someone's
// hands). It reads the token again: the refused path may cost more.
func (s *Storage) RefreshRefusal(ctx context.Context, token, clientID string, scopes []string) error {
	req, err := s.TokenRequestByRefreshToken(ctx, token)
	var inv errRefreshInvalid
	switch {
	case errors.Is(err, op.ErrInvalidRefreshToken) || errors.As(err, &inv):
		return oidc.ErrInvalidGrant().WithDescription("the refresh token is invalid, expired, revoked or already used")
	case err != nil:
		return err
	case req.GetClientID() != clientID:
		return oidc.ErrInvalidGrant().WithDescription("the refresh token was issued to another client")
	}
	for _, sc := range scopes {
		if !slices.Contains(req.GetScopes(), sc) {
			return oidc.ErrInvalidScope().WithDescription("scope asks for more than was granted")
		}
	}
	// Usable now, refused a moment ago: it changed in between (a concurrent
	// use rotated it, or it was just issued). The app may try again.
	return oidc.ErrInvalidGrant().WithDescription("the refresh token changed while it was being used; try again")
}

// endForReuse ends an app session whose rotated-out refresh token came back:
// either the legitimate app or a thief holds a copy, and latch cannot tell
// which, so the whole app session and its newest token stop working.
func (s *Storage) endForReuse(ctx context.Context, appSessionID string) {
	err := s.Sessions.EndApp(ctx, appSessionID, sessions.ReasonTokenReuse)
	if err != nil && !errors.Is(err, sessions.ErrNotFound) {
		s.Logger.ErrorContext(ctx, "end app session after refresh token reuse", "err", err)
		return
	}
	s.Logger.WarnContext(ctx, "refresh token reused; app session ended", "app_session", appSessionID)
}

// TokenRequestByRefreshToken returns the grant behind a live refresh token,
// with the account's claims for the new ID token, in one query. A
// rotated-out token ends its app session here already.
func (s *Storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	var r RefreshRequest
	var rotated, revoked *time.Time
	var alive bool
	err := s.DB.QueryRow(ctx, refreshGrantSQL, hashToken(token), s.Now().UTC()).Scan(
		&r.tokenID, &r.appSessionID, &r.familyID, &r.sid, &r.accountID, &r.clientID,
		&r.scopes, &r.audience, &r.amr, &r.acr, &r.authTime, &r.expiresAt, &rotated, &revoked, &alive, &r.email, &r.name)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, op.ErrInvalidRefreshToken
	}
	if err != nil {
		return nil, fmt.Errorf("load refresh token: %w", err)
	}
	switch {
	case revoked != nil:
		return nil, errRefreshInvalid("refresh token revoked")
	case rotated != nil:
		s.endForReuse(ctx, r.appSessionID)
		return nil, errRefreshInvalid("refresh token already used")
	case !s.Now().Before(r.expiresAt):
		return nil, errRefreshInvalid("refresh token expired")
	case !alive:
		return nil, errRefreshInvalid("the session has ended")
	}
	r.claims = true
	r.grantScopes = r.scopes
	return &r, nil
}

// refreshGrantSQL reads a refresh token with its app session's liveness and
// the account's claims (see refreshSQL).
var refreshGrantSQL = `SELECT t.id, t.app_session_id, t.family_id, a.device_session_id, t.account_id, t.client_id,
			t.scopes, t.audience, t.amr, t.acr, t.auth_time, t.expires_at, t.rotated_at, t.revoked_at,
			a.open AND $2 < a.live_until, acc.email, acc.name
		FROM refresh_tokens t
			JOIN ` + sessions.AppSessionLivenessSQL + ` a ON a.id = t.app_session_id
			JOIN ` + authn.AccountClaimsSQL + ` acc ON acc.id = t.account_id
		WHERE t.token_hash = $1`

// errRefreshInvalid is a refresh token that exists but may not be used.
type errRefreshInvalid string

func (e errRefreshInvalid) Error() string { return string(e) }

// TerminateSession is not used: end_session goes through
// TerminateSessionFromRequest.
func (s *Storage) TerminateSession(context.Context, string, string) error {
	return errors.New("not supported")
}

// TerminateSessionFromRequest handles end_session (Provider.terminateSession).
func (s *Storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	u, err := s.terminate(ctx, req)
	noteFailure(ctx, err)
	return u, err
}

// GetRefreshTokenInfo identifies a refresh token for revocation.
func (s *Storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	var accountID, id string
	err := s.DB.QueryRow(ctx, `SELECT account_id::text, id::text FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2`,
		hashToken(token), clientID).Scan(&accountID, &id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", op.ErrInvalidRefreshToken
	}
	if err != nil {
		return "", "", err
	}
	return accountID, id, nil
}

// RevokeToken revokes an access token by id, or a refresh token by id (as
// found by GetRefreshTokenInfo) together with every token of its family,
// and tells every replica. Only the client the token was issued to may
// revoke it; anything else is answered as success without effect (RFC 7009
// §2.2).
func (s *Storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	if !sessions.IsID(tokenOrID) {
		return nil
	}
	now := s.Now().UTC()
	var forget string
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		forget = ""
		tag, err := tx.Exec(ctx, `UPDATE access_tokens SET revoked_at = $3 WHERE id = $1 AND client_id = $2 AND revoked_at IS NULL`,
			tokenOrID, clientID, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() > 0 {
			forget = "token:" + tokenOrID
			_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, sessions.ChannelEnded, forget)
			return err
		}
		var family string
		err = tx.QueryRow(ctx, `UPDATE refresh_tokens SET revoked_at = $3
			WHERE id = $1 AND client_id = $2 AND revoked_at IS NULL RETURNING family_id::text`,
			tokenOrID, clientID, now).Scan(&family)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		forget = "family:" + family
		return s.revokeFamilyTx(ctx, tx, family, now)
	})
	if forget != "" && err == nil {
		s.forgetTokens(forget)
	}
	if err != nil {
		s.Logger.ErrorContext(ctx, "revoke token", "err", err)
		return oidc.ErrServerError().WithDescription("the token could not be revoked; try again")
	}
	return nil
}

// accessToken is a stored access token.
type accessToken struct {
	id, appSessionID, sid, accountID, clientID string
	scopes                                     []string
	createdAt, expiresAt                       time.Time
}

// ErrTokenInvalid means an access token is unknown, expired, revoked, or
// its session has ended: the caller answers invalid_token or "inactive".
// Any other error from a token check means latch could not tell (the
// database did not answer), and the caller must not call the token
// invalid.
var ErrTokenInvalid = errors.New("access token invalid")

// loadToken reads an access token with everything its checks need in one
// query: its app and device session's liveness, the device session's end as
// it stands, and the account's claims.
func (s *Storage) loadToken(ctx context.Context, id string) (*checkedToken, error) {
	if !sessions.IsID(id) {
		return nil, ErrTokenInvalid
	}
	var t checkedToken
	err := s.DB.QueryRow(ctx, accessTokenSQL, id).Scan(
		&t.id, &t.appSessionID, &t.sid, &t.familyID, &t.accountID, &t.clientID, &t.scopes, &t.createdAt, &t.expiresAt,
		&t.alive, &t.aliveUntil, &t.email, &t.name)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("load access token: %w", err)
	}
	return &t, nil
}

// accessTokenSQL reads an access token with its app session's liveness and
// the account's claims (see refreshSQL).
var accessTokenSQL = `SELECT t.id, t.app_session_id, a.device_session_id, t.family_id, t.account_id, t.client_id,
			t.scopes, t.created_at, t.expires_at, t.revoked_at IS NULL AND a.open, a.live_until, acc.email, acc.name
		FROM access_tokens t
			JOIN ` + sessions.AppSessionLivenessSQL + ` a ON a.id = t.app_session_id
			JOIN ` + authn.AccountClaimsSQL + ` acc ON acc.id = t.account_id
		WHERE t.id = $1`

// checkTokenID returns the live access token with this id, issued to
// subject, from the cache when it may be used. key is the presented token's
// hash, which the cache is keyed by.
func (s *Storage) checkTokenID(ctx context.Context, key tokenKey, id, subject string) (*checkedToken, error) {
	now := s.Now()
	var gen uint64
	if s.tokens != nil {
		if t, ok := s.tokens.get(key); ok && now.Before(t.aliveUntil) {
			return live(t, now)
		}
		gen = s.tokens.gen()
	}
	t, err := s.loadToken(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.accountID != subject {
		return nil, ErrTokenInvalid
	}
	if s.tokens != nil && t.alive {
		s.tokens.put(key, t, gen, now)
	}
	return live(t, now)
}

// cachedToken returns a token the cache holds and may answer for, so the
// caller need not decrypt or verify it again.
func (s *Storage) cachedToken(key tokenKey) (*checkedToken, bool) {
	if s.tokens == nil {
		return nil, false
	}
	t, ok := s.tokens.get(key)
	if !ok || !s.Now().Before(t.aliveUntil) {
		return nil, false
	}
	return t, true
}

// live applies the checks that depend on the time: a token is good while
// it and its sessions were live when read, it has not expired, and its
// device session has not passed its end.
func live(t *checkedToken, now time.Time) (*checkedToken, error) {
	if !t.alive || !now.Before(t.expiresAt) || !now.Before(t.aliveUntil) {
		return nil, ErrTokenInvalid
	}
	return t, nil
}

// SetUserinfoFromScopes is deprecated in the library; SetUserinfoFromRequest
// does the work.
func (s *Storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

type sessionIDer interface{ SessionID() string }

// claimsCarrier is a token request that already read the account's claims
// with its grant, so the ID token needs no query of its own.
type claimsCarrier interface {
	accountClaims() (email, name string, ok bool)
}

// SetUserinfoFromRequest fills the ID token's claims, adding sid (the device
// session) so apps can take back-channel logout by session.
func (s *Storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	email, name, ok := "", "", false
	if c, is := req.(claimsCarrier); is {
		email, name, ok = c.accountClaims()
	}
	if !ok {
		var err error
		if email, name, err = s.accountClaims(ctx, req.GetSubject()); err != nil {
			return err
		}
	}
	setUserinfo(info, req.GetSubject(), email, name, scopes)
	if r, ok := req.(sessionIDer); ok && r.SessionID() != "" {
		info.AppendClaims("sid", r.SessionID())
	}
	// The library takes acr only from an authorization request; a
	// refreshed ID token must still say how the person signed in, and so
	// must a device grant's.
	if r, ok := req.(*RefreshRequest); ok && r.acr != "" {
		info.AppendClaims("acr", r.acr)
	}
	if g, ok := req.(*deviceGrant); ok && g.acr != "" {
		info.AppendClaims("acr", g.acr)
	}
	return nil
}

func (s *Storage) accountClaims(ctx context.Context, accountID string) (email, name string, err error) {
	email, name, err = s.Accounts.Claims(ctx, accountID)
	if errors.Is(err, authn.ErrNoAccount) {
		return "", "", errNotFound{"account"}
	}
	return email, name, err
}

// setUserinfo fills the claims the scopes allow.
func setUserinfo(info *oidc.UserInfo, accountID, email, name string, scopes []string) {
	info.Subject = accountID
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeEmail:
			info.Email, info.EmailVerified = email, oidc.Bool(false)
		case oidc.ScopeProfile:
			info.Name = name
		}
	}
}

// SetUserinfoFromToken is not used: latch answers userinfo itself
// (userinfo.go).
func (s *Storage) SetUserinfoFromToken(context.Context, *oidc.UserInfo, string, string, string) error {
	return errors.New("not supported")
}

// SetIntrospectionFromToken is not used: latch answers introspection
// itself (userinfo.go).
func (s *Storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errors.New("not supported")
}

// GetPrivateClaimsFromScopes is superseded by GetPrivateClaimsFromRequest.
func (s *Storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetPrivateClaimsFromRequest adds sid to JWT access tokens.
func (s *Storage) GetPrivateClaimsFromRequest(_ context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	if r, ok := req.(sessionIDer); ok && r.SessionID() != "" {
		return map[string]any{"sid": r.SessionID()}, nil
	}
	return nil, nil
}

// GetKeyByIDAndClientID is for the JWT profile grant, which latch refuses.
func (s *Storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("jwt profile not supported")
}

// ValidateJWTProfileScopes is for the JWT profile grant, which latch refuses.
func (s *Storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("jwt profile not supported")
}

// SigningKey is the current ES256 key.
func (s *Storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	return s.Keys.SigningKey(ctx)
}

// SignatureAlgorithms lists ES256 only.
func (s *Storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256}, nil
}

// KeySet is the published public keys.
func (s *Storage) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := s.Keys.KeySet(ctx)
	noteFailure(ctx, err)
	return keys, err
}

// Health reports whether the database answers.
func (s *Storage) Health(ctx context.Context) error { return s.DB.Ping(ctx) }

// StoredRequests returns how many authorization requests are stored:
// waiting for a sign-in, or for their code's exchange, until Sweep
// deletes them.
func (s *Storage) StoredRequests(ctx context.Context) (int, error) {
	var n int
	err := s.DB.QueryRow(ctx, `SELECT count(*) FROM auth_requests`).Scan(&n)
	return n, err
}

// Sweep deletes what of idp's own no longer matters: answered or
// abandoned authorization requests and tokens past their expiry. (Every
// owner of tables sweeps its own: sessions.Store.Sweep the ended sessions,
// authn.Throttle.Sweep the sign-in throttle's counts.) It also ends the
// sessions of device approvals whose device never collected its tokens in
// time (endExpiredApprovals).
func (s *Storage) Sweep(ctx context.Context) error {
	now := s.Now().UTC()
	var ended []string
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		var err error
		if ended, err = s.endExpiredApprovals(ctx, tx, now); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM auth_requests WHERE expires_at < $1::timestamptz - interval '1 hour'`,
			`DELETE FROM access_tokens WHERE expires_at < $1::timestamptz - interval '1 hour'`,
			// Rotated and revoked tokens go with their expiry: indexing
			// when they were rotated would make every refresh update every
			// index (migrations/00009).
			`DELETE FROM refresh_tokens WHERE expires_at < $1::timestamptz`,
			// A device code stays an hour past its expiry, so a copy
			// presented again is still recognised.
			`DELETE FROM device_authorizations WHERE expires_at < $1::timestamptz - interval '1 hour'`,
		} {
			if _, err := tx.Exec(ctx, q, now); err != nil {
				return fmt.Errorf("sweep: %w", err)
			}
		}
		return nil
	})
	if err == nil {
		s.Sessions.Forget(ended...)
	}
	return err
}
