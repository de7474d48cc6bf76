// Command latch is an OpenID Connect identity provider for a family of
// first-party apps. See README.md for the commands and flags.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/idp"
	"github.com/latch-idp/latch/sessions"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `latch: an OpenID Connect identity provider

Usage:
  latch serve                          run the identity provider
  latch dev                            serve + the three demo apps, their agent, Codex CLI + a demo account, to try it out
  latch migrate                        apply database migrations and exit
  latch accounts create --email E [--name N] [--password-stdin]
  latch accounts list
  latch accounts unlock --email E      lift a lock after too many failed sign-ins
  latch accounts reset-password --email E --password-stdin
  latch accounts reset-2fa --email E   remove the authenticator app (a person who lost it)
  latch sessions list --email E
  latch sessions end (--id SID | --email E --all)
  latch keys rotate
  latch bench --url URL --email E --password-stdin [--duration 15s] [--workers 8]
                                       measure a running latch (an account with a password, no second factor)
  latch demo cli [--issuer URL]        sign in to a running latch with a code, as Codex CLI does
  latch version

Run "latch COMMAND -h" for a command's flags. Every flag also reads
LATCH_<FLAG_IN_UPPER_SNAKE> from the environment.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program, with its inputs passed in so tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, rest, getenv, stdout, stderr, false)
	case "dev":
		err = cmdServe(ctx, rest, getenv, stdout, stderr, true)
	case "migrate":
		err = cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "accounts":
		err = cmdAccounts(ctx, rest, getenv, stdin, stdout, stderr)
	case "sessions":
		err = cmdSessions(ctx, rest, getenv, stdout, stderr)
	case "keys":
		err = cmdKeys(ctx, rest, getenv, stdout, stderr)
	case "bench":
		err = cmdBench(ctx, rest, getenv, stdin, stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, rest, getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "latch", versionString())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "latch: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "latch %s: %s\n", cmd, oneLine(err))
		return 1
	}
	return 0
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		v += " " + bi.GoVersion
	}
	return v
}

func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // Config.validate allowed only the four levels
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// setup parses a database-using command's flags and opens the database.
func setup(ctx context.Context, fs *flag.FlagSet, cfg *Config, args []string, getenv func(string) string, stderr io.Writer) (*database, *slog.Logger, error) {
	if err := parseFlags(fs, args, getenv, stderr); err != nil {
		return nil, nil, err
	}
	if err := cfg.validate(false); err != nil {
		return nil, nil, err
	}
	logger := newLogger(cfg, stderr)
	db, err := openDatabase(ctx, cfg, logger, false)
	return db, logger, err
}

func closeDB(db *database) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.Close(ctx); err != nil {
		// The command's work is done and said; what is left to say is
		// that its PostgreSQL did not stop cleanly.
		fmt.Fprintln(os.Stderr, "latch: stopping PostgreSQL:", oneLine(err))
	}
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	commonFlags(fs, &cfg)
	db, _, err := setup(ctx, fs, &cfg, args, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeDB(db)
	fmt.Fprintln(stdout, "database is up to date")
	return nil
}

func cmdAccounts(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("say create, list or unlock")
	}
	var cfg Config
	fs := flag.NewFlagSet("accounts "+args[0], flag.ContinueOnError)
	commonFlags(fs, &cfg)
	var email, name string
	var passwordStdin bool
	switch args[0] {
	case "create":
		fs.StringVar(&email, "email", "", "email address (required)")
		fs.StringVar(&name, "name", "", "display name")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	case "unlock":
		fs.StringVar(&email, "email", "", "email address (required)")
	case "reset-password", "reset-2fa":
		fs.StringVar(&email, "email", "", "email address (required)")
		fs.StringVar(&cfg.ClientsFile, "clients", "", "clients file (YAML), to send the ended apps their back-channel logout")
		if args[0] == "reset-password" {
			fs.BoolVar(&passwordStdin, "password-stdin", false, "read the new password from the first line of standard input (required)")
		}
	case "list":
	default:
		return fmt.Errorf("unknown subcommand %q: say create, list, unlock, reset-password or reset-2fa", args[0])
	}
	if err := parseFlags(fs, args[1:], getenv, stderr); err != nil {
		return err
	}
	if args[0] == "reset-password" && !passwordStdin {
		return errors.New("--password-stdin: required (the new password comes on standard input)")
	}
	if args[0] != "list" {
		if email == "" {
			return errors.New("--email: required")
		}
		if _, err := authn.CheckEmail(email); err != nil {
			return fmt.Errorf("--email: %w", err)
		}
	}
	var password string
	if passwordStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("--password-stdin: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
		if password == "" {
			return errors.New("--password-stdin: standard input is empty")
		}
		if err := authn.CheckPassword(password); err != nil {
			return fmt.Errorf("--password-stdin: %w", err)
		}
	}
	db, _, err := setup(ctx, flag.NewFlagSet("", flag.ContinueOnError), &cfg, nil, func(string) string { return "" }, stderr)
	if err != nil {
		return err
	}
	defer closeDB(db)
	// One command hashes one password: one worker, waiting as long as it takes.
	accounts := &authn.Accounts{DB: db.Pool, Hasher: authn.NewHasher(authn.DefaultArgon2, 1, time.Minute)}
	switch args[0] {
	case "create":
		a, err := accounts.Create(ctx, email, name, password)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created account %s for %s\n", a.ID, a.Email)
	case "unlock":
		accountID := ""
		if a, err := accounts.ByEmail(ctx, email); err == nil {
			accountID = a.ID
		}
		if err := authn.NewThrottle(db.Pool).Unlock(ctx, email, accountID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "sign-in unlocked for %s\n", email)
	case "reset-password", "reset-2fa":
		// Resetting credentials is the support desk's shortcut into an
		// account; advanced security exists to close it.
		acct, err := accounts.AdminReset(ctx, email, password, args[0] == "reset-2fa")
		if err != nil {
			return err
		}
		clients, err := loadClients(&cfg)
		if err != nil {
			return err
		}
		n, err := sessionStore(db, clients).EndAll(ctx, acct.ID, "", sessions.ReasonAdministrator)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "credentials reset for %s; %d sessions ended\n", acct.Email, n)
	case "list":
		list, err := accounts.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tMODE\tPASSWORD\tCREATED")
		for _, a := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Email, a.Name, a.SecurityMode, yesNo(a.HasPassword),
				a.CreatedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func cmdSessions(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("say list or end")
	}
	var cfg Config
	fs := flag.NewFlagSet("sessions "+args[0], flag.ContinueOnError)
	commonFlags(fs, &cfg)
	var email, id string
	var all bool
	fs.StringVar(&email, "email", "", "the account's email")
	fs.StringVar(&cfg.ClientsFile, "clients", "", "clients file (YAML), to send the ended apps their back-channel logout; default: the built-in demo apps")
	switch args[0] {
	case "list":
	case "end":
		fs.StringVar(&id, "id", "", "device session id (sid) to end")
		fs.BoolVar(&all, "all", false, "with --email: end every session of the account")
	default:
		return fmt.Errorf("unknown subcommand %q: say list or end", args[0])
	}
	if err := parseFlags(fs, args[1:], getenv, stderr); err != nil {
		return err
	}
	switch {
	case args[0] == "list" && email == "":
		return errors.New("--email: required")
	case args[0] == "end" && id == "" && !(email != "" && all):
		return errors.New("say --id SID, or --email E --all")
	case args[0] == "end" && id != "" && email != "":
		return errors.New("say --id SID or --email E --all, not both")
	}
	clients, err := loadClients(&cfg)
	if err != nil {
		return err
	}
	db, _, err := setup(ctx, flag.NewFlagSet("", flag.ContinueOnError), &cfg, nil, func(string) string { return "" }, stderr)
	if err != nil {
		return err
	}
	defer closeDB(db)
	store := sessionStore(db, clients)
	var acct *authn.Account
	if email != "" {
		if acct, err = (&authn.Accounts{DB: db.Pool}).ByEmail(ctx, email); err != nil {
			return err
		}
	}
	switch {
	case args[0] == "list":
		list, err := store.List(ctx, acct.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tSIGNED IN\tLAST ACTIVE\tIP\tAPPS\tAGENTS\tUSER AGENT")
		ids := func(l []string) string {
			if len(l) == 0 {
				return "-"
			}
			return strings.Join(l, ",")
		}
		for _, s := range list {
			ip := "-"
			if s.IP.IsValid() {
				ip = s.IP.String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Kind, s.CreatedAt.UTC().Format(time.RFC3339),
				s.LastActiveAt.UTC().Format(time.RFC3339), ip, ids(s.Apps), ids(s.Agents), s.UserAgent)
		}
		return tw.Flush()
	case id != "":
		if err := store.End(ctx, id, sessions.ReasonAdministrator); err != nil {
			if errors.Is(err, sessions.ErrNotFound) {
				return fmt.Errorf("--id: no live session %s", id)
			}
			return err
		}
		fmt.Fprintf(stdout, "ended session %s\n", id)
	default:
		n, err := store.EndAll(ctx, acct.ID, "", sessions.ReasonAdministrator)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ended %d sessions of %s\n", n, acct.Email)
	}
	return nil
}

func cmdKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		return errors.New("say rotate")
	}
	var cfg Config
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	commonFlags(fs, &cfg)
	db, _, err := setup(ctx, fs, &cfg, args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	defer closeDB(db)
	kid, err := newKeys(db).Rotate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new signing key %s; the previous key stays published for 24 hours\n", kid)
	return nil
}

// sessionStore is the session store of a command-line action. The ended
// apps' back-channel logouts are written here and delivered by a running
// latch (now, or when it next starts).
func sessionStore(db *database, clients []*idp.Client) *sessions.Store {
	store := sessions.New(db.Pool, sessions.DefaultPolicy())
	store.LogoutURI = func(id string) string {
		for _, c := range clients {
			if c.GetID() == id {
				return c.BackchannelLogoutURI()
			}
		}
		return ""
	}
	return store
}
