package seed

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latch-idp/latch/authn"
)

// Size says how much to seed. Everything else is derived per account; see
// the package documentation for the shape.
type Size struct {
	Accounts int
}

// batchAccounts is how many accounts one statement covers. Each table's
// statement for a batch commits on its own, so no transaction grows with
// the total: at 50,000 accounts the largest statement (refresh_tokens)
// writes 600,000 rows.
const batchAccounts = 50_000

// password is what every seeded account with a password signs in with.
const password = "seed-password-correct-horse"

// Password returns the password of every seeded account that has one
// (every standard account; advanced accounts have none, see Advanced).
func Password() string { return password }

// Email returns the email address of seeded account i, counting from 0.
func Email(i int) string { return fmt.Sprintf("seed-%d@seed.example", i) }

// Advanced reports whether seeded account i has advanced security on: no
// password, two passkeys, recovery keys, short sessions.
func Advanced(i int) bool { return i%50 == 7 }

// SessionSecret returns the cookie secret of device session j (0 and 1 are
// live, 2 has ended) of seeded account i: latch stores only its SHA-256,
// so a benchmark can present it as the "latch" cookie and be signed in
// without a password sign-in.
func SessionSecret(i, j int) string { return fmt.Sprintf("seed-session-%d-%d", i, j) }

// RefreshToken returns the current (not rotated) refresh token of app
// session k (0: chatgpt-web, 1: codex-web) in device session j of seeded
// account i. Those of live device sessions (j 0 and 1) can be redeemed.
func RefreshToken(i, j, k int) string { return fmt.Sprintf("seed-refresh-%d-%d-%d-1", i, j, k) }

// Progress is told about every statement Seed runs: the table a batch's
// statement wrote and how many rows, or "analyze <table>" and 0 at the
// end, and how long it took. Batches run concurrently, but Seed calls it
// from one goroutine at a time.
type Progress func(table string, rows int64, took time.Duration)

// Seed fills a migrated, empty latch database with size.Accounts accounts
// and everything that hangs off them, in the shape the package
// documentation describes, with set-based INSERT ... SELECT statements over
// generate_series in batches of accounts, each statement committed on its
// own. It refuses a database that already has accounts. Should it fail
// midway, the rows of the batches done so far stay: seed a fresh database.
//
// Batches run on up to GOMAXPROCS connections of db at once (at most the
// pool's size), taken out of the pool for the duration and closed after,
// as they carry session settings (synchronous_commit off) and temporary
// functions. At the end every seeded table is analyzed. progress may be nil.
func Seed(ctx context.Context, db *pgxpool.Pool, size Size, progress Progress) error {
	if size.Accounts <= 0 {
		return errors.New("seed: Size.Accounts must be positive")
	}
	var taken bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT FROM accounts)`).Scan(&taken); err != nil {
		return fmt.Errorf("seed: is the database migrated? %w", err)
	}
	if taken {
		return errors.New("seed: the database already has accounts; seed an empty one")
	}
	// One hash for every account: argon2id is slow on purpose (tens of
	// milliseconds), and a hash per account would take days at 10 million.
	hash, err := authn.NewHasher(authn.DefaultArgon2, 1, time.Minute).Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("seed: hash password: %w", err)
	}
	fns, err := functions()
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}

	var mu sync.Mutex
	report := func(table string, rows int64, took time.Duration) {
		if progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		progress(table, rows, took)
	}

	// A worker that fails cancels the others and the batches to come.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan [2]int64)
	go func() {
		defer close(batches)
		for lo := int64(0); lo < int64(size.Accounts); lo += batchAccounts {
			hi := min(lo+batchAccounts, int64(size.Accounts)) - 1
			select {
			case batches <- [2]int64{lo, hi}:
			case <-ctx.Done():
				return
			}
		}
	}()

	nbatches := (size.Accounts + batchAccounts - 1) / batchAccounts
	workers := max(1, min(runtime.GOMAXPROCS(0), int(db.Config().MaxConns), nbatches))
	errs := make(chan error, workers)
	for range workers {
		go func() {
			err := work(ctx, db, batches, hash, fns, report)
			if err != nil {
				cancel()
			}
			errs <- err
		}()
	}
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	// Drain, in case the workers stopped early.
	for range batches {
	}
	if first != nil {
		return first
	}
	for _, t := range tables {
		start := time.Now()
		if _, err := db.Exec(ctx, "ANALYZE "+t.name); err != nil {
			return fmt.Errorf("seed: analyze %s: %w", t.name, err)
		}
		report("analyze "+t.name, 0, time.Since(start))
	}
	return nil
}

// work seeds batches on a connection of its own until there are none left.
func work(ctx context.Context, db *pgxpool.Pool, batches <-chan [2]int64, hash, fns string,
	report Progress) error {
	pc, err := db.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	// Hijacked, the connection leaves the pool for good: its session state
	// (settings, temporary functions) must not leak into latch's queries.
	conn := pc.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SET synchronous_commit = off"); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if _, err := conn.Exec(ctx, fns); err != nil {
		return fmt.Errorf("seed: create functions: %w", err)
	}
	for b := range batches {
		if err := seedBatch(ctx, conn, b[0], b[1], hash, report); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// seedBatch writes accounts lo to hi (inclusive) and everything of theirs,
// parents before children, one committed statement per table. Its times
// are relative to the moment it begins, so each batch is as fresh as it
// can be: short-lived state (access tokens, advanced sessions' 15-minute
// idle limit) ages from then, as it would in a running latch.
func seedBatch(ctx context.Context, conn *pgx.Conn, lo, hi int64, hash string, report Progress) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, t := range tables {
		args := []any{now, lo, hi}
		if t.name == "passwords" {
			args = append(args, hash)
		}
		start := time.Now()
		tag, err := conn.Exec(ctx, t.sql, args...)
		if err != nil {
			return fmt.Errorf("seed: %s, accounts %d to %d: %w", t.name, lo, hi, err)
		}
		report(t.name, tag.RowsAffected(), time.Since(start))
	}
	return nil
}

// DeviceID returns the id (the OIDC sid) of device session j of seeded
// account i, as the seed's SQL makes it: md5('seed-device-i-j') read as a
// UUID.
func DeviceID(i, j int) string {
	h := fmt.Sprintf("%x", md5.Sum([]byte(fmt.Sprintf("seed-device-%d-%d", i, j))))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
