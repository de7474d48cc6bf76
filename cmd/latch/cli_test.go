package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cli runs one latch command and returns its exit code and output.
func cli(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, func(string) string { return "" }, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestCLIWithOwnPostgres: `latch serve` on its own PostgreSQL; the other
// commands use that running PostgreSQL; a second serve on the same data
// directory fails with one clear line; after stopping, the data remains.
func TestCLIWithOwnPostgres(t *testing.T) {
	dir, err := os.MkdirTemp("", "latch-cli-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o711) // the postgres system user must pass through
	dataDir := filepath.Join(dir, "data")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	clients := writeFile(t, "clients.yaml", testClients)
	serveArgs := []string{"serve", "--data-dir", dataDir, "--addr", addr, "--issuer", "http://localhost:" + port(ln), "--clients", clients}

	ctx, stop := context.WithCancel(context.Background())
	served := make(chan int, 1)
	var serveErr bytes.Buffer
	go func() {
		served <- run(ctx, serveArgs, func(string) string { return "" }, strings.NewReader(""), &bytes.Buffer{}, &serveErr)
	}()
	stopped := false
	t.Cleanup(func() {
		stop()
		if stopped {
			return
		}
		select {
		case <-served:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never became ready: %s", serveErr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "master.key")); err != nil {
		t.Fatalf("no master key generated in the data dir: %v", err)
	}

	code, _, errOut := cli(t, "", "serve", "--data-dir", dataDir, "--addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errOut, "latch is already running on "+dataDir) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("second serve: exit %d, %q", code, errOut)
	}

	dd := []string{"--data-dir", dataDir}
	if code, out, errOut := cli(t, "s3cret-password\n", append([]string{"accounts", "create", "--email", "Grace@Example.com", "--name", "Grace Hopper", "--password-stdin"}, dd...)...); code != 0 || !strings.Contains(out, "created account") {
		t.Fatalf("accounts create: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := cli(t, "", append([]string{"accounts", "create", "--email", "grace@example.com"}, dd...)...); code == 0 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("duplicate account: %d %s", code, errOut)
	}
	if code, _, errOut := cli(t, "short\n", append([]string{"accounts", "create", "--email", "x@example.com", "--password-stdin"}, dd...)...); code == 0 || !strings.Contains(errOut, "at least 8") {
		t.Fatalf("short password: %d %s", code, errOut)
	}
	code, out, errOut := cli(t, "", append([]string{"accounts", "list"}, dd...)...)
	if code != 0 || !strings.Contains(out, "Grace@Example.com") || !strings.Contains(out, "Grace Hopper") || strings.Contains(out, "x@example.com") {
		t.Fatalf("accounts list: %d %s %s", code, out, errOut)
	}

	// The served latch sees the account the CLI created: sign in.
	l := &testLatch{t: t, url: "http://localhost:" + port(ln), email: "grace@example.com"}
	b := l.browser()
	form := hiddenFields(page(t, b.do("GET", "/login", nil)))
	form.Set("email", "grace@example.com")
	form.Set("password", "s3cret-password")
	resp := b.do("POST", "/login", form)
	resp.Body.Close()
	if resp.Request.URL.Path != "/account" {
		t.Fatalf("sign-in with the CLI's account ended at %s", resp.Request.URL)
	}

	code, out, _ = cli(t, "", append([]string{"sessions", "list", "--email", "grace@example.com"}, dd...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !strings.Contains(lines[1], "127.0.0.1") {
		t.Fatalf("sessions list: %d\n%s", code, out)
	}
	sid := strings.Fields(lines[1])[0]
	if code, out, _ := cli(t, "", append([]string{"sessions", "end", "--id", sid}, dd...)...); code != 0 || !strings.Contains(out, sid) {
		t.Fatalf("sessions end: %d %s", code, out)
	}
	// The end reaches the served latch by notification from another
	// process: allow the promised second.
	eventually(t, time.Second, func() bool {
		resp := b.do("GET", "/account", nil)
		resp.Body.Close()
		return resp.Request.URL.Path == "/login"
	}, "the ended session still signs in")
	if code, _, errOut := cli(t, "", append([]string{"sessions", "end", "--id", sid}, dd...)...); code == 0 || !strings.Contains(errOut, "no live session") {
		t.Fatalf("ending it twice: %d %s", code, errOut)
	}
	if code, out, _ := cli(t, "", append([]string{"sessions", "end", "--email", "grace@example.com", "--all"}, dd...)...); code != 0 || !strings.Contains(out, "ended 0 sessions") {
		t.Fatalf("end --all: %d %s", code, out)
	}
	if code, out, errOut := cli(t, "", append([]string{"keys", "rotate"}, dd...)...); code != 0 || !strings.Contains(out, "new signing key") {
		t.Fatalf("keys rotate: %d %s %s", code, out, errOut)
	}
	if code, out, _ := cli(t, "", append([]string{"migrate"}, dd...)...); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %d %s", code, out)
	}
	if code, out, _ := cli(t, "", "version"); code != 0 || !strings.HasPrefix(out, "latch ") {
		t.Fatalf("version: %d %s", code, out)
	}

	// Stop serve; the data is still there for the next start, and commands
	// now start PostgreSQL themselves.
	stop()
	code = <-served
	stopped = true
	if code != 0 {
		t.Fatalf("serve exited %d: %s", code, serveErr.String())
	}
	if code, out, errOut := cli(t, "", append([]string{"accounts", "list"}, dd...)...); code != 0 || !strings.Contains(out, "Grace@Example.com") {
		t.Fatalf("accounts list after stop: %d %s %s", code, out, errOut)
	}
}
