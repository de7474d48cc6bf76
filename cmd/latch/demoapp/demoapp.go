package demoapp

import (
	"context"
	"crypto/rand"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

//go:embed page.html demo.css
var files embed.FS

// Config describes one demo app and the provider it signs in with.
type Config struct {
	Name         string // "ChatGPT"
	ClientID     string // "chatgpt-web"
	ClientSecret string // empty for a public client; PKCE protects the code either way
	Issuer       string // "http://localhost:8080"
	BaseURL      string // "http://localhost:9001" (redirect URI = BaseURL+"/callback", post-logout = BaseURL+"/")
	Logger       *slog.Logger
	HTTPClient   *http.Client // optional; used for discovery, keys and tokens

	// Now is the clock; nil means time.Now. Tests move it to expire tokens
	// and pending sign-ins without sleeping.
	Now func() time.Time

	// Agent, when set, is an agent the app may start for the signed-in
	// person ("Start an agent"; agent.go).
	Agent *Agent
}

// Lifetimes of the app's short-lived records.
const (
	// pendingTTL bounds how long a sign-in may take between /login and
	// /callback; a code that comes back later is refused.
	pendingTTL = 10 * time.Minute
	// endedTTL is how long the app remembers why a session ended, so the
	// person sees "latch ended your session" rather than a bare sign-in page.
	endedTTL = 24 * time.Hour
	// maxPending caps sign-ins in progress, so a loop hitting /login cannot
	// grow memory without bound.
	maxPending = 10000
	// maxLoggedOut is how many logged-out sids LoggedOutSIDs keeps.
	maxLoggedOut = 1000
	// discoveryTimeout bounds one attempt to fetch the discovery document.
	discoveryTimeout = 10 * time.Second
)

// App is one demo relying party. It is an http.Handler and is safe for
// concurrent use.
type App struct {
	cfg          Config
	log          *slog.Logger
	client       *http.Client
	now          func() time.Time
	handler      http.Handler
	page         *template.Template
	theme        string
	secure       bool   // cookies get Secure when BaseURL is https
	issuerOrigin string // allowed as a form-action target in the CSP
	sessionName  string // cookie names carry the client ID because every
	loginName    string // demo app shares the "localhost" cookie jar

	// discoverMu guards prov. Discovery is lazy and retried on the next
	// request after a failure, because `latch dev` may start the demo apps
	// before the provider answers.
	discoverMu sync.Mutex
	prov       *provider

	refreshMu sync.Mutex // serializes token refreshes; see refresh

	mu           sync.Mutex
	sessions     map[string]*session     // by session cookie value
	pending      map[string]pendingLogin // by OAuth state
	logoutStates map[string]time.Time    // by RP-Initiated Logout state, until expiry
	ended        map[string]endedSession // by the session cookie value of an ended session
	seenJTI      map[string]time.Time    // back-channel logout token IDs, until the token expires
	loggedOut    []string                // sids named by verified logout tokens, in arrival order
}

// provider is what discovery yields.
type provider struct {
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string
	// issParam is true when the provider promises the RFC 9207 iss
	// parameter, which then must be present on every authorization response.
	issParam bool
	// oidc verifies the tokens of an agent the app starts; introspection
	// is where the app asks whether they still work.
	oidc          *oidc.Provider
	introspection string
}

// New checks the configuration and builds the app. It does not contact the
// issuer: discovery happens on the first request that needs it.
func New(cfg Config) (*App, error) {
	for _, f := range []struct{ name, value string }{
		{"Name", cfg.Name}, {"ClientID", cfg.ClientID}, {"Issuer", cfg.Issuer}, {"BaseURL", cfg.BaseURL},
	} {
		if f.value == "" {
			return nil, fmt.Errorf("demoapp: %s is required", f.name)
		}
	}
	issuer, err := absoluteURL("Issuer", cfg.Issuer)
	if err != nil {
		return nil, err
	}
	base, err := absoluteURL("BaseURL", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if base.Path != "" && base.Path != "/" {
		return nil, fmt.Errorf("demoapp: BaseURL %q must not have a path", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")

	page, err := template.New("page.html").Funcs(template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2 Jan 2006, 15:04:05 MST")
		},
	}).ParseFS(files, "page.html")
	if err != nil {
		return nil, fmt.Errorf("demoapp: %w", err)
	}

	a := &App{
		cfg:          cfg,
		log:          cfg.Logger,
		client:       cfg.HTTPClient,
		now:          cfg.Now,
		page:         page,
		theme:        themeFor(cfg.Name),
		secure:       base.Scheme == "https",
		issuerOrigin: issuer.Scheme + "://" + issuer.Host,
		sessionName:  "demoapp_" + cookieSafe(cfg.ClientID),
		loginName:    "demoapp_" + cookieSafe(cfg.ClientID) + "_login",
		sessions:     make(map[string]*session),
		pending:      make(map[string]pendingLogin),
		logoutStates: make(map[string]time.Time),
		ended:        make(map[string]endedSession),
		seenJTI:      make(map[string]time.Time),
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.log = a.log.With("app", cfg.Name)
	if a.client == nil {
		a.client = &http.Client{Timeout: 15 * time.Second}
	}
	if a.now == nil {
		a.now = time.Now
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /callback", a.callback)
	mux.HandleFunc("POST /refresh", a.refresh)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("POST /backchannel-logout", a.backchannelLogout)
	mux.HandleFunc("POST /agent/start", a.startAgent)
	mux.HandleFunc("POST /agent/check", a.checkAgent)
	mux.HandleFunc("GET /static/demo.css", a.css)
	mux.HandleFunc("GET /favicon.svg", a.favicon)
	mux.HandleFunc("GET /favicon.ico", a.favicon)
	// Browsers send Sec-Fetch-Site and Origin with every form POST, so a
	// cross-site form cannot sign the person out or burn their refresh
	// token. The provider's back-channel POST is server to server and
	// carries neither header, so it passes.
	a.handler = http.NewCrossOriginProtection().Handler(mux)
	return a, nil
}

func absoluteURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("demoapp: %s %q is not an absolute http(s) URL", field, raw)
	}
	return u, nil
}

// cookieSafe keeps the characters a cookie name may hold.
func cookieSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

// ServeHTTP serves the app's routes:
//
//	GET  /                    who is signed in, or a "Sign in with latch" button
//	GET  /login               start the authorization code flow (?prompt=, ?max_age= pass through)
//	GET  /callback            finish it
//	POST /refresh             use the refresh token
//	POST /logout              forget the local session, then RP-Initiated Logout at latch
//	POST /backchannel-logout  OpenID Connect Back-Channel Logout 1.0
//	POST /agent/start         start the agent (Config.Agent) with a token exchange
//	POST /agent/check         ask latch whether the agent's token still works
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The pages need nothing but their own stylesheet. form-action names the
	// issuer because the sign-out form's answer redirects there, and
	// browsers hold form redirects to form-action too.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' "+a.issuerOrigin+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	a.handler.ServeHTTP(w, r)
}

// LoggedOutSIDs returns the sid of every verified back-channel logout token
// the app has received that named one, oldest first. Tests poll it to see an
// ended latch session reach the app.
func (a *App) LoggedOutSIDs() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.loggedOut...)
}

// ActiveSIDs returns the sid of every local session, so a test can learn
// which latch session a browser sign-in produced.
func (a *App) ActiveSIDs() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	sids := make([]string, 0, len(a.sessions))
	for _, s := range a.sessions {
		sids = append(sids, s.sid)
	}
	return sids
}

// discover returns the provider, fetching discovery on first use. A failure
// is not remembered: the next request tries again.
func (a *App) discover(ctx context.Context) (*provider, error) {
	a.discoverMu.Lock()
	defer a.discoverMu.Unlock()
	if a.prov != nil {
		return a.prov, nil
	}
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	// The client rides in the context; go-oidc keeps it for fetching keys
	// later, and x/oauth2 finds it under the same key.
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, a.client), a.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("demoapp: discovery at %s: %w", a.cfg.Issuer, err)
	}
	// provider.Endpoint() has no end_session_endpoint, so read it from
	// the raw document.
	var meta struct {
		EndSession    string `json:"end_session_endpoint"`
		IssParam      bool   `json:"authorization_response_iss_parameter_supported"`
		Introspection string `json:"introspection_endpoint"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, fmt.Errorf("demoapp: discovery at %s: %w", a.cfg.Issuer, err)
	}
	endpoint := p.Endpoint()
	// Say how the client authenticates instead of letting x/oauth2 guess:
	// its guess retries a failed token request, which would spend the
	// single-use code twice.
	endpoint.AuthStyle = oauth2.AuthStyleInParams
	if a.cfg.ClientSecret != "" {
		endpoint.AuthStyle = oauth2.AuthStyleInHeader
	}
	a.prov = &provider{
		oauth: oauth2.Config{
			ClientID:     a.cfg.ClientID,
			ClientSecret: a.cfg.ClientSecret,
			Endpoint:     endpoint,
			RedirectURL:  a.cfg.BaseURL + "/callback",
			Scopes:       []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess},
		},
		verifier:      p.Verifier(&oidc.Config{ClientID: a.cfg.ClientID, Now: a.now}),
		endSession:    meta.EndSession,
		issParam:      meta.IssParam,
		oidc:          p,
		introspection: meta.Introspection,
	}
	if a.cfg.Agent != nil {
		// The agent's token holds only scopes the person's token holds.
		a.prov.oauth.Scopes = append(a.prov.oauth.Scopes, a.cfg.Agent.Scopes...)
	}
	a.log.Info("discovered provider", "issuer", a.cfg.Issuer)
	return a.prov, nil
}

// providerOrFail is discover for handlers: on failure it answers 503 with a
// page that says what to check.
func (a *App) providerOrFail(w http.ResponseWriter, r *http.Request) (*provider, bool) {
	p, err := a.discover(r.Context())
	if err != nil {
		a.log.Warn("provider unavailable", "err", err)
		w.Header().Set("Retry-After", "2")
		a.fail(w, http.StatusServiceUnavailable, "latch is not reachable",
			"The app could not reach latch at "+a.cfg.Issuer+". Make sure it is running, then try again.")
		return nil, false
	}
	return p, true
}

// oauthContext carries the app's HTTP client to x/oauth2 and go-oidc.
func (a *App) oauthContext(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, a.client)
}

// randomToken returns 128 random bits as text, for session IDs, state and
// nonce values.
func randomToken() string { return rand.Text() }
