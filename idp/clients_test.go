package idp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

func TestDefaultClients(t *testing.T) {
	cs, err := DefaultClients()
	if err != nil || len(cs) != 5 {
		t.Fatalf("%d clients, %v", len(cs), err)
	}
	for _, c := range cs {
		if c.GetID() == "codex-cli" {
			// The command-line demo: public, signs in with a code only.
			if !c.Public() || !c.DeviceGrant() || c.Kind() != KindCLI || len(c.RedirectURIs()) != 0 || c.DeviceName() != "Codex CLI" {
				t.Errorf("%s: %+v", c.GetID(), c)
			}
			continue
		}
		if c.GetID() == "codex-task-runner" {
			// The agent ChatGPT's demo app and Codex CLI start.
			if !c.Agent() || !c.StartableBy("chatgpt-web") || !c.StartableBy("codex-cli") || c.StartableBy("codex-web") ||
				c.Public() || c.FirstParty() {
				t.Errorf("agent %+v", c)
			}
			continue
		}
		if !c.FirstParty() || c.BackchannelLogoutURI() == "" || c.Public() || c.DeviceGrant() {
			t.Errorf("%s: %+v", c.GetID(), c)
		}
	}
	// ChatGPT and Codex CLI may ask for the scopes of the agent they start;
	// Codex, which does not start it, may not.
	for _, c := range cs {
		want := c.GetID() == "chatgpt-web" || c.GetID() == "codex-cli"
		if c.IsScopeAllowed("files:read") != want || c.IsScopeAllowed("pull_requests:write") != want {
			t.Errorf("%s may ask for the agent's scopes: %v, want %v", c.GetID(), !want, want)
		}
	}
}

// TestClientGrantTypes: grant_types says how a client signs people in;
// the device grant is for public clients, which then need no redirect
// URIs, and a client without the code grant takes none.
func TestClientGrantTypes(t *testing.T) {
	for _, c := range []struct {
		name, yaml, err string
		grants          []oidc.GrantType
	}{
		{"default", "redirect_uris: [https://a.example/cb]\n    secret: 0123456789abcdef", "",
			[]oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}},
		{"device only", "grant_types: [device_code]", "", []oidc.GrantType{oidc.GrantTypeDeviceCode, oidc.GrantTypeRefreshToken}},
		{"cli kind", "kind: cli\n    grant_types: [device_code, refresh_token]", "", []oidc.GrantType{oidc.GrantTypeDeviceCode, oidc.GrantTypeRefreshToken}},
		{"native with both", "kind: native\n    grant_types: [authorization_code, device_code]\n    redirect_uris: [http://127.0.0.1/cb]", "",
			[]oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeDeviceCode, oidc.GrantTypeRefreshToken}},
		{"device with a secret", "grant_types: [device_code]\n    secret: 0123456789abcdef", "device_code clients are public", nil},
		{"device with redirect URIs", "grant_types: [device_code]\n    redirect_uris: [http://127.0.0.1/cb]", "takes no redirect URIs", nil},
		{"code without redirect URIs", "grant_types: [authorization_code]", "no redirect_uris", nil},
		{"refresh alone", "grant_types: [refresh_token]", "give authorization_code or device_code", nil},
		{"unknown grant", "grant_types: [password]\n    redirect_uris: [http://127.0.0.1/cb]", `"password" must be`, nil},
		{"cli kind with the code grant", "kind: cli\n    grant_types: [authorization_code, device_code]\n    redirect_uris: [http://127.0.0.1/cb]", "device grant only", nil},
		{"cli kind without grants", "kind: cli\n    redirect_uris: [http://127.0.0.1/cb]", "device grant only", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs, err := ParseClients("t", []byte("clients:\n  - id: x\n    app: X\n    "+c.yaml+"\n"))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cs[0].GrantTypes(); fmt.Sprint(got) != fmt.Sprint(c.grants) {
				t.Fatalf("grants %v, want %v", got, c.grants)
			}
		})
	}
}

func TestClientKinds(t *testing.T) {
	cs, err := ParseClients("t", []byte(`clients:
  - id: web
    app: Web
    secret_hash: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    redirect_uris: [https://web.example.com/cb]
  - id: cli
    app: CLI
    kind: native
    redirect_uris: [http://127.0.0.1:8400/cb, com.example.app:/cb]
    access_token: opaque
`))
	if err != nil {
		t.Fatal(err)
	}
	web, cli := cs[0], cs[1]
	if !web.CheckSecret("test") || web.CheckSecret("Test") || web.AuthMethod() != oidc.AuthMethodBasic {
		t.Fatal("secret_hash client")
	}
	if !cli.Public() || cli.CheckSecret("") || cli.AuthMethod() != oidc.AuthMethodNone || cli.ApplicationType() != op.ApplicationTypeNative {
		t.Fatal("public client")
	}
	if cli.AccessTokenType() != op.AccessTokenTypeBearer || web.AccessTokenType() != op.AccessTokenTypeJWT {
		t.Fatal("access token types")
	}
	// RFC 8252 §7.3: a native app's loopback redirect matches on any port,
	// and nothing else is loosened.
	for uri, want := range map[string]bool{
		"http://127.0.0.1:8400/cb":     true,
		"http://127.0.0.1:8401/cb":     true,
		"http://127.0.0.1/cb":          true,
		"com.example.app:/cb":          true,
		"http://127.0.0.1:8401/cb2":    false,
		"http://127.0.0.1:8401/cb?x=1": false,
		"http://localhost:8401/cb":     false,
		"http://[::1]:8401/cb":         false,
		"https://127.0.0.1:8401/cb":    false,
		"http://127.0.0.2:8401/cb":     false,
		"http://127.0.0.1:0x1f/cb":     false,
		"http://127.0.0.1:99999/cb":    false,
		"http://u@127.0.0.1:8401/cb":   false,
		"http://127.0.0.1:8401/cb#f":   false,
		"com.example.app:/other":       false,
	} {
		if got := cli.RedirectRegistered(uri); got != want {
			t.Errorf("native RedirectRegistered(%q) = %v, want %v", uri, got, want)
		}
	}
	if web.RedirectRegistered("https://web.example.com:8443/cb") || !web.RedirectRegistered("https://web.example.com/cb") {
		t.Fatal("a web client's redirect is not matched exactly")
	}
	if got := web.ResponseTypes(); len(got) != 1 || got[0] != oidc.ResponseTypeCode {
		t.Fatalf("response types %v", got)
	}
}

func TestClientErrors(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"empty":                       {"clients: []\n", "no clients"},
		"not yaml":                    {"clients: [\n", "clients file t:"},
		"no id":                       {"clients:\n  - app: X\n    redirect_uris: [https://x/cb]\n", "client #1: id is missing"},
		"no app":                      {"clients:\n  - id: x\n    redirect_uris: [https://x/cb]\n", "app is missing"},
		"relative uri":                {"clients:\n  - id: x\n    app: X\n    redirect_uris: [/cb]\n", "not an absolute URL"},
		"fragment":                    {"clients:\n  - id: x\n    app: X\n    redirect_uris: [https://x/cb#f]\n", "fragment"},
		"custom scheme, confidential": {"clients:\n  - id: x\n    app: X\n    secret: 0123456789abcdefg\n    redirect_uris: [app:/cb]\n", "must be http(s)"},
		"short secret":                {"clients:\n  - id: x\n    app: X\n    secret: short\n    redirect_uris: [https://x/cb]\n", "shorter than 16"},
		"both secrets":                {"clients:\n  - id: x\n    app: X\n    secret: 0123456789abcdefg\n    secret_hash: sha256:00\n    redirect_uris: [https://x/cb]\n", "not both"},
		"bad hash":                    {"clients:\n  - id: x\n    app: X\n    secret_hash: md5:00\n    redirect_uris: [https://x/cb]\n", "secret_hash"},
		"token type":                  {"clients:\n  - id: x\n    app: X\n    access_token: paseto\n    redirect_uris: [https://x/cb]\n", "access_token"},
		"bad logout uri":              {"clients:\n  - id: x\n    app: X\n    backchannel_logout_uri: http://x.example/bc\n    redirect_uris: [https://x/cb]\n", "backchannel_logout_uri"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseClients("t", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tc.want)
			}
		})
	}
}
