package authn

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBusy means every password hashing worker stayed taken for as long as
// a caller may wait: latch answers 503 with Retry-After rather than queue
// without end.
var ErrBusy = errors.New("authn: every password hashing worker is busy")

// HashQueueWait is how long a request waits for a hashing worker before it
// is answered busy.
const HashQueueWait = 2 * time.Second

// Hasher is a bounded pool of argon2id workers, and the only way latch
// computes argon2id: sign-in (the dummy hash for unknown emails included),
// step-up, setting a password, `latch accounts create`. Each computation
// holds its memory (m=19 MiB by default) for its whole run, so without a
// bound 200 concurrent sign-ins took latch from 93 MiB to 1.18 GiB. With
// one, memory stays near workers × m, and a caller that cannot get a
// worker within Wait (or whose request ends first) gets ErrBusy.
type Hasher struct {
	// Params are the parameters of new hashes; a stored hash verifies with
	// its own.
	Params Argon2Params
	// Wait is the longest a caller queues for a worker.
	Wait  time.Duration
	slots chan struct{}

	garbage atomic.Int64 // bytes finished computations left since the last collection
	freeing atomic.Bool  // a return of memory to the system is scheduled
}

// NewHasher returns a pool of workers computing with p.
func NewHasher(p Argon2Params, workers int, wait time.Duration) *Hasher {
	return &Hasher{Params: p, Wait: wait, slots: make(chan struct{}, max(workers, 1))}
}

// WorkersFor is how many argon2id computations with p fit in a memory
// budget of bytes, and at least one.
func WorkersFor(budget int64, p Argon2Params) int {
	return int(max(budget/(int64(p.MemoryKiB)<<10), 1))
}

// Workers is the size of the pool.
func (h *Hasher) Workers() int { return cap(h.slots) }

// Worker is one reserved place in the pool. Its holder computes with it,
// then releases it.
type Worker struct {
	h    *Hasher
	once sync.Once
	done bool
}

var errReleased = errors.New("authn: hashing worker already released")

// Reserve waits for a free worker, at most Wait and no longer than ctx
// lives (a request's deadline may count its wait from its arrival). The
// caller must Release it.
func (h *Hasher) Reserve(ctx context.Context) (*Worker, error) {
	if err := ctx.Err(); err != nil {
		// Its wait is over before it began: starting the work now would
		// only take the processor from requests that can still be answered.
		return nil, fmt.Errorf("%w: %w", ErrBusy, err)
	}
	select {
	case h.slots <- struct{}{}:
		return &Worker{h: h}, nil
	default:
	}
	timer := time.NewTimer(h.Wait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return &Worker{h: h}, nil
	case <-timer.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

// Release gives the worker back; again is harmless.
func (w *Worker) Release() {
	w.once.Do(func() {
		w.done = true
		<-w.h.slots
		w.h.idleSoon()
	})
}

// idleSoon hands the memory of finished computations back to the system
// once the pool has stayed idle for a moment. Without it a burst of
// sign-ins left latch's RSS near the pool's budget for minutes (Go returns
// freed memory to the system slowly), which is most of latch's memory
// while it answers tokens; under a steady stream of sign-ins the pool is
// never idle and this costs nothing.
func (h *Hasher) idleSoon() {
	if len(h.slots) > 0 || h.garbage.Load() == 0 || !h.freeing.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(200*time.Millisecond, func() {
		defer h.freeing.Store(false)
		if len(h.slots) == 0 {
			h.garbage.Store(0)
			debug.FreeOSMemory()
		}
	})
}

// compute runs one argon2id computation, first handing earlier ones'
// memory back to the heap when enough of it has piled up. Every
// computation leaves its m as garbage, and by default the collector lets
// the heap grow to twice what was live before it runs again, so a busy
// pool held about twice its budget (400 concurrent sign-ins: +240 MiB with
// six workers). So once finished computations have left a quarter of the
// pool's memory as garbage, the next one collects it before allocating its
// own: about one collection per workers/4 computations, and a cheap one,
// since argon2id's blocks hold no pointers to mark.
func (w *Worker) compute(f func()) {
	h, m := w.h, int64(w.h.Params.MemoryKiB)<<10
	if g := h.garbage.Load(); g >= int64(h.Workers())*m/4 && h.garbage.CompareAndSwap(g, 0) {
		runtime.GC()
	}
	f()
	h.garbage.Add(m)
}

// Hash returns the PHC string of an argon2id hash of password with the
// pool's parameters.
func (w *Worker) Hash(password string) (string, error) {
	if w.done {
		return "", errReleased
	}
	var phc string
	var err error
	w.compute(func() { phc, err = hashPassword(password, w.h.Params) })
	return phc, err
}

// Verify compares password with a PHC string.
func (w *Worker) Verify(phc, password string) (bool, error) {
	if w.done {
		return false, errReleased
	}
	var ok bool
	var err error
	w.compute(func() { ok, err = verifyPassword(phc, password) })
	return ok, err
}

// Hash reserves a worker, hashes password and releases the worker. A
// password too short or too long is refused without waiting.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	w, err := h.Reserve(ctx)
	if err != nil {
		return "", err
	}
	defer w.Release()
	return w.Hash(password)
}

// Verify reserves a worker, compares password with phc and releases the
// worker.
func (h *Hasher) Verify(ctx context.Context, phc, password string) (bool, error) {
	w, err := h.Reserve(ctx)
	if err != nil {
		return false, err
	}
	defer w.Release()
	return w.Verify(phc, password)
}
