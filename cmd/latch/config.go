package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latch-idp/latch/idp"
	"github.com/latch-idp/latch/internal/notify"
	"github.com/latch-idp/latch/internal/server"
	"github.com/latch-idp/latch/internal/web"
)

// Config is everything `latch serve` and `latch dev` are started with. Flags
// and environment are read here and nowhere else. The server's own settings
// are the embedded server.Config; the rest say where the database, the
// master key and the clients come from, where to listen and how to log.
type Config struct {
	server.Config
	Addr string
	// DemoPorts are the ports of latch dev's three demo apps (ChatGPT,
	// Codex, Platform); the built-in clients' URIs follow them.
	DemoPorts     [3]string
	DatabaseURL   string
	DataDir       string
	ClientsFile   string
	MasterKeyFile string
	LogFormat     string
	LogLevel      string

	// queryTracer, set only by tests, sees every statement latch sends.
	queryTracer pgx.QueryTracer
}

// serverConfig completes the server's Config with what the command loaded:
// the clients, the master key of db, and the directory alerts are written
// to without --smtp-url.
func (c *Config) serverConfig(db *database) (server.Config, error) {
	clients, err := loadClients(c)
	if err != nil {
		return server.Config{}, err
	}
	sc := c.Config
	sc.Clients = clients
	sc.MasterKey = db.Master
	sc.MailDir = filepath.Join(c.DataDir, "mail")
	return sc, nil
}

// commonFlags declares the flags every database-using command shares.
func commonFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.DatabaseURL, "database-url", "", "PostgreSQL URL; without it latch runs its own PostgreSQL under --data-dir")
	fs.StringVar(&c.DataDir, "data-dir", "./latch-data", "directory for latch's own PostgreSQL and generated master key")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", "", "file holding 32 random bytes in base64 (openssl rand -base64 32); required with --database-url")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
}

// serveFlags declares the flags of serve and dev.
func serveFlags(fs *flag.FlagSet, c *Config) {
	commonFlags(fs, c)
	fs.StringVar(&c.Addr, "addr", ":8080", "listen address")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "127.0.0.1:9464", "listen address of /metrics (Prometheus), apart from --addr so it is not public; empty turns metrics off")
	fs.StringVar(&c.Issuer, "issuer", "http://localhost:8080", "public URL of latch, the OIDC issuer")
	fs.StringVar(&c.ClientsFile, "clients", "", "clients file (YAML); default: the built-in demo apps")
	fs.StringVar(&c.GeoIPDB, "geoip-db", "", "MaxMind-format .mmdb for approximate locations")
	fs.Func("trusted-proxies", "comma-separated CIDRs whose X-Forwarded-For is believed", func(s string) error {
		c.TrustedProxies = nil
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.TrustedProxies = append(c.TrustedProxies, p)
			}
		}
		return nil
	})
	fs.Float64Var(&c.RateLimit, "rate-limit", 30, "sign-in attempts per minute allowed from one client address")
	fs.Float64Var(&c.AuthorizeRateLimit, "authorize-rate-limit", 120, "authorization requests per minute allowed from one client address that is not signed in")
	c.Argon2Memory = defaultArgon2Memory
	c.DemoPorts = [3]string{"9001", "9002", "9003"}
	fs.Func("argon2-memory", "memory password hashing may use at once, like 128MiB: one argon2id worker per 19 MiB, at least one (default 128MiB)",
		func(s string) error {
			n, err := parseBytes(s)
			c.Argon2Memory = n
			return err
		})
	fs.StringVar(&c.SMTPURL, "smtp-url", "", "send account alerts over SMTP: smtp://user:pass@host:port (STARTTLS when offered); without it alerts are written as .eml files under --data-dir/mail")
	fs.StringVar(&c.MailFrom, "mail-from", "latch <no-reply@localhost>", "the From of account alerts")
	fs.DurationVar(&c.StepUp, "step-up-window", 10*time.Minute, "how recent an authentication a sensitive change needs (standard accounts)")
	fs.DurationVar(&c.AdvancedStepUp, "advanced-step-up-window", 5*time.Minute, "how recent a passkey authentication a sensitive change needs (advanced security)")
	fs.DurationVar(&c.TrustedDevice, "trusted-device", 30*24*time.Hour, "how long \"trust this device\" skips the second factor (standard accounts)")
	fs.DurationVar(&c.SessionAbsolute, "session-absolute", 30*24*time.Hour, "device session absolute lifetime (standard accounts)")
	fs.DurationVar(&c.SessionIdle, "session-idle", 14*24*time.Hour, "device session idle lifetime (standard accounts)")
	fs.DurationVar(&c.AdvancedSessionAbsolute, "advanced-session-absolute", 12*time.Hour, "device session absolute lifetime (advanced security)")
	fs.DurationVar(&c.AdvancedSessionIdle, "advanced-session-idle", 15*time.Minute, "device session idle lifetime (advanced security)")
	fs.DurationVar(&c.DevicePollInterval, "device-poll-interval", 5*time.Second, "how often a command-line app signing in with a code may poll for its tokens (whole seconds, at least 1s)")
}

// defaultArgon2Memory lets six argon2id computations (m=19 MiB) run at once.
const defaultArgon2Memory = 128 << 20

// parseBytes reads a size: a whole number with an optional unit, KiB, MiB
// or GiB (KB, MB and GB read the same; powers of 1024 either way).
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		shift  uint
	}{{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"KB", 10}, {"MB", 20}, {"GB", 30}, {"B", 0}}
	shift := uint(0)
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			s, shift = strings.TrimSpace(n), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)>>shift {
		return 0, errors.New("not a size like 128MiB")
	}
	return n << shift, nil
}

// errHelp is returned after -h printed the usage.
var errHelp = errors.New("help requested")

// parseFlags parses args, then fills every flag not given on the command line
// from LATCH_<FLAG_IN_UPPER_SNAKE> (and --database-url also from
// DATABASE_URL). Errors name the flag or variable in one line.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return errHelp
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := "LATCH_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v := getenv(env)
		if v == "" && f.Name == "database-url" {
			env, v = "DATABASE_URL", getenv("DATABASE_URL")
		}
		if v == "" {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("invalid value %q for %s: %v", v, env, e)
		}
	})
	return err
}

// validate checks values that parse but make no sense, one line each.
func (c *Config) validate(serve bool) error {
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format: %q is not text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level: %q is not debug, info, warn or error", c.LogLevel)
	}
	if c.DatabaseURL != "" {
		if _, err := url.Parse(c.DatabaseURL); err != nil || !(strings.HasPrefix(c.DatabaseURL, "postgres://") ||
			strings.HasPrefix(c.DatabaseURL, "postgresql://") || strings.Contains(c.DatabaseURL, "=")) {
			return errors.New("--database-url: not a PostgreSQL URL (postgres://user:pass@host/db)")
		}
		if c.MasterKeyFile == "" {
			return errors.New("--master-key-file: required with --database-url, so every replica uses the same key")
		}
	}
	if c.DataDir == "" {
		return errors.New("--data-dir: must not be empty")
	}
	if !serve {
		return nil
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--issuer: %q is not an http(s) URL without query or fragment", c.Issuer)
	}
	if net.ParseIP(u.Hostname()) != nil {
		// WebAuthn's RP ID is the issuer's host, and it must be a domain.
		return fmt.Errorf("--issuer: %q names an IP address; passkeys need a domain name (use localhost on this machine)", c.Issuer)
	}
	if u.Scheme == "http" && u.Hostname() != "localhost" {
		return fmt.Errorf("--issuer: %q uses http on a public host; use https", c.Issuer)
	}
	if c.Addr == "" {
		return errors.New("--addr: must not be empty")
	}
	if c.GeoIPDB != "" {
		f, err := os.Open(c.GeoIPDB)
		if err != nil {
			return fmt.Errorf("--geoip-db: cannot read %s", c.GeoIPDB)
		}
		f.Close()
	}
	if _, err := web.NewClientIP(c.TrustedProxies); err != nil {
		return err
	}
	if c.SMTPURL != "" {
		if _, err := notify.NewSMTP(c.SMTPURL); err != nil {
			return err
		}
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		return fmt.Errorf("--mail-from: %q is not an email address", c.MailFrom)
	}
	if c.RateLimit <= 0 {
		return errors.New("--rate-limit: must be positive")
	}
	if c.AuthorizeRateLimit <= 0 {
		return errors.New("--authorize-rate-limit: must be positive")
	}
	if c.Argon2Memory <= 0 {
		return errors.New("--argon2-memory: must be positive, like 128MiB")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--session-absolute", c.SessionAbsolute}, {"--session-idle", c.SessionIdle},
		{"--step-up-window", c.StepUp}, {"--advanced-step-up-window", c.AdvancedStepUp}, {"--trusted-device", c.TrustedDevice},
		{"--advanced-session-absolute", c.AdvancedSessionAbsolute}, {"--advanced-session-idle", c.AdvancedSessionIdle}} {
		if d.v <= 0 {
			return fmt.Errorf("%s: must be positive", d.name)
		}
	}
	// Zero (left unset by a caller that builds Config itself) means 5s.
	if c.DevicePollInterval != 0 && (c.DevicePollInterval < time.Second || c.DevicePollInterval%time.Second != 0) {
		return errors.New("--device-poll-interval: must be whole seconds, at least 1s")
	}
	return nil
}

// demoPortsFlag declares latch dev's --demo-ports.
func demoPortsFlag(fs *flag.FlagSet, c *Config) {
	fs.Func("demo-ports", "ports of the ChatGPT, Codex and Platform demo apps, like 9101,9102,9103 (default 9001,9002,9003)",
		func(s string) error {
			parts := strings.Split(s, ",")
			if len(parts) != 3 {
				return errors.New("give three ports, like 9101,9102,9103")
			}
			seen := map[string]bool{}
			for i, p := range parts {
				p = strings.TrimSpace(p)
				n, err := strconv.Atoi(p)
				if err != nil || n < 1 || n > 65535 || seen[p] {
					return fmt.Errorf("%q is not a free port number (1 to 65535, each used once)", p)
				}
				seen[p] = true
				c.DemoPorts[i] = p
			}
			return nil
		})
}

// loadClients reads --clients, or the built-in demo apps without it.
func loadClients(cfg *Config) ([]*idp.Client, error) {
	if cfg.ClientsFile != "" {
		return idp.LoadClients(cfg.ClientsFile)
	}
	return idp.DemoClients(cfg.DemoPorts)
}
