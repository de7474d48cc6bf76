package authn

import (
	"testing"
	"time"
)

// TestWhen: alerts are mail, read wherever and whenever, so they give the
// time in UTC and say so, in the date form the pages use.
func TestWhen(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	for _, tt := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 12, 3, 9, 12, 0, 0, time.UTC), "3 Dec 2026, 09:12 UTC"},
		{time.Date(2026, 12, 4, 2, 5, 30, 0, tokyo), "3 Dec 2026, 17:05 UTC"},
		{time.Date(2027, 1, 1, 0, 30, 0, 0, tokyo), "31 Dec 2026, 15:30 UTC"},
	} {
		if got := when(tt.t); got != tt.want {
			t.Errorf("when(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}
