package idp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/latch-idp/latch/internal/pg"
)

// token answers the token endpoint (RFC 6749 §3.2) itself, where the
// library would answer an unknown client with 500, a database blip with
// invalid_grant (which makes an app sign its user out) and its errors in
// its own shapes. The client is authenticated first (§3.2.1), strictly:
// one method, the registered secret, or client_id alone for a public
// client. The grants reuse the library's token response, so ID and access
// tokens are the library's.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenForm)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the request body is not a form")
		return
	}
	grant := r.PostForm.Get("grant_type")
	label := "other"
	switch oidc.GrantType(grant) {
	case oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeTokenExchange:
		label = grant
	case oidc.GrantTypeDeviceCode:
		label = "device_code"
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		result := "success"
		if sw.status >= 400 {
			result = "error"
		}
		if sw.status >= 500 {
			p.cfg.Metrics.Errors.WithLabelValues("oidc").Inc()
		}
		p.cfg.Metrics.Grants.WithLabelValues(label, result).Inc()
	}()
	if err := onlyOnce(r.PostForm, tokenSingleValued...); err != nil {
		p.grantError(sw, r, err)
		return
	}
	c, err := p.authenticateClient(r, false)
	if err != nil {
		writeClientError(sw, err)
		return
	}
	ctx := op.ContextWithIssuer(r.Context(), p.cfg.Issuer)
	var resp any
	switch oidc.GrantType(grant) {
	case oidc.GrantTypeCode:
		resp, err = p.codeGrant(ctx, r, c)
	case oidc.GrantTypeRefreshToken:
		resp, err = p.refreshGrant(ctx, r, c)
	case oidc.GrantTypeDeviceCode:
		resp, err = p.deviceCodeGrant(ctx, r, c) // device.go
	case oidc.GrantTypeTokenExchange:
		// Agents acting for a person (exchange.go).
		resp, err = p.exchangeGrant(ctx, r, c)
	case "":
		err = oidc.ErrInvalidRequest().WithDescription("grant_type is missing")
	default:
		err = oidc.ErrUnsupportedGrantType().WithDescription("latch supports authorization_code, refresh_token, the device code grant and token-exchange")
	}
	if err != nil {
		p.grantError(sw, r, err)
		return
	}
	writeJSON(sw, http.StatusOK, resp)
}

// tokenSingleValued are the parameters every grant at the token endpoint
// takes once at most; each grant checks its own too (deviceCodeGrant,
// exchangeGrant).
var tokenSingleValued = []string{"grant_type", "client_id", "client_secret"}

// onlyOnce refuses a request that gives any of names more than once (RFC
// 6749 §3.1 and §3.2: parameters "MUST NOT be included more than once"),
// rather than reading its first value, which another part of a chain of
// proxies and libraries may not read alike.
func onlyOnce(f url.Values, names ...string) error {
	for _, k := range names {
		if len(f[k]) > 1 {
			return oidc.ErrInvalidRequest().WithDescription("%s is given more than once", k)
		}
	}
	return nil
}

// codeGrant exchanges an authorization code (RFC 6749 §4.1.3) with PKCE
// (RFC 7636 §4.6): the code was issued to this client, for this
// redirect_uri, and the verifier matches its challenge.
func (p *Provider) codeGrant(ctx context.Context, r *http.Request, c *Client) (*oidc.AccessTokenResponse, error) {
	code := r.PostForm.Get("code")
	if code == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("code is missing")
	}
	req, err := p.Storage.AuthRequestByCode(ctx, code)
	if err != nil {
		var nf errNotFound
		if errors.As(err, &nf) {
			return nil, oidc.ErrInvalidGrant().WithDescription("the code is invalid")
		}
		return nil, err
	}
	a := req.(*AuthRequest)
	if a.clientID != c.GetID() {
		return nil, oidc.ErrInvalidGrant().WithDescription("the code was issued to another client")
	}
	if r.PostForm.Get("redirect_uri") != a.params.RedirectURI {
		return nil, oidc.ErrInvalidGrant().WithDescription("redirect_uri does not match the authorization request")
	}
	verifier := r.PostForm.Get("code_verifier")
	if verifier == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_verifier is missing (PKCE is required)")
	}
	if err := op.AuthorizeCodeChallenge(verifier, a.GetCodeChallenge()); err != nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("code_verifier does not match the code challenge")
	}
	return op.CreateTokenResponse(ctx, a, c, p.op, true, code, "")
}

// refreshGrant rotates a refresh token (RFC 6749 §6): it was issued to
// this client, and any scope asked for is one it was granted. The whole
// check and rotation is one statement (Storage.Refresh); only a refused
// token is read again, to say why.
func (p *Provider) refreshGrant(ctx context.Context, r *http.Request, c *Client) (*oidc.AccessTokenResponse, error) {
	token := r.PostForm.Get("refresh_token")
	if token == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("refresh_token is missing")
	}
	if len(token) > 1024 {
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token is invalid, expired, revoked or already used")
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	if c.Agent() {
		return p.agentRefresh(ctx, token, c, scopes)
	}
	req, err := p.Storage.Refresh(ctx, token, c.GetID(), scopes)
	if errors.Is(err, ErrRefreshRefused) {
		return nil, p.Storage.RefreshRefusal(ctx, token, c.GetID(), scopes)
	}
	if err != nil {
		return nil, err
	}
	if c.DeviceGrant() || c.Kind() == KindNative {
		// A command-line or desktop session has no cookie: its refreshes
		// are its activity, and keep it within its idle limit.
		if err := p.cfg.Sessions.TouchApp(ctx, req.sid); err != nil {
			p.cfg.Logger.WarnContext(ctx, "touch device session after refresh", "err", err)
		}
	}
	return op.CreateTokenResponse(ctx, req, c, p.op, true, "", token)
}

// grantError answers a failed grant: the OAuth error when the request was
// refused, 503 temporarily_unavailable when the database could not be
// asked (the credential may be perfectly good), and a bare server_error
// for anything else, whose detail goes to the log only.
func (p *Provider) grantError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oidc.Error
	if errors.As(err, &oe) && oe.ErrorType != oidc.ServerError {
		status := http.StatusBadRequest
		if oe.ErrorType == oidc.InvalidClient {
			status = http.StatusUnauthorized
			w.Header().Set("WWW-Authenticate", `Basic realm="latch"`)
		}
		writeError(w, status, string(oe.ErrorType), oe.Description)
		return
	}
	if pg.Unavailable(err) || errors.Is(err, context.Canceled) {
		p.unavailable(w, r, err)
		return
	}
	p.cfg.Logger.ErrorContext(r.Context(), "token endpoint", "err", err)
	writeError(w, http.StatusInternalServerError, "server_error", "latch could not answer this request")
}

// revoke answers token revocation (RFC 7009) for the client the token was
// issued to: a refresh token ends with every token of its family, an
// access token on its own. Unknown, foreign or malformed tokens are
// answered 200 like revoked ones (§2.2), so the endpoint tells nobody
// whether a token exists.
func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "revocation takes POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenForm)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the request body is not a form")
		return
	}
	c, err := p.authenticateClient(r, false)
	if err != nil {
		writeClientError(w, err)
		return
	}
	raw := r.PostForm.Get("token")
	if raw == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "token is missing")
		return
	}
	ctx := r.Context()
	id := ""
	if r.PostForm.Get("token_type_hint") != "access_token" {
		_, rid, err := p.Storage.GetRefreshTokenInfo(ctx, c.GetID(), raw)
		switch {
		case err == nil:
			id = rid
		case !errors.Is(err, op.ErrInvalidRefreshToken):
			p.unavailable(w, r, err)
			return
		}
	}
	if id == "" && len(raw) <= 8<<10 {
		if tid, _, ok := p.tokenIDAndSubject(ctx, raw); ok {
			id = tid
		}
	}
	if id != "" {
		if oe := p.Storage.RevokeToken(ctx, id, "", c.GetID()); oe != nil {
			p.unavailable(w, r, oe)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// statusWriter remembers the status a handler answered with, for metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
