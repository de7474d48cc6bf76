package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

var demoCodeRe = regexp.MustCompile(`enter the code ([A-Z]{4}-[A-Z]{4})`)

// TestDemoCLI: `latch demo cli` prints the code and the address, waits for
// the approval, prints who signed in, refreshes, and says "signed out"
// within seconds of its session being ended from the sessions API.
func TestDemoCLI(t *testing.T) {
	t.Parallel()
	l := deviceLatch(t)
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"demo", "cli", "--issuer", l.url, "--device-name", "ada-laptop",
			"--refresh-every", "1s", "--check-every", "1s"}, func(string) string { return "" }, strings.NewReader(""), out, out)
	}()
	wait := func(what string, cond func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond(out.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("the demo CLI did not %s; it printed:\n%s", what, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var code string
	wait("print a code", func(s string) bool {
		m := demoCodeRe.FindStringSubmatch(s)
		if m != nil {
			code = m[1]
		}
		return m != nil && strings.Contains(s, "open "+l.url+"/device")
	})
	resp, body := b.deviceDecision(code, "approve")
	resp.Body.Close()
	if !strings.Contains(body, "ada-laptop") {
		t.Fatal("the approval page lacks the demo CLI's device name")
	}
	wait("say who signed in", func(s string) bool { return strings.Contains(s, "Signed in as Ada Lovelace <ada@example.com>.") })
	wait("refresh", func(s string) bool { return strings.Contains(s, "refreshed; still signed in") })
	var sid string
	for _, s := range apiSessions(t, b) {
		if s.Kind == "cli" {
			sid = s.ID
			if !strings.HasPrefix(s.Device, "Codex CLI on ada-laptop") {
				t.Errorf("the demo CLI is listed as %q", s.Device)
			}
		}
	}
	if sid == "" {
		t.Fatal("the demo CLI's session is not listed")
	}
	if code, out := apiCall(t, l, "POST", "/api/account/sessions/"+sid+"/end", "", withCookie(b, true)); code != 200 {
		t.Fatalf("end: %d %v", code, out)
	}
	ended := time.Now()
	select {
	case code := <-exited:
		if code != 0 || !strings.Contains(out.String(), "signed out") {
			t.Fatalf("the demo CLI exited %d:\n%s", code, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the demo CLI did not notice the end:\n%s", out.String())
	}
	if d := time.Since(ended); d > 3*time.Second {
		t.Errorf("the demo CLI took %s to say signed out", d)
	}
}
