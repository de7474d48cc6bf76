package authn

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/internal/web"
	"github.com/latch-idp/latch/sessions"
)

// Errors of account management, worded for the person who caused them.
var (
	ErrEmailTaken   = errors.New("an account with this email already exists")
	ErrBadEmail     = errors.New("email is not a valid address")
	ErrNoAccount    = errors.New("no account has this email")
	ErrAdvancedMode = errors.New("this account uses advanced security: its credentials cannot be reset by an administrator")
)

// Account is a person.
type Account struct {
	ID           string
	Email        string
	Name         string
	SecurityMode sessions.SecurityMode
	CreatedAt    time.Time
	HasPassword  bool
	// AdvancedSince is when advanced security was turned on, or nil.
	AdvancedSince *time.Time
}

// Advanced reports whether the account is in advanced security mode.
func (a *Account) Advanced() bool { return a.SecurityMode == sessions.ModeAdvanced }

// Accounts stores accounts, their passwords, their security mode and the
// apps each has allowed (consents).
type Accounts struct {
	DB *pgxpool.Pool
	// Hasher computes every password hash; commands that set no password
	// may leave it nil.
	Hasher *Hasher
}

// PossibleEmail reports whether a typed email could belong to an account:
// plain text no longer than any account's. Anything else is refused before
// it reaches SQL (the throttle keys on it, and an index row has a size
// limit) and without an argon2id, since no account can match it.
func PossibleEmail(email string) bool {
	return web.ValidText(strings.TrimSpace(email), MaxEmailLength)
}

// EmailKey is the form of an email used to find its account.
func EmailKey(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// MaxEmailLength bounds an address (RFC 5321 §4.5.3.1: a 64-byte local
// part, @, a 255-byte domain).
const MaxEmailLength = 320

// CheckEmail validates an address as typed by a person or an operator.
func CheckEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || !strings.Contains(email, "@") || len(email) > MaxEmailLength {
		return "", ErrBadEmail
	}
	return email, nil
}

// Create adds an account, with a password when one is given.
func (s *Accounts) Create(ctx context.Context, email, name, password string) (*Account, error) {
	email, err := CheckEmail(email)
	if err != nil {
		return nil, err
	}
	var hash string
	if password != "" {
		if hash, err = s.Hasher.Hash(ctx, password); err != nil {
			return nil, err
		}
	}
	a := &Account{Email: email, Name: strings.TrimSpace(name), SecurityMode: sessions.ModeStandard, HasPassword: hash != ""}
	err = pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO accounts (email, email_key, name) VALUES ($1, $2, $3)
			RETURNING id, created_at`, email, EmailKey(email), a.Name).Scan(&a.ID, &a.CreatedAt)
		if err != nil {
			return err
		}
		if hash != "" {
			_, err = tx.Exec(ctx, `INSERT INTO passwords (account_id, hash) VALUES ($1, $2)`, a.ID, hash)
		}
		return err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return nil, ErrEmailTaken
	}
	if err != nil {
		return nil, fmt.Errorf("authn: create account: %w", err)
	}
	return a, nil
}

const accountColumns = `a.id, a.email, a.name, a.security_mode, a.created_at, p.hash IS NOT NULL, a.advanced_since`

// scanAccount reads an account. A security mode latch does not know is an
// error: no account is taken for a standard one by mistake.
func scanAccount(row pgx.Row) (*Account, error) {
	var a Account
	var mode string
	err := row.Scan(&a.ID, &a.Email, &a.Name, &mode, &a.CreatedAt, &a.HasPassword, &a.AdvancedSince)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoAccount
	}
	if err != nil {
		return nil, err
	}
	if a.SecurityMode, err = sessions.ParseSecurityMode(mode); err != nil {
		return nil, fmt.Errorf("authn: account %s: %w", a.ID, err)
	}
	return &a, nil
}

// ByEmail finds an account by email, ignoring case.
func (s *Accounts) ByEmail(ctx context.Context, email string) (*Account, error) {
	return scanAccount(s.DB.QueryRow(ctx, `SELECT `+accountColumns+`
		FROM accounts a LEFT JOIN passwords p ON p.account_id = a.id WHERE a.email_key = $1`, EmailKey(email)))
}

// ByID finds an account by id.
func (s *Accounts) ByID(ctx context.Context, id string) (*Account, error) {
	return s.ByIDTx(ctx, s.DB, id)
}

// ByIDTx is ByID inside a caller's transaction.
func (s *Accounts) ByIDTx(ctx context.Context, q pg.Querier, id string) (*Account, error) {
	if !sessions.IsID(id) {
		return nil, ErrNoAccount
	}
	return scanAccount(q.QueryRow(ctx, `SELECT `+accountColumns+`
		FROM accounts a LEFT JOIN passwords p ON p.account_id = a.id WHERE a.id = $1`, id))
}

// Claims returns what an ID token says of an account: its email and name.
func (s *Accounts) Claims(ctx context.Context, id string) (email, name string, err error) {
	if !sessions.IsID(id) {
		return "", "", ErrNoAccount
	}
	err = s.DB.QueryRow(ctx, `SELECT email, name FROM accounts WHERE id = $1`, id).Scan(&email, &name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", ErrNoAccount
	}
	return email, name, err
}

// List returns every account, oldest first.
func (s *Accounts) List(ctx context.Context) ([]Account, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+accountColumns+`
		FROM accounts a LEFT JOIN passwords p ON p.account_id = a.id ORDER BY a.created_at, a.email_key`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Account, error) {
		a, err := scanAccount(r)
		if err != nil {
			return Account{}, err
		}
		return *a, nil
	})
}

// PasswordHash returns the account's password hash, or "" without one.
func (s *Accounts) PasswordHash(ctx context.Context, accountID string) (string, error) {
	var h string
	err := s.DB.QueryRow(ctx, `SELECT hash FROM passwords WHERE account_id = $1`, accountID).Scan(&h)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return h, err
}

// SetPasswordHash sets or replaces the account's password with a hash made
// by the Hasher, inside q's transaction when q is one.
func (s *Accounts) SetPasswordHash(ctx context.Context, q pg.Querier, accountID, hash string) error {
	_, err := q.Exec(ctx, `INSERT INTO passwords (account_id, hash, updated_at) VALUES ($1, $2, now())
		ON CONFLICT (account_id) DO UPDATE SET hash = EXCLUDED.hash, updated_at = now()`, accountID, hash)
	return err
}

// RemovePassword deletes the password inside tx when the account has a
// passkey to sign in with (a suspended one signs nothing in, so it does not
// count); otherwise it refuses with ErrLastCredential. The account row
// stays locked until tx ends, so two concurrent removals (of the password
// and of the last passkey) cannot both pass the check.
func (s *Accounts) RemovePassword(ctx context.Context, tx pgx.Tx, accountID string) error {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, accountID); err != nil {
		return err
	}
	var passkeys int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM passkeys WHERE account_id = $1 AND suspended_at IS NULL`,
		accountID).Scan(&passkeys); err != nil {
		return err
	}
	if passkeys == 0 {
		return ErrLastCredential
	}
	_, err := tx.Exec(ctx, `DELETE FROM passwords WHERE account_id = $1`, accountID)
	return err
}

// AdminReset is an operator's reset of a person's credentials: a new
// password, or the authenticator app removed. The caller then ends every
// session of the account, since whoever held the old credentials may be
// signed in. Advanced accounts refuse it: no administrator can talk such an
// account back open.
func (s *Accounts) AdminReset(ctx context.Context, email, password string, totpOnly bool) (*Account, error) {
	acct, err := s.ByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	if acct.Advanced() {
		return nil, ErrAdvancedMode
	}
	if totpOnly {
		_, err = s.DB.Exec(ctx, `DELETE FROM totp_secrets WHERE account_id = $1`, acct.ID)
		return acct, err
	}
	hash, err := s.Hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	return acct, s.SetPasswordHash(ctx, s.DB, acct.ID, hash)
}

// RecoveryConfirmedSet returns the recovery key set the person proved they
// saved (by typing one of its keys back), or "".
func (s *Accounts) RecoveryConfirmedSet(ctx context.Context, id string) (string, error) {
	var set *string
	if err := s.DB.QueryRow(ctx, `SELECT recovery_confirmed_set::text FROM accounts WHERE id = $1`, id).Scan(&set); err != nil {
		return "", err
	}
	if set == nil {
		return "", nil
	}
	return *set, nil
}

// ConfirmRecoverySet records that the person proved they saved recovery
// key set set, a condition of advanced security.
func (s *Accounts) ConfirmRecoverySet(ctx context.Context, id, set string) error {
	_, err := s.DB.Exec(ctx, `UPDATE accounts SET recovery_confirmed_set = $2 WHERE id = $1`, id, set)
	return err
}

// EnterAdvancedTx puts the account under advanced security inside tx, the
// transaction that also ends its other sessions and records and announces
// the change: the password and the authenticator app are deleted, and the
// account row stays locked until tx ends.
func (s *Accounts) EnterAdvancedTx(ctx context.Context, tx pgx.Tx, id string, since time.Time) error {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, id); err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM passwords WHERE account_id = $1`, `DELETE FROM totp_secrets WHERE account_id = $1`} {
		if _, err := tx.Exec(ctx, q, id); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `UPDATE accounts SET security_mode = 'advanced', advanced_since = $2 WHERE id = $1`, id, since)
	return err
}

// LeaveAdvancedTx returns the account to standard security, inside q's
// transaction when q is one: a password may be set again.
func (s *Accounts) LeaveAdvancedTx(ctx context.Context, q pg.Querier, id string) error {
	_, err := q.Exec(ctx, `UPDATE accounts SET security_mode = 'standard', advanced_since = NULL WHERE id = $1`, id)
	return err
}
