package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/internal/seal"
	"github.com/latch-idp/latch/migrations"
)

// database is an open pool plus whatever must happen to close it (stopping
// latch's own PostgreSQL and releasing the data directory).
type database struct {
	Pool   *pgxpool.Pool
	Master *seal.MasterKey
	stop   func(context.Context) error
	// postgres keeps latch's own PostgreSQL running, for serve and dev;
	// nil with --database-url and for the other commands.
	postgres *pg.Supervisor
}

// Failed receives an error when latch's own PostgreSQL cannot be kept
// running; it never does with --database-url, where latch answers 503
// until the server is back.
func (d *database) Failed() <-chan error {
	if d.postgres == nil {
		return nil
	}
	return d.postgres.Failed()
}

func (d *database) Close(ctx context.Context) error {
	if d.Pool != nil {
		d.Pool.Close()
	}
	if d.stop != nil {
		return d.stop(ctx)
	}
	return nil
}

// restartPolicy is how hard serve and dev try to keep their own
// PostgreSQL running; tests make it give up sooner.
var restartPolicy = pg.DefaultRestartPolicy

// openDatabase connects to --database-url, or runs latch's own PostgreSQL
// under --data-dir. owner is true for serve and dev, which take the data
// directory for themselves; other commands attach to a running owner's
// PostgreSQL or start one briefly. Migrations are applied either way.
func openDatabase(ctx context.Context, cfg *Config, logger *slog.Logger, owner bool) (*database, error) {
	db := &database{}
	dsn := cfg.DatabaseURL
	if dsn == "" {
		if _, err := pg.FindBinaries(); err != nil {
			return nil, err
		}
		if owner {
			lock, err := pg.Lock(cfg.DataDir)
			if err != nil {
				return nil, err
			}
			// A long-running latch restarts its PostgreSQL when it dies
			// (killed, crashed): the pool reconnects by itself, and requests
			// meanwhile answer 503.
			sup, err := lock.Supervise(ctx, logger, restartPolicy)
			if err != nil {
				return nil, errors.Join(err, lock.Release())
			}
			dsn = sup.DSN()
			db.postgres = sup
			db.stop = func(ctx context.Context) error { return errors.Join(sup.Stop(ctx), lock.Release()) }
		} else {
			var err error
			dsn, db.stop, err = pg.Attach(ctx, cfg.DataDir, logger)
			if err != nil {
				return nil, err
			}
		}
	}
	fail := func(err error) (*database, error) {
		return nil, errors.Join(err, db.Close(context.Background()))
	}
	var err error
	if db.Master, err = loadMasterKey(cfg); err != nil {
		return fail(err)
	}
	var options []func(*pgxpool.Config)
	if cfg.queryTracer != nil {
		options = append(options, func(c *pgxpool.Config) { c.ConnConfig.Tracer = cfg.queryTracer })
	}
	if db.Pool, err = pg.Open(ctx, dsn, options...); err != nil {
		return fail(err)
	}
	if err := migrations.Up(ctx, db.Pool); err != nil {
		return fail(fmt.Errorf("migrations: %w", err))
	}
	return db, nil
}

// loadMasterKey reads --master-key-file, or on latch's own PostgreSQL the
// key generated into the data directory on first start.
func loadMasterKey(cfg *Config) (*seal.MasterKey, error) {
	path := cfg.MasterKeyFile
	if path == "" {
		path = filepath.Join(cfg.DataDir, "master.key")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(path, []byte(seal.NewMasterKeyText()), 0o600); err != nil {
				return nil, fmt.Errorf("--master-key-file: cannot create %s: %v", path, err)
			}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--master-key-file: cannot read %s", path)
	}
	k, err := seal.ParseMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("--master-key-file: %s: %v", path, err)
	}
	return k, nil
}
