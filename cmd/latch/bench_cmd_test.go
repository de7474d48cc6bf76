package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// benchArgs are the flags that point `latch bench` at a test latch and its
// app-a client.
func benchArgs(l *testLatch, more ...string) []string {
	return append([]string{"bench", "--url", l.url, "--email", l.email, "--password-stdin",
		"--client-id", "app-a", "--client-secret", "alpha-secret-0123456789",
		"--redirect-uri", "http://localhost:47001/callback", "--duration", "1s", "--workers", "2", "--warmup", "0"}, more...)
}

// runBench runs the command with the test password on standard input.
func runBench(t *testing.T, args []string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, func(string) string { return "" }, strings.NewReader(testPassword+"\n"), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestBenchCommand: every endpoint makes requests and none fails, and the
// bench leaves no session of its own behind.
func TestBenchCommand(t *testing.T) {
	l := startLatch(t)
	// One account per worker: latch's throttle would refuse some parallel
	// sign-ins of one account.
	if _, err := l.srv.Accounts().Create(t.Context(), "grace@example.com", "Grace Hopper", testPassword); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runBench(t, benchArgs(l, "--json", "--email", l.email+",grace@example.com"))
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	var report benchReport
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if report.URL != l.url || report.Workers != 2 || report.GoVersion == "" || report.GOMAXPROCS < 1 {
		t.Fatalf("run description: %+v", report)
	}
	var seen []string
	for _, r := range report.Results {
		seen = append(seen, r.Endpoint)
		if r.Requests == 0 || r.PerSecond <= 0 || r.P50 <= 0 || r.P50 > r.P90 || r.P90 > r.P99 {
			t.Errorf("%s: %+v", r.Endpoint, r)
		}
		if r.Errors != 0 || r.RateLimited != 0 {
			t.Errorf("%s: %d errors, %d rate-limited; first: %s", r.Endpoint, r.Errors, r.RateLimited, r.FirstError)
		}
	}
	if !slices.Equal(seen, benchEndpoints) {
		t.Fatalf("endpoints %v, want %v", seen, benchEndpoints)
	}
	for _, email := range []string{l.email, "grace@example.com"} {
		live, err := l.srv.Sessions().LiveIDs(t.Context(), l.accountID(email))
		if err != nil || len(live) != 0 {
			t.Fatalf("%d sessions of %s left live after the bench (%v)", len(live), email, err)
		}
	}
}

// TestBenchTable: the default output is a table with a line per endpoint.
func TestBenchTable(t *testing.T) {
	l := startLatch(t)
	code, out, errOut := runBench(t, benchArgs(l, "--endpoints", "jwks,userinfo"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.Contains(lines[0], l.url) || !strings.Contains(lines[0], "GOMAXPROCS") ||
		!strings.HasPrefix(lines[2], "endpoint") || !strings.HasPrefix(lines[3], "userinfo ") || !strings.HasPrefix(lines[4], "jwks ") {
		t.Fatalf("table:\n%s", out)
	}
}

// TestBenchRateLimited: a 429 is never a success; the run says so and
// exits non-zero.
func TestBenchRateLimited(t *testing.T) {
	// The test clock stands still, so the limiter's bucket never refills:
	// the one sign-in before the workers start gets through, and the
	// workers' first is already refused, however slow the machine.
	l := startLatch(t, func(c *Config) { c.RateLimit = 1 })
	code, out, errOut := runBench(t, benchArgs(l, "--endpoints", "signin", "--json"))
	var report benchReport
	if err := json.Unmarshal([]byte(out), &report); err != nil || len(report.Results) != 1 {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	r := report.Results[0]
	if code == 0 || r.RateLimited == 0 || r.Requests > 2 || !strings.Contains(errOut, "--rate-limit") {
		t.Fatalf("exit %d, %+v, stderr %q", code, r, errOut)
	}
}

// TestBenchFlagErrors: a bad flag or account stops the bench with one
// line naming the flag.
func TestBenchFlagErrors(t *testing.T) {
	l := startLatch(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{benchArgs(l, "--workers", "0"), "--workers"},
		{benchArgs(l, "--duration", "soon"), "-duration"},
		{benchArgs(l, "--endpoints", "signin,tokens"), `--endpoints: unknown endpoint "tokens"`},
		{benchArgs(l, "--url", "localhost:8080"), "--url"},
		{benchArgs(l, "--url", "http://127.0.0.1:1"), "--url: latch does not answer"},
		{benchArgs(l, "--password", "x"), "not both"},
		{[]string{"bench", "--email", l.email}, "--password-stdin: required"},
		{[]string{"bench", "--url", l.url, "--password", "x"}, "--email: required"},
		{benchArgs(l, "--client-secret", "wrong-secret-0123456789", "--endpoints", "refresh"), "--client-secret"},
		{benchArgs(l, "--redirect-uri", "http://localhost:47009/callback", "--endpoints", "code"), "--redirect-uri"},
	} {
		// Progress lines may come first; the error is the last line.
		code, _, errOut := runBench(t, tc.args)
		if last := lastLine(errOut); code == 0 || !strings.HasPrefix(last, "latch bench: ") || !strings.Contains(last, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want non-zero and %q", tc.args[len(tc.args)-2:], code, errOut, tc.want)
		}
	}
	// A wrong password names the account flags.
	var out, errOut bytes.Buffer
	code := run(t.Context(), benchArgs(l, "--endpoints", "jwks,userinfo"), func(string) string { return "" },
		strings.NewReader("not the password\n"), &out, &errOut)
	if last := lastLine(errOut.String()); code == 0 || !strings.HasPrefix(last, "latch bench: --email, --password:") {
		t.Fatalf("wrong password: exit %d, stderr %q", code, errOut.String())
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestQuantile: nearest rank, so every figure is a latency some request had.
func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i)*time.Millisecond/2)
	}
	if got := []float64{quantileMS(d, 0.5), quantileMS(d, 0.9), quantileMS(d, 0.99), quantileMS(d, 1)}; !slices.Equal(got, []float64{50, 90, 99, 100}) {
		t.Fatalf("quantiles %v", got)
	}
	if quantileMS(nil, 0.5) != 0 || quantileMS(d[:1], 0.99) != 0.5 {
		t.Fatal("empty or single")
	}
}
