package idp

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/latch-idp/latch/sessions"
)

// Connected apps: an app that is not one of latch's own holds the person's
// consent, and its tokens, until the person removes its access. The
// connected apps page (package account) asks the provider which clients
// are such apps and has it revoke their tokens inside the removal's one
// transaction; authn keeps the consents.

// errNoConsent refuses a code exchange, or a device's poll, of an app
// whose access the person removed after the code was issued or approved.
var errNoConsent = errors.New("consent withdrawn")

// holdConsent checks, inside the token transaction, that an app that is
// not latch's own still holds the consent the authorization was given
// under, and holds that consent until the transaction ends: removing the
// app's access waits for the exchange and then ends what it made.
func (s *Storage) holdConsent(ctx context.Context, tx pgx.Tx, r *AuthRequest) error {
	return s.holdConsentFor(ctx, tx, r.accountID, r.clientID, r.params.Scopes)
}

// holdConsentFor is holdConsent for a grant named by its account,
// client and scopes: a code exchange's, or a device poll's (device.go),
// whose approval recorded the consent.
func (s *Storage) holdConsentFor(ctx context.Context, tx pgx.Tx, accountID, clientID string, scopes []string) error {
	c, ok := s.Clients[clientID]
	if !ok {
		return errNotFound{"client"}
	}
	if c.FirstParty() {
		return nil
	}
	if s.Accounts == nil {
		// Fail closed: without the consents latch cannot tell.
		return errors.New("idp: no consent store for a third-party client")
	}
	held, err := s.Accounts.HoldConsentTx(ctx, tx, accountID, clientID, scopes)
	if err != nil {
		return err
	}
	if !held {
		return errNoConsent
	}
	return nil
}

// RevokeAppTx revokes, inside tx, every refresh and access token of the
// given app sessions issued to clientID for accountID, and announces each
// token family ("family:<id>") so every replica drops the tokens it cached.
// It returns those tags for this replica's Forget once tx has committed.
func (s *Storage) RevokeAppTx(ctx context.Context, tx pgx.Tx, accountID, clientID string, appSessionIDs []string) ([]string, error) {
	if len(appSessionIDs) == 0 {
		return nil, nil
	}
	now := s.Now().UTC()
	var families []string
	for _, table := range []string{"refresh_tokens", "access_tokens"} {
		rows, err := tx.Query(ctx, `UPDATE `+table+` SET revoked_at = $4
			WHERE app_session_id = ANY($1) AND account_id = $2 AND client_id = $3 AND revoked_at IS NULL
			RETURNING family_id::text`, appSessionIDs, accountID, clientID, now)
		if err != nil {
			return nil, fmt.Errorf("idp: revoke %s: %w", table, err)
		}
		f, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("idp: revoke %s: %w", table, err)
		}
		families = append(families, f...)
	}
	slices.Sort(families)
	families = slices.Compact(families)
	tags := make([]string, len(families))
	for i, f := range families {
		tags[i] = "family:" + f
	}
	if len(tags) > 0 {
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, tag) FROM unnest($2::text[]) tag`, sessions.ChannelEnded, tags); err != nil {
			return nil, fmt.Errorf("idp: notify: %w", err)
		}
	}
	return tags, nil
}

// ThirdPartyApp names a registered client that is not latch's own, for
// the connected apps page (account.Apps); ok is false for a first-party or
// unknown client, whose consent is never listed nor removed.
func (p *Provider) ThirdPartyApp(clientID string) (name string, ok bool) {
	c, found := p.Storage.Clients[clientID]
	if !found || c.FirstParty() {
		return "", false
	}
	return c.App(), true
}

// RevokeAppTx revokes the client's tokens of the account's app sessions
// inside the removal's transaction; see Storage.RevokeAppTx.
func (p *Provider) RevokeAppTx(ctx context.Context, tx pgx.Tx, accountID, clientID string, appSessionIDs []string) ([]string, error) {
	return p.Storage.RevokeAppTx(ctx, tx, accountID, clientID, appSessionIDs)
}
