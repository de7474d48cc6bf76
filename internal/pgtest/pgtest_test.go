package pgtest

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/migrations"
)

func TestMain(m *testing.M) { Main(m) }

// TestDatabasesAreIsolated writes to one test's database and checks that
// another's does not see it.
func TestDatabasesAreIsolated(t *testing.T) {
	t.Parallel()
	a, b := New(t), New(t)
	if _, err := a.Exec(t.Context(), "CREATE TABLE only_in_a (v int)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("a table created in one test database is visible in another")
	}
}

// TestDatabaseIsDropped checks that a test's database goes away with the
// test, connections and all.
func TestDatabaseIsDropped(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("user", func(t *testing.T) {
		New(t) // an open pool the drop must force out
		dsn, err := pgx.ParseConfig(NewDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		name = dsn.Database
	})
	var exists bool
	err := server.admin.QueryRow(t.Context(), "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	if name == "" || exists {
		t.Fatalf("database %q still exists after its test", name)
	}
}

func TestDatabaseIsMigrated(t *testing.T) {
	t.Parallel()
	pool := New(t)
	pending, err := migrations.Pending(t.Context(), pool)
	if err != nil {
		t.Fatal(err)
	}
	if pending {
		t.Fatal("test database has pending migrations")
	}
	var version int64
	if err := pool.QueryRow(t.Context(), "SELECT max(version_id) FROM goose_db_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 1 {
		t.Fatalf("applied version = %d, want at least 1", version)
	}
}

// TestReplicasMigrateTogether runs Up from several pools at once on an empty
// database, as replicas starting together do: the advisory lock makes them
// take turns, so all succeed and the schema is applied once.
func TestReplicasMigrateTogether(t *testing.T) {
	t.Parallel()
	name := uniqueName("latch_test")
	if _, err := server.admin.Exec(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.admin.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)") })
	dsn := withDatabase(server.adminDSN, name)

	pool, err := pg.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if pending, err := migrations.Pending(t.Context(), pool); err != nil || !pending {
		t.Fatalf("Pending() on an empty database = %v, %v; want true", pending, err)
	}

	const replicas = 3
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() {
			pool, err := pg.Open(t.Context(), dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			errs[i] = migrations.Up(t.Context(), pool)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	if pending, err := migrations.Pending(t.Context(), pool); err != nil || pending {
		t.Fatalf("Pending() after Up = %v, %v; want false", pending, err)
	}
}
