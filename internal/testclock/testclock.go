// Package testclock is the clock latch's tests move by hand. Every latch
// component takes a Now func; tests pass a Clock's Now and move time with
// Add instead of sleeping. Goroutines may read it while a test moves it.
package testclock

import (
	"sync"
	"time"
)

// Clock is a settable time.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock showing t.
func New(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
