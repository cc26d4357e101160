package ecsemulator

import (
	"sync"
	"time"
)

// Clock is the emulator's notion of the current time. Protection expiry,
// stopped-task retention, throttling buckets and response timestamps all read
// it, so a test can move time forward instead of sleeping. It is safe for
// concurrent use.
type Clock struct {
	mu     sync.Mutex
	source func() time.Time // nil for a fixed clock
	offset time.Duration    // added to source() by Advance and Set
	fixed  time.Time        // the current time of a fixed clock
}

// NewClock returns a clock that follows now (usually time.Now) plus an
// offset that Advance and Set change.
func NewClock(now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{source: now}
}

// NewFixedClock returns a clock that stays at t until Advance or Set
// moves it.
func NewFixedClock(t time.Time) *Clock {
	return &Clock{fixed: t}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.source == nil {
		return c.fixed
	}
	return c.source().Add(c.offset)
}

// Advance moves the clock forward by d (backward when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.source == nil {
		c.fixed = c.fixed.Add(d)
		return
	}
	c.offset += d
}

// Set moves the clock to t. A clock that follows a time source keeps
// running from t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.source == nil {
		c.fixed = t
		return
	}
	c.offset = t.Sub(c.source())
}
