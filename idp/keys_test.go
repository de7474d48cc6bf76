package idp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// unreachable is a pool whose server does not exist: every query fails the
// way a database that is down does.
func unreachable(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), "host="+t.TempDir()+" port=5432 user=latch dbname=latch connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestKeysOutliveAnOutage: keys read before the database went away keep
// signing and verifying; without any, the error says latch could not ask.
func TestKeysOutliveAnOutage(t *testing.T) {
	now := time.Now()
	k := &Keys{DB: unreachable(t), Now: func() time.Time { return now }}
	if _, err := k.SigningKey(t.Context()); err == nil {
		t.Fatal("keys out of nothing")
	}
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k.current = &signingKey{id: "k1", key: priv}
	k.public = []op.Key{&publicKey{id: "k1", key: &priv.PublicKey}}
	k.loadedAt = now.Add(-time.Hour) // due for a reload that cannot happen
	sk, err := k.SigningKey(t.Context())
	if err != nil || sk.ID() != "k1" {
		t.Fatalf("signing key during an outage: %v, %v", sk, err)
	}
	keys, err := k.KeySet(t.Context())
	if err != nil || len(keys) != 1 || keys[0].ID() != "k1" {
		t.Fatalf("key set during an outage: %v, %v", keys, err)
	}
}
