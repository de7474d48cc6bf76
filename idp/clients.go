package idp

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"gopkg.in/yaml.v3"
)

// ClientConfig is one entry of the clients file (docs/design.md §Contract
// "Clients file").
type ClientConfig struct {
	ID                     string   `yaml:"id"`
	App                    string   `yaml:"app"`
	Secret                 string   `yaml:"secret"`
	SecretHash             string   `yaml:"secret_hash"` // "sha256:<hex>", instead of secret
	RedirectURIs           []string `yaml:"redirect_uris"`
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris"`
	BackchannelLogoutURI   string   `yaml:"backchannel_logout_uri"`
	FirstParty             bool     `yaml:"first_party"`
	AccessToken            string   `yaml:"access_token"`
	DeviceName             string   `yaml:"device_name"`
	// Kind is "web" (the default: a server-side app with a secret, or a
	// browser app), "native" (a desktop or mobile app: public, and may use
	// a loopback redirect on any port, RFC 8252 §7.3), "cli" (a
	// command-line tool: public, signs in with the device grant) or
	// "agent" (acts for a person with a delegated token; see agents.go).
	Kind string `yaml:"kind"`
	// GrantTypes are the ways the client signs a person in:
	// authorization_code (the default) and device_code (RFC 8628, public
	// clients only). refresh_token comes with either. Not for agents, which
	// get their tokens by token exchange.
	GrantTypes []string `yaml:"grant_types"`

	// The fields of kind: agent only (agents.go).
	AllowedScopes     []string          `yaml:"allowed_scopes"`
	StartedBy         []string          `yaml:"started_by"`
	RefreshFor        time.Duration     `yaml:"refresh_for"`
	ScopeDescriptions map[string]string `yaml:"scope_descriptions"`
}

type clientsFile struct {
	Clients []ClientConfig `yaml:"clients"`
}

//go:embed clients.default.yaml
var defaultClients []byte

// DefaultClients returns the built-in clients of `latch dev`: the three
// demo apps (chatgpt-web, codex-web, platform-web), the agent ChatGPT's
// demo app starts (codex-task-runner) and the command-line Codex CLI
// (codex-cli).
func DefaultClients() ([]*Client, error) {
	return ParseClients("built-in clients", defaultClients)
}

// DemoClients returns the built-in clients with the three demo apps
// listening on ports instead of 9001, 9002 and 9003 (latch dev
// --demo-ports); an empty port keeps its default.
func DemoClients(ports [3]string) ([]*Client, error) {
	for i, p := range ports {
		if p == "" {
			ports[i] = strconv.Itoa(9001 + i)
		}
	}
	r := strings.NewReplacer("localhost:9001", "localhost:"+ports[0], "localhost:9002", "localhost:"+ports[1],
		"localhost:9003", "localhost:"+ports[2])
	return ParseClients("built-in clients", []byte(r.Replace(string(defaultClients))))
}

// LoadClients reads and validates a clients file.
func LoadClients(path string) ([]*Client, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--clients: cannot read %s: %w", path, errors.Unwrap(err))
	}
	return ParseClients(path, b)
}

// ParseClients validates a clients file's content. Each problem is reported
// as one line naming the file, the client and the field.
func ParseClients(name string, b []byte) ([]*Client, error) {
	var f clientsFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("clients file %s: %s", name, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if len(f.Clients) == 0 {
		return nil, fmt.Errorf("clients file %s: no clients", name)
	}
	seen := map[string]bool{}
	var out []*Client
	for i, c := range f.Clients {
		cl, err := newClient(c)
		if err != nil {
			label := c.ID
			if label == "" {
				label = fmt.Sprintf("#%d", i+1)
			}
			return nil, fmt.Errorf("clients file %s: client %s: %w", name, label, err)
		}
		if seen[cl.id] {
			return nil, fmt.Errorf("clients file %s: client %s: id appears twice", name, cl.id)
		}
		seen[cl.id] = true
		out = append(out, cl)
	}
	if err := linkAgents(out); err != nil {
		return nil, fmt.Errorf("clients file %s: %w", name, err)
	}
	return out, nil
}

func checkURL(field, raw string, allowCustomScheme bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("%s: %q is not an absolute URL", field, raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%s: %q must not have a fragment", field, raw)
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fmt.Errorf("%s: %q has no host", field, raw)
		}
	case "http":
		// Plain http is allowed only to this machine, where no network sits
		// between the browser and the app (RFC 8252 §8.3, and development).
		if h := u.Hostname(); h != "localhost" && h != "127.0.0.1" && h != "::1" {
			return fmt.Errorf("%s: %q uses http on a host other than localhost; use https", field, raw)
		}
	default:
		if !allowCustomScheme {
			return fmt.Errorf("%s: %q must be http(s)", field, raw)
		}
	}
	return nil
}

func newClient(c ClientConfig) (*Client, error) {
	if c.ID == "" {
		return nil, errors.New("id is missing")
	}
	if c.App == "" {
		return nil, errors.New("app is missing (the name people see)")
	}
	if c.Kind == KindAgent {
		return newAgent(c)
	}
	if err := notAgentFields(c); err != nil {
		return nil, err
	}
	public := c.Secret == "" && c.SecretHash == ""
	codeGrant, deviceGrant, err := parseGrantTypes(c)
	if err != nil {
		return nil, err
	}
	if deviceGrant && !public {
		// latch's device grant is for tools people install, where a
		// secret is no secret (RFC 8628 §5.6, RFC 8252 §8.5).
		return nil, errors.New("grant_types: device_code clients are public; remove the secret")
	}
	switch {
	case codeGrant && len(c.RedirectURIs) == 0:
		return nil, errors.New("no redirect_uris")
	case !codeGrant && len(c.RedirectURIs)+len(c.PostLogoutRedirectURIs) > 0:
		return nil, errors.New("redirect_uris: a client without authorization_code takes no redirect URIs")
	}
	kind := KindWeb
	switch c.Kind {
	case "":
		// An app with a private-use URI scheme can only be a native app.
		for _, u := range c.RedirectURIs {
			if public && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
				kind = KindNative
			}
		}
	case "web":
	case "native":
		kind = KindNative
		if !public {
			// RFC 8252 §8.5: a secret in an app people install is no secret.
			return nil, errors.New("kind: native apps are public clients; remove the secret")
		}
	case "cli":
		kind = KindCLI
		if !deviceGrant || codeGrant {
			return nil, errors.New("kind: cli apps sign in with the device grant only (grant_types: [device_code])")
		}
	default:
		return nil, fmt.Errorf("kind: %q must be web, native, cli or agent", c.Kind)
	}
	for _, u := range c.RedirectURIs {
		if err := checkURL("redirect_uris", u, kind == KindNative); err != nil {
			return nil, err
		}
	}
	for _, u := range c.PostLogoutRedirectURIs {
		if err := checkURL("post_logout_redirect_uris", u, kind == KindNative); err != nil {
			return nil, err
		}
	}
	if c.BackchannelLogoutURI != "" {
		if err := checkURL("backchannel_logout_uri", c.BackchannelLogoutURI, false); err != nil {
			return nil, err
		}
	}
	cl := &Client{
		id: c.ID, app: c.App, redirectURIs: c.RedirectURIs, postLogoutURIs: c.PostLogoutRedirectURIs,
		backchannelURI: c.BackchannelLogoutURI, firstParty: c.FirstParty, deviceName: c.DeviceName, kind: kind,
		codeGrant: codeGrant, deviceGrant: deviceGrant,
	}
	if err := cl.setTokenAndSecret(c); err != nil {
		return nil, err
	}
	return cl, nil
}

// setTokenAndSecret reads the access token kind and the secret, which every
// kind of client has.
func (cl *Client) setTokenAndSecret(c ClientConfig) error {
	switch c.AccessToken {
	case "", "jwt":
		cl.accessToken = op.AccessTokenTypeJWT
	case "opaque":
		cl.accessToken = op.AccessTokenTypeBearer
	default:
		return fmt.Errorf("access_token: %q must be jwt or opaque", c.AccessToken)
	}
	switch {
	case c.Secret != "" && c.SecretHash != "":
		return errors.New("give secret or secret_hash, not both")
	case c.Secret != "":
		if len(c.Secret) < 16 {
			return errors.New("secret: shorter than 16 characters")
		}
		h := sha256.Sum256([]byte(c.Secret))
		cl.secretHash = h[:]
	case c.SecretHash != "":
		hexHash, ok := strings.CutPrefix(c.SecretHash, "sha256:")
		h, err := hex.DecodeString(hexHash)
		if !ok || err != nil || len(h) != sha256.Size {
			return errors.New(`secret_hash: must be "sha256:" and 64 hex digits`)
		}
		cl.secretHash = h
	}
	return nil
}

// ScopeSessions grants an access token the active sessions JSON API.
const ScopeSessions = "sessions"

// IsScopeAllowed lets first-party clients ask for scope "sessions", which
// opens the active sessions JSON API to their access tokens, and an app
// that may start agents for the scopes those agents may be given
// (agents.go): an agent's token holds only scopes of the token it was
// exchanged for.
func (c *Client) IsScopeAllowed(scope string) bool {
	return scope == ScopeSessions && c.firstParty || slices.Contains(c.agentScopes, scope)
}

// Client is a registered relying party. Only a SHA-256 hash of its secret is
// kept: client secrets are long random strings, so a fast hash is enough and
// the plaintext never stays in memory or reaches the database.
type Client struct {
	id             string
	app            string
	secretHash     []byte
	redirectURIs   []string
	postLogoutURIs []string
	backchannelURI string
	firstParty     bool
	accessToken    op.AccessTokenType
	deviceName     string
	kind           string
	// agent is what an agent may do and who may start it (kind: agent).
	agent *agentPolicy
	// agentScopes are the scopes of the agents this app may start, and
	// agentWords what each of those that is not a standard scope lets
	// its agents do, in words (the first agent in the file that has it).
	agentScopes []string
	agentWords  map[string]string
	codeGrant   bool
	deviceGrant bool
}

// Client kinds (the clients file's kind).
const (
	KindWeb    = "web"
	KindNative = "native"
	KindCLI    = "cli"
	KindAgent  = "agent"
)

// Kind is the client's kind: KindWeb, KindNative, KindCLI or KindAgent.
func (c *Client) Kind() string { return c.kind }

var _ op.Client = (*Client)(nil)

// App is the product name people see.
func (c *Client) App() string { return c.app }

// FirstParty reports whether the client belongs to latch's own family of apps.
func (c *Client) FirstParty() bool { return c.firstParty }

// BackchannelLogoutURI is where logout tokens go, or "".
func (c *Client) BackchannelLogoutURI() string { return c.backchannelURI }

// DeviceName is how a native or CLI client's sessions are named, or "".
func (c *Client) DeviceName() string { return c.deviceName }

// SessionName is what a command-line or desktop session of the client is
// named after: its device_name, or else its app name.
func (c *Client) SessionName() string {
	if c.deviceName != "" {
		return c.deviceName
	}
	return c.app
}

// Public reports whether the client has no secret (native and CLI apps).
func (c *Client) Public() bool { return c.secretHash == nil }

// CheckSecret compares a presented secret with the stored hash in constant time.
func (c *Client) CheckSecret(secret string) bool {
	if c.secretHash == nil {
		return false
	}
	h := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(h[:], c.secretHash) == 1
}

// RedirectRegistered is latch's redirect URI match: byte for byte, no port,
// slash or query leniency — except that a native app's registered loopback
// redirect (http://127.0.0.1/… or http://[::1]/…) matches on any port,
// because the app listens on whatever port the system gives it (RFC 8252
// §7.3). The host must be the same IP literal, and scheme, path and query
// equal; "localhost" gets no such leniency (§8.3).
func (c *Client) RedirectRegistered(uri string) bool {
	return slices.Contains(c.redirectURIs, uri) || (c.kind == KindNative && loopbackMatch(c.redirectURIs, uri))
}

// PostLogoutRegistered is RedirectRegistered for post-logout addresses.
func (c *Client) PostLogoutRegistered(uri string) bool {
	return slices.Contains(c.postLogoutURIs, uri) || (c.kind == KindNative && loopbackMatch(c.postLogoutURIs, uri))
}

// loopbackMatch reports whether uri is one of registered's loopback
// addresses on another port.
func loopbackMatch(registered []string, uri string) bool {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" || strings.Contains(uri, "#") {
		return false
	}
	ip, err := netip.ParseAddr(u.Hostname())
	if err != nil || !ip.IsLoopback() {
		return false
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return false
		}
	}
	for _, reg := range registered {
		r, err := url.Parse(reg)
		if err != nil || r.Scheme != "http" || r.Hostname() != u.Hostname() {
			continue
		}
		if r.Path == u.Path && r.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}

func (c *Client) GetID() string                    { return c.id }
func (c *Client) RedirectURIs() []string           { return c.redirectURIs }
func (c *Client) PostLogoutRedirectURIs() []string { return c.postLogoutURIs }

// ApplicationType tells the library which of its redirect checks to run.
// latch has already checked the redirect with RedirectRegistered, which is
// stricter than the library's native check (Provider.authorize), so the
// library's leniency never decides anything.
func (c *Client) ApplicationType() op.ApplicationType {
	if c.kind == KindNative {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}
func (c *Client) AuthMethod() oidc.AuthMethod {
	if c.Public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (c *Client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *Client) GrantTypes() []oidc.GrantType {
	var out []oidc.GrantType
	if c.codeGrant {
		out = append(out, oidc.GrantTypeCode)
	}
	if c.deviceGrant {
		out = append(out, oidc.GrantTypeDeviceCode)
	}
	return append(out, oidc.GrantTypeRefreshToken)
}

// DeviceGrant reports whether the client may sign in with the device
// authorization grant (RFC 8628).
func (c *Client) DeviceGrant() bool { return c.deviceGrant }

// parseGrantTypes reads a client's grant_types: authorization_code when
// none are given.
func parseGrantTypes(c ClientConfig) (code, device bool, err error) {
	if len(c.GrantTypes) == 0 {
		return true, false, nil
	}
	for _, g := range c.GrantTypes {
		switch g {
		case "authorization_code":
			code = true
		case "device_code", string(oidc.GrantTypeDeviceCode):
			device = true
		case "refresh_token":
			// Always allowed: listed for clarity's sake.
		default:
			return false, false, fmt.Errorf("grant_types: %q must be authorization_code, device_code or refresh_token", g)
		}
	}
	if !code && !device {
		return false, false, errors.New("grant_types: give authorization_code or device_code")
	}
	return code, device, nil
}
func (c *Client) LoginURL(id string) string            { return "/login?authRequestID=" + url.QueryEscape(id) }
func (c *Client) AccessTokenType() op.AccessTokenType  { return c.accessToken }
func (c *Client) IDTokenLifetime() time.Duration       { return time.Hour }
func (c *Client) DevMode() bool                        { return false }
func (c *Client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *Client) ClockSkew() time.Duration             { return 0 }
func (c *Client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *Client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
