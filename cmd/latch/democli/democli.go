// Package democli is the command-line app of `latch demo cli`: it signs in
// to latch the way Codex CLI would, with the OAuth 2.0 Device Authorization
// Grant (RFC 8628) through golang.org/x/oauth2, prints the code and where
// to enter it, waits for the approval, prints who signed in, then keeps
// its session in use, refreshing once a minute, and says "signed out" as
// soon as its session is ended from the sessions page.
//
// cmd/latch runs it; nothing else imports it.
package democli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config is what the demo CLI is started with.
type Config struct {
	Issuer   string // latch's issuer URL
	ClientID string // a public client with grant_types: [device_code]
	// DeviceName is the name the CLI gives itself on the approval page and
	// in the sessions list; the host name when empty.
	DeviceName string
	// RefreshEvery is how often the tokens are refreshed; CheckEvery how
	// often the session is checked at userinfo in between, so an end from
	// the sessions page is noticed within seconds.
	RefreshEvery time.Duration
	CheckEvery   time.Duration
	// Version goes into the User-Agent.
	Version string
	Out     io.Writer
}

// ErrRefused means the person denied the sign-in, or its code expired.
var ErrRefused = errors.New("not signed in")

// Run signs in and keeps the session until it ends (nil) or ctx does.
func Run(ctx context.Context, cfg Config) error {
	if cfg.DeviceName == "" {
		cfg.DeviceName, _ = os.Hostname()
	}
	ua := fmt.Sprintf("latch-demo-cli/%s (%s; %s)", cfg.Version, runtime.GOOS, runtime.GOARCH)
	client := &http.Client{Timeout: 30 * time.Second, Transport: userAgent{ua, http.DefaultTransport}}
	ctx = context.WithValue(oidc.ClientContext(ctx, client), oauth2.HTTPClient, client)
	provider, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return fmt.Errorf("cannot reach latch at %s: %w", cfg.Issuer, err)
	}
	conf := oauth2.Config{ClientID: cfg.ClientID, Endpoint: provider.Endpoint(),
		Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}}
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if conf.Endpoint.DeviceAuthURL == "" {
		return errors.New("latch at " + cfg.Issuer + " does not offer the device authorization grant")
	}
	da, err := conf.DeviceAuth(ctx, oauth2.SetAuthURLParam("device_name", cfg.DeviceName))
	if err != nil {
		return fmt.Errorf("cannot start signing in: %w", err)
	}
	fmt.Fprintf(cfg.Out, "To sign in, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(cfg.Out, "  (or open %s)\n", da.VerificationURIComplete)
	}
	fmt.Fprintln(cfg.Out, "Waiting for you to approve…")
	tok, err := waitForTokens(ctx, conf, da)
	if err != nil {
		return err
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return fmt.Errorf("latch's ID token does not verify: %w", err)
	}
	var who struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := idt.Claims(&who); err != nil {
		return err
	}
	if who.Name != "" {
		fmt.Fprintf(cfg.Out, "Signed in as %s <%s>.\n", who.Name, who.Email)
	} else {
		fmt.Fprintf(cfg.Out, "Signed in as %s.\n", who.Email)
	}
	fmt.Fprintf(cfg.Out, "Refreshing every %s. End this session from your sessions page to sign it out.\n", cfg.RefreshEvery)
	return keep(ctx, cfg, conf, provider, tok)
}

// waitForTokens polls until the person decides. A latch that cannot reach
// its database answers 503 temporarily_unavailable: that is a reason to
// keep waiting, not to give up.
func waitForTokens(ctx context.Context, conf oauth2.Config, da *oauth2.DeviceAuthResponse) (*oauth2.Token, error) {
	for {
		tok, err := conf.DeviceAccessToken(ctx, da)
		switch code := errorCode(err); {
		case err == nil:
			return tok, nil
		case code == "access_denied":
			return nil, fmt.Errorf("%w: the sign-in was refused", ErrRefused)
		case code == "expired_token" || errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			return nil, fmt.Errorf("%w: the code expired; run the command again", ErrRefused)
		case code == "temporarily_unavailable":
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(5 * time.Second):
			}
		default:
			return nil, fmt.Errorf("signing in failed: %w", err)
		}
	}
}

// keep refreshes every RefreshEvery and checks userinfo every CheckEvery
// until the session ends.
func keep(ctx context.Context, cfg Config, conf oauth2.Config, provider *oidc.Provider, tok *oauth2.Token) error {
	refresh := time.NewTicker(cfg.RefreshEvery)
	defer refresh.Stop()
	check := time.NewTicker(cfg.CheckEvery)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-refresh.C:
			// An expired copy makes the token source ask for new tokens.
			next, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
			switch code := errorCode(err); {
			case err == nil:
				tok = next
				fmt.Fprintf(cfg.Out, "%s refreshed; still signed in.\n", time.Now().Format("15:04:05"))
			case code == "invalid_grant":
				return signedOut(cfg.Out)
			default:
				fmt.Fprintf(cfg.Out, "%s could not refresh (%v); trying again later.\n", time.Now().Format("15:04:05"), err)
			}
		case <-check.C:
			if signedIn(ctx, provider.UserInfoEndpoint(), tok.AccessToken) == http.StatusUnauthorized {
				return signedOut(cfg.Out)
			}
		}
	}
}

// signedIn asks userinfo about the access token and returns the status: 401
// means the session has ended; anything else (latch unreachable, 503) says
// nothing about it.
func signedIn(ctx context.Context, endpoint, access string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+access)
	client, _ := ctx.Value(oauth2.HTTPClient).(*http.Client)
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func signedOut(w io.Writer) error {
	fmt.Fprintln(w, "signed out: this session was ended (from the sessions page, or it expired).")
	return nil
}

// errorCode is the OAuth error code of a token endpoint answer, or "".
func errorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

type userAgent struct {
	ua   string
	next http.RoundTripper
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.next.RoundTrip(r)
}
