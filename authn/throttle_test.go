package authn

import (
	"sync"
	"testing"
	"time"

	"latch/internal/pgtest"
	"latch/internal/testclock"
)

// TestThrottleConcurrentSuccess: correct sign-ins racing each other on one
// key (each counted by Check, then cleared by Succeed) never fail: the
// count is one upsert under a row lock, not an insert and a select that a
// concurrent Succeed can slip between.
func TestThrottleConcurrentSuccess(t *testing.T) {
	pool := pgtest.New(t)
	clock := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	th := NewThrottle(pool)
	th.Now = clock.Now
	key := EmailKey("ada@example.com")
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for range 4 {
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := th.Check(t.Context(), key); err != nil {
					errs <- err
					return
				}
				if err := th.Succeed(t.Context(), key); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 3 {
			t.Error(err)
		}
	}
	if n > 0 {
		t.Fatalf("%d of 400 concurrent correct sign-ins failed in the throttle", n)
	}
}
