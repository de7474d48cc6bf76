package server

import (
	"time"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/idp"
	"github.com/latch-idp/latch/internal/seal"
)

// Config is what a latch server is built from. cmd/latch fills it from
// flags and environment (the fields tagged with a flag below) and checks it;
// New takes it as it is.
type Config struct {
	// Issuer is latch's public URL, the OIDC issuer (--issuer).
	Issuer string
	// Clients are the relying parties: the clients file (--clients), or the
	// demo apps.
	Clients []*idp.Client
	// MasterKey seals signing keys, authenticator secrets and the sign-in
	// flow's cookies (--master-key-file).
	MasterKey *seal.MasterKey
	// GeoIPDB is a MaxMind-format .mmdb for approximate places
	// (--geoip-db); "" shows none.
	GeoIPDB string
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed
	// (--trusted-proxies).
	TrustedProxies []string
	RateLimit      float64 // sign-in attempts per minute per client address (--rate-limit)
	// AuthorizeRateLimit is authorization requests per minute per client
	// address from browsers that are not signed in (--authorize-rate-limit).
	AuthorizeRateLimit float64
	// Argon2Memory is the memory, in bytes, argon2id may use at once; it
	// sets the number of hashing workers (--argon2-memory).
	Argon2Memory int64
	// Argon2, when set, replaces the password hash's cost of
	// docs/design.md P11 (authn.DefaultArgon2) for new hashes. No flag sets
	// it: latch's end-to-end tests lower it, so that the hundred sign-ins
	// of a throttle test do not spend minutes hashing; the tests of the
	// hashing pool and its memory keep the real cost.
	Argon2  *authn.Argon2Params
	SMTPURL string // alerts over SMTP (--smtp-url); without it they are written as files
	// MailDir is where alerts are written as .eml files without SMTPURL
	// (cmd/latch: --data-dir/mail).
	MailDir string
	// MetricsAddr is where /metrics is served, apart from the public
	// listener (--metrics-addr); "" serves no metrics.
	MetricsAddr string
	MailFrom    string // the From of account alerts (--mail-from)

	StepUp                  time.Duration // --step-up-window
	AdvancedStepUp          time.Duration // --advanced-step-up-window
	TrustedDevice           time.Duration // --trusted-device
	SessionAbsolute         time.Duration // --session-absolute
	SessionIdle             time.Duration // --session-idle
	AdvancedSessionAbsolute time.Duration // --advanced-session-absolute
	AdvancedSessionIdle     time.Duration // --advanced-session-idle
	// DevicePollInterval is how often a command-line app signing in with
	// the device grant may poll for its tokens (RFC 8628 "interval",
	// --device-poll-interval).
	DevicePollInterval time.Duration
}
