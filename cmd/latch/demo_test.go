package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/latch-idp/latch/cmd/latch/demoapp"
)

// TestDemoApps drives the demo apps of `latch dev` against a running latch:
// sign in to one, open the other without signing in again, sign out of the
// first through latch, and watch the second find its session ended at its
// next refresh.
func TestDemoApps(t *testing.T) {
	t.Parallel()
	type demo struct {
		name, id, secret, url string
		ln                    net.Listener
	}
	demos := []*demo{{name: "ChatGPT", id: "chatgpt-web", secret: "chatgpt-secret-0123456789"},
		{name: "Codex", id: "codex-web", secret: "codex-secret-0123456789"}}
	var clients strings.Builder
	clients.WriteString("clients:\n")
	for _, d := range demos {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		d.ln, d.url = ln, "http://"+ln.Addr().String()
		fmt.Fprintf(&clients, "  - id: %s\n    app: %s\n    secret: %s\n    redirect_uris: [%s/callback]\n    post_logout_redirect_uris: [%s/]\n    backchannel_logout_uri: %s/backchannel-logout\n    first_party: true\n",
			d.id, d.name, d.secret, d.url, d.url, d.url)
	}
	l := startLatch(t, func(c *Config) { c.ClientsFile = writeFile(t, "demo.yaml", clients.String()) })
	for _, d := range demos {
		app, err := demoapp.New(demoapp.Config{Name: d.name, ClientID: d.id, ClientSecret: d.secret, Issuer: l.url, BaseURL: d.url})
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: app}
		go srv.Serve(d.ln)
		t.Cleanup(func() { srv.Close() })
	}
	b := l.browser()
	b.client.CheckRedirect = nil // a real browser follows every redirect

	chat, codex := demos[0], demos[1]
	resp := b.do("GET", chat.url+"/login", nil)
	resp = b.signIn(resp, l.email, testPassword)
	body := page(t, resp)
	if resp.Request.URL.String() != chat.url+"/" || !strings.Contains(body, l.email) {
		t.Fatalf("after sign-in to ChatGPT: %s\n%.800s", resp.Request.URL, body)
	}

	resp = b.do("GET", codex.url+"/login", nil)
	body = page(t, resp)
	if resp.Request.URL.String() != codex.url+"/" || !strings.Contains(body, l.email) {
		t.Fatalf("Codex did not sign in through SSO: %s\n%.800s", resp.Request.URL, body)
	}

	resp = b.do("POST", chat.url+"/logout", nil)
	body = page(t, resp)
	if !strings.HasPrefix(resp.Request.URL.String(), chat.url+"/?state=") || strings.Contains(body, l.email) {
		t.Fatalf("after sign-out from ChatGPT: %s\n%.800s", resp.Request.URL, body)
	}
	resp = b.do("GET", l.url+"/account", nil)
	resp.Body.Close()
	if resp.Request.URL.Path != "/login" {
		t.Fatal("latch session survived RP-initiated sign-out")
	}
	// Codex heard it over the back channel: it forgot the person without
	// being asked.
	waitFor(t, func() bool {
		return !strings.Contains(page(t, b.do("GET", codex.url+"/", nil)), l.email)
	})
}
