package sessions

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/latch-idp/latch/internal/pg"
)

// maxCached bounds the cache; past it the cache starts over.
const maxCached = 100_000

// Cache keeps live device sessions found by cookie, so a request does not
// read the database to learn that its session is alive. It is only as good
// as its invalidation: each replica LISTENs for ended sessions on a
// connection of its own and drops them at once. While that connection is
// down the cache is not trusted at all (every lookup reads the database,
// and while the database is away too the caller answers 503, never "signed
// out"), and when it comes back the cache starts empty, because
// notifications sent meanwhile were lost. A connection that goes silent
// without an error (a hung server or network) counts as down once it
// misses a ping (pg.Listener).
type Cache struct {
	mu         sync.Mutex
	trusted    bool
	generation uint64
	bySecret   map[string]Device
	byID       map[string][]string

	listening bool
	// Name is the application_name of this replica's listener connection,
	// so operators (and tests) can tell replicas apart in pg_stat_activity.
	Name string
}

func newCache() *Cache {
	return &Cache{bySecret: map[string]Device{}, byID: map[string][]string{}}
}

// get returns a copy of a cached session.
func (c *Cache) get(key string) (Device, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.trusted {
		return Device{}, false
	}
	d, ok := c.bySecret[key]
	return d, ok
}

// gen is read before a database lookup; put stores the result only if no
// invalidation happened in between, so a session ended while it was being
// read is never cached as live.
func (c *Cache) gen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.generation
}

func (c *Cache) put(key string, d Device, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.trusted || gen != c.generation {
		return
	}
	if len(c.bySecret) >= maxCached {
		c.bySecret, c.byID = map[string]Device{}, map[string][]string{}
	}
	c.bySecret[key] = d
	c.byID[d.ID] = append(c.byID[d.ID], key)
}

func (c *Cache) touched(key string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.bySecret[key]; ok {
		d.LastActiveAt = at
		c.bySecret[key] = d
	}
}

// drop forgets a device session.
func (c *Cache) drop(id string) {
	if strings.Contains(id, ":") {
		return // an app session or tokens: the token cache's business
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	for _, k := range c.byID[id] {
		delete(c.bySecret, k)
	}
	delete(c.byID, id)
}

// reset empties the cache and sets whether it may be used.
func (c *Cache) reset(trusted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	c.trusted, c.listening = trusted, trusted
	c.bySecret, c.byID = map[string]Device{}, map[string][]string{}
}

// Listening reports whether the replica hears ended sessions right now.
func (c *Cache) Listening() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.listening
}

// EnableCache turns the cache on and listens for ended sessions until ctx
// ends, reconnecting with backoff when the connection drops. It returns the
// cache once listening has started, or after two seconds without, so
// callers can start serving either way (an untrusted cache is not used).
func (s *Store) EnableCache(ctx context.Context, logger *slog.Logger) *Cache {
	c := newCache()
	suffix, _ := NewSecret()
	c.Name = "latch-sessions-" + strings.ToLower(suffix[:8])
	s.cache = c
	started := make(chan struct{})
	var once sync.Once
	go pg.Listener{DB: s.DB, Channel: ChannelEnded, Name: c.Name,
		OnUp: func() {
			// Notifications sent while nobody listened are lost: start empty.
			c.reset(true)
			once.Do(func() { close(started) })
		},
		OnNotify: c.drop,
		OnDown: func(err error) {
			c.reset(false)
			logger.Warn("session listener down; not trusting the session cache until it is back", "err", err)
		},
	}.Run(ctx)
	select {
	case <-started:
	case <-time.After(2 * time.Second):
	}
	return c
}
