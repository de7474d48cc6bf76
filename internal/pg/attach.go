package pg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// dsnFileName is where the owner of a data directory publishes the DSN of its
// running cluster for Attach to find.
const dsnFileName = "postgres.dsn"

// StartCluster starts the managed cluster of the locked data directory, in
// <data-dir>/postgres, and publishes its DSN in <data-dir>/postgres.dsn so
// that subcommands run meanwhile can Attach to it. Stopping the cluster
// withdraws the DSN. Only the lock's holder may do this, which is why it is a
// method of DirLock.
func (l *DirLock) StartCluster(ctx context.Context, logger *slog.Logger) (*Cluster, error) {
	c, err := Start(ctx, ClusterConfig{Dir: filepath.Join(l.dir, "postgres"), Logger: logger})
	if err != nil {
		return nil, err
	}
	path := filepath.Join(l.dir, dsnFileName)
	if err := writeFileAtomic(path, c.DSN()+"\n"); err != nil {
		return nil, errors.Join(fmt.Errorf("publish DSN: %w", err), c.Stop(ctx))
	}
	c.dsnFile = path
	return c, nil
}

// Attach gives a short-lived subcommand such as `latch migrate` a database in
// dataDir. If a latch already owns the directory, it returns the DSN of that
// latch's running cluster and a stop that does nothing, because starting a
// second server on the same files is impossible and stopping the owner's is
// not ours to do. Otherwise it takes the directory itself, starts the
// cluster, and returns a stop that stops it and gives the directory back.
//
// An owner that is still starting its cluster has not published a DSN yet,
// so Attach waits for it, up to 30 seconds.
func Attach(ctx context.Context, dataDir string, logger *slog.Logger) (dsn string, stop func(context.Context) error, err error) {
	waitCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		lock, err := Lock(dataDir)
		if err == nil {
			c, err := lock.StartCluster(ctx, logger)
			if err != nil {
				return "", nil, errors.Join(err, lock.Release())
			}
			stop := func(ctx context.Context) error { return errors.Join(c.Stop(ctx), lock.Release()) }
			return c.DSN(), stop, nil
		}
		if !errors.Is(err, ErrInUse) {
			return "", nil, err
		}
		dsn, dsnErr := ownersDSN(waitCtx, dataDir)
		if dsnErr == nil {
			return dsn, func(context.Context) error { return nil }, nil
		}
		select {
		case <-waitCtx.Done():
			return "", nil, fmt.Errorf("%w, but its database is not reachable: %v", err, dsnErr)
		case <-tick.C:
		}
	}
}

// ownersDSN reads the DSN the owner published and checks that it connects.
func ownersDSN(ctx context.Context, dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, dsnFileName))
	if errors.Is(err, os.ErrNotExist) {
		return "", errors.New("it has published no database address (if it uses --database-url, pass the same to this command)")
	}
	if err != nil {
		return "", err
	}
	dsn := strings.TrimSpace(string(b))
	conn, err := connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	conn.Close(ctx)
	return dsn, nil
}

// writeFileAtomic writes data to path through a rename, so that a reader
// never sees half of it.
func writeFileAtomic(path, data string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
