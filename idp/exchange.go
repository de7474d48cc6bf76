package idp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/zitadel/oidc/v3/pkg/crypto"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/sessions"
)

// OAuth 2.0 Token Exchange (RFC 8693) for agents.
//
// latch answers the grant in its own token endpoint (token.go), like the
// code and refresh grants, and does not implement the library's
// op.TokenExchangeStorage: the library's handler authenticates the client
// its own, lenient way, accepts a subject token by its signature or
// encryption alone (a token of a signed-out session would pass), answers
// in its own error shapes, and has no place for what an exchange must do
// in one transaction with the device session held: start or renew the
// agent session, write the tokens, and record and announce the start. The
// library still mints nothing here that latch could not check: JWTs are
// signed with latch's keys (Keys.Signer) and opaque tokens sealed with the
// library's crypto, so userinfo, introspection and revocation treat an
// agent's token like any other.
//
// The exchange: a first-party app, authenticated as at every grant, sends
//
//	grant_type=urn:ietf:params:oauth:grant-type:token-exchange
//	subject_token=<the person's access token, issued to this app>
//	subject_token_type=urn:ietf:params:oauth:token-type:access_token
//	audience=<the agent's client id>    (or resource=<the same>)
//	scope=<optional: fewer scopes>
//	note=<optional: where the agent runs, up to 200 characters>
//
// and gets an access token whose sub is the person, whose act is
// {"sub": "<agent client id>"} (§4.1: the agent acts, for the person), with
// scopes that both the subject token and the agent's allowance hold
// (asking for more is invalid_scope, never quietly narrowed), living no
// longer than the device session of the subject token, and a refresh token
// only when the agent's entry has refresh_for.

// maxNoteRunes bounds the note a starting app gives about its agent.
const maxNoteRunes = 200

// maxTargets bounds how many audience and resource values latch reads.
const maxTargets = 4

// AccessTokenTypeURN is RFC 8693's token type of an access token (§3).
const AccessTokenTypeURN = oidc.AccessTokenType

// singleValued are the exchange's parameters that may appear once (RFC
// 6749 §3.2); audience and resource may repeat (RFC 8693 §2.1).
var singleValued = []string{"subject_token", "subject_token_type", "actor_token", "actor_token_type",
	"requested_token_type", "scope", "note"}

// exchangeRequest is an agent's token as it is minted: the person (sub),
// the agent (act and aud) and the device session (sid).
type exchangeRequest struct {
	accountID string
	sid       string
	agentID   string
	scopes    []string
}

func (e *exchangeRequest) GetSubject() string    { return e.accountID }
func (e *exchangeRequest) GetAudience() []string { return []string{e.agentID} }
func (e *exchangeRequest) GetScopes() []string   { return e.scopes }

// GetActor is RFC 8693 §4.1's act: the agent acts for the subject.
func (e *exchangeRequest) GetActor() *oidc.ActorClaims { return &oidc.ActorClaims{Subject: e.agentID} }

// SessionID is the device session the agent was started from.
func (e *exchangeRequest) SessionID() string { return e.sid }

var (
	_ op.TokenRequest      = (*exchangeRequest)(nil)
	_ op.TokenActorRequest = (*exchangeRequest)(nil)
)

// CleanNote makes a starting app's note about its agent fit to show, as
// sessions.CleanText cleans a device's name: line breaks and tabs become
// spaces, control and format characters (bidi overrides, zero-width
// characters) and letters that print as nothing are dropped, marks cannot
// pile up, colons and slashes become spaces (no link of the app's making
// in the alert email), runs of spaces collapse.
// A note longer than 200 characters once cleaned, or not UTF-8, is refused
// rather than cut: the person is shown what the app reported, or nothing.
func CleanNote(raw string) (string, error) {
	if len(raw) > 4*maxNoteRunes || !utf8.ValidString(raw) {
		return "", fmt.Errorf("note is longer than %d characters or not UTF-8", maxNoteRunes)
	}
	out := sessions.CleanText(raw, maxNoteRunes+1)
	if utf8.RuneCountInString(out) > maxNoteRunes {
		return "", fmt.Errorf("note is longer than %d characters", maxNoteRunes)
	}
	return out, nil
}

// exchangeGrant answers the token exchange grant for caller, an
// authenticated client.
func (p *Provider) exchangeGrant(ctx context.Context, r *http.Request, caller *Client) (*oidc.TokenExchangeResponse, error) {
	f := r.PostForm
	if err := onlyOnce(f, singleValued...); err != nil {
		return nil, err
	}
	subject := f.Get("subject_token")
	switch {
	case subject == "":
		return nil, oidc.ErrInvalidRequest().WithDescription("subject_token is missing")
	case f.Get("subject_token_type") != string(AccessTokenTypeURN):
		return nil, oidc.ErrInvalidRequest().WithDescription("subject_token_type must be " + string(AccessTokenTypeURN))
	case f.Has("actor_token") || f.Has("actor_token_type"):
		// The agent is a registered client, named by audience; latch issues
		// no token that an agent could present about itself.
		return nil, oidc.ErrInvalidRequest().WithDescription("actor_token is not supported: name the agent with audience")
	case f.Get("requested_token_type") != "" && f.Get("requested_token_type") != string(AccessTokenTypeURN):
		return nil, oidc.ErrInvalidRequest().WithDescription("requested_token_type must be " + string(AccessTokenTypeURN))
	}
	agent, err := p.exchangeTarget(f["audience"], f["resource"])
	if err != nil {
		return nil, err
	}
	// Only an app the agent's entry names may start it (RFC 6749 §5.2).
	if !caller.FirstParty() || caller.Agent() || !agent.StartableBy(caller.GetID()) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("this client may not start %s", agent.GetID())
	}
	requested := strings.Fields(f.Get("scope"))
	if len(requested) > maxAgentScopes {
		return nil, oidc.ErrInvalidScope().WithDescription("too many scopes")
	}
	for _, sc := range requested {
		if !validScope(sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("scope is malformed")
		}
	}
	note, err := CleanNote(f.Get("note"))
	if err != nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("%s", err.Error())
	}

	t, err := p.CheckAccessToken(ctx, subject)
	if errors.Is(err, ErrTokenInvalid) {
		// RFC 8693 §2.2.2: an invalid or unacceptable subject token is
		// invalid_request. This covers tokens of ended sessions.
		return nil, oidc.ErrInvalidRequest().WithDescription("subject_token is invalid, expired or revoked, or its session has ended")
	}
	if err != nil {
		return nil, err
	}
	if t.clientID != caller.GetID() {
		// A token travels: an app may only exchange the person's token
		// that latch issued to it, never one it got hold of.
		return nil, oidc.ErrInvalidRequest().WithDescription("subject_token was not issued to this client")
	}
	if c, ok := p.Storage.Clients[t.clientID]; !ok || c.Agent() {
		// An agent's token is never exchanged again: an agent that starts
		// agents would act with authority the person never saw granted.
		return nil, oidc.ErrInvalidRequest().WithDescription("an agent's token cannot be exchanged")
	}
	granted, err := grantScopes(requested, t.scopes, agent.agent.allowedScopes)
	if err != nil {
		return nil, err
	}
	res, err := p.Storage.issueAgent(ctx, agentIssue{token: t, caller: caller, agent: agent, scopes: granted, note: note,
		alert: p.cfg.AgentStarted})
	if err != nil {
		return nil, err
	}
	access, err := p.mintAgentToken(ctx, agent, &exchangeRequest{accountID: t.accountID, sid: t.sid, agentID: agent.GetID(), scopes: granted},
		res.accessID, res.accessExp)
	if err != nil {
		return nil, err
	}
	return &oidc.TokenExchangeResponse{
		AccessToken:     access,
		IssuedTokenType: AccessTokenTypeURN,
		TokenType:       oidc.BearerToken,
		ExpiresIn:       uint64(max(res.accessExp.Sub(p.Storage.Now()), 0).Seconds()),
		Scopes:          granted,
		RefreshToken:    res.refresh,
	}, nil
}

// exchangeTarget finds the one agent that audience and resource name.
func (p *Provider) exchangeTarget(audience, resource []string) (*Client, error) {
	targets := append(slices.Clone(audience), resource...)
	if len(targets) == 0 {
		return nil, oidc.ErrInvalidRequest().WithDescription("name the agent with audience")
	}
	if len(targets) > maxTargets {
		return nil, oidc.ErrInvalidTarget().WithDescription("too many audience and resource values")
	}
	var agent *Client
	for _, v := range targets {
		c, ok := p.Storage.Clients[v]
		if len(v) > 256 || !ok || !c.Agent() {
			return nil, oidc.ErrInvalidTarget().WithDescription("audience names no agent latch knows")
		}
		if agent != nil && agent != c {
			return nil, oidc.ErrInvalidTarget().WithDescription("audience and resource name more than one agent")
		}
		agent = c
	}
	return agent, nil
}

// grantScopes is what an agent gets: the scopes asked for, every one of
// which the subject token and the agent's allowance both hold, or all the
// scopes they both hold when none were asked for.
func grantScopes(requested, subject, allowed []string) ([]string, error) {
	var both []string
	for _, sc := range allowed {
		if slices.Contains(subject, sc) {
			both = append(both, sc)
		}
	}
	if len(requested) == 0 {
		if len(both) == 0 {
			return nil, oidc.ErrInvalidScope().WithDescription("the subject token holds none of the scopes this agent may have")
		}
		return both, nil
	}
	var out []string
	for _, sc := range requested {
		if !slices.Contains(both, sc) {
			// Never quietly narrowed: the app learns that it asked for too
			// much rather than getting less than it thinks.
			return nil, oidc.ErrInvalidScope().WithDescription("scope asks for more than the subject token and the agent's allowance both hold")
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// agentIssue is what issueAgent needs.
type agentIssue struct {
	token  *checkedToken // the subject token
	caller *Client
	agent  *Client
	scopes []string
	note   string
	alert  func(context.Context, pgx.Tx, authn.AgentStart) error
}

type agentIssued struct {
	accessID  string
	accessExp time.Time
	refresh   string
}

// issueAgent starts or renews the agent session and writes the agent's
// tokens in one transaction, holding the device session of the subject
// token (FOR SHARE) so that a sign-out either ends the agent with it or
// comes first and refuses the exchange. The access token dies with the
// device session at the latest, a refresh token at its absolute end.
func (s *Storage) issueAgent(ctx context.Context, in agentIssue) (*agentIssued, error) {
	out := &agentIssued{}
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		now := s.Now().UTC()
		d, err := s.Sessions.LockLive(ctx, tx, in.token.sid)
		if err != nil {
			return err
		}
		alive, err := s.Sessions.AppAlive(ctx, tx, in.token.appSessionID)
		if err != nil {
			return err
		}
		if !alive {
			return sessions.ErrNotFound
		}
		out.accessExp = minTime(now.Add(AccessTokenLifetime), d.ExpiresAt())
		until := out.accessExp
		var refreshExp time.Time
		if rf := in.agent.agent.refreshFor; rf > 0 {
			refreshExp = minTime(now.Add(rf), d.AbsoluteExpiresAt)
			until = maxTime(until, refreshExp)
		}
		a, err := s.Sessions.StartAgentTx(ctx, tx, sessions.AgentStart{
			AccountID: in.token.accountID, DeviceID: d.ID, AgentID: in.agent.GetID(), StartedBy: in.caller.GetID(),
			Scopes: in.scopes, Note: in.note, ExpiresAt: until, AgentName: in.agent.App(), StarterName: in.caller.App(),
		})
		if err != nil {
			return err
		}
		t := newTokens{appSessionID: a.ID, accountID: in.token.accountID, clientID: in.agent.GetID(), scopes: in.scopes,
			audience: []string{in.agent.GetID()}, amr: d.AMR, acr: d.ACR, authTime: d.AuthTime, now: now,
			accessExp: out.accessExp, refreshUntil: refreshExp}
		if out.accessID, out.refresh, _, err = t.insert(ctx, tx); err != nil {
			return err
		}
		if a.Started && in.alert != nil {
			return in.alert(ctx, tx, authn.AgentStart{AccountID: in.token.accountID, Device: d, Agent: in.agent.App(),
				StartedBy: in.caller.App(), Scopes: in.agent.ScopeWords(in.scopes), Note: in.note, At: now})
		}
		return nil
	})
	if errors.Is(err, sessions.ErrNotFound) {
		return nil, oidc.ErrInvalidRequest().WithDescription("subject_token is invalid, expired or revoked, or its session has ended")
	}
	if err != nil {
		return nil, fmt.Errorf("issue agent token: %w", err)
	}
	return out, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// mintAgentToken turns an issued agent token into what the agent holds: a
// JWT with act, scope and sid (RFC 9068 §2.2, RFC 8693 §4.1), signed with
// latch's current key, or an opaque token sealed like every other.
func (p *Provider) mintAgentToken(ctx context.Context, agent *Client, req *exchangeRequest, id string, exp time.Time) (string, error) {
	if agent.AccessTokenType() != op.AccessTokenTypeJWT {
		return op.CreateBearerToken(id, req.accountID, p.op.Crypto())
	}
	now := p.Storage.Now().UTC()
	claims := oidc.NewAccessTokenClaims(p.cfg.Issuer, req.accountID, req.GetAudience(), exp, id, agent.GetID(), 0)
	claims.IssuedAt, claims.NotBefore = oidc.FromTime(now), oidc.FromTime(now)
	claims.Scopes = req.scopes
	claims.Actor = req.GetActor()
	claims.Claims = map[string]any{"sid": req.sid}
	signer, err := p.Keys.Signer(ctx)
	if err != nil {
		return "", err
	}
	return crypto.Sign(claims, signer)
}

// agentRefresh rotates an agent's refresh token like an app's
// (Storage.Refresh), and mints the new access token as an agent's: with
// act, and dying with the device session and the refresh allowance.
func (p *Provider) agentRefresh(ctx context.Context, token string, c *Client, scopes []string) (*oidc.AccessTokenResponse, error) {
	req, err := p.Storage.Refresh(ctx, token, c.GetID(), scopes)
	if errors.Is(err, ErrRefreshRefused) {
		return nil, p.Storage.RefreshRefusal(ctx, token, c.GetID(), scopes)
	}
	if err != nil {
		return nil, err
	}
	d, err := p.cfg.Sessions.LockLive(ctx, p.cfg.DB, req.sid)
	if errors.Is(err, sessions.ErrNotFound) {
		return nil, oidc.ErrInvalidGrant().WithDescription("the session has ended")
	}
	if err != nil {
		return nil, err
	}
	exp := minTime(minTime(req.accessExp, d.ExpiresAt()), req.expiresAt)
	if exp.Before(req.accessExp) {
		if err := p.Storage.shortenAccessToken(ctx, req.accessID, exp); err != nil {
			return nil, err
		}
	}
	access, err := p.mintAgentToken(ctx, c, &exchangeRequest{accountID: req.accountID, sid: req.sid, agentID: c.GetID(), scopes: req.scopes},
		req.accessID, exp)
	if err != nil {
		return nil, err
	}
	return &oidc.AccessTokenResponse{AccessToken: access, TokenType: oidc.BearerToken, RefreshToken: req.newRefresh,
		ExpiresIn: uint64(max(exp.Sub(p.Storage.Now()), 0).Seconds()), Scope: req.scopes}, nil
}

// shortenAccessToken brings an access token's end forward.
func (s *Storage) shortenAccessToken(ctx context.Context, id string, exp time.Time) error {
	_, err := s.DB.Exec(ctx, `UPDATE access_tokens SET expires_at = $2 WHERE id = $1`, id, exp.UTC())
	return err
}

// mayIntrospect reports whether client c may learn about token t: a token
// issued to c, or an agent's token when c is an app that may start that
// agent, since the agent acts through that app's services.
func (p *Provider) mayIntrospect(c *Client, t *checkedToken) bool {
	if t.clientID == c.GetID() {
		return true
	}
	a, ok := p.Storage.Clients[t.clientID]
	return ok && a.StartableBy(c.GetID())
}

// agentClaims adds what introspection says of an agent's token: act
// (RFC 8693 §4.1), and records that the agent acted.
func (p *Provider) agentClaims(ctx context.Context, resp *oidc.IntrospectionResponse, t *checkedToken) {
	a, ok := p.Storage.Clients[t.clientID]
	if !ok || !a.Agent() {
		return
	}
	resp.Claims["act"] = map[string]any{"sub": a.GetID()}
	if p.touched.due(t.appSessionID, p.Storage.Now()) {
		if err := p.cfg.Sessions.TouchAgent(ctx, t.appSessionID); err != nil {
			p.cfg.Logger.WarnContext(ctx, "record an agent's activity", "err", err)
		}
	}
}

// touchLimiter keeps the agents' last-acted time from costing a write per
// introspection: at most one a minute per agent session and replica.
type touchLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

const maxTouchEntries = 10_000

func (l *touchLimiter) due(id string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil || len(l.last) >= maxTouchEntries {
		l.last = map[string]time.Time{}
	}
	if t, ok := l.last[id]; ok && now.Sub(t) < time.Minute {
		return false
	}
	l.last[id] = now
	return true
}
