// Package server is latch's wiring: New builds every package from a Config
// on an open database, Handler is every route behind the one request
// guard, Start serves on a listener and runs the background workers (the
// session and token caches, alerts, back-channel logouts, the sweep), and
// Shutdown stops them. cmd/latch reads the flags, opens the database and
// calls these; the end-to-end tests do the same, and reach the owners it
// wired through the accessors (Accounts, Sessions, …).
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latch-idp/latch/account"
	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/idp"
	"github.com/latch-idp/latch/internal/notify"
	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/migrations"
	"github.com/latch-idp/latch/recovery"
	"github.com/latch-idp/latch/sessions"
	"github.com/latch-idp/latch/templates"
)

// Server is one latch replica: its handler, listeners and background
// workers, on a database other replicas may share.
type Server struct {
	cfg      Config
	logger   *slog.Logger
	db       *pgxpool.Pool
	provider *idp.Provider
	sessions *sessions.Store
	accounts *authn.Accounts
	throttle *authn.Throttle
	authn    *authn.Handler
	metrics  *web.Metrics
	// limiter is the per-address rate limit of the sign-in routes.
	limiter *web.RateLimiter
	// clientIP finds a request's client address behind trusted proxies.
	clientIP *web.ClientIP
	// account serves the signed-in person's pages: security, step-up,
	// sessions and their API, activity.
	account *account.Handler
	// sender delivers back-channel logouts.
	sender *idp.Sender
	// notifier delivers account alerts.
	notifier *notify.Notifier
	// cache is this replica's session cache, from Start on.
	cache   *sessions.Cache
	handler http.Handler
	http    *http.Server
	// metricsHTTP serves /metrics on its own listener.
	metricsHTTP *http.Server
	metricsLn   net.Listener
	ln          net.Listener
	cancel      context.CancelFunc
	done        chan struct{}
}

// New wires latch on db, an open pool on a migrated database, and makes
// sure a signing key exists. now is the clock of every component (tests
// move it instead of sleeping). Nothing is served until Start.
func New(ctx context.Context, cfg Config, db *pgxpool.Pool, logger *slog.Logger, now func() time.Time) (*Server, error) {
	if cfg.MasterKey == nil {
		return nil, errors.New("server: no master key")
	}
	pages, err := templates.Parse()
	if err != nil {
		return nil, err
	}
	pages.Now = now
	clientIP, err := web.NewClientIP(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	policy := sessions.Policy{
		sessions.ModeStandard: {Absolute: cfg.SessionAbsolute, Idle: cfg.SessionIdle},
		sessions.ModeAdvanced: {Absolute: cfg.AdvancedSessionAbsolute, Idle: cfg.AdvancedSessionIdle},
	}
	s := &Server{cfg: cfg, logger: logger, db: db, metrics: web.NewMetrics(), clientIP: clientIP,
		limiter: web.NewRateLimiter(cfg.RateLimit/60, cfg.RateLimit)}
	s.limiter.Now = now
	s.sessions = sessions.New(db, policy)
	s.sessions.Now = now
	s.sessions.TrustFor = cfg.TrustedDevice
	if cfg.GeoIPDB != "" {
		if s.sessions.Locator, err = sessions.OpenLocator(cfg.GeoIPDB); err != nil {
			return nil, err
		}
	}
	byID := map[string]*idp.Client{}
	for _, c := range cfg.Clients {
		byID[c.GetID()] = c
	}
	s.sessions.LogoutURI = func(id string) string {
		if c, ok := byID[id]; ok {
			return c.BackchannelLogoutURI()
		}
		return ""
	}
	argon := authn.DefaultArgon2
	if cfg.Argon2 != nil {
		argon = *cfg.Argon2
	}
	s.accounts = &authn.Accounts{DB: db, Hasher: authn.NewHasher(argon,
		authn.WorkersFor(cfg.Argon2Memory, argon), authn.HashQueueWait)}
	s.throttle = authn.NewThrottle(db)
	s.throttle.Now = now
	cookies := web.NewCookies(cfg.Issuer)
	wa, err := authn.NewWebAuthn(cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("--issuer: %v", err)
	}
	totp := authn.NewTOTP(db, cfg.MasterKey)
	totp.Now = now
	flow := securecookie.New(cfg.MasterKey.Derive("flow-hash"), cfg.MasterKey.Derive("flow-block"))
	flow.MaxAge(int((15 * time.Minute).Seconds()))
	s.authn = &authn.Handler{
		Accounts: s.accounts, Sessions: s.sessions, Throttle: s.throttle, Pages: pages,
		Passkeys: &authn.Passkeys{DB: db, WebAuthn: wa, Now: now},
		TOTP:     totp, Recovery: &recovery.Keys{DB: db, Now: now},
		Flow: flow, Issuer: cfg.Issuer, Notify: true, DeviceStepUp: cfg.AdvancedStepUp,
		Cookies: cookies, CSRF: web.NewCSRF(cookies), ClientIP: clientIP, Metrics: s.metrics,
		Logger: logger, Now: now,
	}
	authorizeLimiter := web.NewRateLimiter(cfg.AuthorizeRateLimit/60, cfg.AuthorizeRateLimit)
	authorizeLimiter.Now = now
	s.provider, err = idp.New(idp.Config{
		Issuer: cfg.Issuer, DB: db, Clients: cfg.Clients, MasterKey: cfg.MasterKey, Sessions: s.sessions, Accounts: s.accounts,
		Cookies: cookies, Metrics: s.metrics, Logger: logger, CurrentDevice: s.authn.Device, Now: now,
		ClientIP: clientIP, AuthorizeLimiter: authorizeLimiter, ErrorPage: s.authn.ErrorPage,
		Unavailable: s.authn.Unavailable, AgentStarted: s.authn.AgentStartedTx,
		Device: idp.DeviceConfig{PollInterval: cfg.DevicePollInterval},
	})
	if err != nil {
		return nil, err
	}
	// The sign-in pages and the provider call each other: the provider
	// takes the pages' device and error pages above, the pages take the
	// provider's authorization requests and logouts here.
	s.authn.Requests, s.authn.Logouts, s.authn.Devices = s.provider, s.provider, s.provider
	if err := s.provider.Keys.EnsureKey(ctx); err != nil {
		return nil, err
	}
	s.account = &account.Handler{Authn: s.authn, Accounts: s.accounts, Passkeys: s.authn.Passkeys, TOTP: totp,
		Recovery: s.authn.Recovery, Sessions: s.sessions, Changes: &account.Changes{DB: db, Now: now},
		Pages: pages, Cookies: cookies, CSRF: s.authn.CSRF, ClientIP: clientIP, Logger: logger, Now: now, Reveal: flow,
		StepUp: map[sessions.SecurityMode]time.Duration{sessions.ModeStandard: cfg.StepUp, sessions.ModeAdvanced: cfg.AdvancedStepUp}, Bearer: s.provider,
		Apps: s.provider,
		AppName: func(id string) string {
			if c, ok := byID[id]; ok {
				return c.App()
			}
			return id
		},
		AppAlias: func(id string) string {
			if c, ok := byID[id]; ok {
				return c.DeviceName()
			}
			return ""
		},
		ScopeWords: func(id string, scopes []string) []string {
			if c, ok := byID[id]; ok {
				return c.ScopeWords(scopes)
			}
			return scopes
		}}
	s.sender = idp.NewSender(db, s.sessions, s.provider.Keys, cfg.Issuer, logger)
	s.sender.Now = now
	var transport notify.Transport
	if cfg.SMTPURL != "" {
		if transport, err = notify.NewSMTP(cfg.SMTPURL); err != nil {
			return nil, err
		}
	} else {
		if transport, err = notify.NewDir(cfg.MailDir, logger); err != nil {
			return nil, err
		}
		logger.Info("account alerts are written as files; set --smtp-url to send them", "dir", cfg.MailDir)
	}
	s.notifier = &notify.Notifier{DB: db, Transport: transport, From: cfg.MailFrom, Logger: logger, Now: now}
	s.handler = s.routes()
	return s, nil
}

// Handler is every route of latch behind the request guard: what Start
// serves.
func (s *Server) Handler() http.Handler { return s.handler }

// routes lists every route of latch in one place.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.provider.Routes(mux)
	s.authn.Routes(mux)
	s.account.Routes(mux)
	mux.Handle("GET /static/", templates.Static())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
	})
	route := func(r *http.Request) string {
		if r.Pattern != "" {
			return r.Pattern
		}
		// The guard refused it before the mux saw it.
		if _, p := mux.Handler(r); p != "" {
			return p
		}
		return "unmatched"
	}
	// Pages give times in the zone times.js keeps in the tz cookie.
	pages := templates.TimeZones(s.authn.Cookies.Name(web.CookieTimeZone), s.styledMisses(mux))
	return web.SecurityHeaders(s.provider.FormTargets(), withDeadline(s.metrics.Instrument(route, s.guard().Wrap(pages))))
}

// styledMisses answers a path no route has (404) and a method a route does
// not take (405, with its Allow header) with latch's error page, or JSON for
// the API and OAuth endpoints, instead of the mux's bare text.
func (s *Server) styledMisses(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// The mux's own answer says which miss it is and sets Allow.
		probe := &missProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if allow := probe.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		status, heading, message := http.StatusNotFound, "Page not found",
			"There is nothing at this address. Check the link, or go to your account."
		if probe.status == http.StatusMethodNotAllowed {
			status, heading, message = http.StatusMethodNotAllowed, "That can't be done here",
				"This address does not take that kind of request. Go back and try again from the page."
		}
		if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/oauth/") ||
			strings.HasPrefix(r.Header.Get("Accept"), "application/json") {
			web.NoStore(w)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			code := "not_found"
			if status == http.StatusMethodNotAllowed {
				code = "method_not_allowed"
			}
			// An error writing is the client gone: nothing is left to tell.
			_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": message})
			return
		}
		s.authn.ErrorPage(w, r, status, heading, message)
	})
}

// missProbe records the status and headers of the mux's 404 or 405.
type missProbe struct {
	header http.Header
	status int
}

func (p *missProbe) Header() http.Header         { return p.header }
func (p *missProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *missProbe) WriteHeader(status int)      { p.status = status }

// oauthBodyLimit is the body limit of the endpoints that take tokens: their
// forms carry tokens and client credentials, which may exceed a page form's
// 16 KiB (they also bound their own bodies, to the same 64 KiB). Requests
// to /authorize and /end_session stay within 16 KiB, as idp bounds them.
const oauthBodyLimit = 64 << 10

// guard is the one place every request's body limit, character checks and
// the sign-in rate limit are enforced (web.Guard).
func (s *Server) guard() *web.Guard {
	rateLimited := s.authn.RateLimited()
	maps.Copy(rateLimited, s.account.RateLimited())
	return &web.Guard{
		Limits: map[string]int64{"/oauth/": oauthBodyLimit, "/revoke": oauthBodyLimit, "/userinfo": oauthBodyLimit},
		// The token, introspection, revocation and userinfo endpoints answer
		// RFC 6749 §5.2 errors, and the sessions API has the same shape.
		// /authorize is left to latch's page: until the client and its
		// redirect URI are checked, nothing may be sent to the redirect URI.
		OAuth:       []string{"/oauth/", "/revoke", "/userinfo", "/api/"},
		RateLimited: rateLimited,
		Limiter:     s.limiter, ClientIP: s.clientIP, Metrics: s.metrics,
		Page: s.authn.ErrorPage,
	}
}

// requestTimeout bounds how long a request may wait for the database. A
// server that hangs rather than refuses (SIGSTOPped, or cut off by a
// network that drops packets) would otherwise hold every request until
// the 30-second write timeout, which the client sees as a broken
// connection; with the deadline it gets 503 temporarily_unavailable and
// Retry-After. It is generous on purpose: a pause shorter than this (a
// failover, a stopped and continued server) costs a slow answer rather
// than an error, and a token refresh whose answer is lost after its
// commit would leave the app holding a rotated-out refresh token.
const requestTimeout = 15 * time.Second

// withDeadline gives every request's context requestTimeout.
func withDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ready answers 200 when the database answers, every migration is applied
// and a signing key loads; 503 with the reason otherwise.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.db.Ping(ctx); err != nil {
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		return
	}
	if pending, err := migrations.Pending(ctx, s.db); err != nil || pending {
		http.Error(w, "migrations not applied", http.StatusServiceUnavailable)
		return
	}
	if err := s.provider.Ready(ctx); err != nil {
		http.Error(w, "no signing key", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// Start serves on ln until Shutdown, with /metrics on cfg.MetricsAddr,
// and starts the background workers: this replica's session and token
// caches, alert delivery, back-channel logouts and the sweep. It returns
// once serving has begun.
func (s *Server) Start(ctx context.Context, ln net.Listener) error {
	if err := s.startMetrics(); err != nil {
		return err
	}
	s.ln = ln
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.done = make(chan struct{})
	s.cache = s.sessions.EnableCache(bg, s.logger)
	s.provider.Storage.EnableTokenCache(bg, s.logger)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		s.notifier.Run(bg)
	}()
	go func() {
		defer wg.Done()
		s.sweepLoop(bg, time.Minute)
	}()
	go func() {
		defer wg.Done()
		s.sender.Run(bg)
	}()
	go func() {
		wg.Wait()
		close(s.done)
	}()
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("http server", "err", err)
		}
	}()
	return nil
}

// Sweep is the janitor's round: each owner of tables deletes (or ends)
// what of its own rows no longer matters. A failing sweep does not stop
// the others.
func (s *Server) Sweep(ctx context.Context) error {
	counted := func(f func(context.Context) (int, error)) func(context.Context) error {
		return func(ctx context.Context) error { _, err := f(ctx); return err }
	}
	var errs []error
	for _, sw := range []struct {
		owner string
		run   func(context.Context) error
	}{
		{"idp", s.provider.Storage.Sweep},             // authorization requests, expired tokens
		{"sessions", counted(s.sessions.Sweep)},       // sessions ended 30 days ago
		{"sessions", counted(s.sessions.EndExpired)},  // sessions past their lifetime end
		{"authn", counted(s.throttle.Sweep)},          // the throttle's counts of a day ago
		{"account", counted(s.account.Changes.Sweep)}, // changes whose step-up never came
	} {
		if err := sw.run(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", sw.owner, err))
		}
	}
	return errors.Join(errs...)
}

// sweepLoop runs Sweep every interval until ctx ends.
func (s *Server) sweepLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.logger.Error("sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// startMetrics serves /metrics on --metrics-addr, apart from the public
// listener: what latch counts (sign-ins, errors, routes) is for its
// operators, not for anyone who can reach the sign-in page.
func (s *Server) startMetrics() error {
	if s.cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("--metrics-addr: cannot listen on %s: %v", s.cfg.MetricsAddr, err)
	}
	s.metricsLn = ln
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	// Go's profiler, for operators sizing a deployment (latch bench) on the
	// same private listener.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	s.metricsHTTP = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn)}
	go func() {
		if err := s.metricsHTTP.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("metrics server", "err", err)
		}
	}()
	return nil
}

// MetricsURL is where /metrics is served, "" when it is off.
func (s *Server) MetricsURL() string {
	if s.metricsLn == nil {
		return ""
	}
	return "http://" + s.metricsLn.Addr().String() + "/metrics"
}

// URL is where the server listens (after Start), for tests started on
// port 0.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Shutdown stops serving, waiting up to the context for requests in
// flight, then stops the background workers. The database stays open: it
// is the caller's.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	if s.http != nil {
		err = s.http.Shutdown(ctx)
	}
	if s.metricsHTTP != nil {
		err = errors.Join(err, s.metricsHTTP.Shutdown(ctx))
	}
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
	return err
}

// The owners New wired, for what runs beside the server (latch dev's demo
// account) and for end-to-end tests, which set up and check state through
// the owners' methods rather than their tables.

// Accounts is the accounts' owner.
func (s *Server) Accounts() *authn.Accounts { return s.accounts }

// Sessions is the session store.
func (s *Server) Sessions() *sessions.Store { return s.sessions }

// Cache is this replica's session cache; nil before Start.
func (s *Server) Cache() *sessions.Cache { return s.cache }

// Provider is the OpenID Provider: its Storage (requests and tokens), Keys
// and clients.
func (s *Server) Provider() *idp.Provider { return s.provider }

// Throttle is the sign-in throttle.
func (s *Server) Throttle() *authn.Throttle { return s.throttle }

// Passkeys are the accounts' passkeys.
func (s *Server) Passkeys() *authn.Passkeys { return s.authn.Passkeys }

// TOTP are the accounts' authenticator apps.
func (s *Server) TOTP() *authn.TOTP { return s.authn.TOTP }

// Notifier delivers account alerts; its outbox holds them until then.
func (s *Server) Notifier() *notify.Notifier { return s.notifier }

// Recovery are the accounts' recovery keys.
func (s *Server) Recovery() *recovery.Keys { return s.authn.Recovery }
