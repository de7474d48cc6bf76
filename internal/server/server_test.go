package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latch-idp/latch/idp"
	"github.com/latch-idp/latch/internal/pgtest"
	"github.com/latch-idp/latch/internal/seal"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testConfig is a server on the demo clients with the flags' defaults.
func testConfig(t *testing.T) Config {
	t.Helper()
	master, err := seal.ParseMasterKey(seal.NewMasterKeyText())
	if err != nil {
		t.Fatal(err)
	}
	clients, err := idp.DemoClients([3]string{})
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Issuer: "http://localhost:8080", Clients: clients, MasterKey: master, MailDir: t.TempDir(),
		RateLimit: 30, AuthorizeRateLimit: 120, Argon2Memory: 64 << 20, MailFrom: "latch <no-reply@localhost>",
		StepUp: 10 * time.Minute, AdvancedStepUp: 5 * time.Minute, TrustedDevice: 30 * 24 * time.Hour,
		SessionAbsolute: 30 * 24 * time.Hour, SessionIdle: 14 * 24 * time.Hour,
		AdvancedSessionAbsolute: 12 * time.Hour, AdvancedSessionIdle: 15 * time.Minute,
	}
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

// TestHandlerBeforeStart: New wires every route, and Handler serves them
// without a listener: health, readiness, discovery and the styled 404.
func TestHandlerBeforeStart(t *testing.T) {
	s, err := New(t.Context(), testConfig(t), pgtest.New(t), slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	if code, body := get(t, h, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get(t, h, "/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	if code, body := get(t, h, "/.well-known/openid-configuration"); code != http.StatusOK || !strings.Contains(body, `"issuer":"http://localhost:8080"`) {
		t.Errorf("discovery: %d %.300s", code, body)
	}
	if code, body := get(t, h, "/no-such-page"); code != http.StatusNotFound || !strings.Contains(body, "Page not found") {
		t.Errorf("a missing page: %d %.300s", code, body)
	}
	if s.Cache() != nil {
		t.Error("a session cache before Start")
	}
	if err := s.Sweep(t.Context()); err != nil {
		t.Errorf("sweep: %v", err)
	}
}

// TestStartShutdown: Start serves on the listener and /metrics on its own,
// and Shutdown stops both and the background workers.
func TestStartShutdown(t *testing.T) {
	cfg := testConfig(t)
	cfg.MetricsAddr = "127.0.0.1:0"
	s, err := New(t.Context(), cfg, pgtest.New(t), slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context(), ln); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{s.URL() + "/healthz", s.MetricsURL()} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", u, resp.StatusCode)
		}
	}
	if s.Cache() == nil {
		t.Error("no session cache after Start")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if resp, err := http.Get(s.URL() + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("still serving after Shutdown")
	}
}

// TestNewNeedsAMasterKey: without one, New refuses rather than sealing
// nothing.
func TestNewNeedsAMasterKey(t *testing.T) {
	cfg := testConfig(t)
	cfg.MasterKey = nil
	if _, err := New(t.Context(), cfg, pgtest.New(t), slog.New(slog.DiscardHandler), time.Now); err == nil {
		t.Fatal("New without a master key")
	}
}
