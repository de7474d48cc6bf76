package authn

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/internal/seal"
)

// Errors of authenticator apps, worded for the person who caused them.
var (
	// ErrBadCode means a code was wrong, malformed, already used or outside
	// the accepted window. The cases share one answer so that a guesser
	// learns nothing from which of them it was.
	ErrBadCode    = errors.New("that code is not right")
	ErrTOTPExists = errors.New("an authenticator app is already set up")
	ErrNoTOTP     = errors.New("no authenticator app is set up")
)

// The TOTP parameters of docs/design.md §Policies P13, which are also the
// ones every authenticator app assumes when an otpauth:// URL names no
// others.
const (
	// totpPeriod is the time step X of RFC 6238 §4.1, in seconds.
	totpPeriod = 30
	// totpSkew is how many steps before and after the current one are
	// accepted, allowing for clock drift and for a code typed as it changed
	// (RFC 6238 §5.2 recommends at most one step of network delay).
	totpSkew = 1
	// totpSecretSize is the length of a shared secret in bytes: 160 bits,
	// the length RFC 4226 §4 (R6) recommends for HMAC-SHA-1.
	totpSecretSize = 20
	// totpDigits is the length of a code.
	totpDigits = 6
	// totpQRSize is the width and height of the QR code image in pixels.
	totpQRSize = 200
)

// totpOpts are the options for generating codes. Digits must be set: with
// zero digits pquerna/otp produces codes that never match.
var totpOpts = totp.ValidateOpts{
	Period:    totpPeriod,
	Skew:      totpSkew,
	Digits:    otp.DigitsSix,
	Algorithm: otp.AlgorithmSHA1,
}

// b32 encodes shared secrets the way authenticator apps expect them: the
// RFC 4648 alphabet without padding.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// TOTP manages each account's authenticator app: time-based one-time
// passwords as RFC 6238 defines them, with 6 digits, 30-second steps and one
// step of skew either way.
//
// The shared secret is stored sealed with the master key, because unlike a
// password hash it is all an attacker needs to make valid codes. Each step
// can be used once (RFC 6238 §5.2: "the verifier MUST NOT accept the second
// attempt of the same OTP after the successful validation has been issued
// for the first OTP"), so a code seen over a shoulder or phished in real time
// cannot be played again.
//
// TOTP does not limit guessing: with three steps accepted a guess succeeds
// with probability 3 in a million, so callers put every Verify behind the
// per-account Throttle.
type TOTP struct {
	DB *pgxpool.Pool
	// Sealer encrypts secrets at rest; the additional data is the account
	// id, so a sealed secret copied to another account's row does not open.
	Sealer *seal.Sealer
	Now    func() time.Time
	// Issuer names latch in the authenticator app.
	Issuer string
}

// NewTOTP returns a TOTP with the real clock, sealing with the master key's
// "totp" purpose.
func NewTOTP(db *pgxpool.Pool, master *seal.MasterKey) *TOTP {
	return &TOTP{DB: db, Sealer: master.Sealer("totp"), Now: time.Now, Issuer: "latch"}
}

// TOTPEnrollment is what a person needs to add latch to an authenticator
// app. It holds the secret in clear, so it is shown once and never stored.
type TOTPEnrollment struct {
	Secret string // base32, to type in by hand
	URL    string // otpauth:// URL
	QRPNG  []byte // QR code image (PNG) of URL
}

// Begin starts setting up an authenticator app, or starts over: it makes a
// new secret and stores it sealed and unconfirmed, replacing any earlier
// unconfirmed one. The secret counts only after Confirm, so a setup that
// was abandoned halfway never locks the person out. If the account already
// has a confirmed app, Begin returns ErrTOTPExists: replacing it takes a
// Remove first, which the caller guards with a step-up.
func (t *TOTP) Begin(ctx context.Context, accountID, accountName string) (*TOTPEnrollment, error) {
	// The canonical text of the id is the additional data of the seal, so
	// look it up rather than trust the caller's spelling of the uuid.
	var id string
	err := t.DB.QueryRow(ctx, `SELECT id::text FROM accounts WHERE id = $1`, accountID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("authn: totp: no account %s", accountID)
	}
	if err != nil {
		return nil, fmt.Errorf("authn: totp: %w", err)
	}

	secret := make([]byte, totpSecretSize)
	rand.Read(secret)
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      t.Issuer,
		AccountName: accountName,
		Period:      totpPeriod,
		Secret:      secret,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, fmt.Errorf("authn: totp: %w", err)
	}
	img, err := key.Image(totpQRSize, totpQRSize)
	if err != nil {
		return nil, fmt.Errorf("authn: totp: QR code: %w", err)
	}
	var qr bytes.Buffer
	if err := png.Encode(&qr, img); err != nil {
		return nil, fmt.Errorf("authn: totp: QR code: %w", err)
	}

	// One statement, so that a confirmed secret is never overwritten even
	// when a Confirm races this Begin: the WHERE of the upsert leaves a
	// confirmed row alone and no row is reported.
	tag, err := t.DB.Exec(ctx, `
		INSERT INTO totp_secrets (account_id, secret, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (account_id) DO UPDATE
			SET secret = EXCLUDED.secret, created_at = EXCLUDED.created_at, last_used_step = 0
			WHERE totp_secrets.confirmed_at IS NULL`,
		id, t.Sealer.Seal(secret, []byte(id)), t.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("authn: totp: store secret: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return nil, ErrTOTPExists
	}
	return &TOTPEnrollment{Secret: key.Secret(), URL: key.URL(), QRPNG: qr.Bytes()}, nil
}

// Confirm finishes setup: code must be valid for the unconfirmed secret,
// which proves the app holds the same secret and the same time before the
// account starts to depend on it. The step of the code is recorded as used,
// so the code that confirmed cannot also sign in. It returns ErrBadCode for a
// wrong code, ErrNoTOTP when no setup is in progress and ErrTOTPExists when
// the app is already confirmed.
func (t *TOTP) Confirm(ctx context.Context, accountID, code string) error {
	return t.check(ctx, t.DB, accountID, code, false)
}

// ConfirmTx is Confirm inside the caller's transaction, so that the app
// turns on together with its activity record.
func (t *TOTP) ConfirmTx(ctx context.Context, q pg.Querier, accountID, code string) error {
	return t.check(ctx, q, accountID, code, false)
}

// Verify checks code against the account's confirmed authenticator app, as
// a second factor or a step-up. It accepts the codes of the current step and
// of one step either side (RFC 6238 §5.2), and each step at most once: the
// step that matched is recorded with a conditional UPDATE, so of two
// concurrent uses of one code exactly one passes, and a code from a step at
// or before the last one used is refused even if it is still in the window.
// It returns ErrBadCode for a wrong, malformed or used code and ErrNoTOTP
// when the account has no confirmed app.
func (t *TOTP) Verify(ctx context.Context, accountID, code string) error {
	return t.check(ctx, t.DB, accountID, code, true)
}

// check is Confirm (confirmed false) and Verify (confirmed true), through q.
func (t *TOTP) check(ctx context.Context, q pg.Querier, accountID, code string, confirmed bool) error {
	code, ok := normalizeTOTPCode(code)
	if !ok {
		// Refused before reading the secret: a malformed code says nothing
		// about it, and must not use up a step.
		return ErrBadCode
	}
	var id string
	var sealed []byte
	var confirmedAt *time.Time
	var lastUsed int64
	err := q.QueryRow(ctx, `SELECT account_id::text, secret, confirmed_at, last_used_step
		FROM totp_secrets WHERE account_id = $1`, accountID).Scan(&id, &sealed, &confirmedAt, &lastUsed)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNoTOTP
	}
	if err != nil {
		return fmt.Errorf("authn: totp: %w", err)
	}
	switch {
	case confirmed && confirmedAt == nil:
		// A secret in setup does not count until it is confirmed.
		return ErrNoTOTP
	case !confirmed && confirmedAt != nil:
		return ErrTOTPExists
	}
	secret, err := t.Sealer.Open(sealed, []byte(id))
	if err != nil {
		return fmt.Errorf("authn: totp: secret of account %s: %w", id, err)
	}

	step, err := matchStep(b32.EncodeToString(secret), code, t.Now(), lastUsed)
	if err != nil {
		return fmt.Errorf("authn: totp: %w", err)
	}
	if step == 0 {
		return ErrBadCode
	}

	// The condition on last_used_step makes the use atomic: a concurrent
	// check of the same code, or of an older one, finds the row already
	// moved past its step and updates nothing. The condition on
	// confirmed_at keeps a Confirm and a Verify from acting on a row that a
	// concurrent Begin or Confirm changed in between.
	var tag pgconn.CommandTag
	if confirmed {
		tag, err = q.Exec(ctx, `UPDATE totp_secrets SET last_used_step = $2
			WHERE account_id = $1 AND confirmed_at IS NOT NULL AND last_used_step < $2 AND secret = $3`,
			id, step, sealed)
	} else {
		tag, err = q.Exec(ctx, `UPDATE totp_secrets SET last_used_step = $2, confirmed_at = $4
			WHERE account_id = $1 AND confirmed_at IS NULL AND last_used_step < $2 AND secret = $3`,
			id, step, sealed, t.Now().UTC())
	}
	if err != nil {
		return fmt.Errorf("authn: totp: record step: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrBadCode
	}
	return nil
}

// matchStep returns the step, within the skew window around now and after
// lastUsed, whose code is code; or 0 when there is none. Every step in the
// window is computed and compared in constant time, so the time taken says
// nothing about which digits or which step matched. Should two steps share
// a code (one chance in a million), the earlier unused one is taken: it
// leaves the later one usable, and neither can be used twice.
func matchStep(secret, code string, now time.Time, lastUsed int64) (int64, error) {
	current := now.Unix() / totpPeriod
	var found int64
	for s := current - totpSkew; s <= current+totpSkew; s++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > lastUsed && found == 0 {
			found = s
		}
	}
	return found, nil
}

// normalizeTOTPCode removes the spaces people type or paste (apps show
// "123 456") and reports whether what is left is exactly six ASCII digits.
func normalizeTOTPCode(code string) (string, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != totpDigits {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", false
		}
	}
	return code, true
}

// Enabled reports whether the account has a confirmed authenticator app: a
// setup in progress does not make TOTP a sign-in requirement.
func (t *TOTP) Enabled(ctx context.Context, accountID string) (bool, error) {
	var ok bool
	err := t.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM totp_secrets
		WHERE account_id = $1 AND confirmed_at IS NOT NULL)`, accountID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("authn: totp: %w", err)
	}
	return ok, nil
}

// Remove deletes the account's authenticator app, confirmed or in setup.
// Removing nothing is not an error, so a form submitted twice does not fail
// the second time. Callers demand a step-up first, since removing a second
// factor weakens the account. q is the change's transaction.
func (t *TOTP) Remove(ctx context.Context, q pg.Querier, accountID string) error {
	if _, err := q.Exec(ctx, `DELETE FROM totp_secrets WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("authn: totp: %w", err)
	}
	return nil
}
