package authn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Consent is what a person allowed an app that is not one of latch's own.
type Consent struct {
	ClientID string
	Scopes   []string
	// FirstGrantedAt is when the person first allowed the app (since they
	// last removed its access); WidenedAt is when they last allowed it
	// more scopes, nil when they never did.
	FirstGrantedAt time.Time
	WidenedAt      *time.Time
}

// ConsentChange says what recording a consent changed.
type ConsentChange int

const (
	ConsentUnchanged ConsentChange = iota // every scope was allowed already
	ConsentGranted                        // the app had no consent: this is its first grant
	ConsentWidened                        // the app had a consent and got more scopes
)

// ErrNoConsent means the account has not allowed that client anything.
var ErrNoConsent = errors.New("authn: no consent for this app")

// Consented returns the scopes the account allowed a client that is not one
// of latch's own, and false when it allowed that client nothing yet.
func (s *Accounts) Consented(ctx context.Context, accountID, clientID string) ([]string, bool, error) {
	var granted []string
	err := s.DB.QueryRow(ctx, `SELECT scopes FROM consents WHERE account_id = $1 AND client_id = $2`,
		accountID, clientID).Scan(&granted)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return granted, err == nil, err
}

// ConsentTx records, inside tx, that the account allowed a client these
// scopes besides any it allowed before, and says what changed with the
// scopes it added (all of them for a first grant). The consent row stays
// locked until tx ends, so two answers for one app never interleave.
func (s *Accounts) ConsentTx(ctx context.Context, tx pgx.Tx, accountID, clientID string, scopes []string, at time.Time) (ConsentChange, []string, error) {
	at = at.UTC()
	for range 2 {
		var held []string
		err := tx.QueryRow(ctx, `SELECT scopes FROM consents WHERE account_id = $1 AND client_id = $2 FOR NO KEY UPDATE`,
			accountID, clientID).Scan(&held)
		if errors.Is(err, pgx.ErrNoRows) {
			tag, err := tx.Exec(ctx, `INSERT INTO consents (account_id, client_id, scopes, granted_at, first_granted_at)
				VALUES ($1, $2, $3, $4, $4) ON CONFLICT (account_id, client_id) DO NOTHING`, accountID, clientID, uniqueSorted(scopes), at)
			if err != nil {
				return 0, nil, fmt.Errorf("authn: record consent: %w", err)
			}
			if tag.RowsAffected() == 1 {
				return ConsentGranted, uniqueSorted(scopes), nil
			}
			continue // another answer for this app inserted it first: widen that one
		}
		if err != nil {
			return 0, nil, fmt.Errorf("authn: read consent: %w", err)
		}
		var added []string
		for _, sc := range uniqueSorted(scopes) {
			if !slices.Contains(held, sc) {
				added = append(added, sc)
			}
		}
		if len(added) == 0 {
			return ConsentUnchanged, nil, nil
		}
		_, err = tx.Exec(ctx, `UPDATE consents SET scopes = $3, granted_at = $4, widened_at = $4
			WHERE account_id = $1 AND client_id = $2`, accountID, clientID, uniqueSorted(append(held, added...)), at)
		if err != nil {
			return 0, nil, fmt.Errorf("authn: widen consent: %w", err)
		}
		return ConsentWidened, added, nil
	}
	return 0, nil, errors.New("authn: consent changed twice while it was being recorded")
}

func uniqueSorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// Consents returns every consent of the account, the most recently granted
// first. Callers keep those of clients that are registered and not
// first-party.
func (s *Accounts) Consents(ctx context.Context, accountID string) ([]Consent, error) {
	rows, err := s.DB.Query(ctx, `SELECT client_id, scopes, first_granted_at, widened_at FROM consents
		WHERE account_id = $1 ORDER BY first_granted_at DESC, client_id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("authn: consents: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Consent, error) {
		var c Consent
		return c, r.Scan(&c.ClientID, &c.Scopes, &c.FirstGrantedAt, &c.WidenedAt)
	})
}

// WithdrawConsentTx deletes the account's consent to a client inside tx
// and returns what it was; ErrNoConsent when there was none (already
// removed, or never given). The next authorization of that client asks
// the person again.
//
// It must be the first statement of the removal's transaction: a code
// exchange of the client holds the consent (HoldConsentTx) until its app
// session and tokens are written, so the delete waits for it, and what the
// transaction ends and revokes afterwards includes what that exchange made.
func (s *Accounts) WithdrawConsentTx(ctx context.Context, tx pgx.Tx, accountID, clientID string) (Consent, error) {
	c := Consent{ClientID: clientID}
	err := tx.QueryRow(ctx, `DELETE FROM consents WHERE account_id = $1 AND client_id = $2
		RETURNING scopes, first_granted_at, widened_at`, accountID, clientID).Scan(&c.Scopes, &c.FirstGrantedAt, &c.WidenedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Consent{}, ErrNoConsent
	}
	if err != nil {
		return Consent{}, fmt.Errorf("authn: withdraw consent: %w", err)
	}
	return c, nil
}

// HoldConsentTx reports whether the account still allows the client every
// one of scopes, and keeps the consent from being withdrawn until tx ends
// (FOR KEY SHARE: widening it is not held up). The token endpoint calls it
// when it issues tokens to an app that is not latch's own, so that a code
// obtained just before the person removed the app's access gets nothing.
func (s *Accounts) HoldConsentTx(ctx context.Context, tx pgx.Tx, accountID, clientID string, scopes []string) (bool, error) {
	var held []string
	err := tx.QueryRow(ctx, `SELECT scopes FROM consents WHERE account_id = $1 AND client_id = $2 FOR KEY SHARE`,
		accountID, clientID).Scan(&held)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("authn: hold consent: %w", err)
	}
	for _, sc := range scopes {
		if !slices.Contains(held, sc) {
			return false, nil
		}
	}
	return true, nil
}
