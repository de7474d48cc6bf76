package idp

import (
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
)

const fuzzClients = `clients:
  - id: web
    app: Web
    secret: web-secret-0123456789
    redirect_uris: [https://web.example.com/cb, http://localhost:9001/callback]
    post_logout_redirect_uris: [https://web.example.com/]
  - id: desktop
    app: Desktop
    kind: native
    redirect_uris: [http://127.0.0.1/callback, "http://[::1]:8400/cb?x=1", com.example.app:/cb]
    post_logout_redirect_uris: [http://127.0.0.1/bye]
`

// FuzzRedirectRegistered: whatever a caller sends as redirect_uri, latch
// accepts only a registered URI, or (native apps) a registered loopback
// URI on another port: same scheme, same IP literal, same path and query.
func FuzzRedirectRegistered(f *testing.F) {
	cs, err := ParseClients("fuzz", []byte(fuzzClients))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"https://web.example.com/cb", "https://web.example.com:443/cb", "https://web.example.com/cb/", "https://WEB.example.com/cb",
		"http://localhost:9001/callback", "http://localhost:9002/callback", "http://127.0.0.1:51234/callback",
		"http://127.0.0.1/callback", "http://127.0.0.1:0/callback", "http://127.0.0.1:65536/callback", "http://localhost:1/callback",
		"http://[::1]:9/cb?x=1", "http://[::1]:9/cb?x=2", "http://[::1%25eth0]:9/cb?x=1", "http://127.0.0.1:80@evil.example/callback",
		"http://127.0.0.1:5/callback#x", "http://user@127.0.0.1:5/callback", "com.example.app:/cb", "com.example.app://cb",
		"http://127.0.0.1:5/callback/../callback", "http://127.0.0.1:5/%63allback", "http://127.1:5/callback", "http://0x7f.0.0.1:5/callback",
		"", "\x00", "http://127.0.0.1:5\x00/callback",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		for _, c := range cs {
			if !c.RedirectRegistered(uri) {
				continue
			}
			if slices.Contains(c.RedirectURIs(), uri) {
				continue
			}
			if c.Kind() != KindNative {
				t.Fatalf("web client %s accepted unregistered %q", c.GetID(), uri)
			}
			u, err := url.Parse(uri)
			if err != nil || u.Scheme != "http" || u.User != nil || strings.Contains(uri, "#") {
				t.Fatalf("native client accepted %q", uri)
			}
			ip, err := netip.ParseAddr(u.Hostname())
			if err != nil || !ip.IsLoopback() {
				t.Fatalf("native client accepted non-loopback %q", uri)
			}
			matched := false
			for _, reg := range c.RedirectURIs() {
				r, err := url.Parse(reg)
				if err == nil && r.Scheme == "http" && r.Hostname() == u.Hostname() && r.Path == u.Path && r.RawQuery == u.RawQuery {
					matched = true
				}
			}
			if !matched {
				t.Fatalf("native client accepted %q, which matches no registered loopback URI", uri)
			}
		}
	})
}

// FuzzParseClients: any clients file is either refused with an error or
// gives clients that latch's own rules accept.
func FuzzParseClients(f *testing.F) {
	f.Add([]byte(fuzzClients))
	f.Add(defaultClients)
	f.Add([]byte("clients: []\n"))
	f.Add([]byte(agentsFile))
	f.Add([]byte("clients:\n  - id: x\n    app: X\n    redirect_uris: [javascript:alert(1)]\n"))
	f.Add([]byte("clients:\n  - id: x\n    app: X\n    kind: native\n    secret: 0123456789abcdef\n    redirect_uris: [http://127.0.0.1/cb]\n"))
	f.Add([]byte("clients:\n  - id: x\n    app: X\n    redirect_uris: [http://evil.example/cb]\n"))
	f.Add([]byte("clients:\n  - {id: a, app: A, redirect_uris: [\"https://a/cb\"]}\n  - {id: a, app: A, redirect_uris: [\"https://a/cb\"]}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := ParseClients("fuzz", b)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, c := range cs {
			if c.GetID() == "" || c.App() == "" || (len(c.RedirectURIs()) == 0) == c.codeGrant || seen[c.GetID()] {
				t.Fatalf("accepted client %+v", c)
			}
			if c.Agent() && (c.codeGrant || c.deviceGrant || len(c.agent.allowedScopes) == 0 || len(c.agent.startedBy) == 0 || c.FirstParty()) {
				t.Fatalf("accepted agent %+v", c)
			}
			if c.DeviceGrant() && !c.Public() {
				t.Fatalf("device grant client %s with a secret", c.GetID())
			}
			seen[c.GetID()] = true
			if c.Kind() == KindNative && !c.Public() {
				t.Fatalf("native client %s with a secret", c.GetID())
			}
			for _, u := range c.RedirectURIs() {
				if err := checkURL("redirect_uris", u, c.Kind() == KindNative); err != nil {
					t.Fatalf("accepted redirect %q: %v", u, err)
				}
			}
		}
	})
}
