package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/latch-idp/latch/internal/pgtest"
	"github.com/latch-idp/latch/internal/seal"
)

// TestConfigErrors: each bad input stops start-up with one line that names
// the problem.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	key := writeFile(t, "master.key", seal.NewMasterKeyText())
	dsn := pgtest.NewDSN(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	db := []string{"--database-url", dsn, "--master-key-file", key}
	noRedirect := writeFile(t, "c.yaml", "clients:\n  - id: x\n    app: X\n    secret: 0123456789abcdef0\n")
	badURI := writeFile(t, "c.yaml", "clients:\n  - id: x\n    app: X\n    redirect_uris: [http://example.com/cb]\n")
	dup := writeFile(t, "c.yaml", testClients+"  - id: app-a\n    app: A\n    redirect_uris: [http://localhost/cb]\n")
	unknownField := writeFile(t, "c.yaml", "clients:\n  - id: x\n    app: X\n    redirect_uri: [http://localhost/cb]\n")
	badKey := writeFile(t, "bad.key", "c2hvcnQ=\n")
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown flag", []string{"serve", "--bogus"}, nil, "-bogus"},
		{"log format", []string{"serve", "--log-format", "xml"}, nil, "--log-format"},
		{"log format from env", []string{"serve"}, map[string]string{"LATCH_LOG_FORMAT": "xml"}, "--log-format"},
		{"bad duration in env", []string{"serve"}, map[string]string{"LATCH_SESSION_IDLE": "soon"}, "LATCH_SESSION_IDLE"},
		{"issuer", []string{"serve", "--issuer", "ftp://id.example.com"}, nil, "--issuer"},
		{"http issuer on public host", []string{"serve", "--issuer", "http://id.example.com"}, nil, "--issuer"},
		{"IP issuer", []string{"serve", "--issuer", "http://127.0.0.1:8080"}, nil, "passkeys need a domain name"},
		{"database url without master key", []string{"serve", "--database-url", dsn}, nil, "--master-key-file: required"},
		{"DATABASE_URL without master key", []string{"serve"}, map[string]string{"DATABASE_URL": dsn}, "--master-key-file: required"},
		{"unreadable master key", append([]string{"serve", "--database-url", dsn, "--master-key-file", "/nonexistent/key"}, "--addr", "127.0.0.1:0"), nil, "--master-key-file: cannot read"},
		{"short master key", []string{"serve", "--database-url", dsn, "--master-key-file", badKey, "--addr", "127.0.0.1:0"}, nil, "--master-key-file"},
		{"unreadable clients file", append([]string{"serve", "--clients", "/nonexistent/clients.yaml"}, db...), nil, "--clients: cannot read /nonexistent/clients.yaml"},
		{"client without redirect", append([]string{"serve", "--clients", noRedirect}, db...), nil, "client x: no redirect_uris"},
		{"http redirect off localhost", append([]string{"serve", "--clients", badURI}, db...), nil, "redirect_uris"},
		{"duplicate client", append([]string{"serve", "--clients", dup}, db...), nil, "client app-a: id appears twice"},
		{"unknown clients field", append([]string{"serve", "--clients", unknownField}, db...), nil, "redirect_uri not found"},
		{"unreachable database", []string{"serve", "--database-url", "postgres://latch@127.0.0.1:1/latch?connect_timeout=2", "--master-key-file", key}, nil, "database unreachable"},
		{"not a database url", []string{"serve", "--database-url", "mysql://x", "--master-key-file", key}, nil, "--database-url"},
		{"geoip", append([]string{"serve", "--geoip-db", "/nonexistent.mmdb"}, db...), nil, "--geoip-db"},
		{"trusted proxies", append([]string{"serve", "--trusted-proxies", "10.0.0.0/8,banana"}, db...), nil, "--trusted-proxies"},
		{"argon2 memory", []string{"serve", "--argon2-memory", "lots"}, nil, "-argon2-memory"},
		{"argon2 memory from env", []string{"serve"}, map[string]string{"LATCH_ARGON2_MEMORY": "0"}, "--argon2-memory"},
		{"busy address", append([]string{"serve", "--addr", busy.Addr().String()}, db...), nil, "--addr: cannot listen"},
		{"unknown command", []string{"frobnicate"}, nil, "unknown command"},
		{"accounts without email", append([]string{"accounts", "create"}, db...), nil, "--email: required"},
		{"accounts bad email", append([]string{"accounts", "create", "--email", "nope"}, db...), nil, "--email"},
		{"sessions end without target", append([]string{"sessions", "end"}, db...), nil, "--id SID"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			getenv := func(k string) string { return c.env[k] }
			code := run(context.Background(), c.args, getenv, strings.NewReader(""), &stdout, &stderr)
			out := stderr.String()
			if code == 0 {
				t.Fatalf("exit 0, want failure; stderr %q", out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\\n")
			last := lines[len(lines)-1]
			if c.name != "unknown command" && strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Fatalf("want one line, got:\n%s", out)
			}
			if !strings.Contains(last, c.want) {
				t.Fatalf("stderr %q does not name %q", out, c.want)
			}
		})
	}
}

// TestParseBytes: sizes for --argon2-memory.
func TestParseBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"128MiB", 128 << 20, true},
		{"128MB", 128 << 20, true},
		{"1GiB", 1 << 30, true},
		{"512 KiB", 512 << 10, true},
		{"19922944", 19922944, true},
		{"64B", 64, true},
		{"", 0, false},
		{"lots", 0, false},
		{"-1MiB", 0, false},
		{"1.5GiB", 0, false},
		{"99999999999GiB", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseBytes(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("parseBytes(%q) = %d, %v", tc.in, got, err)
			}
		})
	}
}
