package idp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/zitadel/oidc/v3/pkg/crypto"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/sessions"
)

// LogoutTokenLifetime bounds a logout token (OIDC Back-Channel Logout 1.0
// §2.4 recommends a short one; the issue asks for at most 2 minutes).
const LogoutTokenLifetime = 2 * time.Minute

// Sender delivers the back-channel logouts that ending a session queued
// (sessions.Store.DeliverLogouts). Every replica runs one; they share the
// work without sending a logout twice, and a job that fails waits longer
// each time.
type Sender struct {
	DB       *pgxpool.Pool
	Sessions *sessions.Store
	Keys     *Keys
	Issuer   string
	HTTP     *http.Client
	Logger   *slog.Logger
	Now      func() time.Time
	// Poll is how often the sender looks for due jobs when no notification
	// woke it (retries, and jobs written while it was disconnected).
	Poll time.Duration
}

// NewSender returns a sender with a client that does not follow redirects:
// a logout token goes only to the registered URI.
func NewSender(db *pgxpool.Pool, store *sessions.Store, keys *Keys, issuer string, logger *slog.Logger) *Sender {
	return &Sender{DB: db, Sessions: store, Keys: keys, Issuer: issuer, Logger: logger, Now: time.Now, Poll: time.Second,
		HTTP: &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
}

// Run delivers jobs until ctx ends: at once when notified, and on every
// poll tick.
func (s *Sender) Run(ctx context.Context) {
	pg.Worker(ctx, s.DB, sessions.ChannelLogoutJobs, "latch-logout-sender", s.Poll, s.Logger,
		func(ctx context.Context) (int, error) { return s.DeliverDue(ctx, 32) })
}

// DeliverDue sends up to limit due jobs and returns how many it handled.
// The sessions store picks the jobs and records their outcomes.
func (s *Sender) DeliverDue(ctx context.Context, limit int) (int, error) {
	return s.Sessions.DeliverLogouts(ctx, limit, func(ctx context.Context, jobs []sessions.LogoutJob) []error {
		// Deliver the batch at once, so one slow or dead receiver (up to
		// its 5-second timeout) does not hold back the other apps' logouts.
		errs := make([]error, len(jobs))
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.deliver(ctx, j)
			}()
		}
		wg.Wait()
		for i, j := range jobs {
			if errs[i] != nil {
				s.Logger.Warn("back-channel logout not delivered", "client_id", j.ClientID, "attempt", j.Attempts+1, "err", errs[i])
			}
		}
		return errs
	})
}

// LogoutToken signs a logout token (OIDC Back-Channel Logout 1.0 §2.4): iss,
// aud, iat, exp, jti, sid, sub and the back-channel event, and no nonce.
func (s *Sender) LogoutToken(ctx context.Context, clientID, sub, sid string) (string, error) {
	signer, err := s.Keys.Signer(ctx)
	if err != nil {
		return "", err
	}
	jti := make([]byte, 16)
	rand.Read(jti)
	now := s.Now()
	claims := oidc.NewLogoutTokenClaims(s.Issuer, sub, oidc.Audience{clientID}, now.Add(LogoutTokenLifetime),
		base64.RawURLEncoding.EncodeToString(jti), sid, 0)
	claims.IssuedAt = oidc.FromTime(now)
	return crypto.Sign(claims, signer)
}

func (s *Sender) deliver(ctx context.Context, j sessions.LogoutJob) error {
	token, err := s.LogoutToken(ctx, j.ClientID, j.AccountID, j.DeviceSessionID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.URI, strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.HTTP.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	// Drained so the connection can be reused; the status is the answer,
	// and a body that cannot be read changes nothing.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}
