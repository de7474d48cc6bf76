package idp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/sessions"
)

// The OAuth 2.0 Device Authorization Grant (RFC 8628): a command-line tool
// asks for a code at /oauth/device_authorization, shows it with the address
// of /device, and polls the token endpoint while the person approves it in
// a browser where they are signed in (authn's /device page, which reaches
// the requests through authn.DeviceRequests).
//
// latch answers both endpoints itself rather than through the OIDC
// library's DeviceAuthorizationHandler and DeviceAccessToken: those make
// 128-bit device codes, answer any storage error (the database being away
// included) with access_denied, which a tool reports as "you refused",
// slow nobody down by the interval, never spend the device code, and
// return a state with no session to bind the tokens to. latch keeps the
// library's user code alphabet, its error values and its token signing.

// DeviceConfig is what the device grant needs beyond the provider's
// Config.
type DeviceConfig struct {
	// PollInterval is how often a device may poll (RFC 8628 §3.2
	// "interval"); 5 seconds when zero. Whole seconds.
	PollInterval time.Duration
}

// DeviceCodeLifetime is how long a device authorization waits for its
// approval (RFC 8628 §3.2 expires_in).
const DeviceCodeLifetime = 10 * time.Minute

// slowDownStep is how much the polling interval grows at each slow_down
// (RFC 8628 §3.5).
const slowDownStep = 5 * time.Second

// deviceCodeBytes makes device codes of 256 random bits; only their SHA-256
// is stored.
const deviceCodeBytes = 32

func (p *Provider) pollInterval() time.Duration {
	if iv := p.cfg.Device.PollInterval.Truncate(time.Second); iv >= time.Second {
		return iv
	}
	return 5 * time.Second
}

// deviceScopes checks the scopes a device asks for: the standard ones and
// the scopes of the agents the client may start (Client.IsScopeAllowed),
// openid among them ("openid" alone when none are named). A scope the
// client may not have is refused, not dropped as /authorize drops it: the
// tool learns at once what it cannot have, not at its first use of the
// token.
//
// sessions is never granted here, not even to latch's own apps: a code is
// approved on another screen than the one that asked for it, and a code
// someone was sent (device-code phishing) would otherwise give a stranger's
// machine a token that lists, renames and ends every session of the
// person's, the browser that approved it included.
func deviceScopes(c *Client, raw string) ([]string, error) {
	scopes := []string{}
	for _, s := range strings.Fields(raw) {
		switch {
		case s == oidc.ScopeOpenID, s == oidc.ScopeProfile, s == oidc.ScopeEmail, s == oidc.ScopeOfflineAccess:
		case s == ScopeSessions:
			return nil, oidc.ErrInvalidScope().WithDescription("scope sessions is never granted with a device code: " +
				"a code someone was sent would hand their sessions to another machine")
		case c.IsScopeAllowed(s):
		default:
			return nil, oidc.ErrInvalidScope().WithDescription("unknown scope")
		}
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	if len(scopes) == 0 {
		scopes = append(scopes, oidc.ScopeOpenID)
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		return nil, oidc.ErrInvalidScope().WithDescription("scope must include openid")
	}
	return scopes, nil
}

// deviceAuthorizationPath is the device authorization endpoint.
const deviceAuthorizationPath = "/oauth/device_authorization"

func (p *Provider) deviceRoutes(mux *http.ServeMux) {
	mux.HandleFunc(deviceAuthorizationPath, p.deviceAuthorization)
}

// deviceAuthorization answers the device authorization request (RFC 8628
// §3.1, §3.2). Besides the standard parameters latch takes device_name, the
// name the device gives itself ("ada-laptop"), shown to the person as the
// device's claim and kept in the session's name. A parameter given twice
// is invalid_request (RFC 6749 §3.1), not read as its first value.
func (p *Provider) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "the device authorization endpoint takes POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenForm)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the request body is not a form")
		return
	}
	if err := onlyOnce(r.PostForm, "client_id", "client_secret", "scope", "device_name"); err != nil {
		var oe *oidc.Error
		errors.As(err, &oe)
		writeError(w, http.StatusBadRequest, string(oe.ErrorType), oe.Description)
		return
	}
	c, err := p.authenticateClient(r, false)
	if err != nil {
		writeClientError(w, err)
		return
	}
	if !c.DeviceGrant() {
		writeError(w, http.StatusBadRequest, "unauthorized_client", "this client may not use the device authorization grant")
		return
	}
	scopes, err := deviceScopes(c, r.PostForm.Get("scope"))
	if err != nil {
		var oe *oidc.Error
		errors.As(err, &oe)
		writeError(w, http.StatusBadRequest, string(oe.ErrorType), oe.Description)
		return
	}
	addr := p.clientAddr(r)
	// Every request is a stored row: one address gets as many a minute as
	// it gets authorization requests.
	if p.cfg.AuthorizeLimiter != nil && !p.cfg.AuthorizeLimiter.Allow(addr) {
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusTooManyRequests, "invalid_request", "too many sign-in requests from this address; wait a minute")
		return
	}
	interval := p.pollInterval()
	userCode, deviceCode, expires, err := p.Storage.createDeviceAuthorization(r.Context(), newDeviceAuthorization{
		clientID: c.GetID(), scopes: scopes, deviceName: sessions.CleanHint(r.PostForm.Get("device_name")),
		ip: addr, userAgent: r.UserAgent(), interval: interval,
	})
	if err != nil {
		if databaseAway(err) {
			p.unavailable(w, r, err)
			return
		}
		p.cfg.Logger.ErrorContext(r.Context(), "device authorization", "err", err)
		p.cfg.Metrics.Errors.WithLabelValues("oidc").Inc()
		writeError(w, http.StatusInternalServerError, "server_error", "latch could not answer this request")
		return
	}
	verify := strings.TrimSuffix(p.cfg.Issuer, "/") + "/device"
	writeJSON(w, http.StatusOK, oidc.DeviceAuthorizationResponse{
		DeviceCode:              deviceCode,
		UserCode:                userCode,
		VerificationURI:         verify,
		VerificationURIComplete: verify + "?user_code=" + userCode,
		ExpiresIn:               int(expires.Sub(p.cfg.Now()).Round(time.Second) / time.Second),
		Interval:                int(interval / time.Second),
	})
}

// deviceCodeGrant answers a device's poll (RFC 8628 §3.4, §3.5):
// authorization_pending until the person decides, slow_down when it polls
// faster than its interval (which then grows by 5 seconds), access_denied
// once refused, expired_token once the code has expired, and the tokens,
// once, after an approval. A device code presented after its tokens were
// issued is a copy in someone else's hands: the session it signed in ends.
// Two device codes in one poll are invalid_request (RFC 6749 §3.2), as
// two grant types or client ids are at the token endpoint.
func (p *Provider) deviceCodeGrant(ctx context.Context, r *http.Request, c *Client) (*oidc.AccessTokenResponse, error) {
	if err := onlyOnce(r.PostForm, "device_code"); err != nil {
		return nil, err
	}
	if !c.DeviceGrant() {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("this client may not use the device authorization grant")
	}
	code := r.PostForm.Get("device_code")
	if code == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("device_code is missing")
	}
	if len(code) > 256 {
		return nil, oidc.ErrInvalidGrant().WithDescription("the device code is invalid")
	}
	g, err := p.Storage.pollDevice(ctx, code, c.GetID(), p.clientAddr(r))
	var replay errDeviceReplay
	if errors.As(err, &replay) {
		// Whoever presented the copy may hang up now: the end is not theirs
		// to cancel.
		if err := p.cfg.Sessions.End(context.WithoutCancel(ctx), replay.sid, sessions.ReasonTokenReuse); err != nil && !errors.Is(err, sessions.ErrNotFound) {
			return nil, err
		}
		p.cfg.Logger.WarnContext(ctx, "device code presented again; its session ended", "client_id", c.GetID())
		return nil, oidc.ErrInvalidGrant().WithDescription("the device code was already used")
	}
	if err != nil {
		return nil, err
	}
	resp := &oidc.AccessTokenResponse{TokenType: oidc.BearerToken, RefreshToken: g.refresh, Scope: g.scopes,
		ExpiresIn: uint64(AccessTokenLifetime / time.Second)}
	if c.AccessTokenType() == op.AccessTokenTypeJWT {
		resp.AccessToken, err = op.CreateJWT(ctx, op.IssuerFromContext(ctx), g, g.accessExp, g.accessID, c, p.Storage)
	} else {
		resp.AccessToken, err = op.CreateBearerToken(g.accessID, g.accountID, p.op.Crypto())
	}
	if err != nil {
		return nil, fmt.Errorf("device grant: access token: %w", err)
	}
	if slices.Contains(g.scopes, oidc.ScopeOpenID) {
		resp.IDToken, err = op.CreateIDToken(ctx, op.IssuerFromContext(ctx), g, c.IDTokenLifetime(), resp.AccessToken, "", p.Storage, c)
		if err != nil {
			return nil, fmt.Errorf("device grant: id token: %w", err)
		}
	}
	return resp, nil
}

// deviceGrant is an approved device authorization redeemed for tokens: the
// request the library signs the ID token and a JWT access token from.
type deviceGrant struct {
	familyID, sid, accountID, clientID string
	scopes, amr                        []string
	acr                                string
	authTime                           time.Time
	accessID, refresh                  string
	accessExp                          time.Time
}

var _ op.IDTokenRequest = (*deviceGrant)(nil)

func (g *deviceGrant) GetAMR() []string       { return g.amr }
func (g *deviceGrant) GetAudience() []string  { return []string{g.clientID} }
func (g *deviceGrant) GetAuthTime() time.Time { return g.authTime }
func (g *deviceGrant) GetClientID() string    { return g.clientID }
func (g *deviceGrant) GetScopes() []string    { return g.scopes }
func (g *deviceGrant) GetSubject() string     { return g.accountID }
func (g *deviceGrant) SessionID() string      { return g.sid }

// --- storage ----------------------------------------------------------------

// newDeviceAuthorization is a device authorization request to store.
type newDeviceAuthorization struct {
	clientID   string
	scopes     []string
	deviceName string
	ip         netip.Addr
	userAgent  string
	interval   time.Duration
}

// deviceAuthorization is a stored device authorization.
type deviceAuthorization struct {
	id, clientID string
	scopes       []string
	deviceName   string
	ip           netip.Addr
	userAgent    string
	createdAt    time.Time
	expiresAt    time.Time
}

// createDeviceAuthorization stores a request and returns its user code
// (displayed form), its device code and when they expire. User codes are
// unique among pending requests; a clash, one in billions, draws again.
func (s *Storage) createDeviceAuthorization(ctx context.Context, n newDeviceAuthorization) (userCode, deviceCode string, expires time.Time, err error) {
	now := s.Now().UTC()
	expires = now.Add(DeviceCodeLifetime)
	var ip any
	if n.ip.IsValid() {
		ip = n.ip
	}
	for range 5 {
		userCode = newUserCode()
		norm, _ := normalizeUserCode(userCode)
		deviceCode, _ = op.NewDeviceCode(deviceCodeBytes)
		_, err = s.DB.Exec(ctx, `INSERT INTO device_authorizations (client_id, device_code_hash, user_code_hash, scopes,
				device_name, ip, user_agent, created_at, expires_at, interval_seconds, last_polled_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $8)`,
			n.clientID, hashToken(deviceCode), hashToken(norm), n.scopes, n.deviceName, ip, n.userAgent, now, expires,
			int(n.interval/time.Second))
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			continue
		}
		break
	}
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("store device authorization: %w", err)
	}
	return userCode, deviceCode, expires, nil
}

const deviceColumns = `id, client_id, scopes, device_name, ip, user_agent, created_at, expires_at`

func scanDeviceAuthorization(row pgx.Row) (*deviceAuthorization, error) {
	var a deviceAuthorization
	var ip *netip.Addr
	err := row.Scan(&a.id, &a.clientID, &a.scopes, &a.deviceName, &ip, &a.userAgent, &a.createdAt, &a.expiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound{"device authorization"}
	}
	if err != nil {
		return nil, err
	}
	if ip != nil {
		a.ip = *ip
	}
	return &a, nil
}

// pendingDevice returns the pending, unexpired device authorization whose
// user code is code (normalised), locking it FOR UPDATE when q is a
// transaction that decides it.
func (s *Storage) pendingDevice(ctx context.Context, q pg.Querier, code string, lock bool) (*deviceAuthorization, error) {
	sql := `SELECT ` + deviceColumns + ` FROM device_authorizations
		WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $2`
	if lock {
		sql += ` FOR UPDATE`
	}
	return scanDeviceAuthorization(q.QueryRow(ctx, sql, hashToken(code), s.Now().UTC()))
}

// decideDevice records the person's decision on a pending device
// authorization inside q: approved with the device session and app
// session the approval signed in, or denied (empty ids).
func (s *Storage) decideDevice(ctx context.Context, q pg.Querier, id, accountID, deviceSessionID, appSessionID string) error {
	status := "denied"
	var sid, aid any
	if deviceSessionID != "" {
		status, sid, aid = "approved", deviceSessionID, appSessionID
	}
	tag, err := q.Exec(ctx, `UPDATE device_authorizations SET status = $2, decided_at = $3, account_id = $4,
			device_session_id = $5, app_session_id = $6
		WHERE id = $1 AND status = 'pending'`, id, status, s.Now().UTC(), accountID, sid, aid)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errNotFound{"device authorization"}
	}
	return nil
}

// errDeviceReplay is a device code presented after it was redeemed; sid
// is the session its tokens belong to.
type errDeviceReplay struct{ sid string }

func (e errDeviceReplay) Error() string { return "device code replayed" }

// pollDevice answers one poll in one transaction, the row locked: two
// concurrent polls of an approved code cannot both collect tokens, and the
// interval is measured between polls one after the other.
func (s *Storage) pollDevice(ctx context.Context, code, clientID string, from netip.Addr) (*deviceGrant, error) {
	now := s.Now().UTC()
	var g *deviceGrant
	var answer error
	var ended string
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		g, answer, ended = nil, nil, ""
		var id, client, status string
		var scopes []string
		var expires, lastPolled time.Time
		var intervalSeconds int
		var accountID, sid, appSessionID *string
		err := tx.QueryRow(ctx, `SELECT id, client_id, status, scopes, expires_at, last_polled_at, interval_seconds,
				account_id::text, device_session_id::text, app_session_id::text
			FROM device_authorizations WHERE device_code_hash = $1 FOR UPDATE`, hashToken(code)).Scan(
			&id, &client, &status, &scopes, &expires, &lastPolled, &intervalSeconds, &accountID, &sid, &appSessionID)
		if errors.Is(err, pgx.ErrNoRows) {
			answer = oidc.ErrInvalidGrant().WithDescription("the device code is invalid")
			return nil
		}
		if err != nil {
			return err
		}
		if client != clientID {
			answer = oidc.ErrInvalidGrant().WithDescription("the device code was issued to another client")
			return nil
		}
		switch status {
		case "redeemed":
			answer = errDeviceReplay{sid: deref(sid)}
			return nil
		case "denied":
			answer = oidc.ErrAccessDenied().WithDescription("the person denied the sign-in")
			return nil
		case "pending":
			if !now.Before(expires) {
				answer = oidc.ErrExpiredDeviceCode().WithDescription("the device code has expired; start again")
				return nil
			}
			// A poll sooner than the interval is slowed down, and the
			// interval grows for this and every later poll (RFC 8628
			// §3.5). A fifth of the interval is forgiven, for a network
			// that delivered one poll late and the next on time.
			interval := time.Duration(intervalSeconds) * time.Second
			if now.Sub(lastPolled) < interval-interval/5 {
				intervalSeconds += int(slowDownStep / time.Second)
				answer = oidc.ErrSlowDown().WithDescription("poll at most every %d seconds", intervalSeconds)
			} else {
				answer = oidc.ErrAuthorizationPending().WithDescription("waiting for the person to approve")
			}
			_, err := tx.Exec(ctx, `UPDATE device_authorizations SET last_polled_at = $2, interval_seconds = $3 WHERE id = $1`,
				id, now, intervalSeconds)
			return err
		}
		// Approved, but collected too late: the code is over (RFC 8628
		// §3.5 expired_token), and so is the session the approval signed
		// in, which would otherwise stay live, listed and holding no
		// tokens until its idle limit. It ends here, or at the sweep when
		// the device never comes back (endExpiredApprovals).
		if !now.Before(expires) {
			answer = oidc.ErrExpiredDeviceCode().WithDescription("the device code has expired; start again")
			err := s.Sessions.EndTx(ctx, tx, deref(sid), sessions.ReasonExpired)
			if err == nil {
				ended = deref(sid)
			}
			if errors.Is(err, sessions.ErrNotFound) {
				return nil
			}
			return err
		}
		// Approved: its device session must still be live (the person may
		// have ended it from the sessions page already), and is held until
		// the tokens hang on it.
		d, err := s.Sessions.LockLive(ctx, tx, deref(sid))
		if errors.Is(err, sessions.ErrNotFound) {
			answer = oidc.ErrAccessDenied().WithDescription("the sign-in was ended")
			return nil
		}
		if err != nil {
			return err
		}
		// An app that is not latch's own gets tokens only while the
		// consent the approval recorded stands, and holds it until they
		// are written: removing its access meanwhile leaves it nothing.
		if err := s.holdConsentFor(ctx, tx, d.AccountID, clientID, scopes); errors.Is(err, errNoConsent) {
			answer = oidc.ErrAccessDenied().WithDescription("access to this app was removed")
			return nil
		} else if err != nil {
			return err
		}
		if err := s.Sessions.MoveTx(ctx, tx, d.ID, from); err != nil {
			return err
		}
		g = &deviceGrant{familyID: id, sid: d.ID, accountID: d.AccountID, clientID: clientID, scopes: scopes,
			amr: d.AMR, acr: d.ACR, authTime: d.AuthTime, accessExp: now.Add(AccessTokenLifetime)}
		t := newTokens{appSessionID: deref(appSessionID), familyID: id, accountID: d.AccountID, clientID: clientID,
			scopes: scopes, audience: g.GetAudience(), amr: d.AMR, acr: d.ACR, authTime: d.AuthTime, now: now, accessExp: g.accessExp}
		if slices.Contains(scopes, oidc.ScopeOfflineAccess) {
			t.refreshUntil = d.AbsoluteExpiresAt
		}
		if g.accessID, g.refresh, _, err = t.insert(ctx, tx); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE device_authorizations SET status = 'redeemed', redeemed_at = $2, last_polled_at = $2
			WHERE id = $1`, id, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("device poll: %w", err)
	}
	if ended != "" {
		s.Sessions.Forget(ended)
	}
	if answer != nil {
		return nil, answer
	}
	return g, nil
}

// endExpiredApprovals ends, inside the sweep's tx, the sessions of
// approved device authorizations whose device never collected its tokens
// before the code expired: a poll now answers expired_token, so the
// session would hold nothing until its idle limit. A row being polled
// meanwhile is left to that poll, which ends it itself. It returns the
// sessions ended, for the caller's Forget once tx has committed.
func (s *Storage) endExpiredApprovals(ctx context.Context, tx pgx.Tx, now time.Time) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT device_session_id::text FROM device_authorizations
		WHERE status = 'approved' AND expires_at <= $1 AND device_session_id IS NOT NULL
		FOR UPDATE SKIP LOCKED`, now)
	if err != nil {
		return nil, fmt.Errorf("expired approvals: %w", err)
	}
	sids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("expired approvals: %w", err)
	}
	var ended []string
	for _, sid := range sids {
		// Ended already (by its poll, the person, or an earlier sweep
		// within the hour the row is kept): nothing to do.
		err := s.Sessions.EndTx(ctx, tx, sid, sessions.ReasonExpired)
		if errors.Is(err, sessions.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("expired approvals: %w", err)
		}
		ended = append(ended, sid)
	}
	return ended, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// --- the approval page's view (authn.DeviceRequests) ---------------------

var _ authn.DeviceRequests = (*Provider)(nil)

// FormatUserCode implements authn.DeviceRequests.
func (p *Provider) FormatUserCode(typed string) (string, bool) {
	return displayUserCode(typed)
}

// PendingDevice implements authn.DeviceRequests.
func (p *Provider) PendingDevice(ctx context.Context, typed string) (*authn.DeviceRequest, error) {
	return p.deviceRequest(ctx, p.cfg.DB, typed, false)
}

// LockDevice implements authn.DeviceRequests.
func (p *Provider) LockDevice(ctx context.Context, q pg.Querier, typed string) (*authn.DeviceRequest, error) {
	return p.deviceRequest(ctx, q, typed, true)
}

// DecideDevice implements authn.DeviceRequests.
func (p *Provider) DecideDevice(ctx context.Context, q pg.Querier, id, accountID, deviceSessionID, appSessionID string) error {
	err := p.Storage.decideDevice(ctx, q, id, accountID, deviceSessionID, appSessionID)
	var nf errNotFound
	if errors.As(err, &nf) {
		return authn.ErrUnknownDevice
	}
	return err
}

func (p *Provider) deviceRequest(ctx context.Context, q pg.Querier, typed string, lock bool) (*authn.DeviceRequest, error) {
	code, ok := normalizeUserCode(typed)
	if !ok {
		return nil, authn.ErrUnknownDevice
	}
	a, err := p.Storage.pendingDevice(ctx, q, code, lock)
	var nf errNotFound
	if errors.As(err, &nf) {
		return nil, authn.ErrUnknownDevice
	}
	if err != nil {
		return nil, err
	}
	c, ok := p.Storage.Clients[a.clientID]
	if !ok {
		// The clients file no longer has the client that asked.
		return nil, authn.ErrUnknownDevice
	}
	return &authn.DeviceRequest{ID: a.id, UserCode: formatUserCode(code), ClientID: a.clientID, AppName: c.App(),
		SessionName: sessions.DescribeCLI(c.SessionName(), a.deviceName, a.userAgent), Native: c.Kind() == KindNative,
		FirstParty: c.FirstParty(), Scopes: a.scopes, AgentWords: c.AgentScopeWords(a.scopes), DeviceName: a.deviceName, IP: a.ip, UserAgent: a.userAgent, ExpiresAt: a.expiresAt}, nil
}
