package idp

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const agentsFile = `clients:
  - id: web
    app: Web
    secret: 0123456789abcdefg
    redirect_uris: [https://web.example.com/cb]
    first_party: true
  - id: other
    app: Other
    secret: 0123456789abcdefg
    redirect_uris: [https://other.example.com/cb]
    first_party: true
  - id: third
    app: Third
    secret: 0123456789abcdefg
    redirect_uris: [https://third.example.com/cb]
  - id: runner
    app: Task runner
    kind: agent
    allowed_scopes: [openid, files:read, pull_requests:write]
    scope_descriptions: {"files:read": read your files}
    started_by: [web]
    refresh_for: 8h
    backchannel_logout_uri: https://runner.example.com/bc
`

func TestAgentClients(t *testing.T) {
	cs, err := ParseClients("t", []byte(agentsFile))
	if err != nil {
		t.Fatal(err)
	}
	web, other, third, runner := cs[0], cs[1], cs[2], cs[3]
	if !runner.Agent() || runner.Kind() != KindAgent || runner.FirstParty() || !runner.Public() ||
		len(runner.RedirectURIs()) != 0 || runner.agent.refreshFor != 8*time.Hour || runner.BackchannelLogoutURI() == "" {
		t.Fatalf("agent %+v", runner)
	}
	if !runner.StartableBy("web") || runner.StartableBy("other") || runner.StartableBy("runner") || web.StartableBy("web") {
		t.Fatal("started_by")
	}
	// The starting app may ask for its agents' scopes; nobody else may.
	for _, sc := range []string{"files:read", "pull_requests:write"} {
		if !web.IsScopeAllowed(sc) || other.IsScopeAllowed(sc) || third.IsScopeAllowed(sc) {
			t.Fatalf("IsScopeAllowed(%q)", sc)
		}
	}
	if !web.IsScopeAllowed(ScopeSessions) || third.IsScopeAllowed(ScopeSessions) {
		t.Fatal("scope sessions")
	}
	if got := runner.ScopeWords([]string{"openid", "files:read", "pull_requests:write"}); !slices.Equal(got,
		[]string{"read your files", "use “pull_requests:write”"}) {
		t.Fatalf("words %q", got)
	}
	if got := runner.ScopeWords([]string{"openid"}); !slices.Equal(got, []string{"know who you are"}) {
		t.Fatalf("words %q", got)
	}
}

func TestAgentClientErrors(t *testing.T) {
	app := "clients:\n  - id: web\n    app: Web\n    redirect_uris: [https://web.example.com/cb]\n    first_party: true\n" +
		"  - id: third\n    app: Third\n    redirect_uris: [https://third.example.com/cb]\n"
	agent := func(extra string) string {
		return app + "  - id: a\n    app: A\n    kind: agent\n" + extra
	}
	ok := "    allowed_scopes: [files:read]\n    started_by: [web]\n"
	for name, tc := range map[string]struct{ yaml, want string }{
		"redirect uris":        {agent(ok + "    redirect_uris: [https://a.example.com/cb]\n"), "no redirect_uris"},
		"first party":          {agent(ok + "    first_party: true\n"), "first_party"},
		"device name":          {agent(ok + "    device_name: A\n"), "device_name"},
		"no scopes":            {agent("    started_by: [web]\n"), "allowed_scopes"},
		"scope sessions":       {agent("    allowed_scopes: [sessions]\n    started_by: [web]\n"), `may not hold "sessions"`},
		"scope offline_access": {agent("    allowed_scopes: [offline_access]\n    started_by: [web]\n"), "may not hold"},
		"malformed scope":      {agent("    allowed_scopes: [\"a b\"]\n    started_by: [web]\n"), "is not a scope"},
		"no starter":           {agent("    allowed_scopes: [files:read]\n"), "started_by"},
		"unknown starter":      {agent("    allowed_scopes: [files:read]\n    started_by: [nobody]\n"), `no client "nobody"`},
		"third-party starter":  {agent("    allowed_scopes: [files:read]\n    started_by: [third]\n"), "not first_party"},
		"agent starter": {agent(ok) + "  - id: b\n    app: B\n    kind: agent\n    allowed_scopes: [x]\n    started_by: [a]\n",
			"agents do not start agents"},
		"negative refresh":     {agent(ok + "    refresh_for: -1h\n"), "refresh_for"},
		"words of no scope":    {agent(ok + "    scope_descriptions: {x: do x}\n"), "not in allowed_scopes"},
		"empty words":          {agent(ok + "    scope_descriptions: {\"files:read\": \" \"}\n"), "no words"},
		"plain logout uri":     {agent(ok + "    backchannel_logout_uri: http://a.example.com/bc\n"), "backchannel_logout_uri"},
		"agent field on a web": {app + "  - id: w\n    app: W\n    redirect_uris: [https://w.example.com/cb]\n    started_by: [web]\n", "started_by is for kind: agent"},
		"unknown kind":         {app + "  - id: w\n    app: W\n    kind: robot\n    redirect_uris: [https://w.example.com/cb]\n", "web, native, cli or agent"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseClients("t", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tc.want)
			}
		})
	}
}
