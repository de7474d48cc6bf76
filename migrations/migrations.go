// Package migrations holds latch's database schema as goose SQL migrations
// (NNNNN_name.sql, with "-- +goose Up" and "-- +goose Down" sections),
// embedded in the binary so that a deployment is the one file. cmd/latch runs
// Up at start and in `latch migrate`, the readiness probe asks Pending, and
// internal/pgtest migrates the template its test databases are cloned from.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed *.sql
var files embed.FS

// Up applies every migration not applied yet. It holds a PostgreSQL session
// advisory lock meanwhile, so replicas that start together take turns: the
// first applies the migrations and the others then find nothing to do.
func Up(ctx context.Context, pool *pgxpool.Pool) error {
	p, db, err := provider(pool)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	return nil
}

// Pending reports whether some migration is not applied yet, for the
// readiness probe: a replica must not take traffic on an older schema.
func Pending(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	// goose creates its version table when it first looks at a database; a
	// probe must not write, so an empty database is answered here.
	var table *string
	if err := pool.QueryRow(ctx, "SELECT to_regclass($1)::text", goose.DefaultTablename).Scan(&table); err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	if table == nil {
		return true, nil
	}
	p, db, err := provider(pool)
	if err != nil {
		return false, err
	}
	defer db.Close()
	pending, err := p.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	return pending, nil
}

// ForgetApplied deletes goose's record of the applied migrations and keeps
// the schema, so that Pending reports true: what a database looks like to
// a replica whose migrations were not applied. Tests of the readiness
// probe use it; latch never calls it.
func ForgetApplied(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := pool.Exec(ctx, "DELETE FROM "+goose.DefaultTablename+" WHERE version_id > 0"); err != nil {
		return fmt.Errorf("forget applied migrations: %w", err)
	}
	return nil
}

// provider returns a goose provider over the embedded migrations and a
// database/sql view of pool for it; closing that view leaves pool open.
func provider(pool *pgxpool.Pool) (*goose.Provider, *sql.DB, error) {
	// The lock is retried every second instead of goose's five, so a replica
	// waiting for another's migrations starts soon after them. Five minutes
	// in all is goose's default and room for a long migration.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, nil, err
	}
	db := stdlib.OpenDBFromPool(pool)
	p, err := goose.NewProvider(goose.DialectPostgres, db, files,
		goose.WithSessionLocker(locker),
		// Migrations are SQL only; goose's process-wide registry of Go
		// migrations must not add any.
		goose.WithDisableGlobalRegistry(true),
		// latch logs what it needs itself; goose would print to stderr.
		goose.WithLogger(goose.NopLogger()),
	)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, db, nil
}
