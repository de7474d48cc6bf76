package idp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/seal"
	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/sessions"
)

// Config is what the provider is built from.
type Config struct {
	Issuer    string
	DB        *pgxpool.Pool
	Clients   []*Client
	MasterKey *seal.MasterKey
	Sessions  *sessions.Store
	// Accounts gives an ID token's claims and keeps the consents of apps
	// that are not latch's own; nil reads them from DB.
	Accounts *authn.Accounts
	Cookies  *web.Cookies
	Metrics  *web.Metrics
	Logger   *slog.Logger
	Now      func() time.Time
	// CurrentDevice returns the browser's live device session, nil when
	// there is none, or an error when latch could not tell
	// (authn.Handler.Device).
	CurrentDevice func(*http.Request) (*sessions.Device, error)
	// ClientIP is the caller's address (behind trusted proxies);
	// AuthorizeLimiter limits authorization requests per address from
	// browsers that are not signed in. Both optional.
	ClientIP         *web.ClientIP
	AuthorizeLimiter *web.RateLimiter
	// ErrorPage shows latch's error page (authn.Handler.ErrorPage).
	ErrorPage func(w http.ResponseWriter, r *http.Request, status int, heading, message string)
	// Unavailable answers a browser with latch's 503 page when the
	// database did not answer (authn.Handler.Unavailable). Optional.
	Unavailable func(w http.ResponseWriter, r *http.Request, err error)
	// AgentStarted records and announces, inside the exchange's
	// transaction, that an agent started acting for a person
	// (authn.Handler.AgentStartedTx). Optional.
	AgentStarted func(context.Context, pgx.Tx, authn.AgentStart) error
	// Device is the device authorization grant's (device.go).
	Device DeviceConfig
}

// Provider is latch's OpenID Provider.
type Provider struct {
	cfg      Config
	op       *op.Provider
	Storage  *Storage
	Keys     *Keys
	callback func(context.Context, string) string
	logout   *securecookie.SecureCookie
	cors     *cors.Cors
	// touched limits how often introspection records an agent's activity.
	touched touchLimiter
}

var (
	_ authn.AuthRequests   = (*Provider)(nil)
	_ authn.LogoutRequests = (*Provider)(nil)
)

// New builds the provider. Signing keys must exist (EnsureKey) before it
// serves tokens.
func New(cfg Config) (*Provider, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Accounts == nil {
		cfg.Accounts = &authn.Accounts{DB: cfg.DB}
	}
	clients := map[string]*Client{}
	var origins []string
	for _, c := range cfg.Clients {
		clients[c.GetID()] = c
		for _, u := range c.RedirectURIs() {
			if o := origin(u); o != "" && !slices.Contains(origins, o) {
				origins = append(origins, o)
			}
		}
	}
	keys := NewKeys(cfg.DB, cfg.MasterKey)
	keys.Now = cfg.Now
	p := &Provider{cfg: cfg, Keys: keys}
	corsOptions := cors.Options{
		// Browser apps may call the token, userinfo, introspection and
		// revocation endpoints only from a registered client's origin, and
		// never with cookies.
		AllowedOrigins:   origins,
		AllowedMethods:   []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:   []string{"Authorization", "Content-Type"},
		AllowCredentials: false,
	}
	p.cors = cors.New(corsOptions)
	p.Storage = &Storage{DB: cfg.DB, Clients: clients, Keys: keys, Sessions: cfg.Sessions,
		Accounts: cfg.Accounts, Logger: cfg.Logger, Now: cfg.Now}
	var cryptoKey [32]byte
	copy(cryptoKey[:], cfg.MasterKey.Derive("opaque-tokens"))
	opts := []op.Option{op.WithCORSOptions(&corsOptions)}
	if strings.HasPrefix(cfg.Issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	prov, err := op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		DefaultLogoutRedirectURI: "/logged-out",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
	}, p.Storage, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc provider: %w", err)
	}
	p.op = prov
	p.Storage.terminate = p.terminateSession
	p.callback = op.AuthCallbackURL(prov)
	p.logout = securecookie.New(cfg.MasterKey.Derive("logout-hash"), cfg.MasterKey.Derive("logout-block"))
	p.logout.MaxAge(int((10 * time.Minute).Seconds()))
	return p, nil
}

func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// FormTargets lists the origins a sign-in may redirect to, for the CSP's
// form-action.
func (p *Provider) FormTargets() []string {
	var out []string
	for _, c := range p.Storage.Clients {
		for _, u := range append(slices.Clone(c.RedirectURIs()), c.PostLogoutRedirectURIs()...) {
			if o := origin(u); o != "" && !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Client returns a registered client by id.
func (p *Provider) Client(id string) (*Client, bool) {
	c, ok := p.Storage.Clients[id]
	return c, ok
}

// Routes registers the OIDC endpoints on mux, each wrapped where latch
// closes a gap of the library.
func (p *Provider) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.Handle("/authorize", p.authorize(p.withIssParam(p.guard(p.op))))
	mux.Handle("/authorize/callback", p.withIssParam(p.bindCallback(p.guard(p.op))))
	// latch answers the endpoints that take tokens itself (token.go,
	// userinfo.go): strict client authentication, RFC 6749 errors, and 503
	// rather than "invalid" when the database cannot be asked.
	mux.Handle("/oauth/token", p.cors.Handler(http.HandlerFunc(p.token)))
	mux.Handle("/userinfo", p.cors.Handler(http.HandlerFunc(p.userinfo)))
	mux.Handle("/oauth/introspect", p.cors.Handler(http.HandlerFunc(p.introspect)))
	mux.Handle("/revoke", p.cors.Handler(http.HandlerFunc(p.revoke)))
	mux.Handle("/end_session", p.endSession(p.guard(p.op)))
	mux.Handle("/keys", p.guardJSON(p.op))
	p.deviceRoutes(mux) // device.go
}

// discovery serves the discovery document with only what latch supports: the
// library's default lists implicit and hybrid flows and grants latch refuses.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	ctx := op.ContextWithIssuer(r.Context(), p.cfg.Issuer)
	cfg := op.CreateDiscoveryConfig(ctx, p.op, p.Storage)
	cfg.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	cfg.ResponseModesSupported = []string{string(oidc.ResponseModeQuery)}
	cfg.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeDeviceCode, oidc.GrantTypeTokenExchange}
	cfg.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
	cfg.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	cfg.ScopesSupported = []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess, ScopeSessions}
	cfg.BackChannelLogoutSupported = true
	cfg.BackChannelLogoutSessionSupported = true
	cfg.ClaimsSupported = []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "azp", "sid", "email", "email_verified", "name"}
	cfg.DeviceAuthorizationEndpoint = strings.TrimSuffix(p.cfg.Issuer, "/") + deviceAuthorizationPath // RFC 8628 §4
	cfg.CheckSessionIframe = ""
	cfg.RequestObjectSigningAlgValuesSupported = nil
	cfg.TokenEndpointAuthSigningAlgValuesSupported = nil
	cfg.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
	cfg.RevocationEndpointAuthSigningAlgValuesSupported = nil
	cfg.IntrospectionEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost}
	cfg.RevocationEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	cfg.UILocalesSupported = nil
	b, err := json.Marshal(cfg)
	if err != nil {
		http.Error(w, "discovery unavailable", http.StatusInternalServerError)
		return
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		http.Error(w, "discovery unavailable", http.StatusInternalServerError)
		return
	}
	doc["authorization_response_iss_parameter_supported"] = true // RFC 9207
	delete(doc, "request_uri_parameter_supported")
	doc["request_parameter_supported"] = false
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(doc) // an error writing is the client gone: nothing to do
}

// issWriter adds iss to redirects that answer an authorization request (RFC
// 9207), so an app can tell which provider answered (mix-up attacks). The
// library redirects either to latch's own sign-in page, a relative URL, or
// to the client's absolute redirect URI; only the latter gets iss.
type issWriter struct {
	http.ResponseWriter
	issuer string
}

func (w *issWriter) WriteHeader(code int) {
	if code == http.StatusFound || code == http.StatusSeeOther {
		if loc := w.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, "/") {
			w.Header().Set("Location", withIss(loc, w.issuer))
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func withIss(loc, issuer string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	q := u.Query()
	q.Set("iss", issuer)
	u.RawQuery = q.Encode()
	return u.String()
}

func (p *Provider) withIssParam(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&issWriter{ResponseWriter: w, issuer: p.cfg.Issuer}, r)
	})
}

// bindCallback lets only the browser that signed in collect the code: the
// callback URL carries the request id, and without this check anyone who
// learned that id could have the code issued in their own browser.
func (p *Provider) bindCallback(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := p.Storage.pendingRequest(r.Context(), r.URL.Query().Get("id"))
		var nf errNotFound
		if err != nil && !errors.As(err, &nf) {
			p.failPage(w, r, err)
			return
		}
		d, derr := p.cfg.CurrentDevice(r)
		if derr != nil {
			p.failPage(w, r, derr)
			return
		}
		if err != nil || !a.Done() || d == nil || d.ID != a.deviceSessionID {
			web.NoStore(w)
			http.Error(w, "This sign-in link is not valid for this browser. Go back to the app and sign in again.", http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// LoginRequest implements authn.AuthRequests.
func (p *Provider) LoginRequest(ctx context.Context, id string) (*authn.AuthRequest, error) {
	a, err := p.Storage.pendingRequest(ctx, id)
	if err != nil {
		var nf errNotFound
		if errors.As(err, &nf) {
			return nil, authn.ErrUnknownRequest
		}
		return nil, err
	}
	return p.loginRequest(a), nil
}

// loginRequest is a stored request as the sign-in flow sees it.
func (p *Provider) loginRequest(a *AuthRequest) *authn.AuthRequest {
	out := &authn.AuthRequest{ID: a.id, CreatedAt: a.createdAt, Prompt: a.params.Prompt, LoginHint: a.params.LoginHint,
		ACRValues: a.params.ACRValues, ClientID: a.clientID, Scopes: a.params.Scopes, HintSubject: a.params.HintSubject}
	if c, ok := p.Storage.Clients[a.clientID]; ok {
		out.AppName, out.FirstParty = c.App(), c.FirstParty()
	}
	if a.params.MaxAge != nil {
		d := time.Duration(*a.params.MaxAge) * time.Second
		out.MaxAge = &d
	}
	return out
}

// Complete implements authn.AuthRequests: it binds the device session to the
// request and returns the library's callback, which issues the code.
func (p *Provider) Complete(ctx context.Context, id string, d *sessions.Device) (string, error) {
	a, err := p.Storage.pendingRequest(ctx, id)
	if err != nil {
		var nf errNotFound
		if errors.As(err, &nf) {
			return "", authn.ErrUnknownRequest
		}
		return "", err
	}
	// Whoever calls, a request is answered only by a session that meets
	// its conditions: prompt=login, max_age, acr_values and id_token_hint
	// (OpenID Connect Core §3.1.2.1). The consent page once skipped them.
	if !authn.Satisfies(p.loginRequest(a), d, p.cfg.Now()) {
		return "", authn.ErrConditionsUnmet
	}
	if err := p.Storage.bindRequest(ctx, id, d); err != nil {
		return "", err
	}
	ctx = op.ContextWithIssuer(ctx, p.cfg.Issuer)
	return p.callback(ctx, id), nil
}

// Refuse implements authn.AuthRequests: an OAuth error back to the app, with
// state and iss, and the request is spent.
func (p *Provider) Refuse(ctx context.Context, id, code, description string) (string, error) {
	a, err := p.Storage.pendingRequest(ctx, id)
	if err != nil {
		var nf errNotFound
		if errors.As(err, &nf) {
			return "", authn.ErrUnknownRequest
		}
		return "", err
	}
	if err := p.Storage.deleteRequest(ctx, a.id); err != nil {
		return "", err
	}
	u, err := url.Parse(a.params.RedirectURI)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("error", code)
	q.Set("error_description", description)
	if a.params.State != "" {
		q.Set("state", a.params.State)
	}
	q.Set("iss", p.cfg.Issuer)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

type logoutRequest struct {
	RedirectURI string
}

// LogoutRedirect implements authn.LogoutRequests: the confirmation page
// posts back the value end_session sealed, which holds the already
// validated post-logout address.
func (p *Provider) LogoutRedirect(value string) (string, error) {
	var lr logoutRequest
	if err := p.logout.Decode("logout", value, &lr); err != nil {
		return "", err
	}
	return lr.RedirectURI, nil
}

// endSessionState lets TerminateSessionFromRequest, which only returns a URL,
// ask the handler to clear the session cookie.
type endSessionState struct {
	device      *sessions.Device
	clearCookie bool
}

type endSessionKey struct{}

type cookieClearingWriter struct {
	http.ResponseWriter
	state   *endSessionState
	cookies *web.Cookies
}

func (w *cookieClearingWriter) WriteHeader(code int) {
	if w.state.clearCookie {
		w.cookies.Clear(w.ResponseWriter, "latch")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (p *Provider) endSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.NoStore(w)
		r.Body = http.MaxBytesReader(w, r.Body, maxAuthorizeQuery)
		if err := r.ParseForm(); err != nil {
			p.badRequest(w, r, http.StatusBadRequest, "This sign-out request is malformed.")
			return
		}
		if !p.postLogoutAllowed(r) {
			p.badRequest(w, r, http.StatusBadRequest, "This sign-out request names a return address the app has not registered.")
			return
		}
		d, err := p.cfg.CurrentDevice(r)
		if err != nil {
			p.failPage(w, r, err)
			return
		}
		st := &endSessionState{device: d}
		r = r.WithContext(context.WithValue(r.Context(), endSessionKey{}, st))
		next.ServeHTTP(&cookieClearingWriter{ResponseWriter: w, state: st, cookies: p.cfg.Cookies}, r)
	})
}

// postLogoutAllowed checks post_logout_redirect_uri before the library
// does, with latch's own rule (Client.PostLogoutRegistered): the library
// would accept any loopback address for a native app. The client is the
// one named by client_id or, without it, the id_token_hint's azp (read
// here only to pick the list to check; the library verifies the hint and
// refuses a client_id that differs from it).
func (p *Provider) postLogoutAllowed(r *http.Request) bool {
	uri := r.Form.Get("post_logout_redirect_uri")
	if uri == "" {
		return true
	}
	id := r.Form.Get("client_id")
	if id == "" {
		id = unverifiedAZP(r.Form.Get("id_token_hint"))
	}
	c, ok := p.Storage.Clients[id]
	return ok && c.PostLogoutRegistered(uri)
}

// unverifiedAZP returns a JWT's azp claim (or its single audience) without
// checking the signature.
func unverifiedAZP(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || len(parts[1]) > 8<<10 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		AZP string          `json:"azp"`
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(b, &claims) != nil {
		return ""
	}
	if claims.AZP != "" {
		return claims.AZP
	}
	var aud string
	if json.Unmarshal(claims.Aud, &aud) == nil {
		return aud
	}
	var auds []string
	if json.Unmarshal(claims.Aud, &auds) == nil && len(auds) == 1 {
		return auds[0]
	}
	return ""
}

// terminateSession implements RP-initiated logout. With a valid
// id_token_hint the app has proven which session it means: that device
// session ends (and this browser's, when it belongs to the same account),
// and the browser goes to the registered post-logout address the library
// validated. Without one, anyone could link a person to sign-out, so latch
// asks first on its confirmation page.
func (p *Provider) terminateSession(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	st, _ := ctx.Value(endSessionKey{}).(*endSessionState)
	if st == nil {
		st = &endSessionState{}
	}
	redirect := req.RedirectURI
	if strings.HasPrefix(redirect, "/") {
		redirect = strings.TrimSuffix(p.cfg.Issuer, "/") + redirect
	}
	if req.IDTokenHintClaims == nil {
		v, err := p.logout.Encode("logout", logoutRequest{RedirectURI: redirect})
		if err != nil {
			// The only way to fail is a value over securecookie's 4 KiB,
			// which a long state makes: the caller's mistake, not latch's.
			return "", oidc.ErrInvalidRequest().WithDescription("the sign-out request is too long (state and post_logout_redirect_uri)")
		}
		return "/logout?request=" + url.QueryEscape(v), nil
	}
	claims := req.IDTokenHintClaims
	if sid := claims.SessionID; sid != "" {
		d, err := p.cfg.Sessions.Get(ctx, sid)
		switch {
		case errors.Is(err, sessions.ErrNotFound):
		case err != nil:
			// Never send the app on as if signed out while the session
			// may live on.
			return "", err
		case d.AccountID == claims.Subject:
			if err := p.cfg.Sessions.End(ctx, sid, sessions.ReasonSignedOut); err != nil && !errors.Is(err, sessions.ErrNotFound) {
				return "", err
			}
		}
	}
	if d := st.device; d != nil && d.AccountID == claims.Subject {
		if err := p.cfg.Sessions.End(ctx, d.ID, sessions.ReasonSignedOut); err != nil && !errors.Is(err, sessions.ErrNotFound) {
			return "", err
		}
		st.clearCookie = true
	}
	return redirect, nil
}

// SessionsToken implements account.BearerChecker: a live access token
// (JWT or opaque) carrying scope "sessions", issued to a first-party client.
func (p *Provider) SessionsToken(ctx context.Context, token string) (string, string, error) {
	t, err := p.CheckAccessToken(ctx, token)
	if err != nil {
		return "", "", err
	}
	c, ok := p.Storage.Clients[t.clientID]
	if !ok || !c.FirstParty() || !slices.Contains(t.scopes, ScopeSessions) {
		return "", "", errors.New("token lacks scope sessions or comes from a third-party client")
	}
	return t.accountID, t.sid, nil
}

// Ready reports whether the provider can issue tokens: a signing key loads.
func (p *Provider) Ready(ctx context.Context) error {
	_, err := p.Keys.SigningKey(ctx)
	return err
}
