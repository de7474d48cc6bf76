package web

import (
	"net/netip"
	"sync"
	"time"
)

// RateLimiter is a token bucket per client address: Burst requests at once,
// refilled at Rate per second. It guards sign-in against a single address
// trying many accounts, which the per-account throttle cannot see.
type RateLimiter struct {
	Rate  float64
	Burst float64
	Now   func() time.Time

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewRateLimiter returns a limiter allowing burst requests and rate per second.
func NewRateLimiter(rate, burst float64) *RateLimiter {
	return &RateLimiter{Rate: rate, Burst: burst, Now: time.Now, buckets: map[netip.Addr]*bucket{}}
}

// Allow takes a token for addr and reports whether one was there.
func (l *RateLimiter) Allow(addr netip.Addr) bool {
	now := l.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		// Forget full buckets so the map does not grow without bound.
		for a, b := range l.buckets {
			if b.tokens+now.Sub(b.at).Seconds()*l.Rate >= l.Burst {
				delete(l.buckets, a)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[addr]
	if !ok {
		b = &bucket{tokens: l.Burst, at: now}
		l.buckets[addr] = b
	}
	b.tokens = min(l.Burst, b.tokens+now.Sub(b.at).Seconds()*l.Rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
