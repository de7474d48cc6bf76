package pg

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Open returns a connection pool for dsn (a postgres:// URL or a keyword/value
// string) once the server has answered a ping, so that a wrong URL stops
// latch at start rather than at the first request. Its errors are one line:
// "database URL invalid: ..." or "database unreachable: ...".
//
// Unless the DSN sets pool_max_conns, the pool holds up to two connections
// per usable CPU (GOMAXPROCS, which follows the container's CPU limit), at
// least four: requests spend their database time mostly waiting on the
// server, so a second connection per CPU keeps the CPUs busy without
// crowding the server. Statements are prepared and cached per connection,
// pgx's default.
//
// Options adjust the configuration before the pool is made; tests use one
// to trace statements.
func Open(ctx context.Context, dsn string, options ...func(*pgxpool.Config)) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in this message.
		return nil, fmt.Errorf("database URL invalid: %s", oneLine(err))
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = int32(max(4, 2*runtime.GOMAXPROCS(0)))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// Without a timeout, a server behind a firewall that drops packets
		// holds start-up for the operating system's TCP timeout, minutes.
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	for _, o := range options {
		o(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database unreachable: %s", oneLine(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database unreachable: %s", oneLine(err))
	}
	return pool, nil
}

// oneLine joins the lines of a multi-line error, such as pgx's report of
// every address it tried.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
