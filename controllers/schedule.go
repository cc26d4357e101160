package controllers

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/taskprotection/ecs-taskprotection-controller/controllers/ecsclient"
)

// Schedule sets when the controller polls again after a poll.
type Schedule struct {
	// Jitter is the fraction of the interval added at random to each regular
	// poll, so that watches created together spread out.
	Jitter float64

	// ExpiryMargin is how long after a protection's expiry the controller
	// polls, so that ECS has cleared it by then.
	ExpiryMargin time.Duration

	// RetryBase and RetryMax bound the exponential backoff after a transient
	// error such as throttling or a server error.
	RetryBase time.Duration
	RetryMax  time.Duration

	// SlowRetryBase and SlowRetryMax bound the backoff after an error that
	// needs a change outside the watch, such as access denied.
	SlowRetryBase time.Duration
	SlowRetryMax  time.Duration

	// ThrottleTolerance is how many polls in a row may be throttled before
	// Ready turns False. One throttled poll is routine under a shared quota.
	ThrottleTolerance int
}

// DefaultSchedule is the schedule the manager uses.
var DefaultSchedule = Schedule{
	Jitter:            0.1,
	ExpiryMargin:      2 * time.Second,
	RetryBase:         5 * time.Second,
	RetryMax:          5 * time.Minute,
	SlowRetryBase:     time.Minute,
	SlowRetryMax:      15 * time.Minute,
	ThrottleTolerance: 3,
}

// afterSuccess returns the delay until the next poll after a successful one:
// the interval with jitter, or less when a protection expires sooner.
func (s Schedule) afterSuccess(interval time.Duration, nextExpiry *time.Time, now time.Time) time.Duration {
	delay := s.jitter(interval)
	if nextExpiry != nil && nextExpiry.After(now) {
		delay = min(delay, nextExpiry.Sub(now)+s.ExpiryMargin)
	}
	return delay
}

// afterFailure returns the delay until the next poll after the given number
// of failed polls in a row, with jitter.
func (s Schedule) afterFailure(class ecsclient.Class, interval time.Duration, failures int) time.Duration {
	base, ceiling := s.RetryBase, min(s.RetryMax, interval)
	if class.Retry == ecsclient.RetrySlowly {
		base, ceiling = max(s.SlowRetryBase, interval), s.SlowRetryMax
	}
	delay := base
	for i := 1; i < failures && delay < ceiling; i++ {
		delay *= 2
	}
	return s.jitter(min(delay, max(ceiling, base)))
}

// jitter adds up to s.Jitter of d at random. wait.Jitter treats a factor of
// 0 as 1, so a zero Jitter is handled here.
func (s Schedule) jitter(d time.Duration) time.Duration {
	if s.Jitter <= 0 {
		return d
	}
	return wait.Jitter(d, s.Jitter)
}

// pollState is the in-memory record of a watch between polls. Status
// carries no poll time, because a time that changes on every poll would turn
// every poll into a write.
type pollState struct {
	uid         types.UID
	generation  int64
	pollRequest string
	nextPoll    time.Time
	stalled     bool
	lastFailure string
	failures    int
	throttles   int
}

// pollStates stores a pollState per watch.
type pollStates struct {
	mu     sync.Mutex
	states map[types.NamespacedName]pollState
}

func (p *pollStates) get(key types.NamespacedName) (pollState, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	state, ok := p.states[key]
	return state, ok
}

func (p *pollStates) set(key types.NamespacedName, state pollState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.states == nil {
		p.states = map[types.NamespacedName]pollState{}
	}
	p.states[key] = state
}

func (p *pollStates) forget(key types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.states, key)
}
