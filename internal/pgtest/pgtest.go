// Package pgtest gives tests a real PostgreSQL database of their own.
//
// A test binary calls Main from TestMain. Main starts one throwaway cluster
// for the whole binary (or uses the server that LATCH_TEST_DATABASE_URL names)
// and migrates a template database once; each test then gets a fresh copy of
// the template from New or NewDSN, which is quicker than migrating and keeps
// tests from seeing each other's rows, so they may run in parallel.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		pool := pgtest.New(t)
//		...
//	}
//
// Nothing here skips a test: without PostgreSQL the binary fails, loudly.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/migrations"
)

// EnvURL names the environment variable that points tests at an existing
// server instead of a throwaway cluster. Its user must be allowed to create
// databases.
const EnvURL = "LATCH_TEST_DATABASE_URL"

// server is the state Main sets up and New uses. It is package state because
// TestMain and the tests share nothing else; it is written once, before any
// test runs.
var server *harness

type harness struct {
	adminDSN string        // a database to run CREATE and DROP DATABASE from
	admin    *pgxpool.Pool // connected to adminDSN
	template string        // migrated database each test database copies
}

// Main sets the database up, runs the tests, tears the database down and
// exits with the tests' status. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	adminDSN := os.Getenv(EnvURL)
	if adminDSN == "" {
		dir, cluster, err := startCluster(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		// The tests have run and their verdict is the exit code; a server
		// that stops badly is killed (Cluster.Stop) and its directory goes.
		defer cluster.Stop(ctx)
		adminDSN = withDatabase(cluster.DSN(), "postgres")
	}
	h, err := setUp(ctx, adminDSN)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	defer h.tearDown(ctx)
	server = h
	return m.Run()
}

// startCluster starts a cluster in a new directory under the system's
// temporary directory. Not t.TempDir: as root that is 0700, and the postgres
// user must be able to pass through it.
func startCluster(ctx context.Context) (string, *pg.Cluster, error) {
	dir, err := os.MkdirTemp("", "latch-pgtest-")
	if err != nil {
		return "", nil, err
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	c, err := pg.Start(ctx, pg.ClusterConfig{Dir: filepath.Join(dir, "pg")})
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, c, nil
}

// setUp creates and migrates the template. Its name is unique because test
// binaries of several packages run at once and may share one server.
func setUp(ctx context.Context, adminDSN string) (*harness, error) {
	admin, err := pg.Open(ctx, adminDSN)
	if err != nil {
		return nil, err
	}
	h := &harness{adminDSN: adminDSN, admin: admin, template: uniqueName("latch_template")}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+h.template); err != nil {
		admin.Close()
		return nil, fmt.Errorf("create template database: %w", err)
	}
	if err := h.migrateTemplate(ctx); err != nil {
		h.tearDown(ctx)
		return nil, err
	}
	return h, nil
}

func (h *harness) migrateTemplate(ctx context.Context) error {
	pool, err := pg.Open(ctx, withDatabase(h.adminDSN, h.template))
	if err != nil {
		return err
	}
	err = migrations.Up(ctx, pool)
	// Copying needs the template to have no connections, so close the pool
	// and then refuse any new ones: a stray connection would make every
	// CREATE DATABASE fail.
	pool.Close()
	if err != nil {
		return err
	}
	_, err = h.admin.Exec(ctx, "ALTER DATABASE "+h.template+" WITH ALLOW_CONNECTIONS false")
	return err
}

func (h *harness) tearDown(ctx context.Context) {
	if _, err := h.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+h.template+" WITH (FORCE)"); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest: drop template database:", err)
	}
	h.admin.Close()
}

// New returns a pool on a fresh, migrated database that belongs to t alone
// and is dropped when t ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dsn := NewDSN(t)
	pool, err := pg.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// Registered after NewDSN's cleanup, so it runs before the drop.
	t.Cleanup(pool.Close)
	return pool
}

// NewDSN returns the DSN of a fresh, migrated database that belongs to t
// alone and is dropped when t ends, for tests that start a whole latch with
// --database-url.
func NewDSN(t testing.TB) string {
	t.Helper()
	if server == nil {
		t.Fatal("pgtest: no database server: call pgtest.Main(m) from TestMain")
	}
	name := uniqueName("latch_test")
	_, err := server.admin.Exec(t.Context(), "CREATE DATABASE "+name+" TEMPLATE "+server.template)
	if err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends connections the test left open, such as those of a
		// latch server it started.
		if _, err := server.admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(server.adminDSN, name)
}

// uniqueName returns prefix followed by random hex: a valid identifier that
// needs no quoting, unique across test binaries sharing a server.
func uniqueName(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// withDatabase returns dsn with its database replaced by db.
func withDatabase(dsn, db string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			u.Path = "/" + db
			u.RawPath = ""
			return u.String()
		}
	}
	// In a keyword/value string, the last setting of a keyword wins.
	return dsn + " dbname=" + db
}

// Terminate ends every connection to the test server whose
// application_name is name (a replica's listening connection, say), as a
// network fault would, and returns how many it ended.
func Terminate(t testing.TB, name string) int {
	t.Helper()
	if server == nil {
		t.Fatal("pgtest: no database server: call pgtest.Main(m) from TestMain")
	}
	var n int
	if err := server.admin.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		name).Scan(&n); err != nil {
		t.Fatalf("pgtest: terminate %s: %v", name, err)
	}
	return n
}
