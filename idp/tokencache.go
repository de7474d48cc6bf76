package idp

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/latch-idp/latch/internal/pg"
	"github.com/latch-idp/latch/sessions"
)

// maxCachedTokens bounds the token cache. Past it, expired entries go
// first; if none have, the cache starts over.
const maxCachedTokens = 50_000

// tokenKey is the SHA-256 of a presented access token, JWT or opaque.
type tokenKey [32]byte

func keyOf(token string) tokenKey { return sha256.Sum256([]byte(token)) }

// checkedToken is an access token as this replica last read it, with what
// userinfo and introspection answer about it.
type checkedToken struct {
	accessToken
	familyID string
	email    string
	name     string
	// alive is whether the token, its app session and its device session
	// were all live when read; aliveUntil is when the device session dies
	// if nothing happens first (its absolute or idle end), as read then.
	alive      bool
	aliveUntil time.Time
}

// tokenCache keeps access tokens this replica has checked, so that userinfo
// and introspection answer a live token without a query. Like the session
// cache it is only as good as its invalidation: everything that makes a
// token stop working announces it on sessions.ChannelEnded (a device
// session's id when it ends or changes, "app:<id>" when an app session
// ends, "token:<id>" and "family:<id>" when tokens are revoked), and every
// replica drops the matching entries at once. While the listening
// connection is down nothing is served from the cache, and it starts empty
// when the connection is back.
type tokenCache struct {
	mu         sync.Mutex
	trusted    bool
	generation uint64
	byKey      map[tokenKey]*checkedToken
	// byTag indexes keys by what can invalidate them: "sid:", "app:",
	// "token:" and "family:" followed by the id.
	byTag map[string]map[tokenKey]struct{}
	// name is the application_name of the listening connection.
	name string
}

func newTokenCache() *tokenCache {
	return &tokenCache{byKey: map[tokenKey]*checkedToken{}, byTag: map[string]map[tokenKey]struct{}{}}
}

func tagsOf(t *checkedToken) [4]string {
	return [4]string{"sid:" + t.sid, "app:" + t.appSessionID, "token:" + t.id, "family:" + t.familyID}
}

// get returns a cached token, if the cache may be used.
func (c *tokenCache) get(k tokenKey) (*checkedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.trusted {
		return nil, false
	}
	t, ok := c.byKey[k]
	return t, ok
}

// gen is read before a database lookup; put stores the result only if no
// invalidation came in between, so a token revoked while it was being read
// is never cached as live.
func (c *tokenCache) gen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.generation
}

func (c *tokenCache) put(k tokenKey, t *checkedToken, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.trusted || gen != c.generation {
		return
	}
	if old, ok := c.byKey[k]; ok {
		c.unindex(k, old)
	}
	if len(c.byKey) >= maxCachedTokens {
		c.evict(now)
	}
	c.byKey[k] = t
	for _, tag := range tagsOf(t) {
		keys := c.byTag[tag]
		if keys == nil {
			keys = map[tokenKey]struct{}{}
			c.byTag[tag] = keys
		}
		keys[k] = struct{}{}
	}
}

// evict drops expired tokens, or everything when none has expired.
func (c *tokenCache) evict(now time.Time) {
	for k, t := range c.byKey {
		if !now.Before(t.expiresAt) {
			delete(c.byKey, k)
			c.unindex(k, t)
		}
	}
	if len(c.byKey) >= maxCachedTokens {
		c.byKey, c.byTag = map[tokenKey]*checkedToken{}, map[string]map[tokenKey]struct{}{}
	}
}

func (c *tokenCache) unindex(k tokenKey, t *checkedToken) {
	for _, tag := range tagsOf(t) {
		keys := c.byTag[tag]
		delete(keys, k)
		if len(keys) == 0 {
			delete(c.byTag, tag)
		}
	}
}

// drop forgets every token a notification names: a bare id is a device
// session (its tokens are keyed by sid), a prefixed one an app session, a
// token or a family.
func (c *tokenCache) drop(payload string) {
	tag := payload
	if !strings.Contains(payload, ":") {
		tag = "sid:" + payload
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	for k := range c.byTag[tag] {
		if t, ok := c.byKey[k]; ok {
			delete(c.byKey, k)
			c.unindex(k, t)
		}
	}
	delete(c.byTag, tag)
}

// reset empties the cache and sets whether it may be used.
func (c *tokenCache) reset(trusted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	c.trusted = trusted
	c.byKey, c.byTag = map[tokenKey]*checkedToken{}, map[string]map[tokenKey]struct{}{}
}

// TokenCacheSize is how many access tokens this replica holds checked,
// and the application_name of its listening connection ("" when the cache
// is off); for operators and tests.
func (s *Storage) TokenCacheSize() (n int, listener string) {
	if s.tokens == nil {
		return 0, ""
	}
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	return len(s.tokens.byKey), s.tokens.name
}

// EnableTokenCache turns the token cache on and listens for invalidations
// until ctx ends, reconnecting with backoff. It returns once listening has
// started, or after two seconds without (an untrusted cache is not used).
func (s *Storage) EnableTokenCache(ctx context.Context, logger *slog.Logger) {
	c := newTokenCache()
	s.tokens = c
	// What this replica changes is dropped at once, before the notification
	// comes back.
	s.Sessions.OnForget(c.drop)
	suffix, _ := sessions.NewSecret()
	c.name = "latch-tokens-" + strings.ToLower(suffix[:8])
	started := make(chan struct{})
	var once sync.Once
	go pg.Listener{DB: s.DB, Channel: sessions.ChannelEnded, Name: c.name,
		OnUp: func() {
			c.reset(true)
			once.Do(func() { close(started) })
		},
		OnNotify: c.drop,
		OnDown: func(err error) {
			c.reset(false)
			logger.Warn("token listener down; not trusting the token cache until it is back", "err", err)
		},
	}.Run(ctx)
	select {
	case <-started:
	case <-time.After(2 * time.Second):
	}
}
