package main

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoSignInBanner: the banner of latch dev says how the demo account
// signs in today, not what it was given on the first run.
func TestDemoSignInBanner(t *testing.T) {
	l := startLatch(t)
	pwFile := filepath.Join(t.TempDir(), "demo-password")
	acct, err := l.srv.Accounts().Create(t.Context(), demoEmail, "Demo Person", "")
	if err != nil {
		t.Fatal(err)
	}
	line := func(password string) string {
		t.Helper()
		s, err := demoSignIn(t.Context(), l.srv, password, pwFile)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := line("first-password-123"); !strings.Contains(got, "none") || strings.Contains(got, "first-password-123") {
		t.Errorf("passwordless account: %q", got)
	}
	hash, err := l.srv.Accounts().Hasher.Hash(t.Context(), "first-password-123")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.srv.Accounts().SetPasswordHash(t.Context(), l.srv.Accounts().DB, acct.ID, hash); err != nil {
		t.Fatal(err)
	}
	if got := line("first-password-123"); !strings.Contains(got, "first-password-123") || !strings.Contains(got, pwFile) {
		t.Errorf("the password latch dev set: %q", got)
	}
	if got := line("an-older-password"); !strings.Contains(got, "changed") || strings.Contains(got, "an-older-password") {
		t.Errorf("a changed password: %q", got)
	}
}

// TestDevDemoPorts: latch dev --demo-ports puts the demo apps on the given
// ports, with the built-in clients' redirect URIs following them, and the
// banner names them, the demo CLI command with the real issuer and the
// agent to start; Codex CLI and the agent Codex task runner are
// registered.
func TestDevDemoPorts(t *testing.T) {
	dir, err := os.MkdirTemp("", "latch-dev-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o711) // the postgres system user must pass through
	var free []string
	for range 4 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		free = append(free, port(ln))
		ln.Close()
	}
	args := []string{"dev", "--data-dir", filepath.Join(dir, "data"), "--addr", "127.0.0.1:" + free[0],
		"--issuer", "http://localhost:" + free[0], "--metrics-addr", "", "--demo-ports", strings.Join(free[1:], ",")}
	if code, _, stderr := cli(t, "", append(args[:len(args)-1:len(args)-1], "9101,9101,9102")...); code == 0 || !strings.Contains(stderr, "each used once") {
		t.Errorf("a port twice: %d %s", code, stderr)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errOut syncBuffer
	go func() {
		done <- run(ctx, args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("latch dev did not stop")
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl-C") {
		if time.Now().After(deadline) {
			t.Fatalf("no banner: %s\n%s", out.String(), errOut.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	banner := out.String()
	for _, p := range free[1:] {
		if !strings.Contains(banner, "http://localhost:"+p) {
			t.Errorf("banner lacks port %s:\n%s", p, banner)
		}
	}
	if !strings.Contains(banner, "demo-password)") {
		t.Errorf("banner does not say where the password is kept:\n%s", banner)
	}
	// The command-line sign-in and the agent it offers to try, with the
	// real issuer, and the clients they need registered.
	issuer := "http://localhost:" + free[0]
	for _, want := range []string{"  go run ./cmd/latch demo cli --issuer " + issuer + "\n", `"Start an agent"`, "Codex task runner"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	status, code := postDevice(t, issuer+"/oauth/device_authorization", url.Values{"client_id": {"codex-cli"}})
	if status != http.StatusOK || !strings.Contains(code, `"device_code"`) {
		t.Errorf("codex-cli asking for a code: %d %s", status, code)
	}
	for secret, want := range map[string]string{"demo-codex-task-runner-secret-not-for-production": "invalid_grant", "wrong-secret-0123456789": "invalid_client"} {
		if got := refreshAt(t, issuer, "codex-task-runner", secret, "no-such-token"); got != want {
			t.Errorf("the agent codex-task-runner with secret %q: %q, want %q", secret, got, want)
		}
	}
	// The ChatGPT demo app on its port sends the browser to latch with a
	// redirect URI on that port, which latch accepts.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get("http://localhost:" + free[1] + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	authorize := resp.Header.Get("Location")
	if !strings.Contains(authorize, "localhost%3A"+free[1]) {
		t.Fatalf("demo app's authorization request: %d %s", resp.StatusCode, authorize)
	}
	resp, err = noFollow.Get(authorize)
	if err != nil {
		t.Fatal(err)
	}
	body := page(t, resp)
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound && !strings.Contains(body, `name="password"`) {
		t.Fatalf("latch refused the demo app's redirect URI: %d %.400s", resp.StatusCode, body)
	}
}
