package recovery

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latch-idp/latch/internal/pg"
)

// ErrInvalidKey means a recovery key is unknown, already used, voided by a
// newer set, malformed or another account's. The cases share one answer so
// that a guesser learns nothing from which of them it was.
var ErrInvalidKey = errors.New("that recovery key is not valid")

// SetSize is the number of keys in a set (docs/design.md §Policies P14).
const SetSize = 10

const (
	// keyBytes is the randomness of one key: 120 bits, above the 112 bits
	// docs/design.md §Policies P14 asks for (NIST SP 800-63B's minimum for a
	// look-up secret).
	keyBytes = 15
	// keyChars is the length of a key in base32 without dashes: 8 bits per
	// byte, 5 per character, and 120 is a multiple of 5, so no padding.
	keyChars = keyBytes * 8 / 5
	// groupSize is the length of the dash-separated groups a key is shown
	// in, so that a person can keep their place while typing it.
	groupSize = 4
)

// b32 is the RFC 4648 base32 alphabet (A–Z and 2–7) without padding: one
// case, and none of the digits 0, 1 and 8 that are easily taken for the
// letters O, I and B.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Keys stores recovery keys.
//
// Only the SHA-256 of each key is stored. A fast, unsalted hash is the right
// tool here, unlike for passwords: a key has 120 random bits, so even with
// the table in hand nobody can guess a key offline by trying candidates,
// however fast the hash, and an unsalted hash lets the unique index find
// the key in one look-up.
type Keys struct {
	DB  *pgxpool.Pool
	Now func() time.Time
}

// NewKeys returns Keys with the real clock.
func NewKeys(db *pgxpool.Pool) *Keys {
	return &Keys{DB: db, Now: time.Now}
}

// Generate makes a new set of SetSize keys for the account and returns them
// in clear, the only time they exist in clear: the caller shows them once.
// In the same transaction it deletes the account's previous set, so a new
// set voids the old one, and anyone who saw the old keys loses them.
//
// Each key is keyBytes random bytes in base32, shown in groups of four
// joined by dashes: "ABCD-EFGH-IJKL-MNOP-QRST-UVWX".
func (k *Keys) Generate(ctx context.Context, accountID string) ([]string, error) {
	var keys []string
	err := pgx.BeginFunc(ctx, k.DB, func(tx pgx.Tx) error {
		var err error
		keys, err = k.GenerateTx(ctx, tx, accountID)
		return err
	})
	return keys, err
}

// GenerateTx is Generate inside a caller's transaction, so that the new set,
// its activity record and the change that asked for it commit together.
func (k *Keys) GenerateTx(ctx context.Context, tx pgx.Tx, accountID string) ([]string, error) {
	keys := make([]string, SetSize)
	hashes := make([][]byte, SetSize)
	for i := range keys {
		raw := make([]byte, keyBytes)
		rand.Read(raw)
		plain := b32.EncodeToString(raw)
		keys[i] = group(plain)
		hashes[i] = hashKey(plain)
	}
	now := k.Now().UTC()
	// Two Generates of one account run one after the other, or each would
	// delete only the committed set and both new sets would survive. The
	// lock is the account's within recovery's own keys (a transaction
	// advisory lock): the account row belongs to package authn, and
	// locking it would also queue behind its credential changes.
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('recovery_keys:' || $1::text, 0))`, accountID)
	if err == nil {
		_, err = tx.Exec(ctx, `DELETE FROM recovery_keys WHERE account_id = $1`, accountID)
	}
	if err == nil {
		_, err = tx.Exec(ctx, `
			WITH s AS (SELECT gen_random_uuid() AS id)
			INSERT INTO recovery_keys (account_id, set_id, key_hash, created_at)
			SELECT $1, s.id, h, $3 FROM s, unnest($2::bytea[]) AS h`,
			accountID, hashes, now)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" { // foreign_key_violation
		return nil, fmt.Errorf("recovery: generate: no account %s", accountID)
	}
	if err != nil {
		return nil, fmt.Errorf("recovery: generate: %w", err)
	}
	return keys, nil
}

// Status describes an account's recovery keys for its security page.
type Status struct {
	HasSet    bool      // the account has a set, used up or not
	Total     int       // keys in the set
	Remaining int       // keys not used yet
	CreatedAt time.Time // when the set was made; zero without a set
}

// Status reports the account's current set.
func (k *Keys) Status(ctx context.Context, accountID string) (Status, error) {
	return k.StatusTx(ctx, k.DB, accountID)
}

// StatusTx is Status as q sees it: inside a transaction that has just used
// a key, the key counts as used.
func (k *Keys) StatusTx(ctx context.Context, q pg.Querier, accountID string) (Status, error) {
	var s Status
	var created *time.Time
	err := q.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE used_at IS NULL), max(created_at)
		FROM recovery_keys WHERE account_id = $1`, accountID).Scan(&s.Total, &s.Remaining, &created)
	if err != nil {
		return Status{}, fmt.Errorf("recovery: status: %w", err)
	}
	if created != nil {
		s.HasSet, s.CreatedAt = true, *created
	}
	return s, nil
}

// Use burns one of the account's keys, or returns ErrInvalidKey. The key is
// found by the hash of its normalized form together with the account id, so
// another account's key is refused, and it is marked used by one UPDATE
// whose condition is that it was not used yet: of two simultaneous uses of
// one key exactly one wins.
//
// Comparing hashes through an index is not a timing leak worth closing:
// what an attacker could learn is how much of a SHA-256 output matched,
// which says nothing about the key.
//
// q is the caller's transaction when the key must burn together with what
// it unlocks (a new session, say), so that neither happens without the
// other; otherwise pass the pool.
func (k *Keys) Use(ctx context.Context, q pg.Querier, accountID, key string) error {
	plain, ok := normalize(key)
	if !ok {
		return ErrInvalidKey
	}
	var id string
	err := q.QueryRow(ctx, `UPDATE recovery_keys SET used_at = $3
		WHERE key_hash = $1 AND account_id = $2 AND used_at IS NULL RETURNING id`,
		hashKey(plain), accountID, k.Now().UTC()).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrInvalidKey
	}
	if err != nil {
		return fmt.Errorf("recovery: use: %w", err)
	}
	return nil
}

// group writes a key in groups of groupSize joined by dashes.
func group(plain string) string {
	var b strings.Builder
	for i := 0; i < len(plain); i += groupSize {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(plain[i:min(i+groupSize, len(plain))])
	}
	return b.String()
}

// normalize turns a key as a person typed it into the form that is hashed,
// and reports whether it can be a key at all. It ignores case, spaces and
// dashes, and reads the digits 0, 1 and 8 as the letters O, I and B. Those
// digits are not in the base32 alphabet, so no correctly typed key changes
// and no two keys become one: the mapping only rescues a misreading that
// would otherwise fail, and every guess still matches at most one key.
func normalize(key string) (string, bool) {
	var b strings.Builder
	for _, r := range key {
		switch {
		case r == '-' || unicode.IsSpace(r):
			continue
		case r == '0':
			r = 'O'
		case r == '1':
			r = 'I'
		case r == '8':
			r = 'B'
		case 'a' <= r && r <= 'z':
			r -= 'a' - 'A'
		}
		if !('A' <= r && r <= 'Z' || '2' <= r && r <= '7') {
			return "", false
		}
		if b.Len() == keyChars {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != keyChars {
		return "", false
	}
	return b.String(), true
}

// hashKey is what is stored of a key: the SHA-256 of its normalized form.
func hashKey(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

// Check reports which set an unused key of the account belongs to, without
// burning it: advanced security asks the person to type one key back to
// prove the set was saved, and that must not use the key up.
func (k *Keys) Check(ctx context.Context, accountID, key string) (string, error) {
	plain, ok := normalize(key)
	if !ok {
		return "", ErrInvalidKey
	}
	var set string
	err := k.DB.QueryRow(ctx, `SELECT set_id::text FROM recovery_keys
		WHERE key_hash = $1 AND account_id = $2 AND used_at IS NULL`, hashKey(plain), accountID).Scan(&set)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrInvalidKey
	}
	return set, err
}

// CurrentSet returns the id of the account's current key set, or "".
func (k *Keys) CurrentSet(ctx context.Context, accountID string) (string, error) {
	var set string
	err := k.DB.QueryRow(ctx, `SELECT set_id::text FROM recovery_keys WHERE account_id = $1 LIMIT 1`, accountID).Scan(&set)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return set, err
}
