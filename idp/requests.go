package idp

import (
	"encoding/json"
	"log/slog"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// authParams are the parts of an authorization request that latch keeps.
type authParams struct {
	Scopes        []string `json:"scopes"`
	RedirectURI   string   `json:"redirect_uri"`
	State         string   `json:"state"`
	Nonce         string   `json:"nonce"`
	ResponseType  string   `json:"response_type"`
	ResponseMode  string   `json:"response_mode,omitempty"`
	CodeChallenge string   `json:"code_challenge"`
	Prompt        []string `json:"prompt,omitempty"`
	MaxAge        *uint    `json:"max_age,omitempty"`
	LoginHint     string   `json:"login_hint,omitempty"`
	ACRValues     []string `json:"acr_values,omitempty"`
	HintSubject   string   `json:"hint_subject,omitempty"`
}

// AuthRequest is an authorization request as stored, implementing
// op.AuthRequest. Done once a device session has been bound to it.
type AuthRequest struct {
	id              string
	clientID        string
	params          authParams
	createdAt       time.Time
	accountID       string
	deviceSessionID string
	authTime        time.Time
	amr             []string
	acr             string
}

var _ op.AuthRequest = (*AuthRequest)(nil)

func (a *AuthRequest) GetID() string          { return a.id }
func (a *AuthRequest) GetACR() string         { return a.acr }
func (a *AuthRequest) GetAMR() []string       { return a.amr }
func (a *AuthRequest) GetAudience() []string  { return []string{a.clientID} }
func (a *AuthRequest) GetAuthTime() time.Time { return a.authTime }
func (a *AuthRequest) GetClientID() string    { return a.clientID }
func (a *AuthRequest) GetNonce() string       { return a.params.Nonce }
func (a *AuthRequest) GetRedirectURI() string { return a.params.RedirectURI }
func (a *AuthRequest) GetScopes() []string    { return a.params.Scopes }
func (a *AuthRequest) GetState() string       { return a.params.State }
func (a *AuthRequest) GetSubject() string     { return a.accountID }
func (a *AuthRequest) Done() bool             { return a.accountID != "" }
func (a *AuthRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(a.params.ResponseType)
}
func (a *AuthRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(a.params.ResponseMode)
}
func (a *AuthRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.params.CodeChallenge, Method: oidc.CodeChallengeMethodS256}
}

// SessionID is the device session (sid) the request was completed in.
func (a *AuthRequest) SessionID() string { return a.deviceSessionID }

// LogValue keeps secrets (state, nonce, challenge) out of logs.
func (a *AuthRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", a.id), slog.String("client_id", a.clientID))
}

func (a *AuthRequest) marshalParams() []byte {
	b, _ := json.Marshal(a.params) // a struct of strings and string slices: it always encodes
	return b
}

// RefreshRequest is a presented, still valid refresh token, implementing
// op.RefreshTokenRequest.
type RefreshRequest struct {
	tokenID      string
	appSessionID string
	familyID     string
	sid          string
	accountID    string
	clientID     string
	scopes       []string
	audience     []string
	amr          []string
	acr          string
	authTime     time.Time
	expiresAt    time.Time
	// grantScopes are the scopes of the presented token: a rotated refresh
	// token keeps them, even when this refresh asked for fewer (RFC 6749 §6).
	grantScopes []string
	// email and name are the account's claims, read with the token.
	email, name string
	claims      bool
	// minted is set by Storage.Refresh, which rotated the token and wrote
	// its successors: accessID, newRefresh and accessExp.
	minted     bool
	accessID   string
	newRefresh string
	accessExp  time.Time
}

var _ op.RefreshTokenRequest = (*RefreshRequest)(nil)

func (r *RefreshRequest) GetAMR() []string                 { return r.amr }
func (r *RefreshRequest) GetAudience() []string            { return r.audience }
func (r *RefreshRequest) GetAuthTime() time.Time           { return r.authTime }
func (r *RefreshRequest) GetClientID() string              { return r.clientID }
func (r *RefreshRequest) GetScopes() []string              { return r.scopes }
func (r *RefreshRequest) GetSubject() string               { return r.accountID }
func (r *RefreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

// SessionID is the device session (sid) the token belongs to.
func (r *RefreshRequest) SessionID() string { return r.sid }

func (r *RefreshRequest) accountClaims() (string, string, bool) { return r.email, r.name, r.claims }
