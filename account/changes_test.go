package account

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latch-idp/latch/authn"
	"github.com/latch-idp/latch/internal/pgtest"
	"github.com/latch-idp/latch/internal/testclock"
	"github.com/latch-idp/latch/sessions"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newChanges returns a store of pending changes and a device session of a
// fresh account to keep them for.
func newChanges(t *testing.T) (*Changes, *sessions.Device, *testclock.Clock) {
	t.Helper()
	db := pgtest.New(t)
	clock := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	acct, err := (&authn.Accounts{DB: db}).Create(t.Context(), "ada@example.com", "Ada", "")
	if err != nil {
		t.Fatal(err)
	}
	store := sessions.New(db, sessions.DefaultPolicy())
	store.Now = clock.Now
	d, _, err := store.Create(t.Context(), sessions.NewDevice{AccountID: acct.ID, Mode: "standard"})
	if err != nil {
		t.Fatal(err)
	}
	return &Changes{DB: db, Now: clock.Now}, d, clock
}

// TestChangeTakenOnce: a kept change is found by its session only, and of
// two step-ups that apply it at once exactly one takes it.
func TestChangeTakenOnce(t *testing.T) {
	c, d, _ := newChanges(t)
	ctx := t.Context()
	id, err := c.Keep(ctx, d.ID, "password_remove", map[string]string{"sign_out_others": "1"})
	if err != nil {
		t.Fatal(err)
	}
	action, params, ok, err := c.Get(ctx, d.ID, id)
	if err != nil || !ok || action != "password_remove" || params["sign_out_others"] != "1" {
		t.Fatalf("Get = %q %v %v %v", action, params, ok, err)
	}
	if _, _, ok, err := c.Get(ctx, "00000000-0000-0000-0000-000000000000", id); ok || err != nil {
		t.Errorf("another session's Get = %v %v, want nothing", ok, err)
	}
	if _, _, ok, err := c.Get(ctx, d.ID, "not an id"); ok || err != nil {
		t.Errorf("Get of a malformed id = %v %v, want nothing", ok, err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = c.Take(context.Background(), c.DB, d.ID, id) })
	}
	wg.Wait()
	took := 0
	for _, err := range errs {
		switch {
		case err == nil:
			took++
		case !errors.Is(err, errChangeGone):
			t.Errorf("Take: %v", err)
		}
	}
	if took != 1 {
		t.Errorf("%d step-ups took the change, want 1", took)
	}
}

// TestChangeExpires: a change waits pendingChangeLifetime for its step-up,
// then nothing applies it and the sweep deletes it.
func TestChangeExpires(t *testing.T) {
	c, d, clock := newChanges(t)
	ctx := t.Context()
	id, err := c.Keep(ctx, d.ID, "totp_remove", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.Sweep(ctx); n != 0 || err != nil {
		t.Errorf("Sweep of a waiting change = %d %v, want 0", n, err)
	}
	clock.Add(pendingChangeLifetime + time.Second)
	if _, _, ok, err := c.Get(ctx, d.ID, id); ok || err != nil {
		t.Errorf("Get of an expired change = %v %v, want nothing", ok, err)
	}
	if action, err := c.Action(ctx, d.ID, id); action != "totp_remove" || err != nil {
		t.Errorf("Action of an expired change = %q %v; the step-up page still says what it was", action, err)
	}
	if err := c.Take(ctx, c.DB, d.ID, id); !errors.Is(err, errChangeGone) {
		t.Errorf("Take of an expired change = %v, want errChangeGone", err)
	}
	if n, err := c.Sweep(ctx); n != 1 || err != nil {
		t.Errorf("Sweep = %d %v, want 1", n, err)
	}
}
