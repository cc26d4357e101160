package ecsemulator

import (
	"math/rand/v2"
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// Fault makes matching ECS calls fail with a chosen error instead of running.
type Fault struct {
	// Operation limits the fault to one ECS operation, e.g.
	// "GetTaskProtection"; empty matches every operation.
	Operation string `json:"operation,omitempty"`
	// Cluster limits the fault to calls naming this cluster (short name; an
	// omitted cluster is "default"); empty matches every cluster.
	Cluster string `json:"cluster,omitempty"`
	// Code is the error code (__type); default ServerException.
	Code string `json:"code,omitempty"`
	// Message is the error message; default a fixed text per code.
	Message string `json:"message,omitempty"`
	// HTTPStatus is the response status; default 500 for ServerException and
	// InternalFailure, 503 for ServiceUnavailableException, otherwise 400.
	HTTPStatus int `json:"httpStatus,omitempty"`
	// Count is how many matching calls fail before the fault is used up. 0
	// means no limit: with Probability 0 every matching call fails until
	// ClearFaults.
	Count int `json:"count,omitempty"`
	// Probability makes each matching call fail with this chance (0 to 1).
	// 0 means every matching call fails.
	Probability float64 `json:"probability,omitempty"`
}

// ThrottleSetting is a per-operation token bucket.
type ThrottleSetting struct {
	Operation string  `json:"operation"`
	Burst     int     `json:"burst"`
	PerSecond float64 `json:"perSecond"`
}

// controls holds the fault, throttling and latency settings. Every field is
// guarded by Emulator.mu.
type controls struct {
	throttles            map[string]ThrottleSetting
	buckets              map[bucketKey]*rate.Limiter
	faults               []*faultState
	latency              map[string]time.Duration
	emptyProtectionQuirk bool
	rng                  *rand.Rand
}

type bucketKey struct {
	region    string
	operation string
}

type faultState struct {
	Fault
	remaining int // calls left; -1 for no limit
}

func newControls(rng *rand.Rand) controls {
	return controls{
		throttles: map[string]ThrottleSetting{},
		buckets:   map[bucketKey]*rate.Limiter{},
		latency:   map[string]time.Duration{},
		rng:       rng,
	}
}

// allow takes a token from the operation's bucket in the region. ECS keeps a
// bucket per account, region and action; one emulator is one account. The
// buckets are driven by the emulator clock, so Clock.Advance refills them.
func (c *controls) allow(region, operation string, now time.Time) bool {
	setting, ok := c.throttles[operation]
	if !ok {
		return true
	}
	key := bucketKey{region: region, operation: operation}
	bucket := c.buckets[key]
	if bucket == nil {
		bucket = newBucket(setting.Burst, setting.PerSecond, now)
		c.buckets[key] = bucket
	}
	return bucket.AllowN(now, 1)
}

// newBucket returns a full token bucket of burst tokens that refills at
// perSecond tokens a second, starting at now.
func newBucket(burst int, perSecond float64, now time.Time) *rate.Limiter {
	bucket := rate.NewLimiter(rate.Limit(perSecond), burst)
	// A new limiter starts full; setting the limit at now anchors its
	// refill arithmetic to the emulator clock instead of the zero time.
	bucket.SetLimitAt(now, rate.Limit(perSecond))
	return bucket
}

// injectedFault returns the error of the first fault that matches the call,
// or nil.
func (c *controls) injectedFault(operation, cluster string) *apiError {
	for i, f := range c.faults {
		if f.Operation != "" && f.Operation != operation {
			continue
		}
		if f.Cluster != "" && f.Cluster != cluster {
			continue
		}
		if f.Probability > 0 && c.rng.Float64() >= f.Probability {
			continue
		}
		if f.remaining > 0 {
			f.remaining--
			if f.remaining == 0 {
				c.faults = append(c.faults[:i:i], c.faults[i+1:]...)
			}
		}
		return &apiError{status: f.HTTPStatus, code: f.Code, message: f.Message}
	}
	return nil
}

// SetThrottle limits an operation to a token bucket of burst requests that
// refills at perSecond requests a second, per region. Requests beyond it
// fail with HTTP 400 ThrottlingException "Rate exceeded". A burst of 0 or less
// removes the limit. Changing a setting refills the bucket. The operation is
// not checked against Operations; POST /_emulator/throttle checks it.
func (e *Emulator) SetThrottle(operation string, burst int, perSecond float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for key := range e.controls.buckets {
		if key.operation == operation {
			delete(e.controls.buckets, key)
		}
	}
	if burst <= 0 {
		delete(e.controls.throttles, operation)
		return
	}
	e.controls.throttles[operation] = ThrottleSetting{Operation: operation, Burst: burst, PerSecond: max(perSecond, 0)}
}

// Throttles returns the throttle settings in force.
func (e *Emulator) Throttles() []ThrottleSetting {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]ThrottleSetting, 0, len(e.controls.throttles))
	for _, s := range e.controls.throttles {
		out = append(out, s)
	}
	return out
}

// InjectFault adds a fault after those already in force. The first matching
// fault decides a call. The operation and code are not checked; POST
// /_emulator/faults checks them.
func (e *Emulator) InjectFault(f Fault) {
	if f.Code == "" {
		f.Code = CodeServer
	}
	if f.Message == "" {
		f.Message = defaultMessage(f.Code)
	}
	if f.HTTPStatus == 0 {
		f.HTTPStatus = defaultStatus(f.Code)
	}
	remaining := -1
	if f.Count > 0 {
		remaining = f.Count
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.controls.faults = append(e.controls.faults, &faultState{Fault: f, remaining: remaining})
}

// Faults returns the faults in force, with Count set to the calls each has
// left (0 for no limit).
func (e *Emulator) Faults() []Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Fault, 0, len(e.controls.faults))
	for _, f := range e.controls.faults {
		copied := f.Fault
		copied.Count = max(f.remaining, 0)
		out = append(out, copied)
	}
	return out
}

// ClearFaults removes every injected fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.controls.faults = nil
}

// SetLatency delays every call of an operation by d before it runs; 0
// removes the delay. The operation is not checked against Operations; POST
// /_emulator/latency checks it.
func (e *Emulator) SetLatency(operation string, d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if d <= 0 {
		delete(e.controls.latency, operation)
		return
	}
	e.controls.latency[operation] = d
}

// Latencies returns the added delay per operation.
func (e *Emulator) Latencies() map[string]time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]time.Duration, len(e.controls.latency))
	for op, d := range e.controls.latency {
		out[op] = d
	}
	return out
}

// SetEmptyProtectionQuirk switches the early-ECS behaviour in which
// GetTaskProtection left a service task whose protection was never enabled
// out of both protectedTasks and failures. Off by default: such a task is
// returned with protectionEnabled false, as ECS does today.
func (e *Emulator) SetEmptyProtectionQuirk(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.controls.emptyProtectionQuirk = on
}

// EmptyProtectionQuirk reports whether the quirk of SetEmptyProtectionQuirk
// is on.
func (e *Emulator) EmptyProtectionQuirk() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.controls.emptyProtectionQuirk
}

// validFaultStatus reports whether status is an error status a client treats
// as a failed call.
func validFaultStatus(status int) bool {
	return status >= http.StatusBadRequest && status <= 599
}
