package web

import (
	"net/netip"
	"sync"
	"time"
)

// RateLimiter is a token bucket per client network: Burst requests at once,
// refilled at Rate per second. It guards sign-in against a single address
// trying many accounts, which the per-account throttle cannot see.
type RateLimiter struct {
	Rate  float64
	Burst float64
	Now   func() time.Time

	mu      sync.Mutex
	buckets map[netip.Prefix]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewRateLimiter returns a limiter allowing burst requests and rate per second.
func NewRateLimiter(rate, burst float64) *RateLimiter {
	return &RateLimiter{Rate: rate, Burst: burst, Now: time.Now, buckets: map[netip.Prefix]*bucket{}}
}

// LimitKey is the network a client address is limited as: an IPv4 address
// by itself (an IPv4-mapped IPv6 address counts as its IPv4 address), an
// IPv6 address by its /64. A single IPv6 subscriber is routinely given a
// whole /64 (RFC 6177, RFC 7421), so keying on the /128 would hand one
// caller 2^64 buckets.
func LimitKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64) // fails only for more bits than an IPv6 address has
		return p
	}
	return netip.PrefixFrom(a, a.BitLen())
}

// Allow takes a token for addr's network and reports whether one was there.
func (l *RateLimiter) Allow(addr netip.Addr) bool {
	key := LimitKey(addr)
	now := l.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		// Forget full buckets so the map does not grow without bound.
		for k, b := range l.buckets {
			if b.tokens+now.Sub(b.at).Seconds()*l.Rate >= l.Burst {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.Burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.Burst, b.tokens+now.Sub(b.at).Seconds()*l.Rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
