package idp

import (
	"fmt"
	"testing"
	"time"
)

func cachedFor(i int, sid, app, family string, exp time.Time) *checkedToken {
	return &checkedToken{accessToken: accessToken{id: fmt.Sprintf("tok-%d", i), sid: sid, appSessionID: app, expiresAt: exp},
		familyID: family, alive: true, aliveUntil: exp}
}

// TestTokenCacheDrop: each kind of notification drops exactly the tokens
// it names, and nothing is served while the cache is untrusted.
func TestTokenCacheDrop(t *testing.T) {
	now := time.Now()
	c := newTokenCache()
	if _, ok := c.get(keyOf("a")); ok {
		t.Fatal("an untrusted cache answered")
	}
	c.reset(true)
	put := func(raw string, tok *checkedToken) { c.put(keyOf(raw), tok, c.gen(), now) }
	put("a", cachedFor(1, "s1", "app1", "f1", now.Add(time.Hour)))
	put("b", cachedFor(2, "s1", "app2", "f2", now.Add(time.Hour)))
	put("c", cachedFor(3, "s2", "app3", "f3", now.Add(time.Hour)))
	put("d", cachedFor(4, "s2", "app3", "f4", now.Add(time.Hour)))
	has := func(raw string) bool { _, ok := c.get(keyOf(raw)); return ok }
	for _, step := range []struct {
		payload string
		gone    []string
		kept    []string
	}{
		{"token:tok-4", []string{"d"}, []string{"a", "b", "c"}},
		{"family:f2", []string{"b"}, []string{"a", "c"}},
		{"app:app3", []string{"c"}, []string{"a"}},
		{"s1", []string{"a"}, nil},
	} {
		c.drop(step.payload)
		for _, g := range step.gone {
			if has(g) {
				t.Errorf("after %s, %s is still cached", step.payload, g)
			}
		}
		for _, k := range step.kept {
			if !has(k) {
				t.Errorf("after %s, %s was dropped", step.payload, k)
			}
		}
	}
	if len(c.byTag) != 0 {
		t.Errorf("index left behind: %v", c.byTag)
	}

	// A read that raced an invalidation is not cached.
	gen := c.gen()
	c.drop("s9")
	c.put(keyOf("e"), cachedFor(5, "s9", "app9", "f9", now.Add(time.Hour)), gen, now)
	if has("e") {
		t.Fatal("a token read before an invalidation was cached after it")
	}

	// Losing the listener empties the cache and stops it answering.
	put("f", cachedFor(6, "s3", "app4", "f6", now.Add(time.Hour)))
	c.reset(false)
	put("g", cachedFor(7, "s3", "app4", "f7", now.Add(time.Hour)))
	if has("f") || has("g") || len(c.byKey) != 0 {
		t.Fatal("an untrusted cache kept or took tokens")
	}
}

// TestTokenCacheBounded: past maxCachedTokens the expired tokens go first,
// and the cache never grows beyond its bound.
func TestTokenCacheBounded(t *testing.T) {
	now := time.Now()
	c := newTokenCache()
	c.reset(true)
	for i := 0; i < maxCachedTokens; i++ {
		exp := now.Add(time.Hour)
		if i%2 == 0 {
			exp = now.Add(-time.Second)
		}
		c.put(keyOf(fmt.Sprint(i)), cachedFor(i, fmt.Sprint("s", i), "app", "f", exp), c.gen(), now)
	}
	c.put(keyOf("new"), cachedFor(-1, "s", "app", "f", now.Add(time.Hour)), c.gen(), now)
	if n := len(c.byKey); n != maxCachedTokens/2+1 {
		t.Fatalf("after eviction %d tokens, want %d", n, maxCachedTokens/2+1)
	}
	for i := 0; i < maxCachedTokens; i++ {
		c.put(keyOf(fmt.Sprint("x", i)), cachedFor(i, "s", "app", "f", now.Add(time.Hour)), c.gen(), now)
	}
	if n := len(c.byKey); n > maxCachedTokens {
		t.Fatalf("cache grew to %d", n)
	}
}
