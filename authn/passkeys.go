package authn

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/internal/web"
)

// ChallengeLifetime is how long a WebAuthn ceremony may take
// (docs/design.md §Policies P15: server-side single-use challenges that
// expire in 5 minutes).
const ChallengeLifetime = 5 * time.Minute

// Errors of passkey ceremonies, worded for people.
var (
	ErrNoChallenge      = errors.New("this passkey request has expired or was already used: try again")
	ErrPasskeyRefused   = errors.New("latch could not verify that passkey")
	ErrPasskeyClone     = errors.New("this passkey looks like a copy of another one, so latch refused it and suspended it: sign in another way, or with a recovery key, and check it on your security page")
	ErrPasskeySuspended = errors.New("this passkey is suspended because a copy of it may exist: sign in another way, or with a recovery key, and check it on your security page")
	ErrUnknownPasskey   = errors.New("latch does not know this passkey: it may have been removed")
	ErrLastCredential   = errors.New("this is your only way to sign in: add a passkey or set a password before removing it")
	ErrPasskeyNotFound  = errors.New("no such passkey")
	// ErrNoUserVerification refuses an authenticator that did not verify
	// the person (no PIN, no biometrics): it is no passkey.
	ErrNoUserVerification = fmt.Errorf("%w: user verification is required", ErrPasskeyRefused)
)

// Passkeys stores WebAuthn credentials and runs the ceremonies.
// go-webauthn verifies signatures, origin, RP ID and flags; latch keeps the
// challenges server side and single use (the library does neither), refuses
// a signature counter that goes backwards (the library only flags it) and
// suspends the passkey that showed it, and persists the credential's new
// counter atomically.
type Passkeys struct {
	DB       *pgxpool.Pool
	WebAuthn *webauthn.WebAuthn
	Now      func() time.Time
}

// NewWebAuthn configures the relying party from the issuer URL: the RP ID is
// the issuer's host, the only origin the issuer's origin.
func NewWebAuthn(issuer string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, err
	}
	return webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: "latch",
		RPOrigins:     []string{u.Scheme + "://" + u.Host},
	})
}

// Passkey is a stored credential as the security page shows it.
type Passkey struct {
	ID             []byte
	AccountID      string
	Name           string
	AAGUID         string // the authenticator model, "" when the authenticator did not say
	BackupEligible bool
	CreatedAt      time.Time
	LastUsedAt     *time.Time
	// SuspendedAt is when the passkey showed a counter that went backwards;
	// nil while it is in good standing. A suspended passkey signs nothing in
	// until its owner confirms it with another method.
	SuspendedAt *time.Time
	Credential  webauthn.Credential
}

// Suspended reports whether the passkey is suspended as a possible copy.
func (pk *Passkey) Suspended() bool { return pk.SuspendedAt != nil }

// waUser adapts an account to webauthn.User.
type waUser struct {
	id          []byte
	accountID   string
	email, name string
	creds       []webauthn.Credential
	passkeys    []Passkey // the same credentials with latch's columns
}

func (u *waUser) WebAuthnID() []byte                         { return u.id }
func (u *waUser) WebAuthnName() string                       { return u.email }
func (u *waUser) WebAuthnDisplayName() string                { return u.name }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

var _ webauthn.User = (*waUser)(nil)

// user loads an account as a WebAuthn user, giving it a random user handle on
// first use. The handle is what an authenticator stores and returns; it is
// never the email, so a passkey reveals nothing about whose it is.
func (p *Passkeys) user(ctx context.Context, accountID string) (*waUser, error) {
	handle := make([]byte, 32)
	rand.Read(handle)
	u := &waUser{accountID: accountID}
	err := p.DB.QueryRow(ctx, `UPDATE accounts SET webauthn_id = coalesce(webauthn_id, $2)
		WHERE id = $1 RETURNING webauthn_id, email, name`, accountID, handle).Scan(&u.id, &u.email, &u.name)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoAccount
	}
	if err != nil {
		return nil, err
	}
	if u.name == "" {
		u.name = u.email
	}
	list, err := p.List(ctx, accountID)
	if err != nil {
		return nil, err
	}
	u.passkeys = list
	for _, pk := range list {
		u.creds = append(u.creds, pk.Credential)
	}
	return u, nil
}

// UserHandle returns the account's WebAuthn user handle, the random id an
// authenticator stores with the account's passkeys, giving the account one
// on first use.
func (p *Passkeys) UserHandle(ctx context.Context, accountID string) ([]byte, error) {
	u, err := p.user(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return u.id, nil
}

// userByHandle finds the account of a discoverable credential's user handle.
func (p *Passkeys) userByHandle(ctx context.Context, handle []byte) (*waUser, error) {
	var id string
	if err := p.DB.QueryRow(ctx, `SELECT id FROM accounts WHERE webauthn_id = $1`, handle).Scan(&id); err != nil {
		return nil, ErrUnknownPasskey
	}
	return p.user(ctx, id)
}

// passkeyColumns are what scanPasskey reads.
const passkeyColumns = `id, account_id, name, credential, coalesce(aaguid::text, ''),
	backup_eligible, created_at, last_used_at, suspended_at, sign_count`

// scanPasskey reads a row of passkeyColumns. The sign_count column, not the
// counter inside the stored credential, is the one the library compares
// with: refused assertions raise the column without rewriting the
// credential (see refuse).
func scanPasskey(r pgx.CollectableRow) (Passkey, error) {
	var pk Passkey
	var cred []byte
	var count int64
	err := r.Scan(&pk.ID, &pk.AccountID, &pk.Name, &cred, &pk.AAGUID, &pk.BackupEligible, &pk.CreatedAt, &pk.LastUsedAt,
		&pk.SuspendedAt, &count)
	if err == nil {
		err = json.Unmarshal(cred, &pk.Credential)
	}
	pk.Credential.Authenticator.SignCount = uint32(count)
	return pk, err
}

// List returns an account's passkeys, oldest first.
func (p *Passkeys) List(ctx context.Context, accountID string) ([]Passkey, error) {
	rows, err := p.DB.Query(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE account_id = $1 ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanPasskey)
}

// Get returns one of an account's passkeys.
func (p *Passkeys) Get(ctx context.Context, accountID string, id []byte) (*Passkey, error) {
	rows, err := p.DB.Query(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = $1 AND account_id = $2`, id, accountID)
	if err != nil {
		return nil, err
	}
	pk, err := pgx.CollectExactlyOneRow(rows, scanPasskey)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrPasskeyNotFound
	}
	return &pk, err
}

// Count returns how many passkeys an account has.
func (p *Passkeys) Count(ctx context.Context, accountID string) (int, error) {
	var n int
	err := p.DB.QueryRow(ctx, `SELECT count(*) FROM passkeys WHERE account_id = $1`, accountID).Scan(&n)
	return n, err
}

// Usable returns how many of an account's passkeys can sign in: those not
// suspended.
func (p *Passkeys) Usable(ctx context.Context, accountID string) (int, error) {
	var n int
	err := p.DB.QueryRow(ctx, `SELECT count(*) FROM passkeys WHERE account_id = $1 AND suspended_at IS NULL`, accountID).Scan(&n)
	return n, err
}

// Ceremony purposes, each with its own challenges.
const (
	purposeRegister = "register"
	purposeLogin    = "login"
	purposeStepUp   = "stepup"
)

func browserHash(binding string) []byte {
	h := sha256.Sum256([]byte(binding))
	return h[:]
}

// saveChallenge keeps a ceremony's session data server side, bound to the
// browser that began it.
func (p *Passkeys) saveChallenge(ctx context.Context, binding, purpose, accountID string, s *webauthn.SessionData) error {
	now := p.Now().UTC()
	s.Expires = now.Add(ChallengeLifetime)
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	var acct any
	if accountID != "" {
		acct = accountID
	}
	// The ceremonies that expired go in the same transaction: every
	// challenge saved sweeps the table.
	return pgx.BeginFunc(ctx, p.DB, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO webauthn_challenges (browser_hash, purpose, account_id, session, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, browserHash(binding), purpose, acct, b, now, s.Expires)
		if err != nil {
			return fmt.Errorf("save challenge: %w", err)
		}
		_, err = tx.Exec(ctx, `DELETE FROM webauthn_challenges WHERE expires_at < $1`, now)
		return err
	})
}

// takeChallenge removes and returns the ceremony whose challenge the
// browser signed: single use even under concurrent replays (DELETE ...
// RETURNING), only for the browser that began it, only within 5 minutes.
func (p *Passkeys) takeChallenge(ctx context.Context, binding, purpose, challenge string) (*webauthn.SessionData, string, error) {
	if !isChallenge(challenge) {
		// The browser's client data is the caller's JSON, inside base64
		// where the guard cannot see it: a NUL there would reach SQL.
		return nil, "", ErrNoChallenge
	}
	var b []byte
	var acct *string
	err := p.DB.QueryRow(ctx, `DELETE FROM webauthn_challenges
		WHERE browser_hash = $1 AND purpose = $2 AND session->>'challenge' = $3 AND expires_at > $4
		RETURNING session, account_id::text`, browserHash(binding), purpose, challenge, p.Now().UTC()).Scan(&b, &acct)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", ErrNoChallenge
	}
	if err != nil {
		return nil, "", err
	}
	var s webauthn.SessionData
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, "", err
	}
	// The library compares Expires with the wall clock; the database check
	// above already enforced it with latch's clock.
	s.Expires = time.Time{}
	a := ""
	if acct != nil {
		a = *acct
	}
	return &s, a, nil
}

// isChallenge reports whether s has the form of a challenge latch made:
// base64url (RFC 4648 §5) without padding, of a few dozen random bytes.
func isChallenge(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// BeginRegistration starts adding a passkey: a discoverable credential with
// user verification, excluding the account's existing credentials.
func (p *Passkeys) BeginRegistration(ctx context.Context, binding, accountID string) (*protocol.CredentialCreation, error) {
	u, err := p.user(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range u.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, s, err := p.WebAuthn.BeginRegistration(u,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired,
		}),
		webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, err
	}
	return creation, p.saveChallenge(ctx, binding, purposeRegister, accountID, s)
}

// VerifyRegistration verifies the authenticator's answer (using up its
// challenge) and returns the passkey to store under name; Add stores it.
func (p *Passkeys) VerifyRegistration(ctx context.Context, binding, accountID, name string, body []byte) (*Passkey, error) {
	name, err := passkeyName(name, "Passkey")
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return nil, ErrPasskeyRefused
	}
	s, owner, err := p.takeChallenge(ctx, binding, purposeRegister, parsed.Response.CollectedClientData.Challenge)
	if err != nil {
		return nil, err
	}
	if owner != accountID {
		return nil, ErrNoChallenge
	}
	u, err := p.user(ctx, accountID)
	if err != nil {
		return nil, err
	}
	cred, err := p.WebAuthn.CreateCredential(u, *s, parsed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPasskeyRefused, err)
	}
	if !cred.Flags.UserVerified {
		return nil, ErrNoUserVerification
	}
	pk := &Passkey{ID: cred.ID, AccountID: accountID, Name: name, BackupEligible: cred.Flags.BackupEligible,
		CreatedAt: p.Now().UTC(), Credential: *cred}
	if a := cred.Authenticator.AAGUID; len(a) == 16 && !allZero(a) {
		pk.AAGUID = fmt.Sprintf("%x-%x-%x-%x-%x", a[0:4], a[4:6], a[6:8], a[8:10], a[10:16])
	}
	return pk, nil
}

// Add stores a passkey that VerifyRegistration returned, inside q's
// transaction: the change that adds it also records and announces it.
func (p *Passkeys) Add(ctx context.Context, q pg.Querier, pk *Passkey) error {
	credJSON, err := json.Marshal(pk.Credential)
	if err != nil {
		return err
	}
	var aaguid any
	if pk.AAGUID != "" {
		aaguid = pk.AAGUID
	}
	cred := pk.Credential
	_, err = q.Exec(ctx, `INSERT INTO passkeys (id, account_id, name, credential, aaguid, backup_eligible, backup_state, sign_count, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, pk.ID, pk.AccountID, pk.Name, credJSON, aaguid,
		cred.Flags.BackupEligible, cred.Flags.BackupState, int64(cred.Authenticator.SignCount), pk.CreatedAt)
	if err != nil {
		return fmt.Errorf("store passkey: %w", err)
	}
	return nil
}

// maxPasskeyName is how many characters of a passkey's name are kept, and
// maxPasskeyNameInput how many bytes a typed name may have at all.
const (
	maxPasskeyName      = 64
	maxPasskeyNameInput = 1024
)

// passkeyName cleans a name a person typed: trimmed, cut to 64 characters,
// fallback when empty (an empty fallback refuses it). Control characters
// and broken UTF-8 are refused rather than stored and shown on pages.
func passkeyName(name, fallback string) (string, error) {
	name = strings.TrimSpace(name)
	if !web.ValidText(name, maxPasskeyNameInput) {
		return "", ErrPasskeyName
	}
	if name == "" {
		name = fallback
	}
	if name == "" {
		return "", ErrPasskeyName
	}
	return truncate(name, maxPasskeyName), nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// BeginLogin starts a discoverable sign-in (no email typed), or with
// conditional set the autofill variant.
func (p *Passkeys) BeginLogin(ctx context.Context, binding string, conditional bool) (*protocol.CredentialAssertion, error) {
	var a *protocol.CredentialAssertion
	var s *webauthn.SessionData
	var err error
	if conditional {
		a, s, err = p.WebAuthn.BeginDiscoverableMediatedLogin(protocol.MediationConditional,
			webauthn.WithUserVerification(protocol.VerificationRequired))
	} else {
		a, s, err = p.WebAuthn.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	}
	if err != nil {
		return nil, err
	}
	return a, p.saveChallenge(ctx, binding, purposeLogin, "", s)
}

// BeginStepUp starts a passkey check of a known account. Suspended
// passkeys are left out of allowCredentials, so the browser offers only
// passkeys that can succeed; an account with none has no passkey to
// confirm with.
func (p *Passkeys) BeginStepUp(ctx context.Context, binding, accountID string) (*protocol.CredentialAssertion, error) {
	u, err := p.user(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var allow []protocol.CredentialDescriptor
	for _, pk := range u.passkeys {
		if !pk.Suspended() {
			allow = append(allow, pk.Credential.Descriptor())
		}
	}
	if len(allow) == 0 {
		return nil, ErrPasskeyNotFound
	}
	a, s, err := p.WebAuthn.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationRequired),
		webauthn.WithAllowedCredentials(allow))
	if err != nil {
		return nil, err
	}
	return a, p.saveChallenge(ctx, binding, purposeStepUp, accountID, s)
}

// Assertion is a verified passkey sign-in.
type Assertion struct {
	AccountID string
	Passkey   []byte
	Synced    bool // backup eligible: a software-held, synced key
}

// AMR is the RFC 8176 methods of a passkey sign-in: a synced passkey is a
// software key (swk), a device-bound one a hardware key (hwk); user
// verification adds the user and makes it multi-factor.
func (a *Assertion) AMR() []string {
	key := "hwk"
	if a.Synced {
		key = "swk"
	}
	return []string{key, "user", "mfa"}
}

// CloneRefusal is a verified assertion (the signature is the passkey's own) that
// latch refused because of the passkey's signature counter: the counter went
// backwards, or an earlier one had and the passkey is suspended.
type CloneRefusal struct {
	AccountID    string
	CredentialID []byte
	Name         string
	Counter      uint32 // what the authenticator reported
	Stored       uint32 // the highest counter latch had seen before it
	Regressed    bool   // Counter did not advance past Stored: a possible copy, this time
	Suspended    bool   // this assertion suspended the passkey
}

// CloneEvent records a refusal inside the transaction that suspends the
// passkey: its activity and, when it suspends, the owner's alert. An error
// rolls the suspension back with it, so none happens unrecorded.
type CloneEvent func(ctx context.Context, tx pgx.Tx, r CloneRefusal) error

// FinishLogin verifies a discoverable sign-in.
func (p *Passkeys) FinishLogin(ctx context.Context, binding string, body []byte, onClone CloneEvent) (*Assertion, error) {
	return p.finish(ctx, binding, purposeLogin, "", body, onClone)
}

// FinishStepUp verifies a passkey check of a known account.
func (p *Passkeys) FinishStepUp(ctx context.Context, binding, accountID string, body []byte, onClone CloneEvent) (*Assertion, error) {
	return p.finish(ctx, binding, purposeStepUp, accountID, body, onClone)
}

func (p *Passkeys) finish(ctx context.Context, binding, purpose, accountID string, body []byte, onClone CloneEvent) (*Assertion, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, ErrPasskeyRefused
	}
	s, owner, err := p.takeChallenge(ctx, binding, purpose, parsed.Response.CollectedClientData.Challenge)
	if err != nil {
		return nil, err
	}
	var user *waUser
	var cred *webauthn.Credential
	if purpose == purposeLogin {
		var u webauthn.User
		u, cred, err = p.WebAuthn.ValidatePasskeyLogin(func(rawID, handle []byte) (webauthn.User, error) {
			return p.userByHandle(ctx, handle)
		}, *s, parsed)
		if err == nil {
			user = u.(*waUser)
		}
	} else {
		if owner != accountID {
			return nil, ErrNoChallenge
		}
		if user, err = p.user(ctx, accountID); err == nil {
			cred, err = p.WebAuthn.ValidateLogin(user, *s, parsed)
		}
	}
	if err != nil {
		if errors.Is(err, ErrUnknownPasskey) {
			return nil, ErrUnknownPasskey
		}
		return nil, fmt.Errorf("%w: %v", ErrPasskeyRefused, err)
	}
	if !parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		return nil, ErrNoUserVerification
	}
	// A counter at or below the stored one means two copies of the private
	// key may exist (WebAuthn §6.1.1). The library only flags it; latch
	// refuses the sign-in and suspends the passkey.
	if !cred.Authenticator.CloneWarning {
		ok, err := p.accept(ctx, cred)
		if err != nil {
			return nil, err
		}
		if ok {
			return &Assertion{AccountID: user.accountID, Passkey: cred.ID, Synced: cred.Flags.BackupEligible}, nil
		}
	}
	return nil, p.refuse(ctx, user.accountID, cred.ID, parsed.Response.AuthenticatorData.Counter, onClone)
}

// counterAdvances is WebAuthn §6.1.1's test of a signature counter: the
// assertion's counter must be above the stored one, unless both are zero
// (an authenticator without a counter, such as most synced passkeys). A
// counter that starts at 0 and later reports more is fine too.
func counterAdvances(stored, got uint32) bool {
	return got > stored || (got == 0 && stored == 0)
}

// accept stores a verified assertion's counter and last use. The UPDATE
// itself checks that the passkey is not suspended and that the counter still
// moves forward, so a suspension or a sign-in with the same counter that
// commits meanwhile wins over this one.
func (p *Passkeys) accept(ctx context.Context, cred *webauthn.Credential) (bool, error) {
	credJSON, err := json.Marshal(cred)
	if err != nil {
		return false, err
	}
	n := int64(cred.Authenticator.SignCount)
	tag, err := p.DB.Exec(ctx, `UPDATE passkeys SET sign_count = $2, credential = $3, last_used_at = $4, backup_state = $5
		WHERE id = $1 AND suspended_at IS NULL AND (sign_count < $2 OR ($2 = 0 AND sign_count = 0))`,
		cred.ID, n, credJSON, p.Now().UTC(), cred.Flags.BackupState)
	return tag.RowsAffected() == 1, err
}

// refuse turns down a verified assertion whose counter went backwards or
// whose passkey is suspended. A counter that went backwards suspends the
// passkey: refusing that one assertion is not enough, because a copy counts
// up with every try and soon passes the stored counter (WebAuthn §6.1.1
// leaves the response to the relying party; latch's is to stop trusting the
// key until its owner vouches for it).
//
// The suspension and what onClone records commit together, on a context
// the client cannot cancel: a copy that hangs up the moment it is refused
// must not undo its own suspension. The stored counter rises to the highest
// the key has signed, so that once the owner reinstates it, whichever copy
// is behind shows itself at its next use.
func (p *Passkeys) refuse(ctx context.Context, accountID string, id []byte, counter uint32, onClone CloneEvent) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	r := CloneRefusal{AccountID: accountID, CredentialID: id, Counter: counter}
	err := pgx.BeginFunc(ctx, p.DB, func(tx pgx.Tx) error {
		var stored int64
		var suspendedAt *time.Time
		err := tx.QueryRow(ctx, `SELECT name, sign_count, suspended_at FROM passkeys WHERE id = $1 FOR UPDATE`, id).
			Scan(&r.Name, &stored, &suspendedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrUnknownPasskey // removed meanwhile
		}
		if err != nil {
			return err
		}
		r.Stored = uint32(stored)
		r.Regressed = !counterAdvances(r.Stored, counter)
		r.Suspended = r.Regressed && suspendedAt == nil
		if !r.Regressed && suspendedAt == nil {
			return ErrPasskeyRefused // reinstated meanwhile: the person may try again
		}
		now := p.Now().UTC()
		if _, err := tx.Exec(ctx, `UPDATE passkeys SET sign_count = greatest(sign_count, $2),
			clone_warning_at = CASE WHEN $3 THEN $4 ELSE clone_warning_at END,
			suspended_at = CASE WHEN $5 THEN $4 ELSE suspended_at END WHERE id = $1`,
			id, int64(counter), r.Regressed, now, r.Suspended); err != nil {
			return err
		}
		if onClone == nil {
			return nil
		}
		return onClone(ctx, tx, r)
	})
	switch {
	case err != nil:
		return err
	case r.Regressed:
		return ErrPasskeyClone
	}
	return ErrPasskeySuspended
}

// ErrPasskeyName refuses a passkey name that is empty or not plain text.
var ErrPasskeyName = errors.New("give the passkey a name in plain text")

// Rename changes a passkey's name, inside q's transaction when q is one.
func (p *Passkeys) Rename(ctx context.Context, q pg.Querier, accountID string, id []byte, name string) error {
	name, err := passkeyName(name, "")
	if err != nil {
		return err
	}
	tag, err := q.Exec(ctx, `UPDATE passkeys SET name = $3 WHERE id = $1 AND account_id = $2`, id, accountID, name)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrPasskeyNotFound
	}
	return nil
}

// Remove deletes a passkey unless it is the account's last way to sign in,
// in a transaction of its own.
func (p *Passkeys) Remove(ctx context.Context, accountID string, id []byte) (string, error) {
	var name string
	err := pgx.BeginFunc(ctx, p.DB, func(tx pgx.Tx) error {
		var err error
		name, err = p.RemoveTx(ctx, tx, accountID, id)
		return err
	})
	return name, err
}

// RemoveTx is Remove inside the caller's transaction, which must roll back
// when it fails. A suspended passkey is no way to sign in: removing one
// takes nothing away, and it does not count as the passkey that makes
// another credential removable. The check and the delete share the
// transaction, which locks the account row, so two concurrent removals
// cannot both pass the check.
func (p *Passkeys) RemoveTx(ctx context.Context, tx pgx.Tx, accountID string, id []byte) (string, error) {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, accountID); err != nil {
		return "", err
	}
	var usable int
	var hasPassword bool
	if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM passkeys WHERE account_id = $1 AND suspended_at IS NULL),
		EXISTS (SELECT 1 FROM passwords WHERE account_id = $1)`, accountID).Scan(&usable, &hasPassword); err != nil {
		return "", err
	}
	var name string
	var suspended bool
	err := tx.QueryRow(ctx, `DELETE FROM passkeys WHERE id = $1 AND account_id = $2 RETURNING name, suspended_at IS NOT NULL`,
		id, accountID).Scan(&name, &suspended)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrPasskeyNotFound
	}
	if err != nil {
		return "", err
	}
	if !suspended && usable <= 1 && !hasPassword {
		return "", ErrLastCredential
	}
	return name, nil
}

// Reinstate lifts a passkey's suspension inside tx, once its owner has
// confirmed it with another method at confirmedAt. Only a suspension that
// began before that confirmation is lifted, and it returns the passkey's
// name; anything else is ErrPasskeyNotFound.
func (p *Passkeys) Reinstate(ctx context.Context, tx pgx.Tx, accountID string, id []byte, confirmedAt time.Time) (string, error) {
	var name string
	err := tx.QueryRow(ctx, `UPDATE passkeys SET suspended_at = NULL
		WHERE id = $1 AND account_id = $2 AND suspended_at < $3 RETURNING name`, id, accountID, confirmedAt.UTC()).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrPasskeyNotFound
	}
	return name, err
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
