package idp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/internal/seal"
)

// KeyOverlap is how long a retired signing key stays in the JWKS: longer than
// any token it signed lives (ID tokens 1 hour, access tokens 5 minutes,
// logout tokens 2 minutes), so every token still verifies until it expires.
const KeyOverlap = 24 * time.Hour

// keyCacheTTL bounds how long a replica keeps signing with a key after
// another process rotated it. The old key stays published for KeyOverlap, so
// tokens it signs meanwhile still verify.
const keyCacheTTL = 30 * time.Second

// Keys manages ES256 signing keys in the database, the private halves sealed
// with the master key.
type Keys struct {
	DB     *pgxpool.Pool
	Sealer *seal.Sealer
	Now    func() time.Time

	mu       sync.Mutex
	loading  bool // a read of the keys is under way
	loadedAt time.Time
	current  *signingKey
	public   []op.Key
}

// NewKeys returns the key store.
func NewKeys(db *pgxpool.Pool, master *seal.MasterKey) *Keys {
	return &Keys{DB: db, Sealer: master.Sealer("signing-keys"), Now: time.Now}
}

type signingKey struct {
	id  string
	key *ecdsa.PrivateKey
}

var _ op.SigningKey = (*signingKey)(nil)

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct {
	id  string
	key *ecdsa.PublicKey
}

var _ op.Key = (*publicKey)(nil)

func (k *publicKey) ID() string                         { return k.id }
func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any                           { return k.key }

// Rotate creates a new signing key, which signs from now on; the previous one
// is retired and stays published for KeyOverlap.
func (k *Keys) Rotate(ctx context.Context) (string, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return "", err
	}
	idb := make([]byte, 12)
	rand.Read(idb)
	id := base64.RawURLEncoding.EncodeToString(idb)
	jwk, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey, KeyID: id, Algorithm: string(jose.ES256), Use: "sig"})
	if err != nil {
		return "", err
	}
	now := k.Now().UTC()
	err = pgx.BeginFunc(ctx, k.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL`, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO signing_keys (id, algorithm, private_key, public_jwk, created_at)
			VALUES ($1, 'ES256', $2, $3, $4)`, id, k.Sealer.Seal(der, []byte(id)), jwk, now)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("rotate signing key: %w", err)
	}
	k.mu.Lock()
	k.loadedAt = time.Time{}
	k.mu.Unlock()
	return id, nil
}

// EnsureKey creates the first signing key when there is none. Several
// replicas starting together may race here; a transaction-scoped advisory
// lock lets one of them create the key.
func (k *Keys) EnsureKey(ctx context.Context) error {
	var n int
	err := pgx.BeginFunc(ctx, k.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(727274)`); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM signing_keys WHERE retired_at IS NULL`).Scan(&n)
	})
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	if n == 0 {
		_, err = k.Rotate(ctx)
	}
	if err == nil {
		_, err = k.load(ctx)
	}
	return err
}

func (k *Keys) load(ctx context.Context) (*signingKey, error) {
	k.mu.Lock()
	now := k.Now()
	// While one caller reads the keys again, the others use the ones they
	// have rather than queue behind a query that may be slow or hang.
	if k.current != nil && (now.Sub(k.loadedAt) < keyCacheTTL || k.loading) {
		defer k.mu.Unlock()
		return k.current, nil
	}
	k.loading = true
	k.mu.Unlock()
	current, public, err := k.read(ctx, now)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.loading = false
	if err != nil {
		// While the database is away, the keys read last stay good: every
		// token signed with them still verifies (a JWT access token is not
		// called invalid because latch could not re-read its keys), and
		// what latch signs meanwhile verifies for as long as another
		// process's rotation keeps the old key published (KeyOverlap).
		if k.current != nil && pg.Unavailable(err) {
			return k.current, nil
		}
		return nil, err
	}
	k.current, k.public, k.loadedAt = current, public, now
	return current, nil
}

// read loads the current signing key and every published public key.
func (k *Keys) read(ctx context.Context, now time.Time) (*signingKey, []op.Key, error) {
	rows, err := k.DB.Query(ctx, `SELECT id, private_key, public_jwk, retired_at FROM signing_keys
		WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC`, now.Add(-KeyOverlap).UTC())
	if err != nil {
		return nil, nil, fmt.Errorf("signing keys: %w", err)
	}
	defer rows.Close()
	var current *signingKey
	var public []op.Key
	for rows.Next() {
		var id string
		var sealed, jwkJSON []byte
		var retired *time.Time
		if err := rows.Scan(&id, &sealed, &jwkJSON, &retired); err != nil {
			return nil, nil, err
		}
		var jwk jose.JSONWebKey
		if err := json.Unmarshal(jwkJSON, &jwk); err != nil {
			return nil, nil, fmt.Errorf("signing key %s: %w", id, err)
		}
		pub, ok := jwk.Key.(*ecdsa.PublicKey)
		if !ok {
			return nil, nil, fmt.Errorf("signing key %s: not an EC public key", id)
		}
		public = append(public, &publicKey{id: id, key: pub})
		if retired == nil && current == nil {
			der, err := k.Sealer.Open(sealed, []byte(id))
			if err != nil {
				return nil, nil, fmt.Errorf("signing key %s: %w", id, err)
			}
			priv, err := x509.ParseECPrivateKey(der)
			if err != nil {
				return nil, nil, fmt.Errorf("signing key %s: %w", id, err)
			}
			current = &signingKey{id: id, key: priv}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if current == nil {
		return nil, nil, errors.New("no signing key: run `latch migrate` or start latch once")
	}
	return current, public, nil
}

// SigningKey is the key that signs now.
func (k *Keys) SigningKey(ctx context.Context) (op.SigningKey, error) {
	return k.load(ctx)
}

// KeySet is every published public key: the current one and those retired
// less than KeyOverlap ago. Never private material.
func (k *Keys) KeySet(ctx context.Context) ([]op.Key, error) {
	if _, err := k.load(ctx); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.public, nil
}

// Signer returns a JOSE signer for the current key, for tokens latch signs
// outside the library (logout tokens).
func (k *Keys) Signer(ctx context.Context) (jose.Signer, error) {
	sk, err := k.load(ctx)
	if err != nil {
		return nil, err
	}
	return op.SignerFromKey(sk)
}
