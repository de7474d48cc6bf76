package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

// TestClientIP: X-Forwarded-For counts only from trusted proxies, and only
// back to the first untrusted hop.
func TestClientIP(t *testing.T) {
	c, err := NewClientIP([]string{"10.0.0.0/8", "192.168.1.1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, remote, xff, want string
	}{
		{"direct, header ignored", "81.2.69.142:1234", "1.2.3.4", "81.2.69.142"},
		{"through a proxy", "10.1.2.3:443", "81.2.69.142", "81.2.69.142"},
		{"two trusted hops", "10.1.2.3:443", "81.2.69.142, 192.168.1.1", "81.2.69.142"},
		{"spoofed left part", "10.1.2.3:443", "6.6.6.6, 81.2.69.142", "81.2.69.142"},
		{"garbage hop", "10.1.2.3:443", "not-an-ip", "10.1.2.3"},
		{"ipv6", "[2001:db8::1]:80", "", "2001:db8::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := c.Addr(r); got != netip.MustParseAddr(tc.want) {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := NewClientIP([]string{"banana"}); err == nil {
		t.Fatal("accepted a bad CIDR")
	}
}

// TestRateLimiter: a burst, then refill over time, per address.
func TestRateLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewRateLimiter(1, 3)
	l.Now = func() time.Time { return now }
	a, b := netip.MustParseAddr("81.2.69.1"), netip.MustParseAddr("81.2.69.2")
	for i := range 3 {
		if !l.Allow(a) {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if l.Allow(a) {
		t.Fatal("fourth request allowed")
	}
	if !l.Allow(b) {
		t.Fatal("another address shares the bucket")
	}
	now = now.Add(time.Second)
	if !l.Allow(a) || l.Allow(a) {
		t.Fatal("refill is not one per second")
	}
}

// TestRateLimiterNetworks: IPv6 callers share a bucket per /64, IPv4
// callers have one each, and an IPv4-mapped IPv6 address is its IPv4
// address.
func TestRateLimiterNetworks(t *testing.T) {
	for _, tc := range []struct {
		name, a, b string
		shared     bool
	}{
		{"two addresses in one /64", "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
		{"neighbouring /64s", "2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"two IPv4 addresses", "81.2.69.1", "81.2.69.2", false},
		{"IPv4-mapped and IPv4", "::ffff:81.2.69.1", "81.2.69.1", true},
		{"IPv4-mapped and another IPv4", "::ffff:81.2.69.1", "81.2.69.2", false},
		{"zone ignored", "fe80::1%eth0", "fe80::2%eth1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewRateLimiter(1, 1)
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			l.Now = func() time.Time { return now }
			if !l.Allow(netip.MustParseAddr(tc.a)) {
				t.Fatal("the first request was refused")
			}
			if got := !l.Allow(netip.MustParseAddr(tc.b)); got != tc.shared {
				t.Fatalf("%s then %s: shared bucket = %v, want %v", tc.a, tc.b, got, tc.shared)
			}
		})
	}
}
