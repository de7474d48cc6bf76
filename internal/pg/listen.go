package pg

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Listener holds a LISTEN on one channel over a connection of its own (a
// pooled connection cannot stay in LISTEN), reconnecting with backoff when
// the connection breaks. latch's replicas use it to hear ended sessions and
// new jobs from each other.
type Listener struct {
	DB      *pgxpool.Pool
	Channel string
	// Name is the connection's application_name, so operators (and tests)
	// can tell the listeners apart in pg_stat_activity.
	Name string
	// OnUp runs each time the LISTEN is in place, before any notification:
	// notifications sent while it was down are lost, so callers catch up.
	OnUp func()
	// OnNotify runs for each notification.
	OnNotify func(payload string)
	// OnDown runs each time a listening connection is lost.
	OnDown func(err error)
	// PingEvery and PingTimeout are how a silent connection is told from a
	// dead one (see once); zero means DefaultPingEvery and
	// DefaultPingTimeout.
	PingEvery, PingTimeout time.Duration
}

// A listening connection only reads, so a dead one can go unnoticed: when
// the server is SIGSTOPped, or a network path between latch and the server
// drops packets without a reset, no error ever arrives, and the connection
// waits for notifications that will never come. For the server that is
// stopped this is harmless, since nothing can commit while it is (and after
// SIGCONT the same connection delivers what was sent), but a replica cut off
// by the network from a server that others still reach would keep trusting
// a cache whose invalidations no longer arrive. So after PingEvery without a
// notification the listener pings its connection, and a ping unanswered
// within PingTimeout counts as a lost connection: OnDown runs (the caches
// stop trusting themselves) within PingEvery+PingTimeout, 4 seconds by
// default, and the listener reconnects. The cost is one round trip every
// two seconds per listener.
const (
	DefaultPingEvery   = 2 * time.Second
	DefaultPingTimeout = 2 * time.Second
)

// Run listens until ctx ends.
func (l Listener) Run(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		listened, err := l.once(ctx)
		if listened {
			backoff = 50 * time.Millisecond
			if ctx.Err() == nil && l.OnDown != nil {
				l.OnDown(err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// once holds one connection until it fails, reporting whether LISTEN was in
// place at all.
func (l Listener) once(ctx context.Context) (bool, error) {
	cfg := l.DB.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = l.Name
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	every, timeout := l.PingEvery, l.PingTimeout
	if every <= 0 {
		every = DefaultPingEvery
	}
	if timeout <= 0 {
		timeout = DefaultPingTimeout
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	_, err = conn.Exec(lctx, "LISTEN "+pgx.Identifier{l.Channel}.Sanitize())
	cancel()
	if err != nil {
		return false, err
	}
	if l.OnUp != nil {
		l.OnUp()
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, every)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil && ctx.Err() == nil && wctx.Err() != nil && !conn.IsClosed() {
			// Quiet for a while: ask the server whether it is still there.
			// A wait cut short by its deadline leaves the connection usable.
			pctx, cancel := context.WithTimeout(ctx, timeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("listening connection did not answer a ping within %s: %w", timeout, err)
			}
			continue
		}
		if err != nil {
			return true, err
		}
		if l.OnNotify != nil {
			l.OnNotify(n.Payload)
		}
	}
}

// Worker runs work whenever a notification on channel says there is some,
// and on every poll tick (retries come due, and notifications may be lost
// while a connection is down), until ctx ends. work returns how many items
// it handled; it is called again at once while it finds work.
func Worker(ctx context.Context, db *pgxpool.Pool, channel, name string, poll time.Duration, logger *slog.Logger,
	work func(context.Context) (int, error)) {
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Listener{DB: db, Channel: channel, Name: name, OnUp: poke, OnNotify: func(string) { poke() },
			OnDown: func(err error) { logger.Warn("notifications lost, reconnecting", "listener", name, "err", err) },
		}.Run(ctx)
	}()
	defer func() { <-done }()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for {
			n, err := work(ctx)
			if err != nil && ctx.Err() == nil {
				logger.Error("background work", "worker", name, "err", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
	}
}
