package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"time"

	"github.com/latch-idp/latch/cmd/latch/democli"
)

// cmdDemo runs `latch demo cli`: the command-line app that signs in to a
// running latch with a code, as Codex CLI does (package democli).
func cmdDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "cli" {
		return errors.New(`say "latch demo cli"`)
	}
	cfg := democli.Config{Out: stdout, Version: version}
	fs := flag.NewFlagSet("demo cli", flag.ContinueOnError)
	fs.StringVar(&cfg.Issuer, "issuer", "http://localhost:8080", "latch's public URL")
	fs.StringVar(&cfg.ClientID, "client-id", "codex-cli", "a public client with grant_types: [device_code]")
	fs.StringVar(&cfg.DeviceName, "device-name", "", "the name this CLI gives itself (default: the host name)")
	fs.DurationVar(&cfg.RefreshEvery, "refresh-every", time.Minute, "how often to refresh the tokens")
	fs.DurationVar(&cfg.CheckEvery, "check-every", 5*time.Second, "how often to check at userinfo that the session is still live")
	if err := parseFlags(fs, args[1:], getenv, stderr); err != nil {
		return err
	}
	if cfg.RefreshEvery <= 0 || cfg.CheckEvery <= 0 {
		return errors.New("--refresh-every and --check-every: must be positive")
	}
	return democli.Run(ctx, cfg)
}
