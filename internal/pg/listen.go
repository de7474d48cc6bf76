package pg

import (
	"context"
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
}

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
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.Channel}.Sanitize()); err != nil {
		return false, err
	}
	if l.OnUp != nil {
		l.OnUp()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
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
