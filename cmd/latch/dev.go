package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/cmd/latch/demoapp"
	"github.com/latch-idp/latch/idp"
	"github.com/latch-idp/latch/internal/server"
)

func newKeys(db *database) *idp.Keys { return idp.NewKeys(db.Pool, db.Master) }

// cmdServe runs `latch serve`, or with dev `latch dev`: the provider plus the
// three demo apps (with their agent and Codex CLI registered) and a demo
// account.
func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, dev bool) error {
	var cfg Config
	name := "serve"
	if dev {
		name = "dev"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	serveFlags(fs, &cfg)
	if dev {
		demoPortsFlag(fs, &cfg)
	}
	if err := parseFlags(fs, args, getenv, stderr); err != nil {
		return err
	}
	if err := cfg.validate(true); err != nil {
		return err
	}
	if dev && cfg.ClientsFile != "" {
		return errors.New("--clients: latch dev always uses the built-in demo apps")
	}
	tuneGC(&cfg, getenv)
	// Check the clients file before starting anything.
	if _, err := loadClients(&cfg); err != nil {
		return err
	}
	logger := newLogger(&cfg, stderr)
	// The OIDC library logs through the default logger.
	setDefaultLogger(logger)
	db, err := openDatabase(ctx, &cfg, logger, true)
	if err != nil {
		return err
	}
	defer closeDB(db)
	ln, err := listen(cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	sc, err := cfg.serverConfig(db)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, sc, db.Pool, logger, time.Now)
	if err != nil {
		return err
	}
	var demos []*http.Server
	if dev {
		demos, err = startDemo(ctx, &cfg, srv, logger, stdout)
		if err != nil {
			return err
		}
	}
	if err := srv.Start(ctx, ln); err != nil {
		return err
	}
	logger.Info("latch is serving", "issuer", cfg.Issuer, "addr", ln.Addr().String(), "version", version)
	var failed error
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case failed = <-db.Failed():
		// latch's own PostgreSQL cannot be kept running: stop, and exit
		// non-zero so that whatever runs latch sees it.
		logger.Error("shutting down: " + failed.Error())
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, d := range demos {
		d.Shutdown(shutdownCtx)
	}
	return errors.Join(failed, srv.Shutdown(shutdownCtx))
}

// demoApps are the three relying parties of `latch dev`, matching the
// built-in clients file.
var demoApps = []struct{ name, clientID, secret, port string }{
	{"ChatGPT", "chatgpt-web", "demo-chatgpt-secret-not-for-production", "9001"},
	{"Codex", "codex-web", "demo-codex-secret-not-for-production", "9002"},
	{"Platform", "platform-web", "demo-platform-secret-not-for-production", "9003"},
}

const demoEmail = "demo@latch.localhost"

// demoAgent is the agent of the built-in clients file that ChatGPT's demo
// app starts with its "Start an agent" button.
var demoAgent = &demoapp.Agent{ClientID: "codex-task-runner", Name: "Codex task runner",
	Scopes: []string{"files:read", "pull_requests:write"}, Note: "latch dev, on this computer"}

// startDemo creates the demo account on first run (its password kept in the
// data directory so every run can print it) and starts the demo apps.
func startDemo(ctx context.Context, cfg *Config, srv *server.Server, logger *slog.Logger, stdout io.Writer) ([]*http.Server, error) {
	pwFile := filepath.Join(cfg.DataDir, "demo-password")
	pw, err := os.ReadFile(pwFile)
	password := strings.TrimSpace(string(pw))
	if err != nil || password == "" {
		password = rand.Text()[:16]
		if _, err := srv.Accounts().ByEmail(ctx, demoEmail); err == nil {
			return nil, fmt.Errorf("demo account exists but %s is missing; remove %s to start afresh", pwFile, cfg.DataDir)
		}
		if _, err := srv.Accounts().Create(ctx, demoEmail, "Demo Person", password); err != nil {
			return nil, err
		}
		if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
			return nil, err
		}
	} else if _, err := srv.Accounts().ByEmail(ctx, demoEmail); errors.Is(err, authn.ErrNoAccount) {
		if _, err := srv.Accounts().Create(ctx, demoEmail, "Demo Person", password); err != nil {
			return nil, err
		}
	}
	signIn, err := demoSignIn(ctx, srv, password, pwFile)
	if err != nil {
		return nil, err
	}
	var servers []*http.Server
	for i, d := range demoApps {
		d.port = cfg.DemoPorts[i]
		base := "http://localhost:" + d.port
		dc := demoapp.Config{Name: d.name, ClientID: d.clientID, ClientSecret: d.secret,
			Issuer: cfg.Issuer, BaseURL: base, Logger: logger}
		if d.clientID == "chatgpt-web" {
			dc.Agent = demoAgent
		}
		app, err := demoapp.New(dc)
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", "localhost:"+d.port)
		if err != nil {
			for _, s := range servers {
				s.Close()
			}
			return nil, fmt.Errorf("demo app %s: cannot listen on port %s: %v", d.name, d.port, err)
		}
		hs := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(ln)
		servers = append(servers, hs)
	}
	fmt.Fprintf(stdout, `
latch dev is running.

  latch:     %s  (your account: %s/account)
  ChatGPT:   http://localhost:%s
  Codex:     http://localhost:%s
  Platform:  http://localhost:%s

  Demo account:  %s
  %s

Sign in to ChatGPT, then open Codex: you are signed in without asking again.
In ChatGPT, "Start an agent" starts Codex task runner acting for you: your
sessions page lists it until you stop it.

Sign in a command-line app with a code, in another terminal:

  go run ./cmd/latch demo cli --issuer %s

Press Ctrl-C to stop everything.

`, cfg.Issuer, cfg.Issuer, cfg.DemoPorts[0], cfg.DemoPorts[1], cfg.DemoPorts[2], demoEmail, signIn, cfg.Issuer)
	return servers, nil
}

// demoSignIn says truly how the demo account signs in today: with the
// password latch dev gave it (kept in pwFile), or not with that password
// any more, because the person changed or removed it on the security page.
func demoSignIn(ctx context.Context, srv *server.Server, password, pwFile string) (string, error) {
	acct, err := srv.Accounts().ByEmail(ctx, demoEmail)
	if err != nil {
		return "", err
	}
	hash, err := srv.Accounts().PasswordHash(ctx, acct.ID)
	if err != nil {
		return "", err
	}
	switch {
	case hash == "" && acct.Advanced():
		return "Password:      none: the account uses advanced security, so it signs in with its passkeys only", nil
	case hash == "":
		return "Password:      none: the password was removed, so the account signs in with its passkeys", nil
	}
	ok, err := srv.Accounts().Hasher.Verify(ctx, hash, password)
	if err != nil {
		return "", err
	}
	if !ok {
		return "Password:      changed since latch dev set it (the one it set is in " + pwFile + ")", nil
	}
	return "Password:      " + password + "  (kept in " + pwFile + ")", nil
}

// tuneGC sets the garbage collector for a server whose live heap is small
// (a few MiB besides the argon2id pool): collecting at 300% growth instead
// of 100% measured 5–8% more refresh grants a second on two cores, and the
// soft memory limit (the hashing budget plus 256 MiB) makes the collector
// work harder before memory, not throughput, becomes the problem. GOGC and
// GOMEMLIMIT in the environment win.
func tuneGC(cfg *Config, getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(300)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(cfg.Argon2Memory + 256<<20)
	}
}

// listen opens --addr.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--addr: cannot listen on %s: %v", addr, err)
	}
	return ln, nil
}
