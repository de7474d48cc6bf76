package idp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// maxTokenForm bounds the body of a token, introspection or revocation
// request: a few tokens and credentials, never more.
const maxTokenForm = 64 << 10

// CheckAccessToken returns the live access token behind a presented one,
// JWT or opaque. A token the cache holds is answered without decrypting,
// verifying or reading it again; any other is decrypted (opaque) or
// verified (JWT) and read with one query. ErrTokenInvalid means the token
// is not good; any other error means latch could not tell.
func (p *Provider) CheckAccessToken(ctx context.Context, raw string) (*checkedToken, error) {
	if raw == "" || len(raw) > 8<<10 {
		return nil, ErrTokenInvalid
	}
	key := keyOf(raw)
	if t, ok := p.Storage.cachedToken(key); ok {
		return live(t, p.Storage.Now())
	}
	id, subject, ok := p.tokenIDAndSubject(ctx, raw)
	if !ok {
		// A JWT verifies against the published keys; if latch could not
		// load them, it cannot tell whether the token is good.
		if _, err := p.Storage.KeySet(ctx); err != nil {
			return nil, err
		}
		return nil, ErrTokenInvalid
	}
	return p.Storage.checkTokenID(ctx, key, id, subject)
}

// tokenIDAndSubject opens an opaque token (the library seals "id:subject")
// or verifies a JWT's signature, issuer and expiry.
func (p *Provider) tokenIDAndSubject(ctx context.Context, raw string) (id, subject string, ok bool) {
	if plain, err := p.op.Crypto().Decrypt(raw); err == nil {
		id, subject, ok = strings.Cut(plain, ":")
		return id, subject, ok
	}
	ctx = op.ContextWithIssuer(ctx, p.cfg.Issuer)
	claims, err := op.VerifyAccessToken[*oidc.AccessTokenClaims](ctx, raw, p.op.AccessTokenVerifier(ctx))
	if err != nil {
		return "", "", false
	}
	return claims.JWTID, claims.Subject, true
}

// bearerToken is the access token of a userinfo request: the Authorization
// header (RFC 6750 §2.1) or, in a POST, the form body's access_token (§2.2).
func bearerToken(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return "", false
		}
		return strings.TrimSpace(token), true
	}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err == nil && r.PostForm.Get("access_token") != "" {
			return r.PostForm.Get("access_token"), true
		}
	}
	return "", false
}

// userinfo answers the UserInfo endpoint (OpenID Connect Core §5.3) for a
// live access token. A missing or bad token is 401 with a Bearer challenge
// (RFC 6750 §3.1); when the database cannot say whether the token is good,
// the answer is 503, never "invalid": an app that believed a blip would
// sign its user out.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "userinfo takes GET or POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenForm)
	raw, ok := bearerToken(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="latch"`)
		writeError(w, http.StatusUnauthorized, "invalid_request", "an access token is required")
		return
	}
	t, err := p.CheckAccessToken(r.Context(), raw)
	if errors.Is(err, ErrTokenInvalid) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="latch", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "invalid_token", "the access token is invalid, expired or revoked")
		return
	}
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	// OpenID Connect Core §5.3: userinfo answers the access token of an
	// OpenID request. An agent's token or another token without openid
	// is not one (RFC 6750 §3.1).
	if !slices.Contains(t.scopes, oidc.ScopeOpenID) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="latch", error="insufficient_scope", scope="openid"`)
		writeError(w, http.StatusForbidden, "insufficient_scope", "userinfo needs a token with the openid scope")
		return
	}
	info := new(oidc.UserInfo)
	setUserinfo(info, t.accountID, t.email, t.name, t.scopes)
	writeJSON(w, http.StatusOK, info)
}

// introspect answers token introspection (RFC 7662) for confidential
// clients, authenticated with their secret (HTTP Basic or the form body). A
// client learns only about tokens issued to itself; anything else is
// inactive.
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "introspection takes POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenForm)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the request body is not a form")
		return
	}
	c, err := p.authenticateClient(r, true)
	if err != nil {
		writeClientError(w, err)
		return
	}
	resp := new(oidc.IntrospectionResponse)
	t, err := p.CheckAccessToken(r.Context(), r.PostForm.Get("token"))
	switch {
	case errors.Is(err, ErrTokenInvalid):
		writeJSON(w, http.StatusOK, resp)
		return
	case err != nil:
		p.unavailable(w, r, err)
		return
	case !p.mayIntrospect(c, t):
		writeJSON(w, http.StatusOK, resp)
		return
	}
	info := new(oidc.UserInfo)
	setUserinfo(info, t.accountID, t.email, t.name, t.scopes)
	resp.SetUserInfo(info)
	resp.Active = true
	resp.Scope = t.scopes
	resp.ClientID = t.clientID
	resp.Audience = []string{t.clientID}
	resp.Expiration = oidc.FromTime(t.expiresAt)
	resp.IssuedAt = oidc.FromTime(t.createdAt)
	resp.Issuer = p.cfg.Issuer
	resp.TokenType = oidc.BearerToken
	resp.JWTID = t.id
	resp.Claims = map[string]any{"sid": t.sid}
	p.agentClaims(r.Context(), resp, t)
	writeJSON(w, http.StatusOK, resp)
}

// errClient is a client authentication failure (RFC 6749 §5.2
// invalid_client), or a malformed attempt (invalid_request).
type errClient struct {
	code, description string
}

func (e *errClient) Error() string { return e.code + ": " + e.description }

// authenticateClient identifies the client of a token-endpoint style
// request (RFC 6749 §2.3.1): HTTP Basic with the form-encoded id and
// secret, or client_id and client_secret in the body, never both. A public
// client (no secret) may name itself with client_id alone, unless
// confidentialOnly. The form must be parsed.
func (p *Provider) authenticateClient(r *http.Request, confidentialOnly bool) (*Client, error) {
	id, secret, basic := r.BasicAuth()
	if basic {
		if r.PostForm.Has("client_secret") {
			return nil, &errClient{"invalid_request", "use one way to authenticate the client, not two"}
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, &errClient{"invalid_client", "the Authorization header is malformed"}
		}
		if formID := r.PostForm.Get("client_id"); formID != "" && formID != id {
			return nil, &errClient{"invalid_request", "client_id differs from the authenticated client"}
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" {
		return nil, &errClient{"invalid_client", "client authentication is required"}
	}
	c, ok := p.Storage.Clients[id]
	if !ok {
		return nil, &errClient{"invalid_client", "client authentication failed"}
	}
	if c.Public() {
		if secret != "" || basic || confidentialOnly {
			return nil, &errClient{"invalid_client", "client authentication failed"}
		}
		return c, nil
	}
	if !c.CheckSecret(secret) {
		return nil, &errClient{"invalid_client", "client authentication failed"}
	}
	return c, nil
}

// writeClientError answers a client authentication failure: 401 with a
// Basic challenge for invalid_client (RFC 6749 §5.2), 400 otherwise.
func writeClientError(w http.ResponseWriter, err error) {
	var ce *errClient
	if !errors.As(err, &ce) {
		writeError(w, http.StatusBadRequest, "invalid_request", "the request is malformed")
		return
	}
	if ce.code == "invalid_client" {
		w.Header().Set("WWW-Authenticate", `Basic realm="latch"`)
		writeError(w, http.StatusUnauthorized, ce.code, ce.description)
		return
	}
	writeError(w, http.StatusBadRequest, ce.code, ce.description)
}

// unavailable answers 503 temporarily_unavailable when latch cannot reach
// its database: the caller should try again, and must not conclude that a
// credential is bad.
func (p *Provider) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	p.cfg.Logger.WarnContext(r.Context(), "answering 503: database unavailable", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", "2")
	writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "latch cannot check this right now; try again shortly")
}

// noStore marks a response that carries tokens or claims as never to be
// cached (RFC 6749 §5.1, RFC 6750).
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n')) // the client went away; nothing to do
}
