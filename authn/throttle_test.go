package authn

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latch-idp/latch/internal/pgtest"
	"github.com/latch-idp/latch/internal/testclock"
	"github.com/latch-idp/latch/sessions"
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
	g := Guess{Key: EmailKey("ada@example.com")}
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for range 4 {
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := th.Check(t.Context(), g); err != nil {
					errs <- err
					return
				}
				if err := th.Succeed(t.Context(), g); err != nil {
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

// TestThrottleBudgets: a proven device counts on its own budget, strangers
// share one; password guesses never lock however many; a locking guess that
// reaches the limit on any budget locks the key for every device.
func TestThrottleBudgets(t *testing.T) {
	pool := pgtest.New(t)
	clock := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	th := NewThrottle(pool)
	th.Now = clock.Now
	ctx := t.Context()
	fail := func(g Guess) (time.Duration, error) {
		t.Helper()
		wait, err := th.Check(ctx, g)
		if err == nil && wait == 0 {
			if err := th.Fail(ctx, g, sessions.Event{}, nil); err != nil {
				t.Fatal(err)
			}
		}
		return wait, err
	}
	stranger := Guess{Key: "ada@example.com"}
	owner := Guess{Key: "ada@example.com", Device: []byte("owner's device")}
	for i := range 200 {
		clock.Add(16 * time.Minute)
		if wait, err := fail(stranger); err != nil || wait > 0 {
			t.Fatalf("paced password guess %d: %v %v", i+1, wait, err)
		}
	}
	if wait, err := th.Check(ctx, stranger); err != nil || wait <= 0 {
		t.Fatalf("a stranger right after 200 wrong passwords: %v %v, want a wait", wait, err)
	}
	if wait, err := th.Check(ctx, owner); err != nil || wait != 0 {
		t.Fatalf("the owner's device: %v %v, want no wait", wait, err)
	}

	code := Guess{Key: "2fa:x", Device: []byte("stolen device cookie"), Lock: true}
	for i := range th.LockAfter {
		clock.Add(16 * time.Minute)
		if _, err := fail(code); err != nil {
			t.Fatalf("second-factor guess %d: %v", i+1, err)
		}
	}
	for _, g := range []Guess{code, {Key: "2fa:x", Lock: true}, {Key: "2fa:x", Device: []byte("another"), Lock: true}} {
		if _, err := th.Check(ctx, g); !errors.Is(err, ErrLocked) {
			t.Fatalf("after %d second-factor failures on one device, %q answered %v, want ErrLocked", th.LockAfter, g.Device, err)
		}
	}
	if locked, err := th.Locked(ctx, "2fa:x"); err != nil || !locked {
		t.Fatalf("Locked = %v %v", locked, err)
	}
}

// TestThrottleSweep: counts without a failure for a day go, on every
// budget; locks stay.
func TestThrottleSweep(t *testing.T) {
	pool := pgtest.New(t)
	clock := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	th := NewThrottle(pool)
	th.Now = clock.Now
	ctx := t.Context()
	for _, g := range []Guess{{Key: "a"}, {Key: "a", Device: []byte("d")}, {Key: "b"}, {Key: "b", Device: []byte("d")}} {
		if _, err := th.Check(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `UPDATE signin_failures SET locked_at = last_failed_at WHERE email_key = 'b'`); err != nil {
		t.Fatal(err)
	}
	clock.Add(23 * time.Hour)
	if n, err := th.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep after 23 hours: %d %v", n, err)
	}
	clock.Add(2 * time.Hour)
	if n, err := th.Sweep(ctx); err != nil || n != 3 {
		t.Fatalf("sweep after 25 hours: %d %v, want 3", n, err)
	}
	if locked, err := th.Locked(ctx, "b"); err != nil || !locked {
		t.Fatalf("the lock was swept: %v %v", locked, err)
	}
}
