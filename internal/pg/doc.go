// Package pg owns latch's connection to PostgreSQL: the connection pool every
// other package queries through, and the local cluster latch runs for itself
// when no database URL is given.
//
// The managed cluster lives under <data-dir>/postgres. latch creates it with
// initdb on first use, runs the postgres server as its own child process so
// that the server dies with latch, and lets it listen on a private unix socket
// only. One process at a time owns a data directory: [Lock] takes it, and
// [Attach] lets short-lived subcommands such as `latch migrate` use the cluster
// of a `latch serve` already running there instead of starting a second one.
//
// A long-running latch (serve, dev) starts its cluster with
// [DirLock.Supervise], which restarts the server when it dies and gives up,
// for latch to exit non-zero, when it keeps dying. Other commands call
// [Attach]; all then call [Open]. The test harness in internal/pgtest calls
// [Start] directly.
package pg
