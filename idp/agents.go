package idp

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// An agent is a client that acts for a person: a first-party app holding
// the person's access token exchanges it at the token endpoint (RFC 8693,
// exchange.go) for a delegated token of the agent, which says who the
// person is (sub) and who acts (act). In the clients file:
//
//	- id: codex-task-runner
//	  app: Codex task runner             # the agent's name, as people see it
//	  kind: agent
//	  secret: "..."                      # optional: to refresh and to introspect its tokens
//	  allowed_scopes: [files:read, pull_requests:write]
//	  scope_descriptions: {files:read: read your files, pull_requests:write: open pull requests}
//	  started_by: [chatgpt-web]          # the apps that may start it
//	  refresh_for: 8h                    # optional: a refresh token, usable this long after each start
//	  backchannel_logout_uri: https://…  # optional
//
// An agent has no redirect URIs: nobody signs in to it.

// agentPolicy is what the clients file says of an agent.
type agentPolicy struct {
	// allowedScopes is the most the agent may ever hold.
	allowedScopes []string
	// startedBy are the client ids of the apps that may start it.
	startedBy []string
	// refreshFor is how long after an exchange the agent may refresh its
	// token; zero means it gets no refresh token.
	refreshFor time.Duration
	// words says what each scope lets the agent do, for people.
	words map[string]string
}

// maxAgentScopes bounds an agent's allowance, and so the scope parameter
// latch will look at.
const maxAgentScopes = 32

// scopesAgentsMayNotHold are scopes that mean something only to an app a
// person signs in to: "sessions" would let an agent end the person's own
// sessions, and refresh is the clients file's refresh_for, not a scope.
var scopesAgentsMayNotHold = []string{ScopeSessions, oidc.ScopeOfflineAccess}

// validScope reports whether s is a scope-token (RFC 6749 §3.3): printable
// ASCII without space, '"' or '\'.
func validScope(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// newAgent reads a kind: agent entry.
func newAgent(c ClientConfig) (*Client, error) {
	switch {
	case len(c.RedirectURIs) > 0 || len(c.PostLogoutRedirectURIs) > 0:
		return nil, errors.New("an agent has no redirect_uris or post_logout_redirect_uris: nobody signs in to it")
	case c.FirstParty:
		return nil, errors.New("first_party: an agent is started by first-party apps (started_by); it is not one")
	case c.DeviceName != "":
		return nil, errors.New("device_name: an agent appears under the device it was started from")
	case len(c.GrantTypes) > 0:
		return nil, errors.New("grant_types: an agent gets its tokens by token exchange, started by an app")
	case len(c.AllowedScopes) == 0:
		return nil, errors.New("allowed_scopes: an agent needs at least one scope")
	case len(c.AllowedScopes) > maxAgentScopes:
		return nil, fmt.Errorf("allowed_scopes: at most %d", maxAgentScopes)
	case len(c.StartedBy) == 0:
		return nil, errors.New("started_by: name the apps that may start this agent")
	case c.RefreshFor < 0:
		return nil, errors.New("refresh_for: must not be negative")
	}
	for _, sc := range c.AllowedScopes {
		if !validScope(sc) {
			return nil, fmt.Errorf("allowed_scopes: %q is not a scope", sc)
		}
		if slices.Contains(scopesAgentsMayNotHold, sc) {
			return nil, fmt.Errorf("allowed_scopes: an agent may not hold %q", sc)
		}
	}
	for sc, w := range c.ScopeDescriptions {
		if !slices.Contains(c.AllowedScopes, sc) {
			return nil, fmt.Errorf("scope_descriptions: %q is not in allowed_scopes", sc)
		}
		if strings.TrimSpace(w) == "" {
			return nil, fmt.Errorf("scope_descriptions: %q has no words", sc)
		}
	}
	if c.BackchannelLogoutURI != "" {
		if err := checkURL("backchannel_logout_uri", c.BackchannelLogoutURI, false); err != nil {
			return nil, err
		}
	}
	cl := &Client{id: c.ID, app: c.App, backchannelURI: c.BackchannelLogoutURI, kind: KindAgent,
		agent: &agentPolicy{allowedScopes: slices.Clone(c.AllowedScopes), startedBy: slices.Clone(c.StartedBy),
			refreshFor: c.RefreshFor, words: c.ScopeDescriptions}}
	if err := cl.setTokenAndSecret(c); err != nil {
		return nil, err
	}
	return cl, nil
}

// notAgentFields refuses an agent's fields on another kind of client.
func notAgentFields(c ClientConfig) error {
	switch {
	case len(c.AllowedScopes) > 0:
		return errors.New("allowed_scopes is for kind: agent")
	case len(c.StartedBy) > 0:
		return errors.New("started_by is for kind: agent")
	case c.RefreshFor != 0:
		return errors.New("refresh_for is for kind: agent")
	case len(c.ScopeDescriptions) > 0:
		return errors.New("scope_descriptions is for kind: agent")
	}
	return nil
}

// linkAgents checks every agent's started_by against the other clients, and
// lets each starting app ask for its agents' scopes.
func linkAgents(clients []*Client) error {
	byID := map[string]*Client{}
	for _, c := range clients {
		byID[c.id] = c
	}
	for _, a := range clients {
		if a.agent == nil {
			continue
		}
		for _, id := range a.agent.startedBy {
			s, ok := byID[id]
			switch {
			case !ok:
				return fmt.Errorf("client %s: started_by: no client %q", a.id, id)
			case s.kind == KindAgent:
				// An agent's token is never exchanged again (exchange.go),
				// so an agent starting agents would be a promise latch
				// does not keep.
				return fmt.Errorf("client %s: started_by: %q is an agent; agents do not start agents", a.id, id)
			case !s.firstParty:
				return fmt.Errorf("client %s: started_by: %q is not first_party", a.id, id)
			}
			for _, sc := range a.agent.allowedScopes {
				if !slices.Contains(s.agentScopes, sc) {
					s.agentScopes = append(s.agentScopes, sc)
				}
				if _, std := builtinScopeWords[sc]; !std && s.agentWords[sc] == "" {
					if s.agentWords == nil {
						s.agentWords = map[string]string{}
					}
					s.agentWords[sc] = a.ScopeWords([]string{sc})[0]
				}
			}
		}
	}
	return nil
}

// Agent reports whether the client is an agent.
func (c *Client) Agent() bool { return c.agent != nil }

// StartableBy reports whether the app with this client id may start the
// agent c.
func (c *Client) StartableBy(clientID string) bool {
	return c.agent != nil && slices.Contains(c.agent.startedBy, clientID)
}

// AgentScopeWords says in words what the scopes among scopes that only
// the agents c may start use let those agents do ("read your files"), for
// the device approval page: the standard scopes have words of their own.
func (c *Client) AgentScopeWords(scopes []string) []string {
	var out []string
	for _, sc := range scopes {
		if w := c.agentWords[sc]; w != "" && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// builtinScopeWords say what the standard scopes let an agent do.
var builtinScopeWords = map[string]string{
	oidc.ScopeOpenID:  "know who you are",
	oidc.ScopeProfile: "see your name",
	oidc.ScopeEmail:   "see your email address",
}

// ScopeWords says, in words for people, what scopes let the agent c do:
// the clients file's scope_descriptions, the standard scopes' own words,
// or the scope itself. "openid" says nothing more once other scopes speak.
func (c *Client) ScopeWords(scopes []string) []string {
	var out []string
	for _, sc := range scopes {
		if sc == oidc.ScopeOpenID && len(scopes) > 1 {
			continue
		}
		w := ""
		if c.agent != nil {
			w = c.agent.words[sc]
		}
		if w == "" {
			w = builtinScopeWords[sc]
		}
		if w == "" {
			w = "use “" + sc + "”"
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}
