package authn

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cheap are argon2id parameters fast enough for tests.
var cheap = Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

// TestWorkersFor: the pool's size is the memory budget over one
// computation's memory, never less than one.
func TestWorkersFor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget int64
		want   int
	}{
		{"the default 128 MiB", 128 << 20, 6},
		{"exactly one", 19 << 20, 1},
		{"less than one", 1 << 20, 1},
		{"nothing", 0, 1},
		{"1 GiB", 1 << 30, 53},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := WorkersFor(tc.budget, DefaultArgon2); got != tc.want {
				t.Fatalf("WorkersFor(%d) = %d, want %d", tc.budget, got, tc.want)
			}
		})
	}
}

// TestHasherBounded: no more callers hold a worker at once than the pool
// has, and under a crowd every caller still gets the right answer.
func TestHasherBounded(t *testing.T) {
	h := NewHasher(cheap, 3, 20*time.Millisecond)
	var held []*Worker
	for range 3 {
		w, err := h.Reserve(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, w)
	}
	if _, err := h.Reserve(t.Context()); !errors.Is(err, ErrBusy) {
		t.Fatalf("a fourth worker: %v, want ErrBusy", err)
	}
	held[0].Release()
	w, err := h.Reserve(t.Context())
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	w.Release()
	for _, w := range held[1:] {
		w.Release()
	}

	h = NewHasher(cheap, 3, time.Minute)
	phc, err := h.Hash(t.Context(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var wrong atomic.Int32
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := "correct horse"
			if i%2 == 1 {
				pw = "wrong horse!"
			}
			if ok, err := h.Verify(context.Background(), phc, pw); err != nil || ok != (i%2 == 0) {
				wrong.Add(1)
			}
		}()
	}
	wg.Wait()
	if wrong.Load() > 0 {
		t.Fatalf("%d callers got a wrong answer", wrong.Load())
	}
}

// TestHasherBusy: a caller that waits longer than the queue's deadline, or
// whose request ends (or whose wait ran out before it asked), gets ErrBusy
// without computing anything.
func TestHasherBusy(t *testing.T) {
	h := NewHasher(cheap, 1, 50*time.Millisecond)
	w, err := h.Reserve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := h.Hash(t.Context(), "correct horse"); !errors.Is(err, ErrBusy) {
		t.Fatalf("with the only worker taken: %v, want ErrBusy", err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Fatalf("gave up after %v, before the deadline", waited)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := h.Reserve(ctx); !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Fatalf("with the request gone: %v", err)
	}
	w.Release()
	w.Release() // twice is harmless
	// A request whose wait is over gets no worker, even a free one.
	if _, err := h.Reserve(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("with the request's wait over and a worker free: %v", err)
	}
	if _, err := h.Hash(t.Context(), "correct horse"); err != nil {
		t.Fatalf("with the worker back: %v", err)
	}
	if _, err := w.Hash("correct horse"); err == nil {
		t.Fatal("a released worker still computes")
	}
}
